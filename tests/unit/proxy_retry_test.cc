// Retry rules: which failures are retried for which methods, the budget, back-off and
// Retry-After parsing.
#include <gtest/gtest.h>

#include "proxy/retry.h"

namespace portico::proxy {
namespace {

TEST(Retry, IdempotentMethodsPerRfc9110) {
  for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) EXPECT_TRUE(is_idempotent(m)) << m;
  for (const char* m : {"POST", "PATCH", "CONNECT", "get", "PURGE"}) EXPECT_FALSE(is_idempotent(m)) << m;
}

TEST(Retry, ConnectFailuresRetryAnyMethodOtherFailuresOnlyIdempotentOnes) {
  config::RetryPolicy p;  // defaults: connect_failure and reset
  EXPECT_TRUE(retry_allowed(p, TryFailure::kConnect, 0, "POST"));
  EXPECT_TRUE(retry_allowed(p, TryFailure::kReset, 0, "GET"));
  EXPECT_FALSE(retry_allowed(p, TryFailure::kReset, 0, "POST"));
  EXPECT_FALSE(retry_allowed(p, TryFailure::kTimeout, 0, "GET"));  // not in the default list
  EXPECT_FALSE(retry_allowed(p, TryFailure::kStatus, 503, "GET"));
  p.on_timeout = true;
  p.on_status = {502, 503};
  EXPECT_TRUE(retry_allowed(p, TryFailure::kTimeout, 0, "DELETE"));
  EXPECT_TRUE(retry_allowed(p, TryFailure::kStatus, 503, "GET"));
  EXPECT_FALSE(retry_allowed(p, TryFailure::kStatus, 500, "GET"));
  EXPECT_FALSE(retry_allowed(p, TryFailure::kStatus, 503, "PATCH"));
  p.non_idempotent = true;
  EXPECT_TRUE(retry_allowed(p, TryFailure::kStatus, 503, "PATCH"));
  p.on_connect_failure = false;
  EXPECT_FALSE(retry_allowed(p, TryFailure::kConnect, 0, "GET"));
}

TEST(Retry, BudgetIsAShareOfRequestsWithAFloor) {
  config::RetryPolicy p;
  p.budget_percent = 20;
  p.budget_min = 3;
  EXPECT_TRUE(within_budget(p, 1, 0));
  EXPECT_TRUE(within_budget(p, 1, 2));   // the floor: 3 retries whatever the load
  EXPECT_FALSE(within_budget(p, 1, 3));
  EXPECT_TRUE(within_budget(p, 100, 19));  // 20% of 100 in flight
  EXPECT_FALSE(within_budget(p, 100, 20));
  p.budget_min = 0;
  p.budget_percent = 0;
  EXPECT_FALSE(within_budget(p, 1000, 0));
}

TEST(Retry, BackoffGrowsExponentiallyWithinTheCapAndJitters) {
  config::RetryPolicy p;
  p.backoff_base_ms = 25;
  p.backoff_max_ms = 250;
  // The cap before jitter: 25, 50, 100, 200, 250, 250.
  const int64_t caps[] = {25, 50, 100, 200, 250, 250};
  for (uint32_t retry = 1; retry <= 6; ++retry) {
    int64_t cap = caps[retry - 1];
    EXPECT_EQ(backoff_ms(p, retry, static_cast<uint64_t>(cap)), cap) << retry;  // random % (cap+1) == cap
    EXPECT_EQ(backoff_ms(p, retry, static_cast<uint64_t>(cap) + 1), 0) << retry;
    for (uint64_t r : {7ull, 123456789ull, ~0ull}) {
      int64_t d = backoff_ms(p, retry, r);
      EXPECT_GE(d, 0);
      EXPECT_LE(d, cap);
    }
  }
}

TEST(Retry, RetryAfterSecondsAndHttpDates) {
  int64_t now = 784111777000;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("120", now), 120'000);
  EXPECT_EQ(parse_retry_after(" 0 ", now), 0);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), 10'000);
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:40 GMT", now), 3'000);  // RFC 850
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:38 1994", now), 1'000);      // asctime
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), 0);     // in the past
  EXPECT_FALSE(parse_retry_after("", now));
  EXPECT_FALSE(parse_retry_after("-5", now));
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("1.5", now));
  EXPECT_FALSE(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT trailing", now));
}

}  // namespace
}  // namespace portico::proxy
