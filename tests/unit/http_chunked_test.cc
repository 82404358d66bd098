// The chunked decoder: whole and byte-by-byte input decode the same; every framing error
// is caught; bytes after the body are left for the next request.
#include <gtest/gtest.h>

#include <string>

#include "http/chunked.h"

namespace portico::http {
namespace {

struct Decoded {
  ChunkedDecoder::Step last;
  std::string body;
  size_t consumed = 0;
  std::string error;
};

// Feeds `in` in pieces of `step` bytes (0 = all at once), like reads from a socket.
Decoded decode(std::string_view in, size_t step = 0) {
  ChunkedDecoder d;
  Decoded out;
  std::string buffered;
  size_t fed = 0;
  while (true) {
    size_t take = step == 0 ? in.size() - fed : std::min(step, in.size() - fed);
    buffered.append(in.substr(fed, take));
    fed += take;
    size_t pos = 0;
    ChunkedDecoder::Step s;
    std::string_view piece;
    while ((s = d.next(buffered, pos, piece)) == ChunkedDecoder::Step::kData) out.body.append(piece);
    out.consumed += pos;
    buffered.erase(0, pos);
    out.last = s;
    if (s != ChunkedDecoder::Step::kNeedMore || fed == in.size()) break;
  }
  out.error = std::string(d.error());
  return out;
}

TEST(Chunked, DecodesWholeAndInPieces) {
  std::string_view in = "5\r\nhello\r\n1;name=value\r\n \r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
  for (size_t step : {0, 1, 2, 3, 7}) {
    Decoded d = decode(in, step);
    EXPECT_EQ(d.last, ChunkedDecoder::Step::kDone) << step;
    EXPECT_EQ(d.body, "hello 0123456789abcdef") << step;
    EXPECT_EQ(d.consumed, in.size()) << step;
  }
}

TEST(Chunked, HexIsCaseInsensitiveAndLeadingZerosAreFine) {
  Decoded d = decode("0000A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n");
  EXPECT_EQ(d.last, ChunkedDecoder::Step::kDone);
  EXPECT_EQ(d.body.size(), 20u);
}

TEST(Chunked, TrailersAreAcceptedAndDropped) {
  Decoded d = decode("3\r\nabc\r\n0\r\nX-Checksum: 123\r\nX-Other: a b\r\n\r\n");
  EXPECT_EQ(d.last, ChunkedDecoder::Step::kDone);
  EXPECT_EQ(d.body, "abc");
}

TEST(Chunked, TrailersAreCapturedOnRequestInEveryPiecing) {
  std::string_view in = "3\r\nabc\r\n0\r\nLambda-Runtime-Function-Error-Type: Boom\r\nX-B:  x y \r\n\r\n";
  for (size_t step : {0, 1, 5}) {
    ChunkedDecoder d;
    std::string trailers;
    d.capture_trailers(&trailers);
    size_t fed = 0;
    std::string buffered;
    ChunkedDecoder::Step s = ChunkedDecoder::Step::kNeedMore;
    while (s == ChunkedDecoder::Step::kNeedMore && fed < in.size()) {
      size_t take = step == 0 ? in.size() : std::min(step, in.size() - fed);
      buffered.append(in.substr(fed, take));
      fed += take;
      size_t pos = 0;
      std::string_view piece;
      while ((s = d.next(buffered, pos, piece)) == ChunkedDecoder::Step::kData) {
      }
      buffered.erase(0, pos);
    }
    EXPECT_EQ(s, ChunkedDecoder::Step::kDone) << step;
    EXPECT_EQ(trailers, "Lambda-Runtime-Function-Error-Type: Boom\r\nX-B:  x y \r\n") << step;
    EXPECT_EQ(find_trailer(trailers, "lambda-runtime-function-error-type"), "Boom");
    EXPECT_EQ(find_trailer(trailers, "X-B"), "x y");
    EXPECT_EQ(find_trailer(trailers, "X"), "");
  }
}

TEST(Chunked, BytesAfterTheBodyAreNotConsumed) {
  std::string_view body = "3\r\nabc\r\n0\r\n\r\n";
  std::string in = std::string(body) + "GET /next HTTP/1.1\r\n";
  Decoded d = decode(in);
  EXPECT_EQ(d.last, ChunkedDecoder::Step::kDone);
  EXPECT_EQ(d.consumed, body.size());
}

TEST(Chunked, IncompleteInputNeedsMore) {
  for (std::string_view in : {"", "5", "5\r", "5\r\nhel", "5\r\nhello", "5\r\nhello\r", "5\r\nhello\r\n0\r\n",
                              "5\r\nhello\r\n0\r\nX-A: 1\r\n"}) {
    EXPECT_EQ(decode(in).last, ChunkedDecoder::Step::kNeedMore) << in;
  }
}

TEST(Chunked, Errors) {
  struct Case {
    std::string_view in;
    std::string_view message;
  } cases[] = {
      {"zz\r\nhello\r\n", "invalid chunk size"},
      {"\r\n", "invalid chunk size"},
      {"-5\r\nhello\r\n", "invalid chunk size"},
      {"5\nhello\r\n", "bare LF in chunk size line"},
      {"5\rhello\r\n", "bare CR in chunk size line"},
      {"5\r\nhelloXX", "missing CRLF after chunk data"},
      {"5\r\nhello\rX", "missing CRLF after chunk data"},
      {"ffffffffffffffffff\r\n", "chunk size too large"},
      {"1;\x01\r\na\r\n", "invalid character in chunk extension"},
      {"0\r\nBad Name: x\r\n\r\n", "invalid trailer field name"},
      {"0\r\nX: a\nb\r\n\r\n", "bare LF in trailer section"},
      {"0\r\n folded\r\n\r\n", "obsolete line folding in trailer section"},
      {"0\r\n\rX", "bare CR after trailer section"},
  };
  for (const auto& c : cases) {
    Decoded d = decode(c.in);
    EXPECT_EQ(d.last, ChunkedDecoder::Step::kError) << c.in;
    EXPECT_EQ(d.error, c.message) << c.in;
  }
}

TEST(Chunked, ExtensionTextIsToleratedAndDropped) {
  // After the size, whitespace or ';' starts extension text, which is only checked for
  // control characters: it is dropped when the body is re-framed.
  Decoded d = decode("5 ; a=\"b c\"\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(d.last, ChunkedDecoder::Step::kDone);
  EXPECT_EQ(d.body, "hello");
}

TEST(Chunked, OverlongExtensionIsRejected) {
  ChunkedDecoder::Limits limits;
  limits.max_line = 64;
  ChunkedDecoder d(limits);
  std::string in = "1;" + std::string(100, 'x') + "\r\na\r\n0\r\n\r\n";
  size_t pos = 0;
  std::string_view piece;
  EXPECT_EQ(d.next(in, pos, piece), ChunkedDecoder::Step::kError);
  EXPECT_EQ(d.error(), "chunk extension too long");
}

TEST(Chunked, TooManyTrailersAreRejected) {
  ChunkedDecoder::Limits limits;
  limits.max_trailers = 2;
  ChunkedDecoder d(limits);
  std::string in = "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  size_t pos = 0;
  std::string_view piece;
  EXPECT_EQ(d.next(in, pos, piece), ChunkedDecoder::Step::kError);
  EXPECT_EQ(d.error(), "too many trailer fields");
}

TEST(Chunked, ResetAllowsReuse) {
  ChunkedDecoder d;
  size_t pos = 0;
  std::string_view piece;
  EXPECT_EQ(d.next("zz", pos, piece), ChunkedDecoder::Step::kError);
  d.reset();
  pos = 0;
  EXPECT_EQ(d.next("0\r\n\r\n", pos, piece), ChunkedDecoder::Step::kDone);
}

TEST(Chunked, FormatChunkHeader) {
  char buf[24];
  EXPECT_EQ(std::string_view(buf, format_chunk_header(0, buf)), "0\r\n");
  EXPECT_EQ(std::string_view(buf, format_chunk_header(255, buf)), "ff\r\n");
  EXPECT_EQ(std::string_view(buf, format_chunk_header(65536, buf)), "10000\r\n");
  EXPECT_EQ(std::string_view(buf, format_chunk_header(0xfffffffffffULL, buf)), "fffffffffff\r\n");
}

}  // namespace
}  // namespace portico::http
