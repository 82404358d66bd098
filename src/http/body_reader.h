// Reads a message body by its framing (none, Content-Length, chunked, until close) with
// one interface, handing out pieces as views into the caller's buffer. The proxy, the
// mirror and the HTTP client all read bodies through it.
#pragma once

#include <cstdint>
#include <string_view>

#include "http/chunked.h"
#include "http/parser.h"

namespace portico::http {

class BodyReader {
 public:
  using Step = ChunkedDecoder::Step;

  void reset(Framing framing, uint64_t content_length) {
    framing_ = framing;
    remaining_ = content_length;
    chunked_.reset();
  }

  // Like ChunkedDecoder::next: kData with a piece, kNeedMore when `in` is used up, kDone
  // at the end of the body (later bytes are left unconsumed), kError for bad chunking.
  Step next(std::string_view in, size_t& consumed, std::string_view& piece) {
    switch (framing_) {
      case Framing::kNone:
        return Step::kDone;
      case Framing::kLength: {
        if (remaining_ == 0) return Step::kDone;
        size_t take = static_cast<size_t>(std::min<uint64_t>(in.size() - consumed, remaining_));
        if (take == 0) return Step::kNeedMore;
        piece = in.substr(consumed, take);
        consumed += take;
        remaining_ -= take;
        return Step::kData;
      }
      case Framing::kChunked:
        return chunked_.next(in, consumed, piece);
      case Framing::kUntilClose:
        if (consumed == in.size()) return Step::kNeedMore;
        piece = in.substr(consumed);
        consumed = in.size();
        return Step::kData;
    }
    return Step::kError;
  }

  // The connection ended: the body is complete only if it was delimited by the end.
  bool complete_at_eof() const { return framing_ == Framing::kUntilClose || done(); }
  bool done() const {
    return framing_ == Framing::kNone || (framing_ == Framing::kLength && remaining_ == 0) || chunked_.done();
  }
  uint64_t remaining() const { return remaining_; }  // Content-Length bodies
  Framing framing() const { return framing_; }
  std::string_view error() const { return chunked_.error(); }
  // Chunked bodies: keep a copy of the trailer section in *out (see ChunkedDecoder).
  void capture_trailers(std::string* out) { chunked_.capture_trailers(out); }

 private:
  Framing framing_ = Framing::kNone;
  uint64_t remaining_ = 0;
  ChunkedDecoder chunked_;
};

}  // namespace portico::http
