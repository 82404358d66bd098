// Request and response head parsing (RFC 9112): valid forms, and every malformed case
// with the status it must produce.
#include <gtest/gtest.h>

#include <string>

#include "http/parser.h"

namespace portico::http {
namespace {

struct Parsed {
  ParseResult result;
  RequestHead head;
  ParseError err;
};

Parsed parse(std::string_view text, ParseLimits limits = {}) {
  Parsed p;
  p.result = parse_request(text, limits, p.head, p.err);
  return p;
}

void expect_error(std::string_view text, int status, ParseLimits limits = {}) {
  Parsed p = parse(text, limits);
  ASSERT_EQ(p.result, ParseResult::kError) << text;
  EXPECT_EQ(p.err.status, status) << text << " -> " << p.err.message;
  EXPECT_FALSE(p.err.message.empty());
}

TEST(RequestParser, SimpleGet) {
  std::string_view text = "GET /a/b?c=d&e HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n";
  Parsed p = parse(text);
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.method, "GET");
  EXPECT_EQ(p.head.target, "/a/b?c=d&e");
  EXPECT_EQ(p.head.path, "/a/b");
  EXPECT_EQ(p.head.query, "c=d&e");
  EXPECT_EQ(p.head.host, "example.com");
  EXPECT_EQ(p.head.version_minor, 1);
  EXPECT_TRUE(p.head.keep_alive);
  EXPECT_EQ(p.head.framing, Framing::kNone);
  EXPECT_EQ(p.head.head_size, text.size());
  ASSERT_EQ(p.head.headers.size(), 2u);
  EXPECT_EQ(p.head.headers[0].id, HeaderId::kHost);
  EXPECT_EQ(p.head.headers[1].name, "User-Agent");
  EXPECT_EQ(p.head.headers[1].value, "t");
}

TEST(RequestParser, ValueWhitespaceIsTrimmed) {
  Parsed p = parse("GET / HTTP/1.1\r\nHost: h\r\nX-A: \t spaced out \t\r\nX-Empty:\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.headers[1].value, "spaced out");
  EXPECT_EQ(p.head.headers[2].value, "");
}

TEST(RequestParser, ObsTextIsAllowedInValues) {
  Parsed p = parse("GET / HTTP/1.1\r\nHost: h\r\nX-Name: caf\xc3\xa9\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.headers[1].value, "caf\xc3\xa9");
}

TEST(RequestParser, ContentLengthAndChunkedFraming) {
  std::string_view with_body = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  Parsed p = parse(with_body);
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.framing, Framing::kLength);
  EXPECT_EQ(p.head.content_length, 5u);
  EXPECT_EQ(p.head.head_size, with_body.size() - 5);  // the body is not part of the head
  p = parse("POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.framing, Framing::kChunked);
  p = parse("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(p.head.framing, Framing::kNone);
  p = parse("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n");
  EXPECT_EQ(p.head.content_length, 7u);
}

TEST(RequestParser, PipelinedHeadStopsAtBlankLine) {
  std::string first = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string both = first + "GET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
  Parsed p = parse(both);
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.head_size, first.size());
  EXPECT_EQ(p.head.path, "/1");
}

TEST(RequestParser, LeadingEmptyLinesAreSkipped) {
  Parsed p = parse("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.method, "GET");
}

TEST(RequestParser, AbsoluteFormTakesHostFromTarget) {
  Parsed p = parse("GET http://Example.test:8080/x/y?z=1 HTTP/1.1\r\nHost: other\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.authority, "Example.test:8080");
  EXPECT_EQ(p.head.host, "Example.test:8080");
  EXPECT_EQ(p.head.path, "/x/y");
  EXPECT_EQ(p.head.query, "z=1");
  p = parse("GET https://h HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.path, "/");
}

TEST(RequestParser, AsteriskFormOnlyForOptions) {
  Parsed p = parse("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.path, "*");
  expect_error("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}

TEST(RequestParser, Http10KeepAliveRules) {
  Parsed p = parse("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.version_minor, 0);
  EXPECT_FALSE(p.head.keep_alive);
  EXPECT_EQ(p.head.host, "");
  p = parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_TRUE(p.head.keep_alive);
  p = parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  EXPECT_FALSE(p.head.keep_alive);
  p = parse("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop\r\n\r\n");
  EXPECT_TRUE(p.head.keep_alive);
  EXPECT_TRUE(p.head.connection_lists_headers);
}

TEST(RequestParser, HigherMinorVersionIsAnsweredAs11) {
  Parsed p = parse("GET / HTTP/1.7\r\nHost: h\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.version_minor, 1);
}

TEST(RequestParser, ExpectContinue) {
  Parsed p = parse("PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_TRUE(p.head.expect_continue);
  // Without a body there is nothing to continue to.
  p = parse("GET /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_FALSE(p.head.expect_continue);
  // HTTP/1.0 clients cannot ask for it: ignored.
  p = parse("PUT /x HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_FALSE(p.head.expect_continue);
}

TEST(RequestParser, EveryPrefixOfAValidRequestIsIncomplete) {
  std::string text =
      "POST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\nContent-Type: text/plain\r\n"
      "Transfer-Encoding: chunked\r\nX-Trace: abc\r\n\r\n";
  for (size_t cut = 0; cut < text.size(); ++cut) {
    Parsed p = parse(std::string_view(text).substr(0, cut));
    EXPECT_EQ(p.result, ParseResult::kIncomplete) << "cut at " << cut << ": " << p.err.message;
  }
  EXPECT_EQ(parse(text).result, ParseResult::kComplete);
}

TEST(RequestParser, RebaseMovesEveryView) {
  std::string text = "GET http://a.test/p/q?r=s HTTP/1.1\r\nHost: b\r\nX-A: 1\r\n\r\n";
  Parsed p = parse(text);
  ASSERT_EQ(p.result, ParseResult::kComplete);
  std::string copy = text;
  RequestHead moved = p.head;
  rebase(moved, text.data(), copy.data());
  text.assign(text.size(), '#');  // the original bytes are gone
  EXPECT_EQ(moved.method, "GET");
  EXPECT_EQ(moved.path, "/p/q");
  EXPECT_EQ(moved.query, "r=s");
  EXPECT_EQ(moved.host, "a.test");
  EXPECT_EQ(moved.headers[1].name, "X-A");
  EXPECT_EQ(moved.headers[1].value, "1");
  EXPECT_GE(moved.method.data(), copy.data());
  EXPECT_LT(moved.method.data(), copy.data() + copy.size());
}

// ---- malformed requests ----

TEST(RequestParserErrors, Framing) {
  expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
  expect_error("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400);
  expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400);
  expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", 400);
  expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n", 400);
  expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400);
  expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400);
  expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400);
  expect_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400);
  expect_error("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501);
  expect_error("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
  expect_error("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400);
  expect_error("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
  expect_error("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n", 400);
  expect_error("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}

TEST(RequestParserErrors, LineEndingsAndFolding) {
  expect_error("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\tfolded\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\nHost: h\n\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: h\n\r\n", 400);
  expect_error("GET / HTTP/1.1\rHost: h\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: h\r\n\rX\r\n", 400);
}

TEST(RequestParserErrors, HeaderNamesAndValues) {
  expect_error("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: h\r\nX(A): 1\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400);
  expect_error(std::string_view("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n", 37), 400);
  expect_error("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01" "b\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7f\r\n\r\n", 400);
}

TEST(RequestParserErrors, Host) {
  expect_error("GET / HTTP/1.1\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
  expect_error("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
  expect_error("GET http://user@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}

TEST(RequestParserErrors, RequestLine) {
  expect_error("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
  expect_error("GET / HTTP/3.1\r\nHost: h\r\n\r\n", 505);
  expect_error("GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 400);
  expect_error("GET / http/1.1\r\nHost: h\r\n\r\n", 400);
  expect_error("GET / HTTP/1\r\nHost: h\r\n\r\n", 400);
  expect_error("GET /\r\nHost: h\r\n\r\n", 400);
  expect_error("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  expect_error("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  expect_error(" / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  expect_error("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  expect_error("GET /a\x80 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  expect_error("GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
  expect_error("CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", 501);
  expect_error("\x16\x03\x01\x02\x00\x01", 400);
}

TEST(RequestParserErrors, Expectation) {
  expect_error("PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: 200-ok\r\n\r\n", 417);
}

TEST(RequestParserErrors, Limits) {
  ParseLimits limits{64, 256, 4};
  std::string long_target(100, 'a');
  expect_error("GET /" + long_target + " HTTP/1.1\r\nHost: h\r\n\r\n", 414, limits);
  expect_error("GET /" + long_target, 414, limits);  // still incomplete: no need to wait
  expect_error("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", 431, limits);
  std::string big = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(300, 'x') + "\r\n\r\n";
  expect_error(big, 431, limits);
  expect_error(std::string_view(big).substr(0, 280), 431, limits);  // incomplete but over
  // Right at the limits is fine.
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits).result,
            ParseResult::kComplete);
}

// ---- responses ----

struct ParsedResponse {
  ParseResult result;
  ResponseHead head;
  ParseError err;
};

ParsedResponse parse_resp(std::string_view text, bool head_request = false) {
  ParsedResponse p;
  p.result = parse_response(text, ParseLimits{}, head_request, p.head, p.err);
  return p;
}

TEST(ResponseParser, Framings) {
  auto p = parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 12\r\nServer: x\r\n\r\nhello world!");
  ASSERT_EQ(p.result, ParseResult::kComplete);
  EXPECT_EQ(p.head.status, 200);
  EXPECT_EQ(p.head.reason, "OK");
  EXPECT_EQ(p.head.framing, Framing::kLength);
  EXPECT_EQ(p.head.content_length, 12u);
  EXPECT_TRUE(p.head.keep_alive);
  p = parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_EQ(p.head.framing, Framing::kChunked);
  p = parse_resp("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
  EXPECT_EQ(p.head.framing, Framing::kUntilClose);
  EXPECT_FALSE(p.head.keep_alive);
  p = parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", /*head_request=*/true);
  EXPECT_EQ(p.head.framing, Framing::kNone);
  EXPECT_EQ(parse_resp("HTTP/1.1 204 No Content\r\n\r\n").head.framing, Framing::kNone);
  EXPECT_EQ(parse_resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n").head.framing, Framing::kNone);
  p = parse_resp("HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(p.head.status, 100);
  EXPECT_EQ(p.head.framing, Framing::kNone);
}

TEST(ResponseParser, ReasonMayBeEmptyOrMissing) {
  EXPECT_EQ(parse_resp("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").result, ParseResult::kComplete);
  EXPECT_EQ(parse_resp("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").result, ParseResult::kComplete);
}

TEST(ResponseParser, KeepAlive) {
  EXPECT_FALSE(parse_resp("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").head.keep_alive);
  EXPECT_FALSE(parse_resp("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").head.keep_alive);
  EXPECT_TRUE(parse_resp("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").head.keep_alive);
}

TEST(ResponseParser, ErrorsAre502) {
  for (std::string_view bad : {
           std::string_view("HTTP/1.1 999 Nope\r\n\r\n"),
           std::string_view("HTTP/1.1 abc Nope\r\n\r\n"),
           std::string_view("HTTP/2.0 200 OK\r\n\r\n"),
           std::string_view("ICY 200 OK\r\n\r\n"),
           std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
           std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"),
           std::string_view("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"),
           std::string_view("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"),
           std::string_view("HTTP/1.1 200 OK\nContent-Length: 0\n\n"),
       }) {
    auto p = parse_resp(bad);
    ASSERT_EQ(p.result, ParseResult::kError) << bad;
    EXPECT_EQ(p.err.status, 502) << bad;
  }
}

TEST(ResponseParser, PrefixesAreIncomplete) {
  std::string text = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nX-A: b\r\n\r\n";
  for (size_t cut = 0; cut < text.size(); ++cut) {
    EXPECT_EQ(parse_resp(std::string_view(text).substr(0, cut)).result, ParseResult::kIncomplete) << cut;
  }
}

// Field values are scanned 16 bytes at a time: every byte value, at every offset of a
// 16-byte block and in the tail, must be judged as the character rules say.
TEST(RequestParser, EveryByteInLongFieldValuesIsJudgedByTheRules) {
  for (int c = 0; c < 256; ++c) {
    for (size_t at : {0u, 5u, 15u, 16u, 31u, 40u}) {
      std::string value(44, 'v');
      value[at] = static_cast<char>(c);
      std::string text = "GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + value + "\r\n\r\n";
      Parsed p = parse(text);
      bool edge_space = (c == ' ' || c == '\t') && (at == 0 || at == value.size() - 1);
      if (is_field_value_char(static_cast<char>(c))) {
        ASSERT_EQ(p.result, ParseResult::kComplete) << "byte " << c << " at " << at << ": " << p.err.message;
        const Header* h = find_header(p.head.headers, "x-long");
        ASSERT_NE(h, nullptr);
        if (!edge_space) {
          EXPECT_EQ(h->value, value) << "byte " << c << " at " << at;
        }
      } else {
        ASSERT_EQ(p.result, ParseResult::kError) << "byte " << c << " at " << at;
        EXPECT_EQ(p.err.status, 400);
      }
    }
  }
}

}  // namespace
}  // namespace portico::http
