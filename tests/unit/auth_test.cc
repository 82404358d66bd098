// The pieces of edge auth on their own: the verified-token cache (LRU, expiry, key
// versions), finding credentials, CORS origin rules and preflights, and authorization.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "auth/cors.h"
#include "auth/credentials.h"
#include "auth/token_cache.h"
#include "auth/worker_auth.h"

namespace portico::auth {
namespace {

std::shared_ptr<const gateway::Principal> principal(std::string subject) {
  auto p = std::make_shared<gateway::Principal>();
  p->subject = std::move(subject);
  return p;
}

TEST(TokenCache, HitsExpiresAndEvictsLeastRecentlyUsed) {
  TokenCache cache(2);
  cache.insert("a", principal("A"), 1000, 1);
  cache.insert("b", principal("B"), 1000, 1);
  ASSERT_TRUE(cache.find("a", 10, 1));  // "a" is now the most recent
  cache.insert("c", principal("C"), 1000, 1);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_FALSE(cache.find("b", 10, 1)) << "the least recently used went";
  EXPECT_EQ(cache.find("a", 10, 1)->subject, "A");
  EXPECT_FALSE(cache.find("a", 1000, 1)) << "expired";
  EXPECT_FALSE(cache.find("c", 10, 2)) << "verified with another key set";
  EXPECT_EQ(cache.size(), 0u);
  TokenCache off(0);
  off.insert("a", principal("A"), 1000, 1);
  EXPECT_FALSE(off.find("a", 10, 1));
}

TEST(Credentials, BearerHeaderCookieQueryInOrder) {
  std::string raw =
      "GET /x?access_token=q-token HTTP/1.1\r\nHost: h\r\nAuthorization: bEaReR  b-token \r\n"
      "Cookie: a=1; session=c-token\r\nX-Token: h-token\r\n\r\n";
  http::RequestHead head;
  http::ParseError err;
  ASSERT_EQ(http::parse_request(raw, http::ParseLimits{}, head, err), http::ParseResult::kComplete);
  using K = config::CredentialSource::Kind;
  auto source = [](K kind, std::string name = {}) {
    config::CredentialSource s;
    s.kind = kind;
    s.name = std::move(name);
    return s;
  };
  EXPECT_EQ(find_credential(head, {source(K::kBearer)})->value, "b-token");
  EXPECT_EQ(find_credential(head, {source(K::kHeader, "x-token")})->value, "h-token");
  EXPECT_EQ(find_credential(head, {source(K::kCookie, "session")})->value, "c-token");
  EXPECT_EQ(find_credential(head, {source(K::kQuery, "access_token")})->value, "q-token");
  EXPECT_EQ(find_credential(head, {source(K::kHeader, "x-none"), source(K::kCookie, "session")})->value, "c-token");
  EXPECT_FALSE(find_credential(head, {source(K::kHeader, "x-none")}));
  std::string basic = "GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic dTpw\r\n\r\n";
  ASSERT_EQ(http::parse_request(basic, http::ParseLimits{}, head, err), http::ParseResult::kComplete);
  EXPECT_FALSE(find_credential(head, {source(K::kBearer)})) << "not a bearer token";
}

TEST(Cors, OriginRules) {
  config::Cors c;
  c.enabled = true;
  c.origins = {"https://app.example.com", "https://*.example.org"};
  EXPECT_TRUE(origin_allowed(c, "https://app.example.com"));
  EXPECT_TRUE(origin_allowed(c, "HTTPS://APP.EXAMPLE.COM"));
  EXPECT_FALSE(origin_allowed(c, "http://app.example.com")) << "another scheme";
  EXPECT_FALSE(origin_allowed(c, "https://app.example.com.evil.net"));
  EXPECT_TRUE(origin_allowed(c, "https://a.b.example.org"));
  EXPECT_FALSE(origin_allowed(c, "https://example.org")) << "a subdomain pattern is not the domain";
  EXPECT_FALSE(origin_allowed(c, "https://evil.net/.example.org"));
  EXPECT_FALSE(origin_allowed(c, "https://x.example.org:8443")) << "the port is part of the origin";
  EXPECT_FALSE(origin_allowed(c, "null"));
  c.origins = {"*"};
  EXPECT_TRUE(origin_allowed(c, "https://anything.test"));
}

TEST(Cors, PreflightAnswers) {
  config::Cors c;
  c.enabled = true;
  c.origins = {"https://app.example.com"};
  c.headers = {"authorization"};
  c.max_age_s = 60;
  config::Route r;
  r.methods = {"GET", "PUT"};
  std::string out, why;
  EXPECT_TRUE(preflight(c, r, "https://app.example.com", "PUT", "Authorization, Content-Type", out, why));
  EXPECT_EQ(out,
            "Vary: Origin\r\nAccess-Control-Allow-Origin: https://app.example.com\r\n"
            "Access-Control-Allow-Methods: GET, PUT\r\nAccess-Control-Allow-Headers: authorization, content-type\r\n"
            "Access-Control-Max-Age: 60\r\n");
  out.clear();
  EXPECT_FALSE(preflight(c, r, "https://app.example.com", "PUT", "X-Secret", out, why));
  EXPECT_EQ(why, "request header x-secret not allowed");
  EXPECT_FALSE(preflight(c, r, "https://app.example.com", "DELETE", "", out, why));
  EXPECT_EQ(why, "method DELETE not allowed");
}

TEST(Authorize, ScopesClaimsConsumersAndGroups) {
  gateway::Principal p;
  p.consumer = "acme";
  p.groups = {"partners"};
  p.scopes = {"orders:read", "profile"};
  p.claims = boost::json::parse(R"({"tenant":"acme","roles":["ops","dev"],"level":3})").as_object();
  config::AccessPolicy policy;
  EXPECT_FALSE(authorize(policy, p));
  policy.scopes = {"orders:read"};
  policy.claims = {{"tenant", {"acme"}}, {"roles", {"admin", "ops"}}, {"level", {"3"}}};
  policy.groups = {"partners"};
  EXPECT_FALSE(authorize(policy, p));
  policy.scopes.push_back("orders:write");
  auto denied = authorize(policy, p);
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  EXPECT_EQ(denied->message, "insufficient scope: this route needs orders:write");
  EXPECT_NE(denied->headers.find("error=\"insufficient_scope\", scope=\"orders:read orders:write\""), std::string::npos);
  policy.scopes.pop_back();
  policy.deny_groups = {"partners"};
  EXPECT_EQ(authorize(policy, p)->message, "consumer \"acme\" may not use this route");
  policy.deny_groups.clear();
  policy.claims[1].values = {"admin"};
  EXPECT_EQ(authorize(policy, p)->message, "the token's \"roles\" claim does not allow this route");
}

}  // namespace
}  // namespace portico::auth
