// Passive health: every try's outcome feeds the endpoint's shared counters; crossing an
// outlier threshold reports the endpoint to the main thread, which decides on ejection
// (it alone knows how many endpoints are out already).
#pragma once

#include "config/config.h"
#include "gateway/stats.h"

namespace portico::upstream {

// Receives ejection candidates; thread-safe (workers call it).
class OutlierSink {
 public:
  virtual ~OutlierSink() = default;
  virtual void report(gateway::EndpointStats* endpoint) = 0;
};

// A response arrived (any status).
inline void record_response(gateway::EndpointStats& e, int status, const config::Outlier& o, OutlierSink* sink) {
  // The steady state only reads: the cache line stays shared between workers.
  if (e.consecutive_failures.load(std::memory_order_relaxed) != 0) e.consecutive_failures.store(0, std::memory_order_relaxed);
  if (status < 500) {
    if (e.consecutive_5xx.load(std::memory_order_relaxed) != 0) e.consecutive_5xx.store(0, std::memory_order_relaxed);
    return;
  }
  uint32_t n = e.consecutive_5xx.fetch_add(1, std::memory_order_relaxed) + 1;
  if (o.consecutive_5xx != 0 && n >= o.consecutive_5xx && sink != nullptr &&
      !e.ejection_reported.exchange(true, std::memory_order_relaxed)) {
    sink->report(&e);
  }
}

// No usable response: connect failure, reset, timeout, malformed response.
inline void record_failure(gateway::EndpointStats& e, const config::Outlier& o, OutlierSink* sink) {
  uint32_t n = e.consecutive_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (o.consecutive_failures != 0 && n >= o.consecutive_failures && sink != nullptr &&
      !e.ejection_reported.exchange(true, std::memory_order_relaxed)) {
    sink->report(&e);
  }
}

}  // namespace portico::upstream
