// BodyReader over each framing, and the cookie/query lookups used by splits and hashing.
#include <gtest/gtest.h>

#include "http/body_reader.h"
#include "http/request_values.h"

namespace portico::http {
namespace {

std::string read_all(BodyReader& r, std::string_view in, BodyReader::Step& last, size_t& consumed) {
  std::string body;
  consumed = 0;
  std::string_view piece;
  while ((last = r.next(in, consumed, piece)) == BodyReader::Step::kData) body.append(piece);
  return body;
}

TEST(BodyReader, ContentLengthStopsAtTheLength) {
  BodyReader r;
  r.reset(Framing::kLength, 5);
  BodyReader::Step last;
  size_t used;
  EXPECT_EQ(read_all(r, "hel", last, used), "hel");
  EXPECT_EQ(last, BodyReader::Step::kNeedMore);
  EXPECT_EQ(read_all(r, "loNEXT", last, used), "lo");
  EXPECT_EQ(last, BodyReader::Step::kDone);
  EXPECT_EQ(used, 2u);  // the next message's bytes are left
  EXPECT_TRUE(r.done());
}

TEST(BodyReader, ChunkedAndUntilCloseAndNone) {
  BodyReader r;
  r.reset(Framing::kChunked, 0);
  BodyReader::Step last;
  size_t used;
  EXPECT_EQ(read_all(r, "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", last, used), "abcde");
  EXPECT_EQ(last, BodyReader::Step::kDone);

  r.reset(Framing::kChunked, 0);
  read_all(r, "zz\r\n", last, used);
  EXPECT_EQ(last, BodyReader::Step::kError);

  r.reset(Framing::kUntilClose, 0);
  EXPECT_EQ(read_all(r, "all of it", last, used), "all of it");
  EXPECT_EQ(last, BodyReader::Step::kNeedMore);
  EXPECT_TRUE(r.complete_at_eof());

  r.reset(Framing::kNone, 0);
  EXPECT_EQ(read_all(r, "ignored", last, used), "");
  EXPECT_EQ(last, BodyReader::Step::kDone);
  EXPECT_EQ(used, 0u);
}

TEST(RequestValues, CookiesByName) {
  HeaderList h = {{"Cookie", "a=1; session=xyz;theme=\"dark\""}, {"cookie", "late=2"}};
  EXPECT_EQ(find_cookie(h, "session"), "xyz");
  EXPECT_EQ(find_cookie(h, "theme"), "dark");
  EXPECT_EQ(find_cookie(h, "late"), "2");
  EXPECT_FALSE(find_cookie(h, "sess"));
  EXPECT_FALSE(find_cookie({{"X-Cookie", "session=1"}}, "session"));
}

TEST(RequestValues, QueryParametersByName) {
  EXPECT_EQ(find_query_param("a=1&canary=yes&b", "canary"), "yes");
  EXPECT_EQ(find_query_param("a=1&b", "b"), "");
  EXPECT_EQ(find_query_param("x=%20y", "x"), "%20y");  // raw, as sent
  EXPECT_FALSE(find_query_param("ab=1", "a"));
  EXPECT_FALSE(find_query_param("", "a"));
}

}  // namespace
}  // namespace portico::http
