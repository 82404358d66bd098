// Fuzzes the chunked decoder: decoding the input whole and in random-sized pieces must
// give the same body and the same verdict.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/chunked.h"

using namespace portico::http;

namespace {
// Returns 0 done, 1 need more, 2 error; body collects data pieces.
int decode(std::string_view in, size_t step, std::string& body) {
  ChunkedDecoder d;
  std::string buffered;
  size_t fed = 0;
  while (true) {
    size_t take = step == 0 ? in.size() - fed : std::min(step, in.size() - fed);
    buffered.append(in.substr(fed, take));
    fed += take;
    size_t pos = 0;
    while (true) {
      std::string_view piece;
      auto s = d.next(buffered, pos, piece);
      if (s == ChunkedDecoder::Step::kData) {
        body.append(piece);
        continue;
      }
      if (s == ChunkedDecoder::Step::kDone) return 0;
      if (s == ChunkedDecoder::Step::kError) return 2;
      break;
    }
    buffered.erase(0, pos);
    if (fed == in.size()) return 1;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t step = data[0] % 7 + 1;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string whole, pieces;
  int a = decode(in, 0, whole);
  int b = decode(in, step, pieces);
  if (a != b) abort();
  if (a == 0 && whole != pieces) abort();
  if (whole.size() > in.size()) abort();
  return 0;
}
