// Fuzzes the response-head parser used on upstream responses.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/parser.h"

using namespace portico::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  bool head_request = data[0] & 1;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  ParseLimits limits{256, 4096, 32};
  ResponseHead head;
  ParseError err;
  auto r = parse_response(in, limits, head_request, head, err);
  if (r == ParseResult::kComplete) {
    if (head.status < 100 || head.status > 599) abort();
    if (head.head_size == 0 || head.head_size > in.size()) abort();
    if (head_request && head.framing != Framing::kNone) abort();
  } else if (r == ParseResult::kError && err.status != 502) {
    abort();
  }
  return 0;
}
