// The upstream and endpoint metrics in /metrics (see docs/admin.md for the list).
#include "gateway/prometheus.h"
#include "gateway/stats.h"

namespace portico::gateway {
namespace {

std::string endpoint_labels(const EndpointStats& e) {
  return fmt::format("upstream=\"{}\",endpoint=\"{}\"", label(e.upstream), label(e.address));
}

std::string upstream_labels(const UpstreamStats& u) { return fmt::format("upstream=\"{}\"", label(u.name)); }

// A worker-slot sum as a sample value.
template <typename F>
int64_t per_endpoint(const EndpointStats& e, F f) {
  return sum_signed(e.counters, f);
}
template <typename F>
int64_t per_upstream(const UpstreamStats& u, F f) {
  return static_cast<int64_t>(sum(u.counters, f));
}

}  // namespace

// Called by render_prometheus with mu_ held.
void StatsRegistry::render_upstreams(std::string& out) const {
  render_families<EndpointStats>(
      out,
      {
          {"portico_upstream_connections_active", "Upstream connections carrying a request.", "gauge",
           [](const EndpointStats& e) { return per_endpoint(e, [](const EndpointCounters& c) { return c.active.get(); }); }},
          {"portico_upstream_connections_idle", "Idle upstream connections kept in the pools.", "gauge",
           [](const EndpointStats& e) { return per_endpoint(e, [](const EndpointCounters& c) { return c.idle.get(); }); }},
          {"portico_upstream_connects_total", "Upstream connections opened.", "counter",
           [](const EndpointStats& e) {
             return per_endpoint(e, [](const EndpointCounters& c) { return static_cast<int64_t>(c.connects.get()); });
           }},
          {"portico_upstream_connect_failures_total", "Upstream connection attempts that failed.", "counter",
           [](const EndpointStats& e) {
             return per_endpoint(e, [](const EndpointCounters& c) { return static_cast<int64_t>(c.connect_failures.get()); });
           }},
          {"portico_upstream_requests_total", "Requests sent to upstream endpoints (each try counts).", "counter",
           [](const EndpointStats& e) {
             return per_endpoint(e, [](const EndpointCounters& c) { return static_cast<int64_t>(c.requests.get()); });
           }},
          {"portico_upstream_requests_reused_total", "Requests sent on a pooled keep-alive connection.", "counter",
           [](const EndpointStats& e) {
             return per_endpoint(e, [](const EndpointCounters& c) { return static_cast<int64_t>(c.reused.get()); });
           }},
          {"portico_upstream_failures_total",
           "Tries that got no usable response: connect failure, reset, timeout, bad response.", "counter",
           [](const EndpointStats& e) {
             return per_endpoint(e, [](const EndpointCounters& c) { return static_cast<int64_t>(c.failures.get()); });
           }},
          // State kept by the main thread.
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
      },
      endpoints_, endpoint_labels);

  out += "# HELP portico_upstream_responses_total Upstream responses by status class.\n"
         "# TYPE portico_upstream_responses_total counter\n";
  for (const auto& e : endpoints_) {
    for (int k = 1; k < 6; ++k) {
      uint64_t n = sum(e->counters, [k](const EndpointCounters& c) { return c.responses[k].get(); });
      if (n) out += fmt::format("portico_upstream_responses_total{{{},code=\"{}xx\"}} {}\n", endpoint_labels(*e), k, n);
    }
  }
  out += "# HELP portico_upstream_response_seconds Time from request sent to response head, by endpoint.\n"
         "# TYPE portico_upstream_response_seconds histogram\n";
  for (const auto& e : endpoints_) {
    render_histogram(out, "portico_upstream_response_seconds", endpoint_labels(*e), e->counters,
                     [](const EndpointCounters& c) -> const LatencyHistogram& { return c.latency; });
  }

  render_families<UpstreamStats>(
      out,
      {
          {"portico_upstream_requests_active", "Requests in flight to the upstream, all workers.", "gauge",
           [](const UpstreamStats& u) { return u.requests.load(std::memory_order_relaxed); }},
          {"portico_upstream_requests_pending", "Requests waiting for a connection (circuit_breaker.max_connections).",
           "gauge", [](const UpstreamStats& u) { return u.pending.load(std::memory_order_relaxed); }},
          {"portico_upstream_connections", "Open connections to the upstream, all workers.", "gauge",
           [](const UpstreamStats& u) { return u.connections.load(std::memory_order_relaxed); }},
          {"portico_upstream_retries_total", "Retries made.", "counter",
           [](const UpstreamStats& u) { return per_upstream(u, [](const UpstreamCounters& c) { return c.retries.get(); }); }},
          {"portico_upstream_retry_budget_exhausted_total", "Retries not made because the retry budget was spent.",
           "counter",
           [](const UpstreamStats& u) {
             return per_upstream(u, [](const UpstreamCounters& c) { return c.retries_budget_exhausted.get(); });
           }},
          {"portico_upstream_unavailable_total", "Requests answered 503 because no endpoint was usable.", "counter",
           [](const UpstreamStats& u) {
             return per_upstream(u, [](const UpstreamCounters& c) { return c.unavailable.get(); });
           }},
          {"portico_upstream_mirrored_total", "Mirror copies sent.", "counter",
           [](const UpstreamStats& u) { return per_upstream(u, [](const UpstreamCounters& c) { return c.mirrored.get(); }); }},
          {"portico_upstream_mirror_skipped_total", "Mirror copies not sent (body too large, or the breaker refused).",
           "counter",
           [](const UpstreamStats& u) {
             return per_upstream(u, [](const UpstreamCounters& c) { return c.mirror_skipped.get(); });
           }},
          {"portico_upstream_endpoints", "Endpoints known (listed by discovery or config).", "gauge",
           [](const UpstreamStats& u) { return u.endpoints_known.get(); }},
          {"portico_upstream_endpoints_usable", "Endpoints taking traffic: listed, healthy, not ejected.", "gauge",
           [](const UpstreamStats& u) { return u.endpoints_usable.get(); }},
          {"portico_upstream_discovery_ok", "1 if the last discovery attempt succeeded.", "gauge",
           [](const UpstreamStats& u) { return u.discovery_ok.get(); }},
          {"portico_upstream_discovery_updates_total", "Endpoint lists received from discovery.", "counter",
           [](const UpstreamStats& u) { return static_cast<int64_t>(u.discovery_updates.get()); }},
          {"portico_upstream_discovery_errors_total", "Discovery attempts that failed (the last known endpoints stay).",
           "counter", [](const UpstreamStats& u) { return static_cast<int64_t>(u.discovery_errors.get()); }},
      },
      upstreams_, upstream_labels);

  static const char* kLimits[] = {"max_requests", "max_pending", "max_connections"};
  out += "# HELP portico_upstream_overflow_total Requests refused by the circuit breaker, by limit.\n"
         "# TYPE portico_upstream_overflow_total counter\n";
  for (const auto& u : upstreams_) {
    for (int k = 0; k < 3; ++k) {
      uint64_t n = sum(u->counters, [k](const UpstreamCounters& c) { return c.overflow[k].get(); });
      out += fmt::format("portico_upstream_overflow_total{{{},limit=\"{}\"}} {}\n", upstream_labels(*u), kLimits[k], n);
    }
  }
}

}  // namespace portico::gateway
