#include "core/random.h"

#include <sys/random.h>

namespace portico {
namespace {

struct Xoshiro {
  uint64_t s[4];
  Xoshiro() {
    if (getrandom(s, sizeof s, 0) != sizeof s) {
      s[0] = reinterpret_cast<uintptr_t>(this) | 1;
      s[1] = 0x9E3779B97F4A7C15ull;
      s[2] = 0xBF58476D1CE4E5B9ull;
      s[3] = 0x94D049BB133111EBull;
    }
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
};

thread_local Xoshiro g_rng;

}  // namespace

uint64_t random_u64() { return g_rng.next(); }

void random_uuid(char out[36]) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t hi = g_rng.next(), lo = g_rng.next();
  hi = (hi & ~0xF000ull) | 0x4000ull;                      // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // variant 10
  int pos = 0;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out[pos++] = '-';
    uint64_t word = i < 16 ? hi : lo;
    int shift = 60 - 4 * (i % 16);
    out[pos++] = kHex[(word >> shift) & 15];
  }
}

std::string random_uuid() {
  std::string s(36, '\0');
  random_uuid(s.data());
  return s;
}

}  // namespace portico
