#include "http/chunked.h"

#include "http/parser.h"

namespace portico::http {
namespace {
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

void ChunkedDecoder::reset() {
  state_ = State::kSizeStart;
  size_ = 0;
  line_len_ = 0;
  trailer_bytes_ = 0;
  trailer_count_ = 0;
  error_ = {};
}

ChunkedDecoder::Step ChunkedDecoder::fail(std::string_view message) {
  state_ = State::kError;
  error_ = message;
  return Step::kError;
}

ChunkedDecoder::Step ChunkedDecoder::next(std::string_view in, size_t& pos, std::string_view& data) {
  const size_t n = in.size();
  while (pos < n) {
    char c = in[pos];
    switch (state_) {
      case State::kSizeStart: {
        int v = hex_value(c);
        if (v < 0) return fail("invalid chunk size");
        size_ = static_cast<uint64_t>(v);
        line_len_ = 1;
        state_ = State::kSize;
        ++pos;
        break;
      }
      case State::kSize: {
        int v = hex_value(c);
        if (v >= 0) {
          // Sizes stay below 2^60: no overflow, and no real body is larger.
          if (size_ >= (uint64_t{1} << 56)) return fail("chunk size too large");
          if (++line_len_ > limits_.max_line) return fail("chunk size line too long");
          size_ = size_ * 16 + static_cast<uint64_t>(v);
          ++pos;
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::kExt;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
          ++pos;
        } else if (c == '\n') {
          return fail("bare LF in chunk size line");
        } else {
          return fail("invalid chunk size");
        }
        break;
      }
      case State::kExt:
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == '\n') {
          return fail("bare LF in chunk extension");
        } else if (!is_field_value_char(c)) {
          return fail("invalid character in chunk extension");
        } else if (++line_len_ > limits_.max_line) {
          return fail("chunk extension too long");
        }
        ++pos;
        break;
      case State::kSizeLf:
        if (c != '\n') return fail("bare CR in chunk size line");
        ++pos;
        state_ = size_ == 0 ? State::kTrailerStart : State::kData;
        break;
      case State::kData: {
        size_t take = n - pos;
        if (take > size_) take = static_cast<size_t>(size_);
        data = in.substr(pos, take);
        pos += take;
        size_ -= take;
        if (size_ == 0) state_ = State::kDataCr;
        return Step::kData;
      }
      case State::kDataCr:
        if (c != '\r') return fail("missing CRLF after chunk data");
        state_ = State::kDataLf;
        ++pos;
        break;
      case State::kDataLf:
        if (c != '\n') return fail("missing CRLF after chunk data");
        state_ = State::kSizeStart;
        ++pos;
        break;
      case State::kTrailerStart:
        if (c == '\r') {
          state_ = State::kFinalLf;
          ++pos;
          break;
        }
        if (c == '\n') return fail("bare LF in trailer section");
        if (c == ' ' || c == '\t') return fail("obsolete line folding in trailer section");
        if (!is_tchar(c)) return fail("invalid trailer field name");
        if (++trailer_count_ > limits_.max_trailers) return fail("too many trailer fields");
        state_ = State::kTrailerName;
        break;
      case State::kTrailerName:
        if (++trailer_bytes_ > limits_.max_trailer_bytes) return fail("trailer section too large");
        if (trailers_ != nullptr) trailers_->push_back(c);
        if (c == ':') {
          state_ = State::kTrailerValue;
        } else if (!is_tchar(c)) {
          return fail("invalid trailer field name");
        }
        ++pos;
        break;
      case State::kTrailerValue:
        if (++trailer_bytes_ > limits_.max_trailer_bytes) return fail("trailer section too large");
        if (trailers_ != nullptr) trailers_->push_back(c);
        if (c == '\r') {
          state_ = State::kTrailerLf;
        } else if (c == '\n') {
          return fail("bare LF in trailer section");
        } else if (!is_field_value_char(c)) {
          return fail("invalid character in trailer field value");
        }
        ++pos;
        break;
      case State::kTrailerLf:
        if (c != '\n') return fail("bare CR in trailer section");
        if (trailers_ != nullptr) trailers_->push_back(c);
        state_ = State::kTrailerStart;
        ++pos;
        break;
      case State::kFinalLf:
        if (c != '\n') return fail("bare CR after trailer section");
        state_ = State::kDone;
        ++pos;
        return Step::kDone;
      case State::kDone:
        return Step::kDone;
      case State::kError:
        return Step::kError;
    }
  }
  if (state_ == State::kDone) return Step::kDone;
  if (state_ == State::kError) return Step::kError;
  return Step::kNeedMore;
}

std::string_view find_trailer(std::string_view section, std::string_view name) {
  while (!section.empty()) {
    size_t end = section.find("\r\n");
    std::string_view line = section.substr(0, end);
    section = end == std::string_view::npos ? std::string_view() : section.substr(end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < colon && same; ++i) {
      char a = line[i], b = name[i];
      if (a >= 'A' && a <= 'Z') a = static_cast<char>(a + 32);
      if (b >= 'A' && b <= 'Z') b = static_cast<char>(b + 32);
      same = a == b;
    }
    if (!same) continue;
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
  }
  return {};
}

size_t format_chunk_header(uint64_t size, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  char tmp[16];
  int len = 0;
  do {
    tmp[len++] = kHex[size & 15];
    size >>= 4;
  } while (size != 0);
  size_t n = 0;
  while (len > 0) out[n++] = tmp[--len];
  out[n++] = '\r';
  out[n++] = '\n';
  return n;
}

}  // namespace portico::http
