// Metrics Portico keeps, per worker thread (see core/stats.h), and their Prometheus
// text rendering. Stats objects are created when a config is loaded, keyed by name so
// they survive reloads, and never freed while the process runs.
#pragma once

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
  Gauge idle;           // connections parked in the pool
  Counter connects;     // new connections opened
  Counter connect_failures;
  Counter requests;     // requests sent
  Counter failures;     // requests that got no usable response
  Counter reused;       // requests sent on a pooled connection
};

struct EndpointStats {
  EndpointStats(std::string u, std::string a) : upstream(std::move(u)), address(std::move(a)) {}
  std::string upstream;
  std::string address;
  PerThread<EndpointCounters> counters;
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
};

}  // namespace portico::gateway
