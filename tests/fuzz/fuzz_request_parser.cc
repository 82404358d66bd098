// Fuzzes the request-head parser: every input must give complete/incomplete/error, and a
// complete head must be self-consistent. Both the whole input and every split point in
// a short prefix are tried, as data arrives in pieces on a real socket.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/parser.h"
#include "http/path.h"

using namespace portico::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  ParseLimits limits{256, 4096, 32};
  RequestHead head;
  ParseError err;
  auto r = parse_request(in, limits, head, err);
  if (r == ParseResult::kComplete) {
    if (head.head_size == 0 || head.head_size > in.size()) abort();
    if (head.headers.size() > limits.max_headers) abort();
    if (head.framing == Framing::kUntilClose) abort();  // never for requests
    std::string scratch;
    std::string_view normalised;
    if (normalize_path(head.path, scratch, normalised) == nullptr && !head.path.empty() &&
        head.path[0] == '/' && (normalised.empty() || normalised[0] != '/')) {
      abort();
    }
  } else if (r == ParseResult::kError) {
    if (err.status < 400 || err.status > 505 || err.message.empty()) abort();
  }
  // A prefix of a complete head is never an error unless the full input is one too.
  for (size_t cut = 0; cut < in.size() && cut < 64; ++cut) {
    RequestHead h2;
    ParseError e2;
    auto r2 = parse_request(in.substr(0, cut), limits, h2, e2);
    if (r == ParseResult::kComplete && r2 == ParseResult::kError) abort();
  }
  return 0;
}
