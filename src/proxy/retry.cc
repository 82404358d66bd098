#include "proxy/retry.h"

#include <time.h>

#include <algorithm>
#include <string>

#include "core/strings.h"

namespace portico::proxy {

bool is_idempotent(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}

bool retry_allowed(const config::RetryPolicy& policy, TryFailure failure, int status, std::string_view method) {
  // A request that never left can always go elsewhere; one that may have been acted on
  // only if repeating it is harmless (or the route says its origin copes).
  bool repeatable = is_idempotent(method) || policy.non_idempotent;
  switch (failure) {
    case TryFailure::kConnect:
      return policy.on_connect_failure;
    case TryFailure::kReset:
      return policy.on_reset && repeatable;
    case TryFailure::kTimeout:
      return policy.on_timeout && repeatable;
    case TryFailure::kStatus:
      return policy.retries_status(status) && repeatable;
  }
  return false;
}

bool within_budget(const config::RetryPolicy& policy, int64_t requests_active, int64_t retries_active) {
  int64_t allowed = std::max<int64_t>(policy.budget_min, requests_active * policy.budget_percent / 100);
  return retries_active < allowed;
}

int64_t backoff_ms(const config::RetryPolicy& policy, uint32_t retry, uint64_t random) {
  int64_t cap = policy.backoff_base_ms;
  for (uint32_t i = 1; i < retry && cap < policy.backoff_max_ms; ++i) cap *= 2;
  cap = std::min(cap, policy.backoff_max_ms);
  // Full jitter: spread retries of many clients over the whole interval.
  return static_cast<int64_t>(random % static_cast<uint64_t>(cap + 1));
}

std::optional<int64_t> parse_retry_after(std::string_view value, int64_t now_wall_ms) {
  value = trim(value);
  if (auto seconds = parse_u64(value)) {
    if (*seconds > 86'400 * 365) return std::nullopt;
    return static_cast<int64_t>(*seconds) * 1000;
  }
  // IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must accept.
  static const char* kFormats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"};
  std::string text(value);
  for (const char* f : kFormats) {
    tm t{};
    const char* end = strptime(text.c_str(), f, &t);
    if (end == nullptr || *end != '\0') continue;
    int64_t at_ms = static_cast<int64_t>(timegm(&t)) * 1000;
    return std::max<int64_t>(0, at_ms - now_wall_ms);
  }
  return std::nullopt;
}

}  // namespace portico::proxy
