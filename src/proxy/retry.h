// Retry decisions for one proxied request: which failures may be retried for which
// methods, the retry budget, back-off with jitter, and Retry-After. Pure functions over
// the policy, so the rules are testable on their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "config/config.h"

namespace portico::proxy {

// Why a try ended without a usable response (or with one the policy retries).
enum class TryFailure : uint8_t {
  kConnect,  // could not connect: the request never left
  kReset,    // connection closed or reset before the response head
  kTimeout,  // per-try timeout before the response head
  kStatus,   // a response whose status the policy retries
};

// RFC 9110 9.2.2: methods whose repetition has the same effect as one request.
bool is_idempotent(std::string_view method);

// May a request of this method be retried after this failure, by the policy's rules?
// (Attempts left, the budget and a replayable body are the caller's to check.)
bool retry_allowed(const config::RetryPolicy& policy, TryFailure failure, int status, std::string_view method);

// The budget: retries in flight may not pass budget_percent of requests in flight, but
// budget_min are always allowed, so a quiet upstream can still retry.
bool within_budget(const config::RetryPolicy& policy, int64_t requests_active, int64_t retries_active);

// Delay before retry number `retry` (1 for the first retry): exponential from
// backoff_base, capped at backoff_max, with full jitter. `random` is uniform 64-bit.
int64_t backoff_ms(const config::RetryPolicy& policy, uint32_t retry, uint64_t random);

// Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP-date, in ms from now_ms (wall
// clock). nullopt when absent or malformed.
std::optional<int64_t> parse_retry_after(std::string_view value, int64_t now_wall_ms);

}  // namespace portico::proxy
