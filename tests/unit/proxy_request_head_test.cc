// The request head Portico sends upstream.
#include <gtest/gtest.h>

#include <string>

#include "gateway/context.h"
#include "http/parser.h"
#include "proxy/proxy.h"

namespace portico::proxy {
namespace {

class RequestHeadTest : public ::testing::Test {
 protected:
  std::string build(std::string raw, std::string_view path_override = {}) {
    raw_ = std::move(raw);
    http::ParseError err;
    EXPECT_EQ(http::parse_request(raw_, http::ParseLimits{}, head_, err), http::ParseResult::kComplete)
        << err.message;
    ctx_.request = &head_;
    ctx_.path = path_override.empty() ? head_.path : path_override;
    ctx_.client_ip = ctx_.peer_ip = "10.1.2.3";
    ctx_.request_id = "rid-1";
    std::string out;
    build_upstream_request_head(ctx_, out);
    return out;
  }

  std::string raw_;
  http::RequestHead head_;
  gateway::RequestContext ctx_;
  config::Route route_;
};

TEST_F(RequestHeadTest, MinimalGet) {
  EXPECT_EQ(build("GET /a?b=c HTTP/1.1\r\nHost: api.test\r\n\r\n"),
            "GET /a?b=c HTTP/1.1\r\n"
            "Host: api.test\r\n"
            "X-Forwarded-For: 10.1.2.3\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: api.test\r\n"
            "X-Request-Id: rid-1\r\n"
            "Via: 1.1 portico\r\n"
            "\r\n");
}

TEST_F(RequestHeadTest, HopByHopAndConnectionNamedHeadersAreDropped) {
  std::string out = build(
      "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: timeout=5\r\n"
      "X-Private: secret\r\nTE: trailers\r\nUpgrade: websocket\r\nProxy-Connection: keep-alive\r\n"
      "Proxy-Authorization: Basic x\r\nTrailer: X-T\r\nExpect: 100-continue\r\nAccept: */*\r\n"
      "X-Request-Id: client-id\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\n\r\n");
  for (std::string_view gone : {"Connection:", "Keep-Alive:", "X-Private:", "TE:", "Upgrade:", "Proxy-Connection:",
                                "Proxy-Authorization:", "Trailer:", "Expect:", "client-id", "https", "evil"}) {
    EXPECT_EQ(out.find(gone), std::string::npos) << gone << " in:\n" << out;
  }
  EXPECT_NE(out.find("Accept: */*\r\n"), std::string::npos);
  EXPECT_NE(out.find("X-Request-Id: rid-1\r\n"), std::string::npos);
}

TEST_F(RequestHeadTest, ForwardedForAndViaAreAppended) {
  std::string out = build("GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.1.1.1\r\nVia: 1.0 edge\r\n"
                          "X-Forwarded-For: 2.2.2.2, 3.3.3.3\r\nVia: 1.1 cdn\r\n\r\n");
  EXPECT_NE(out.find("X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 10.1.2.3\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Via: 1.0 edge, 1.1 cdn, 1.1 portico\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("X-Forwarded-For: 1.1.1.1\r\n"), std::string::npos);
}

TEST_F(RequestHeadTest, BodyFraming) {
  EXPECT_NE(build("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n").find("Content-Length: 12\r\n"),
            std::string::npos);
  std::string chunked = build("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_NE(chunked.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(build("POST / HTTP/1.1\r\nHost: h\r\n\r\n").find("Content-Length: 0\r\n"), std::string::npos);
  EXPECT_EQ(build("GET / HTTP/1.1\r\nHost: h\r\n\r\n").find("Content-Length"), std::string::npos);
}

TEST_F(RequestHeadTest, Http10ClientIsForwardedAs11WithItsVia) {
  std::string out = build("GET /x HTTP/1.0\r\n\r\n");
  EXPECT_EQ(out.rfind("GET /x HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(out.find("Via: 1.0 portico\r\n"), std::string::npos);
}

TEST_F(RequestHeadTest, AbsoluteFormSendsOriginFormWithTheTargetsHost) {
  std::string out = build("GET http://backend.test/p?q HTTP/1.1\r\nHost: ignored\r\n\r\n");
  EXPECT_EQ(out.rfind("GET /p?q HTTP/1.1\r\nHost: backend.test\r\n", 0), 0u) << out;
}

TEST_F(RequestHeadTest, NormalisedPathIsSent) {
  std::string out = build("GET /a/../b HTTP/1.1\r\nHost: h\r\n\r\n", "/b");
  EXPECT_EQ(out.rfind("GET /b HTTP/1.1\r\n", 0), 0u);
}

TEST_F(RequestHeadTest, StripPrefixRewrite) {
  route_.rewrite.strip_prefix = "/api";
  ctx_.route = &route_;
  EXPECT_EQ(build("GET /api/users/7?x=1 HTTP/1.1\r\nHost: h\r\n\r\n").rfind("GET /users/7?x=1 HTTP/1.1", 0), 0u);
  EXPECT_EQ(build("GET /api HTTP/1.1\r\nHost: h\r\n\r\n").rfind("GET / HTTP/1.1", 0), 0u);
  route_.rewrite.strip_prefix = "/api/";
  EXPECT_EQ(build("GET /api/x HTTP/1.1\r\nHost: h\r\n\r\n").rfind("GET /x HTTP/1.1", 0), 0u);
}

TEST_F(RequestHeadTest, TemplateRewriteWithParams) {
  route_.rewrite.path_template = "/internal/{rest...}/of/{id}";
  route_.param_names = {"id", "rest"};
  ctx_.route = &route_;
  ctx_.match.param_count = 2;
  ctx_.match.params[0] = "42";
  ctx_.match.params[1] = "a/b";
  EXPECT_EQ(build("GET /x/42/a/b?k=v HTTP/1.1\r\nHost: h\r\n\r\n").rfind("GET /internal/a/b/of/42?k=v HTTP/1.1", 0), 0u);
}

}  // namespace
}  // namespace portico::proxy
