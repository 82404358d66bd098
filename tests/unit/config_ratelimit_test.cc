// The rate limit, usage plan and Redis parts of the config: values, defaults, how a
// route's limits split around authentication, and the errors.
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config_test_util.h"

namespace portico::config {
namespace {

using testing::load;

constexpr const char* kAuth = R"(
auth:
  api_keys:
    keys: {}
)";

TEST(ConfigRateLimits, PoliciesPlansAndRedis) {
  auto l = load(std::string(kAuth) + R"(
redis: {address: "cache.internal:6380", db: 2, timeout: 100ms, key_prefix: "gw:"}
rate_limits:
  per_ip: {rate: 100/s, burst: 10, key: ip, routes: all}
  per_user: {rate: 6000/min, key: [consumer|ip, header:X-Tenant], scope: route, store: redis, on_store_error: deny}
  slow: {rate: 20/10s, key: route, headers: legacy}
usage_plans:
  gold: {rate: 50/s, quota: {day: 10000, month: 200000}, store: redis}
  free: {quota: {day: 100}}
consumers:
  acme: {keys: [acme-0123456789abcdef], plan: gold}
routes:
  - match: {path: /a}
    echo: true
    auth: keys
    rate_limit: [per_user, slow]
  - match: {path: /b}
    echo: true
  - match: {path: /health}
    echo: true
    rate_limit: none
)");
  ASSERT_TRUE(l.config) << l.text();
  const Config& c = *l.config;
  ASSERT_EQ(c.rate_limits.size(), 3u);
  const RateLimitPolicy& ip = c.rate_limits[0];
  EXPECT_EQ(ip.rate.count, 100);
  EXPECT_EQ(ip.rate.interval_ns(), 10'000'000);
  EXPECT_EQ(ip.burst, 10);
  EXPECT_TRUE(ip.all_routes);
  EXPECT_FALSE(ip.key.needs_principal);
  const RateLimitPolicy& user = c.rate_limits[1];
  EXPECT_EQ(user.burst, 100) << "default: one second's worth";
  EXPECT_EQ(user.rate.window_s(), 60);
  ASSERT_EQ(user.key.parts.size(), 2u);
  EXPECT_EQ(user.key.parts[0].size(), 2u) << "consumer, else ip";
  EXPECT_EQ(user.key.parts[1][0].name, "x-tenant");
  EXPECT_TRUE(user.key.needs_principal);
  EXPECT_TRUE(user.per_route);
  EXPECT_EQ(user.store, LimitStore::kRedis);
  EXPECT_EQ(user.on_store_error, StoreFailure::kDeny);
  EXPECT_EQ(c.rate_limits[2].rate.period_ms, 10'000);
  EXPECT_EQ(c.rate_limits[2].burst, 2);
  EXPECT_EQ(c.rate_limits[2].headers, LimitHeaders::kLegacy);
  EXPECT_TRUE(c.redis.enabled);
  EXPECT_EQ(c.redis.host, "cache.internal");
  EXPECT_EQ(c.redis.port, 6380);
  EXPECT_EQ(c.redis.db, 2);
  ASSERT_EQ(c.usage_plans.size(), 2u);
  EXPECT_EQ(c.usage_plans[0].burst, 50);
  EXPECT_EQ(c.usage_plans[0].per_month, 200'000);
  EXPECT_FALSE(c.usage_plans[1].rate);
  EXPECT_EQ(c.consumers.list[0].plan, 0);

  const Route& a = c.routes[0];
  EXPECT_EQ(a.limits.before_auth, (std::vector<int>{2, 0})) << "request-keyed limits run before auth";
  EXPECT_EQ(a.limits.after_auth, (std::vector<int>{1}));
  EXPECT_EQ(c.routes[1].limits.before_auth, (std::vector<int>{0})) << "routes: all";
  EXPECT_TRUE(c.routes[2].limits.none);
  EXPECT_TRUE(c.routes[2].limits.before_auth.empty());
}

TEST(ConfigRateLimits, Errors) {
  auto l = load(std::string(kAuth) + R"(
rate_limits:
  a: {rate: 100/fortnight, key: ip}
  b: {rate: 10/s, key: [ip, cookie:x]}
  c: {rate: 10/s, key: consumer, store: redis}
  d: {rate: 10/s, key: ip, on_store_error: allow}
  e: {rate: 1/d, burst: 40, key: ip}
  f: {rate: 1/s, key: consumer}
usage_plans:
  empty: {}
consumers:
  acme: {keys: [acme-0123456789abcdef], plan: golld}
routes:
  - match: {path: /a}
    echo: true
    rate_limit: [f, per_ipp]
)");
  EXPECT_FALSE(l.config);
  std::string e = l.text();
  EXPECT_NE(e.find("rate_limits.a.rate: expected a rate such as 100/s, 6000/min or 20/10s"), std::string::npos) << e;
  EXPECT_NE(e.find("rate_limits.b.key: \"cookie:x\": expected ip, consumer, subject, route, claim:NAME or header:NAME"),
            std::string::npos) << e;
  EXPECT_NE(e.find("rate_limits.c.store: store: redis needs the top-level redis section"), std::string::npos) << e;
  EXPECT_NE(e.find("rate_limits.d.on_store_error: only used with store: redis"), std::string::npos) << e;
  EXPECT_NE(e.find("rate_limits.e: burst 40 at 1/d spans 40 days; at most 30 days are supported"), std::string::npos) << e;
  EXPECT_NE(e.find("usage_plans.empty: a plan needs a rate, a quota or both"), std::string::npos) << e;
  EXPECT_NE(e.find("consumers.acme.plan: unknown usage plan \"golld\""), std::string::npos) << e;
  EXPECT_NE(e.find("routes[0].rate_limit: unknown rate limit policy \"per_ipp\""), std::string::npos) << e;
  EXPECT_NE(e.find("routes[0].rate_limit: policy \"f\" is keyed on consumer, which needs the route to authenticate"),
            std::string::npos) << e;
}

}  // namespace
}  // namespace portico::config
