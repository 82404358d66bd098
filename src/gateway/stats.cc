#include "gateway/stats.h"

#include <fmt/format.h>

#include <map>

#include "core/strings.h"
#include "gateway/prometheus.h"

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

namespace {

// The stats object `match` finds, else a new one made of args (keyed by name, so a
// reload keeps counting into the same object). The caller holds the registry's lock.
template <typename S, typename Match, typename... Args>
S* find_or_add(std::deque<std::unique_ptr<S>>& list, Match match, const Args&... args) {
  for (auto& s : list) {
    if (match(*s)) return s.get();
  }
  list.push_back(std::make_unique<S>(args...));
  return list.back().get();
}

}  // namespace

RouteStats* StatsRegistry::route(const std::string& name) {
  std::lock_guard lock(mu_);
  return find_or_add(routes_, [&](const RouteStats& r) { return r.name == name; }, name);
}

AuthStats* StatsRegistry::auth(const std::string& method) {
  std::lock_guard lock(mu_);
  return find_or_add(auth_, [&](const AuthStats& a) { return a.name == method; }, method);
}

FunctionStats* StatsRegistry::function(const std::string& name) {
  std::lock_guard lock(mu_);
  return find_or_add(functions_, [&](const FunctionStats& f) { return f.name == name; }, name);
}

FunctionPoolStats* StatsRegistry::function_pool(const std::string& name, size_t pool) {
  std::lock_guard lock(mu_);
  FunctionStats* f = find_or_add(functions_, [&](const FunctionStats& s) { return s.name == name; }, name);
  while (f->pools.size() <= pool) f->pools.emplace_back();
  return &f->pools[pool];
}

LimitStats* StatsRegistry::limit(const std::string& name, bool plan) {
  std::lock_guard lock(mu_);
  return find_or_add(limits_, [&](const LimitStats& l) { return l.name == name && l.plan == plan; }, name, plan);
}

UpstreamStats* StatsRegistry::upstream(const std::string& name) {
  std::lock_guard lock(mu_);
  return find_or_add(upstreams_, [&](const UpstreamStats& u) { return u.name == name; }, name);
}

EndpointStats* StatsRegistry::endpoint(const std::string& upstream, const std::string& address) {
  std::lock_guard lock(mu_);
  return find_or_add(endpoints_, [&](const EndpointStats& e) { return e.upstream == upstream && e.address == address; },
                     upstream, address);
}


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
    render_histogram(out, "portico_route_request_duration_seconds", fmt::format("route=\"{}\"", label(r->name)),
                     r->counters, [](const RouteCounters& c) -> const LatencyHistogram& { return c.latency; });
  }

  render_upstreams(out);
  render_auth(out);
  render_limits(out);
  render_functions(out);
}

// A function's pools' counters (or gauges) summed.
template <typename Metric>
int64_t pools_sum(const FunctionStats& f, Metric FunctionPoolStats::*metric) {
  int64_t n = 0;
  for (const auto& p : f.pools) n += static_cast<int64_t>((p.*metric).get());
  return n;
}

// Called by render_prometheus with mu_ held.
void StatsRegistry::render_functions(std::string& out) const {
  if (functions_.empty()) return;
  auto labels = [](const FunctionStats& f) { return fmt::format("function=\"{}\"", label(f.name)); };
  render_families<FunctionStats>(
      out,
      {{"portico_function_invocations_total", "Invocations handed to an instance.", "counter",
        [](const FunctionStats& f) { return pools_sum(f, &FunctionPoolStats::invocations); }},
       {"portico_function_errors_total", "Invocations that failed: handler errors, crashes, timeouts, out of memory.",
        "counter", [](const FunctionStats& f) { return pools_sum(f, &FunctionPoolStats::errors); }},
       {"portico_function_timeouts_total", "Invocations stopped at the function's timeout.", "counter",
        [](const FunctionStats& f) { return pools_sum(f, &FunctionPoolStats::timeouts); }},
       {"portico_function_throttles_total", "Invocations refused: every instance busy and the queue full.", "counter",
        [](const FunctionStats& f) { return pools_sum(f, &FunctionPoolStats::throttles); }},
       {"portico_function_cold_starts_total", "Instances started.", "counter",
        [](const FunctionStats& f) { return pools_sum(f, &FunctionPoolStats::cold_starts); }},
       {"portico_function_init_failures_total", "Instances that failed before asking for work.", "counter",
        [](const FunctionStats& f) { return pools_sum(f, &FunctionPoolStats::init_failures); }},
       {"portico_function_instances", "Instances running.", "gauge",
        [](const FunctionStats& f) { return pools_sum(f, &FunctionPoolStats::instances); }},
       {"portico_function_concurrent_executions", "Invocations running.", "gauge",
        [](const FunctionStats& f) { return pools_sum(f, &FunctionPoolStats::concurrent); }},
       {"portico_function_queue_depth", "Invocations waiting for an instance.", "gauge",
        [](const FunctionStats& f) { return pools_sum(f, &FunctionPoolStats::queued); }},
       {"portico_function_async_events_received_total", "Asynchronous events accepted (stored durably).",
        "counter", [](const FunctionStats& f) { return static_cast<int64_t>(f.async_received.get()); }},
       {"portico_function_async_retries_total", "Failed asynchronous attempts that run again.", "counter",
        [](const FunctionStats& f) { return static_cast<int64_t>(f.async_retries.get()); }},
       {"portico_function_async_events_dropped_total", "Asynchronous events moved to the dead letters.",
        "counter", [](const FunctionStats& f) { return static_cast<int64_t>(f.async_dropped.get()); }},
       {"portico_function_async_events_pending", "Asynchronous events stored and not yet finished.", "gauge",
        [](const FunctionStats& f) { return f.async_pending.get(); }}},
      functions_, [&](const FunctionStats& f) { return labels(f); });
  out += "# HELP portico_function_billed_gb_seconds_total Memory size x billed duration, as Lambda bills.\n"
         "# TYPE portico_function_billed_gb_seconds_total counter\n";
  for (const auto& f : functions_) {
    out += fmt::format("portico_function_billed_gb_seconds_total{{{}}} {:.6f}\n", labels(*f),
                       static_cast<double>(pools_sum(*f, &FunctionPoolStats::billed_mb_ms)) / 1024.0 / 1000.0);
  }
  for (const char* which : {"duration", "init_duration"}) {
    bool init = which[0] == 'i';
    std::string name = fmt::format("portico_function_{}_seconds", which);
    out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name,
                       init ? "Instance start to its first request for work." : "Invocation start to the answer.", name);
    for (const auto& f : functions_) {
      LatencyHistogram total;
      for (const auto& p : f->pools) total.add_from(init ? p.init_duration : p.duration);
      render_histogram(out, name, labels(*f), total);
    }
  }
}

// Called by render_prometheus with mu_ held.
void StatsRegistry::render_auth(std::string& out) const {
  static const char* kResults[] = {"allowed", "missing", "invalid", "forbidden", "unavailable"};
  out += "# HELP portico_auth_decisions_total Authentication and authorization decisions, by auth method and result.\n"
         "# TYPE portico_auth_decisions_total counter\n";
  for (const auto& a : auth_) {
    for (int r = 0; r < AuthCounters::kResults; ++r) {
      uint64_t n = sum(a->counters, [r](const AuthCounters& c) { return c.results[r].get(); });
      out += fmt::format("portico_auth_decisions_total{{method=\"{}\",result=\"{}\"}} {}\n", label(a->name), kResults[r], n);
    }
  }
  out += "# HELP portico_auth_token_cache_total Verified-token cache lookups, by auth method and result.\n"
         "# TYPE portico_auth_token_cache_total counter\n";
  for (const auto& a : auth_) {
    out += fmt::format("portico_auth_token_cache_total{{method=\"{}\",result=\"hit\"}} {}\n", label(a->name),
                       sum(a->counters, [](const AuthCounters& c) { return c.cache_hits.get(); }));
    out += fmt::format("portico_auth_token_cache_total{{method=\"{}\",result=\"miss\"}} {}\n", label(a->name),
                       sum(a->counters, [](const AuthCounters& c) { return c.cache_misses.get(); }));
  }
}

// Called by render_prometheus with mu_ held.
void StatsRegistry::render_limits(std::string& out) const {
  static const char* kResults[] = {"allowed",           "limited",       "quota_exceeded", "prechecked",
                                   "store_error_local", "store_error_allowed", "store_error_denied"};
  for (bool plans : {false, true}) {
    const char* name = plans ? "portico_usage_plan_decisions_total" : "portico_ratelimit_decisions_total";
    const char* label_name = plans ? "plan" : "policy";
    bool any = false;
    for (const auto& l : limits_) any |= l->plan == plans;
    if (!any) continue;
    out += fmt::format("# HELP {} {} decisions, by {} and result.\n# TYPE {} counter\n", name,
                       plans ? "Usage plan (throttle and quota)" : "Rate limit", label_name, name);
    for (const auto& l : limits_) {
      if (l->plan != plans) continue;
      for (int r = 0; r < LimitCounters::kResults; ++r) {
        if (!plans && r == LimitCounters::kQuotaExceeded) continue;
        uint64_t n = sum(l->counters, [r](const LimitCounters& c) { return c.results[r].get(); });
        out += fmt::format("{}{{{}=\"{}\",result=\"{}\"}} {}\n", name, label_name, label(l->name), kResults[r], n);
      }
    }
    out += fmt::format("# HELP portico_{}_evictions_total Keys dropped from the local store to stay within its size.\n"
                       "# TYPE portico_{}_evictions_total counter\n", plans ? "usage_plan" : "ratelimit",
                       plans ? "usage_plan" : "ratelimit");
    for (const auto& l : limits_) {
      if (l->plan != plans) continue;
      out += fmt::format("portico_{}_evictions_total{{{}=\"{}\"}} {}\n", plans ? "usage_plan" : "ratelimit", label_name,
                         label(l->name), sum(l->counters, [](const LimitCounters& c) { return c.evictions.get(); }));
    }
  }
  if (!redis_used.load(std::memory_order_relaxed)) return;
  auto one = [&](const char* metric, const char* help, const char* type, uint64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", metric, help, metric, type, metric, value);
  };
  one("portico_redis_commands_total", "Commands sent to Redis (one per rate limit decision).", "counter",
      sum(redis, [](const RedisCounters& c) { return c.commands.get(); }));
  one("portico_redis_errors_total", "Redis error replies and commands lost with a connection.", "counter",
      sum(redis, [](const RedisCounters& c) { return c.errors.get(); }));
  one("portico_redis_timeouts_total", "Redis commands not answered within redis.timeout.", "counter",
      sum(redis, [](const RedisCounters& c) { return c.timeouts.get(); }));
  one("portico_redis_connects_total", "Connections made to Redis.", "counter",
      sum(redis, [](const RedisCounters& c) { return c.connects.get(); }));
  one("portico_redis_connect_failures_total", "Failed attempts to connect to Redis.", "counter",
      sum(redis, [](const RedisCounters& c) { return c.connect_failures.get(); }));
  one("portico_redis_connected", "Workers with a live Redis connection.", "gauge",
      static_cast<uint64_t>(std::max<int64_t>(0, sum_signed(redis, [](const RedisCounters& c) { return c.connected.get(); }))));
  out += "# HELP portico_redis_command_seconds Time from sending a Redis command to its reply.\n"
         "# TYPE portico_redis_command_seconds histogram\n";
  render_histogram(out, "portico_redis_command_seconds", "", redis,
                   [](const RedisCounters& c) -> const LatencyHistogram& { return c.latency; });
}

}  // namespace portico::gateway
