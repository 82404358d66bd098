// Time sources: a monotonic clock for deadlines and latencies, and a cached
// IMF-fixdate string for the Date header (formatted at most once per second per thread).
#pragma once

#include <cstdint>
#include <string_view>

namespace portico {

int64_t monotonic_ns();
inline int64_t monotonic_ms() { return monotonic_ns() / 1'000'000; }
int64_t wall_ms();
// The wall clock at the kernel's tick (a few ms): cheaper, for expiry checks on the
// request path where a few milliseconds do not matter.
int64_t wall_ms_coarse();

// "Sun, 06 Nov 1994 08:49:37 GMT"; the view stays valid until the next call on this thread.
std::string_view http_date();
// "2026-11-22T10:00:00.123Z" (24 characters) for log lines.
void format_iso8601_ms(int64_t wall_ms, char out[64]);

}  // namespace portico
