#include "core/clock.h"

#include <time.h>

#include <cstdio>

namespace portico {

int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t wall_ms_coarse() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

int64_t wall_ms() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1'000'000;
}

std::string_view http_date() {
  thread_local time_t cached_second = -1;
  thread_local char buf[32];
  thread_local size_t len = 0;
  timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec != cached_second) {
    cached_second = ts.tv_sec;
    tm t;
    gmtime_r(&ts.tv_sec, &t);
    len = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &t);
  }
  return {buf, len};
}

void format_iso8601_ms(int64_t ms, char out[64]) {
  time_t secs = ms / 1000;
  tm t;
  gmtime_r(&secs, &t);
  snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1,
           t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(ms % 1000));
}

}  // namespace portico
