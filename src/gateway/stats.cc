#include "gateway/stats.h"

#include <fmt/format.h>

#include <map>

#include "core/strings.h"

namespace portico::gateway {

void RouteCounters::record(int status, int64_t duration_ns) {
  latency.observe_ns(duration_ns);
  for (auto& slot : codes) {
    int c = slot.code.load(std::memory_order_relaxed);
    if (c == status) {
      slot.count.add();
      return;
    }
    if (c == 0) {
      slot.code.store(status, std::memory_order_relaxed);
      slot.count.add();
      return;
    }
  }
  int cls = status / 100;
  by_class[(cls >= 1 && cls <= 5) ? cls : 0].add();
}

RouteStats* StatsRegistry::route(const std::string& name) {
  std::lock_guard lock(mu_);
  for (auto& r : routes_) {
    if (r->name == name) return r.get();
  }
  routes_.push_back(std::make_unique<RouteStats>(name));
  return routes_.back().get();
}

UpstreamStats* StatsRegistry::upstream(const std::string& name) {
  std::lock_guard lock(mu_);
  for (auto& u : upstreams_) {
    if (u->name == name) return u.get();
  }
  upstreams_.push_back(std::make_unique<UpstreamStats>(name));
  return upstreams_.back().get();
}

EndpointStats* StatsRegistry::endpoint(const std::string& upstream, const std::string& address) {
  std::lock_guard lock(mu_);
  for (auto& e : endpoints_) {
    if (e->upstream == upstream && e->address == address) return e.get();
  }
  endpoints_.push_back(std::make_unique<EndpointStats>(upstream, address));
  return endpoints_.back().get();
}

namespace {

// Prometheus label values escape backslash, double quote and newline.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

template <typename T, typename F>
uint64_t sum(const PerThread<T>& p, F f) {
  uint64_t total = 0;
  for (int i = 0; i < p.size(); ++i) total += f(p.at(i));
  return total;
}

template <typename T, typename F>
int64_t sum_signed(const PerThread<T>& p, F f) {
  int64_t total = 0;
  for (int i = 0; i < p.size(); ++i) total += f(p.at(i));
  return total;
}

}  // namespace

void StatsRegistry::render_prometheus(std::string& out) const {
  auto& s = server;
  out += "# HELP portico_connections Open client connections.\n# TYPE portico_connections gauge\n";
  out += fmt::format("portico_connections {}\n", sum_signed(s, [](const ServerCounters& c) { return c.connections.get(); }));
  out += "# HELP portico_connections_accepted_total Client connections accepted.\n# TYPE portico_connections_accepted_total counter\n";
  out += fmt::format("portico_connections_accepted_total {}\n", sum(s, [](const ServerCounters& c) { return c.accepted.get(); }));
  out += "# HELP portico_http_requests_total Requests received, all routes.\n# TYPE portico_http_requests_total counter\n";
  out += fmt::format("portico_http_requests_total {}\n", sum(s, [](const ServerCounters& c) { return c.requests.get(); }));
  out += "# HELP portico_http_bad_requests_total Requests rejected by the HTTP parser or limits.\n# TYPE portico_http_bad_requests_total counter\n";
  out += fmt::format("portico_http_bad_requests_total {}\n", sum(s, [](const ServerCounters& c) { return c.bad_requests.get(); }));
  out += "# HELP portico_http_timeouts_total Connections closed by a header, body, keep-alive or send timeout.\n# TYPE portico_http_timeouts_total counter\n";
  out += fmt::format("portico_http_timeouts_total {}\n", sum(s, [](const ServerCounters& c) { return c.timeouts.get(); }));

  out += "# HELP portico_config_reloads_total Config reload attempts by result.\n# TYPE portico_config_reloads_total counter\n";
  out += fmt::format("portico_config_reloads_total{{result=\"ok\"}} {}\n", reloads_ok.get());
  out += fmt::format("portico_config_reloads_total{{result=\"failed\"}} {}\n", reloads_failed.get());
  out += "# HELP portico_config_generation Generation of the config being served (1 = start-up).\n# TYPE portico_config_generation gauge\n";
  out += fmt::format("portico_config_generation {}\n", config_generation.get());
  out += "# HELP portico_config_last_reload_success 1 if the last reload succeeded.\n# TYPE portico_config_last_reload_success gauge\n";
  out += fmt::format("portico_config_last_reload_success {}\n", last_reload_ok.get());

  std::lock_guard lock(mu_);
  out += "# HELP portico_route_requests_total Requests answered, by route and status code.\n# TYPE portico_route_requests_total counter\n";
  for (const auto& r : routes_) {
    std::map<int, uint64_t> codes;
    uint64_t classes[6] = {};
    for (int t = 0; t < r->counters.size(); ++t) {
      const auto& c = r->counters.at(t);
      for (const auto& slot : c.codes) {
        int code = slot.code.load(std::memory_order_relaxed);
        if (code != 0) codes[code] += slot.count.get();
      }
      for (int k = 0; k < 6; ++k) classes[k] += c.by_class[k].get();
    }
    std::string name = label(r->name);
    for (auto [code, n] : codes) {
      out += fmt::format("portico_route_requests_total{{route=\"{}\",code=\"{}\"}} {}\n", name, code, n);
    }
    for (int k = 1; k < 6; ++k) {
      if (classes[k]) out += fmt::format("portico_route_requests_total{{route=\"{}\",code=\"{}xx\"}} {}\n", name, k, classes[k]);
    }
  }
  out += "# HELP portico_route_request_duration_seconds Time from request head to response end, by route.\n# TYPE portico_route_request_duration_seconds histogram\n";
  for (const auto& r : routes_) {
    uint64_t buckets[kLatencyBuckets] = {};
    uint64_t sum_us = 0;
    for (int t = 0; t < r->counters.size(); ++t) {
      const auto& h = r->counters.at(t).latency;
      for (int b = 0; b < kLatencyBuckets; ++b) buckets[b] += h.bucket(b);
      sum_us += h.sum_us();
    }
    std::string name = label(r->name);
    uint64_t cumulative = 0;
    for (int b = 0; b < kLatencyBuckets; ++b) {
      cumulative += buckets[b];
      std::string le = b < kLatencyBuckets - 1 ? fmt::format("{}", kLatencyBounds[b]) : "+Inf";
      out += fmt::format("portico_route_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", name, le, cumulative);
    }
    out += fmt::format("portico_route_request_duration_seconds_sum{{route=\"{}\"}} {:.6f}\n", name, static_cast<double>(sum_us) / 1e6);
    out += fmt::format("portico_route_request_duration_seconds_count{{route=\"{}\"}} {}\n", name, cumulative);
  }

  render_upstreams(out);
}

// Called by render_prometheus with mu_ held.
void StatsRegistry::render_upstreams(std::string& out) const {
  // Per-endpoint families summed over worker slots.
  struct Family {
    const char* name;
    const char* help;
    const char* type;
    int64_t (*get)(const EndpointCounters&);
  };
  static const Family kFamilies[] = {
      {"portico_upstream_connections_active", "Upstream connections carrying a request.", "gauge",
       [](const EndpointCounters& c) { return c.active.get(); }},
      {"portico_upstream_connections_idle", "Idle upstream connections kept in the pools.", "gauge",
       [](const EndpointCounters& c) { return c.idle.get(); }},
      {"portico_upstream_connects_total", "Upstream connections opened.", "counter",
       [](const EndpointCounters& c) { return static_cast<int64_t>(c.connects.get()); }},
      {"portico_upstream_connect_failures_total", "Upstream connection attempts that failed.", "counter",
       [](const EndpointCounters& c) { return static_cast<int64_t>(c.connect_failures.get()); }},
      {"portico_upstream_requests_total", "Requests sent to upstream endpoints (each try counts).", "counter",
       [](const EndpointCounters& c) { return static_cast<int64_t>(c.requests.get()); }},
      {"portico_upstream_requests_reused_total", "Requests sent on a pooled keep-alive connection.", "counter",
       [](const EndpointCounters& c) { return static_cast<int64_t>(c.reused.get()); }},
      {"portico_upstream_failures_total", "Tries that got no usable response: connect failure, reset, timeout, bad response.", "counter",
       [](const EndpointCounters& c) { return static_cast<int64_t>(c.failures.get()); }},
  };
  for (const auto& f : kFamilies) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
    for (const auto& e : endpoints_) {
      int64_t v = sum_signed(e->counters, f.get);
      out += fmt::format("{}{{upstream=\"{}\",endpoint=\"{}\"}} {}\n", f.name, label(e->upstream), label(e->address), v);
    }
  }
  out += "# HELP portico_upstream_responses_total Upstream responses by status class.\n# TYPE portico_upstream_responses_total counter\n";
  for (const auto& e : endpoints_) {
    for (int k = 1; k < 6; ++k) {
      uint64_t n = sum(e->counters, [k](const EndpointCounters& c) { return c.responses[k].get(); });
      if (n) {
        out += fmt::format("portico_upstream_responses_total{{upstream=\"{}\",endpoint=\"{}\",code=\"{}xx\"}} {}\n",
                           label(e->upstream), label(e->address), k, n);
      }
    }
  }
  out += "# HELP portico_upstream_response_seconds Time from request sent to response head, by endpoint.\n"
         "# TYPE portico_upstream_response_seconds histogram\n";
  for (const auto& e : endpoints_) {
    uint64_t buckets[kLatencyBuckets] = {};
    uint64_t sum_us = 0;
    for (int t = 0; t < e->counters.size(); ++t) {
      const auto& h = e->counters.at(t).latency;
      for (int b = 0; b < kLatencyBuckets; ++b) buckets[b] += h.bucket(b);
      sum_us += h.sum_us();
    }
    std::string labels = fmt::format("upstream=\"{}\",endpoint=\"{}\"", label(e->upstream), label(e->address));
    uint64_t cumulative = 0;
    for (int b = 0; b < kLatencyBuckets; ++b) {
      cumulative += buckets[b];
      std::string le = b < kLatencyBuckets - 1 ? fmt::format("{}", kLatencyBounds[b]) : "+Inf";
      out += fmt::format("portico_upstream_response_seconds_bucket{{{},le=\"{}\"}} {}\n", labels, le, cumulative);
    }
    out += fmt::format("portico_upstream_response_seconds_sum{{{}}} {:.6f}\n", labels, static_cast<double>(sum_us) / 1e6);
    out += fmt::format("portico_upstream_response_seconds_count{{{}}} {}\n", labels, cumulative);
  }

  // Endpoint state kept by the main thread.
  struct State {
    const char* name;
    const char* help;
    const char* type;
    int64_t (*get)(const EndpointStats&);
  };
  static const State kStates[] = {
      {"portico_upstream_endpoint_healthy", "1 if the endpoint passes active health checks (or has none).", "gauge",
       [](const EndpointStats& e) { return e.healthy.get(); }},
      {"portico_upstream_endpoint_ejected", "1 while the endpoint is ejected by outlier detection.", "gauge",
       [](const EndpointStats& e) { return e.ejected.get(); }},
      {"portico_upstream_endpoint_listed", "1 while discovery (or the config) lists the endpoint.", "gauge",
       [](const EndpointStats& e) { return e.listed.get(); }},
      {"portico_upstream_ejections_total", "Times the endpoint was ejected by outlier detection.", "counter",
       [](const EndpointStats& e) { return static_cast<int64_t>(e.ejections.get()); }},
      {"portico_upstream_health_checks_passed_total", "Active health checks that passed.", "counter",
       [](const EndpointStats& e) { return static_cast<int64_t>(e.checks_passed.get()); }},
      {"portico_upstream_health_checks_failed_total", "Active health checks that failed.", "counter",
       [](const EndpointStats& e) { return static_cast<int64_t>(e.checks_failed.get()); }},
  };
  for (const auto& f : kStates) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
    for (const auto& e : endpoints_) {
      out += fmt::format("{}{{upstream=\"{}\",endpoint=\"{}\"}} {}\n", f.name, label(e->upstream), label(e->address), f.get(*e));
    }
  }

  // Per-upstream families.
  struct UpstreamFamily {
    const char* name;
    const char* help;
    const char* type;
    int64_t (*get)(const UpstreamStats&);
  };
  static const UpstreamFamily kUpstream[] = {
      {"portico_upstream_requests_active", "Requests in flight to the upstream, all workers.", "gauge",
       [](const UpstreamStats& u) { return u.requests.load(std::memory_order_relaxed); }},
      {"portico_upstream_requests_pending", "Requests waiting for a connection (circuit_breaker.max_connections).", "gauge",
       [](const UpstreamStats& u) { return u.pending.load(std::memory_order_relaxed); }},
      {"portico_upstream_connections", "Open connections to the upstream, all workers.", "gauge",
       [](const UpstreamStats& u) { return u.connections.load(std::memory_order_relaxed); }},
      {"portico_upstream_retries_total", "Retries made.", "counter",
       [](const UpstreamStats& u) { return static_cast<int64_t>(sum(u.counters, [](const UpstreamCounters& c) { return c.retries.get(); })); }},
      {"portico_upstream_retry_budget_exhausted_total", "Retries not made because the retry budget was spent.", "counter",
       [](const UpstreamStats& u) {
         return static_cast<int64_t>(sum(u.counters, [](const UpstreamCounters& c) { return c.retries_budget_exhausted.get(); }));
       }},
      {"portico_upstream_unavailable_total", "Requests answered 503 because no endpoint was usable.", "counter",
       [](const UpstreamStats& u) { return static_cast<int64_t>(sum(u.counters, [](const UpstreamCounters& c) { return c.unavailable.get(); })); }},
      {"portico_upstream_mirrored_total", "Mirror copies sent.", "counter",
       [](const UpstreamStats& u) { return static_cast<int64_t>(sum(u.counters, [](const UpstreamCounters& c) { return c.mirrored.get(); })); }},
      {"portico_upstream_mirror_skipped_total", "Mirror copies not sent (body too large, or the breaker refused).", "counter",
       [](const UpstreamStats& u) { return static_cast<int64_t>(sum(u.counters, [](const UpstreamCounters& c) { return c.mirror_skipped.get(); })); }},
      {"portico_upstream_endpoints", "Endpoints known (listed by discovery or config).", "gauge",
       [](const UpstreamStats& u) { return u.endpoints_known.get(); }},
      {"portico_upstream_endpoints_usable", "Endpoints taking traffic: listed, healthy, not ejected.", "gauge",
       [](const UpstreamStats& u) { return u.endpoints_usable.get(); }},
      {"portico_upstream_discovery_ok", "1 if the last discovery attempt succeeded.", "gauge",
       [](const UpstreamStats& u) { return u.discovery_ok.get(); }},
      {"portico_upstream_discovery_updates_total", "Endpoint lists received from discovery.", "counter",
       [](const UpstreamStats& u) { return static_cast<int64_t>(u.discovery_updates.get()); }},
      {"portico_upstream_discovery_errors_total", "Discovery attempts that failed (the last known endpoints stay).", "counter",
       [](const UpstreamStats& u) { return static_cast<int64_t>(u.discovery_errors.get()); }},
  };
  for (const auto& f : kUpstream) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
    for (const auto& u : upstreams_) out += fmt::format("{}{{upstream=\"{}\"}} {}\n", f.name, label(u->name), f.get(*u));
  }
  static const char* kLimits[] = {"max_requests", "max_pending", "max_connections"};
  out += "# HELP portico_upstream_overflow_total Requests refused by the circuit breaker, by limit.\n"
         "# TYPE portico_upstream_overflow_total counter\n";
  for (const auto& u : upstreams_) {
    for (int k = 0; k < 3; ++k) {
      uint64_t n = sum(u->counters, [k](const UpstreamCounters& c) { return c.overflow[k].get(); });
      out += fmt::format("portico_upstream_overflow_total{{upstream=\"{}\",limit=\"{}\"}} {}\n", label(u->name), kLimits[k], n);
    }
  }
}

}  // namespace portico::gateway
