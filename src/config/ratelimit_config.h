// Rate limits, usage plans (quotas) and the Redis store they may share, as typed config.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace portico::config {

// "100/s", "6000/min", "20/10s": count requests per period.
struct Rate {
  int64_t count = 0;
  int64_t period_ms = 0;
  std::string text;
  // The GCRA emission interval: one request per this many nanoseconds.
  int64_t interval_ns() const { return period_ms * 1'000'000 / count; }
  // Seconds of the period (at least 1), for the RateLimit-Policy window.
  int64_t window_s() const { return period_ms < 1000 ? 1 : period_ms / 1000; }
};

// One part of a limit key: where its value comes from. A part may list alternatives
// ("consumer|ip"): the first one present is used.
struct KeySource {
  enum class Kind : uint8_t { kIp, kConsumer, kSubject, kClaim, kHeader, kRoute };
  Kind kind = Kind::kIp;
  std::string name;  // claim or header name (headers in lower case)
};

struct LimitKey {
  std::vector<std::vector<KeySource>> parts;  // each part's alternatives
  std::string text;                           // as written, for /config and errors
  bool needs_principal = false;  // a part reads the consumer, subject or a claim: runs after auth
};

enum class LimitStore : uint8_t { kLocal, kRedis };

// What a Redis-backed limit does when Redis cannot answer in time.
enum class StoreFailure : uint8_t {
  kLocal,  // decide with this instance's own count (default)
  kAllow,  // fail open
  kDeny,   // fail closed: 503
};

// Which response fields describe the limits.
enum class LimitHeaders : uint8_t {
  kDraft,   // RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers-10)
  kLegacy,  // RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset (draft 06 and earlier)
  kOff,
};

struct RateLimitPolicy {
  std::string name;
  Rate rate;
  int64_t burst = 0;  // requests allowed at once; default: one second's worth (at least 1)
  LimitKey key;
  bool per_route = false;   // scope: route (the route is part of the key)
  bool all_routes = false;  // routes: all (every route but those saying rate_limit: none)
  LimitStore store = LimitStore::kLocal;
  StoreFailure on_store_error = StoreFailure::kLocal;
  bool local_precheck = true;  // Redis: refuse at once what this instance alone already exceeds
  uint64_t max_keys = 100'000;  // local store: keys tracked (idle keys are evicted first)
  LimitHeaders headers = LimitHeaders::kDraft;
  std::string policy_item;  // "name";q=100;w=1 for RateLimit-Policy, made once

  // Definitions that count the same way share their state across reloads.
  std::string state_signature() const;
};

// AWS-style usage plan: a per-consumer throttle and calendar quotas (UTC).
struct UsagePlan {
  std::string name;
  std::optional<Rate> rate;  // throttle per consumer
  int64_t burst = 0;
  int64_t per_day = 0;    // requests per UTC day; 0: none
  int64_t per_month = 0;  // requests per UTC calendar month; 0: none
  LimitStore store = LimitStore::kLocal;
  StoreFailure on_store_error = StoreFailure::kLocal;
  LimitHeaders headers = LimitHeaders::kDraft;
  std::string policy_item;  // the throttle's RateLimit-Policy item
};

struct RedisConfig {
  bool enabled = false;
  std::string address_text;  // host:port
  std::string host;          // resolved at each connect
  uint16_t port = 6379;
  std::string username;      // ACL user (Redis 6+); empty: default
  std::string password;      // never shown in /config
  int64_t db = 0;
  int64_t timeout_ms = 250;         // per command: a later answer counts as a store error
  int64_t connect_timeout_ms = 1'000;
  std::string key_prefix = "portico:";

  // Settings that need a new connection when they change.
  std::string connection_signature() const;
};

// A route's limits, split by when they can run: limits keyed only on the request (IP,
// headers, route) run before authentication, so floods of bad credentials are shed
// before they cost a signature check; limits keyed on the principal run after it.
struct RouteLimits {
  std::vector<int> before_auth;  // indexes into Config::rate_limits
  std::vector<int> after_auth;
  bool none = false;  // rate_limit: none: no limits, plans or quotas on this route
};

}  // namespace portico::config
