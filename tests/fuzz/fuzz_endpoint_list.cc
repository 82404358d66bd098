// Fuzzes endpoint documents (file discovery, etcd values): any input is a list or an
// error, never a crash; every endpoint is a valid, non-zero-port address with a weight
// in range.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "discovery/endpoint_list.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = portico::discovery::parse_endpoint_list(std::string_view(reinterpret_cast<const char*>(data), size));
  if (r) {
    for (const auto& e : *r) {
      if (e.address.port() == 0 || e.weight < 1 || e.weight > 10'000 || e.text.empty()) abort();
    }
  }
  return 0;
}
