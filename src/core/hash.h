// A fast, stable 64-bit hash of bytes (FNV-1a, then a murmur3 finaliser so every input
// bit reaches every output bit). For consistent hashing and sticky splits; not for
// hash-flooding resistance or secrets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace portico {

inline uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

inline uint64_t hash64(std::string_view data, uint64_t seed = 0) {
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return mix64(h);
}

// For unordered maps keyed by std::string that are looked up with string_views (no
// temporary string per lookup): pair with std::equal_to<>.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace portico
