// GCRA (the generic cell rate algorithm): a rate limit as one number per key, the
// theoretical arrival time (TAT) of the next request if requests came exactly at the
// rate. A request is allowed when, after it, the TAT is at most `burst` intervals
// ahead of now. Equivalent to a token bucket of size `burst` refilled at the rate, but
// with no refill loop and no window edges: in any span of time D at most
// burst + D / interval requests pass. Times are in any one unit (ns locally, µs in the
// Redis script, which has the same arithmetic).
#pragma once

#include <algorithm>
#include <cstdint>

namespace portico::ratelimit {

struct GcraDecision {
  bool allowed = false;
  int64_t tat = 0;          // the key's TAT after the decision (unchanged when refused)
  int64_t remaining = 0;    // requests that could pass right after this one
  int64_t reset = 0;        // time until the bucket is full again
  int64_t retry_after = 0;  // refused: time until this request would pass
};

inline GcraDecision gcra(int64_t tat, int64_t now, int64_t interval, int64_t burst) {
  GcraDecision d;
  int64_t start = std::max(tat, now);
  int64_t next = start + interval;
  int64_t tolerance = burst * interval;
  if (next - now > tolerance) {
    d.tat = tat;
    d.retry_after = next - tolerance - now;
    d.reset = start - now;
    return d;
  }
  d.allowed = true;
  d.tat = next;
  d.remaining = (tolerance - (next - now)) / interval;
  d.reset = next - now;
  return d;
}

// The largest burst × interval the config accepts (30 days in ns): keeps the
// arithmetic far from overflow.
inline constexpr int64_t kMaxToleranceNs = 30LL * 86'400 * 1'000'000'000;

}  // namespace portico::ratelimit
