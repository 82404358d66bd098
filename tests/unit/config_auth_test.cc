// The auth, consumers and CORS parts of the config: typed values and defaults.
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config_test_util.h"
#include "jose/key.h"

namespace portico::config {
namespace {

using testing::load;

TEST(ConfigAuth, MethodsConsumersPoliciesAndCors) {
  auto l = load(R"(
auth:
  jwt:
    users:
      issuers: [https://a.test, https://b.test]
      audience: api
      keys:
        - {kty: OKP, crv: Ed25519, x: 11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo, kid: ed}
        - {secret: "0123456789abcdef0123456789abcdef", alg: HS256, kid: hs}
      jwks_url: {url: "https://id.example.com:8443/keys", refresh: 1m, min_refetch: 10s, timeout: 1s}
      algorithms: [EdDSA, HS256]
      leeway: 10s
      max_age: 1h
      required_claims: [sub]
      typ: at+jwt
      from: [bearer, "cookie:session"]
      forward_claims: {sub: X-User-Id}
      strip_token: true
      scopes_claim: permissions
      consumer_claim: client_id
      cache: {size: 50, ttl: 1m}
      max_token_bytes: 4KiB
      unavailable_status: 401
  api_keys:
    keys: {from: ["query:key"], strip: false}
consumers:
  acme: {keys: [acme-0123456789abcdef], ids: [c-1], groups: [partners]}
cors: {origins: ["https://app.test"], credentials: true, max_age: 1m}
routes:
  - match: {path: /a}
    echo: true
    auth: [users, keys]
    require: {scopes: [read], claims: {tier: [gold, silver]}, groups: [partners]}
    deny: {consumers: [acme]}
  - match: {path: /b}
    echo: true
    cors: off
)");
  ASSERT_TRUE(l.config) << l.text();
  const Config& c = *l.config;
  ASSERT_EQ(c.auth.size(), 2u);
  const JwtMethod& j = c.auth[0].jwt;
  EXPECT_EQ(j.keys.size(), 2u);
  EXPECT_EQ(j.keys[1]->type(), jose::Key::Type::kSecret);
  ASSERT_TRUE(j.jwks_url);
  EXPECT_TRUE(j.jwks_url->tls);
  EXPECT_EQ(j.jwks_url->server_name, "id.example.com");
  EXPECT_EQ(j.jwks_url->host, "id.example.com:8443");
  EXPECT_EQ(j.jwks_url->target, "/keys");
  EXPECT_EQ(j.jwks_url->min_refetch_ms, 10'000);
  EXPECT_EQ(j.rules.issuers.size(), 2u);
  EXPECT_EQ(j.rules.leeway_s, 10);
  EXPECT_EQ(j.rules.max_age_s, 3600);
  EXPECT_TRUE(j.accepts(jose::Alg::kEdDSA));
  EXPECT_FALSE(j.accepts(jose::Alg::kRS256));
  ASSERT_EQ(j.from.size(), 2u);
  EXPECT_EQ(j.from[1].kind, CredentialSource::Kind::kCookie);
  EXPECT_EQ(j.forward_claims[0].second, "X-User-Id");
  EXPECT_EQ(j.cache_size, 50u);
  EXPECT_EQ(j.max_token_bytes, 4096u);
  EXPECT_EQ(j.unavailable_status, 401);
  EXPECT_FALSE(c.auth[1].api_key.strip);
  EXPECT_EQ(c.auth[1].api_key.from[0].kind, CredentialSource::Kind::kQuery);
  ASSERT_EQ(c.consumers.list.size(), 1u);
  EXPECT_EQ(c.consumers.by_key_hash.count(jose::sha256_hex("acme-0123456789abcdef")), 1u);
  EXPECT_EQ(c.consumers.by_name_or_id.at("c-1"), 0u);
  const Route& a = c.routes[0];
  EXPECT_EQ(a.auth, (std::vector<int>{0, 1}));
  EXPECT_EQ(a.access.claims[0].values, (std::vector<std::string>{"gold", "silver"}));
  EXPECT_EQ(a.access.deny_consumers[0], "acme");
  EXPECT_TRUE(a.cors.enabled) << "the global CORS applies";
  EXPECT_TRUE(a.cors.credentials);
  EXPECT_EQ(a.cors.max_age_s, 60);
  EXPECT_FALSE(c.routes[1].cors.enabled);
}

TEST(ConfigAuth, Defaults) {
  auto l = load("auth: {jwt: {u: {keys: [{secret: \"0123456789abcdef0123456789abcdef\", alg: HS256}]}}}\n"
                "routes:\n  - match: {path: /a}\n    echo: true\n    auth: u\n");
  ASSERT_TRUE(l.config) << l.text();
  const JwtMethod& j = l.config->auth[0].jwt;
  EXPECT_EQ(j.from.size(), 1u);
  EXPECT_EQ(j.from[0].kind, CredentialSource::Kind::kBearer);
  EXPECT_EQ(j.rules.leeway_s, 30);
  EXPECT_EQ(j.cache_size, 10'000u);
  EXPECT_EQ(j.unavailable_status, 503);
  EXPECT_FALSE(j.strip_token);
  EXPECT_FALSE(l.config->routes[0].cors.enabled);
}

TEST(ConfigAuth, DefaultMethodsApplyToRoutesThatNameNone) {
  auto l = load("auth:\n  jwt: {u: {keys: [{secret: \"0123456789abcdef0123456789abcdef\", alg: HS256}]}}\n"
                "  api_keys: {k: {}}\n  default: [u, k]\n"
                "routes:\n  - match: {path: /a}\n    echo: true\n"
                "  - match: {path: /b}\n    echo: true\n    auth: none\n"
                "  - match: {path: /c}\n    echo: true\n    auth: k\n");
  ASSERT_TRUE(l.config) << l.text();
  EXPECT_EQ(l.config->routes[0].auth, (std::vector<int>{0, 1}));
  EXPECT_TRUE(l.config->routes[1].auth.empty()) << "auth: none opts out of the default";
  EXPECT_EQ(l.config->routes[2].auth, (std::vector<int>{1}));

  auto bad = load("auth: {api_keys: {k: {}}, default: [kk]}\nroutes:\n  - match: {path: /a}\n    echo: true\n");
  EXPECT_FALSE(bad.config);
  EXPECT_NE(bad.text().find("auth.default: unknown auth method \"kk\" (did you mean \"k\"?)"), std::string::npos)
      << bad.text();
}

}  // namespace
}  // namespace portico::config
