// Fuzzes the DNS answer walker (untrusted network input): no out-of-bounds read, and a
// result that is -1 or a valid TTL.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "discovery/dns_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size copy, so ASan sees any read past the message.
  std::vector<unsigned char> msg(data, data + size);
  int64_t ttl = portico::discovery::min_answer_ttl(msg.data(), static_cast<int>(msg.size()));
  if (ttl < -1 || ttl > 0x7FFFFFFF) abort();
  return 0;
}
