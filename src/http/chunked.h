// Incremental decoder for the chunked transfer coding (RFC 9112 7.1). It hands out body
// data as views into the caller's buffer, so decoding copies nothing. Chunk extensions
// and trailer fields are validated and then dropped: Portico re-frames every body it
// forwards, so the next hop never sees a framing it might read differently. A reader
// that needs the trailers (Lambda's streamed responses report errors in them) asks for
// a copy with capture_trailers().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace portico::http {

class ChunkedDecoder {
 public:
  enum class Step { kData, kNeedMore, kDone, kError };

  struct Limits {
    size_t max_line = 4096;          // chunk-size line including extensions
    size_t max_trailer_bytes = 32 * 1024;
    size_t max_trailers = 100;
  };

  ChunkedDecoder() = default;
  explicit ChunkedDecoder(const Limits& limits) : limits_(limits) {}

  void reset();

  // Consumes bytes from `in`, adding to `consumed` (an offset into `in` that the caller
  // keeps across calls for the same buffer). Returns kData with `data` set to a view into
  // `in`, kNeedMore when all of `in` was consumed without finishing, kDone after the last
  // chunk and trailer section (bytes after it are left unconsumed), or kError.
  Step next(std::string_view in, size_t& consumed, std::string_view& data);

  bool done() const { return state_ == State::kDone; }
  // Appends the trailer section as received ("Name:value\r\n" per field) to *out
  // (null: dropped, the default). reset() keeps the setting.
  void capture_trailers(std::string* out) { trailers_ = out; }
  std::string_view error() const { return error_; }

 private:
  enum class State : uint8_t {
    kSizeStart, kSize, kExt, kSizeLf, kData, kDataCr, kDataLf,
    kTrailerStart, kTrailerName, kTrailerValue, kTrailerLf, kFinalLf, kDone, kError,
  };
  Step fail(std::string_view message);

  Limits limits_;
  State state_ = State::kSizeStart;
  uint64_t size_ = 0;
  size_t line_len_ = 0;
  size_t trailer_bytes_ = 0;
  size_t trailer_count_ = 0;
  std::string_view error_;
  std::string* trailers_ = nullptr;
};

// The value of trailer field `name` in a section captured by capture_trailers(), trimmed.
std::string_view find_trailer(std::string_view section, std::string_view name);

// Writes "<hex size>\r\n" into out (at least 18 bytes) and returns its length.
size_t format_chunk_header(uint64_t size, char* out);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace portico::http
