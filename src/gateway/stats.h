// Metrics Portico keeps, per worker thread (see core/stats.h), and their Prometheus
// text rendering. Stats objects are created when a config is loaded, keyed by name so
// they survive reloads, and never freed while the process runs.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "core/stats.h"

namespace portico::gateway {

struct RouteCounters {
  static constexpr int kCodeSlots = 12;
  struct CodeSlot {
    std::atomic<int> code{0};
    Counter count;
  };
  CodeSlot codes[kCodeSlots];  // distinct status codes seen; overflow goes to by_class
  Counter by_class[6];         // index status/100, for codes beyond kCodeSlots
  LatencyHistogram latency;

  void record(int status, int64_t duration_ns);
};

struct RouteStats {
  explicit RouteStats(std::string n) : name(std::move(n)) {}
  std::string name;
  PerThread<RouteCounters> counters;
};

struct EndpointCounters {
  Gauge active;         // connections carrying a request
  Gauge idle;           // connections parked in the pools
  Counter connects;     // new connections opened
  Counter connect_failures;
  Counter requests;     // requests sent
  Counter failures;     // requests that got no usable response (connect, reset, timeout, bad response)
  Counter reused;       // requests sent on a pooled connection
  Counter responses[6];        // by status class (index status/100)
  LatencyHistogram latency;    // request sent -> response head
};

struct EndpointStats {
  EndpointStats(std::string u, std::string a) : upstream(std::move(u)), address(std::move(a)) {}
  std::string upstream;
  std::string address;
  PerThread<EndpointCounters> counters;

  // Passive health, fed by every worker. A success only reads these (the line stays
  // shared, no ping-pong); a failure increments; reaching a threshold reports to the
  // main thread, which decides about ejection.
  alignas(64) std::atomic<uint32_t> consecutive_failures{0};
  std::atomic<uint32_t> consecutive_5xx{0};
  std::atomic<bool> ejection_reported{false};

  // Written by the main thread only.
  alignas(64) Gauge healthy;  // 1 healthy (or not checked), 0 failing active checks
  Gauge ejected;              // 1 while ejected by outlier detection
  Gauge listed;               // 1 while discovery lists the endpoint
  Counter ejections;
  Counter checks_passed;
  Counter checks_failed;
};

struct UpstreamCounters {
  Counter retries;
  Counter retries_budget_exhausted;  // retries not made because the budget was spent
  Counter overflow[3];               // circuit breaker refusals, by UpstreamStats::Limit
  Counter unavailable;               // requests answered 503: no usable endpoint
  Counter mirrored;
  Counter mirror_skipped;            // mirror not sent: body too large, or breaker open
};

struct UpstreamStats {
  enum Limit { kRequests, kPending, kConnections };
  explicit UpstreamStats(std::string n) : name(std::move(n)) {}
  std::string name;
  PerThread<UpstreamCounters> counters;

  // Work in flight across all workers: the circuit breaker's and retry budget's inputs,
  // and gauges in /metrics. Atomic read-modify-write, each on its own cache line.
  alignas(64) std::atomic<int64_t> requests{0};
  alignas(64) std::atomic<int64_t> retries_active{0};
  alignas(64) std::atomic<int64_t> pending{0};
  alignas(64) std::atomic<int64_t> connections{0};

  // Written by the main thread only.
  alignas(64) Gauge endpoints_known;
  Gauge endpoints_usable;
  Gauge discovery_ok;  // 1 when the last discovery attempt succeeded
  Counter discovery_updates;
  Counter discovery_errors;
};

struct AuthCounters {
  enum Result { kAllowed, kMissing, kInvalid, kForbidden, kUnavailable, kResults };
  Counter results[kResults];  // per decision; kMissing: no credential for any of the route's methods
  Counter cache_hits;
  Counter cache_misses;
};

struct AuthStats {
  explicit AuthStats(std::string n) : name(std::move(n)) {}
  std::string name;  // the auth method
  PerThread<AuthCounters> counters;
};

struct LimitCounters {
  enum Result {
    kAllowed,
    kLimited,          // 429 from the rate (or a plan's throttle)
    kQuotaExceeded,    // 429 from a plan's day or month quota
    kPrechecked,       // 429 decided by this instance alone, without asking Redis
    kStoreErrorLocal,  // Redis did not answer: decided by this instance's own count
    kStoreErrorAllowed,
    kStoreErrorDenied,
    kResults
  };
  Counter results[kResults];
  Counter evictions;  // local store: keys dropped to stay within max_keys
};

// A rate limit policy's or a usage plan's decisions.
struct LimitStats {
  LimitStats(std::string n, bool p) : name(std::move(n)), plan(p) {}
  std::string name;
  bool plan;
  PerThread<LimitCounters> counters;
};

struct RedisCounters {
  Counter commands;
  Counter errors;    // error replies and lost connections
  Counter timeouts;  // no answer within redis.timeout
  Counter connects;
  Counter connect_failures;
  Gauge connected;   // workers with a live connection
  LatencyHistogram latency;  // command sent -> reply
};

// What one of a function's pools counts. A function's instances may be split over
// several workers' loops (one pool on each, see functions/host.h); each pool writes
// its own, and /metrics sums them, so no counter has two writers.
struct FunctionPoolStats {
  Counter invocations;    // handed to an instance
  Counter errors;         // handler errors and runtime failures, timeouts included
  Counter timeouts;
  Counter throttles;      // refused: every instance busy and the queue full, or waited too long
  Counter cold_starts;    // instances started
  Counter init_failures;  // instances that failed before asking for work
  Gauge instances;        // processes running
  Gauge concurrent;       // invocations running
  Gauge queued;           // invocations waiting for an instance
  Counter billed_mb_ms;   // memory size (MB) x billed duration (ms), summed: the pay-per-use figure
  LatencyHistogram duration;       // invocation start -> answer
  LatencyHistogram init_duration;  // instance spawn -> first request for work
};

// A function's metrics: its pools' (one per loop it runs on) and its asynchronous
// invocation's, written by the async invoker's thread only.
struct FunctionStats {
  explicit FunctionStats(std::string n) : name(std::move(n)) {}
  std::string name;
  // Lambda's AsyncEventsReceived / AsyncEventsDropped.
  Counter async_received;  // events accepted (stored durably)
  Counter async_retries;   // failed attempts that will run again
  Counter async_dropped;   // events moved to the dead letters
  Gauge async_pending;     // events stored and not yet finished
  std::deque<FunctionPoolStats> pools;  // grown under the registry's lock; never shrinks
};

struct ServerCounters {
  Gauge connections;
  Counter accepted;
  Counter requests;
  Counter bad_requests;  // rejected while parsing (4xx/5xx from the HTTP layer)
  Counter timeouts;      // header/body/keep-alive/send timeouts that closed a connection
};

class StatsRegistry {
 public:
  StatsRegistry() = default;
  RouteStats* route(const std::string& name);
  EndpointStats* endpoint(const std::string& upstream, const std::string& address);
  UpstreamStats* upstream(const std::string& name);
  AuthStats* auth(const std::string& method);
  LimitStats* limit(const std::string& name, bool plan);
  FunctionStats* function(const std::string& name);
  // The counters of the function's pool number `pool` (0, 1, ...: one per loop).
  FunctionPoolStats* function_pool(const std::string& name, size_t pool);

  PerThread<RedisCounters> redis;
  std::atomic<bool> redis_used{false};  // render Redis metrics once a connection was made

  PerThread<ServerCounters> server;
  // Written by the main thread only.
  Counter reloads_ok;
  Counter reloads_failed;
  Gauge config_generation;
  Gauge last_reload_ok;  // 1 if the last reload attempt succeeded

  // Prometheus text exposition format 0.0.4.
  void render_prometheus(std::string& out) const;

 private:
  mutable std::mutex mu_;
  std::deque<std::unique_ptr<RouteStats>> routes_;
  std::deque<std::unique_ptr<EndpointStats>> endpoints_;
  std::deque<std::unique_ptr<UpstreamStats>> upstreams_;
  std::deque<std::unique_ptr<AuthStats>> auth_;
  std::deque<std::unique_ptr<LimitStats>> limits_;
  std::deque<std::unique_ptr<FunctionStats>> functions_;
  void render_functions(std::string& out) const;
  void render_auth(std::string& out) const;
  void render_limits(std::string& out) const;
  void render_upstreams(std::string& out) const;
};

}  // namespace portico::gateway
