// The main thread's side of upstreams. For each upstream of the running config it keeps
// where the endpoints come from (the static list or a discovery source), their health
// (active checks, outlier ejection) and, on every change, publishes the set of usable
// endpoints for the workers to balance over.
//
// Rules: discovery failures keep the last known endpoints (never an empty upstream
// behind the user's back); outlier ejection never takes out more than max_ejected of
// the endpoints; an endpoint is usable when listed, passing active checks (if any) and
// not ejected.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "client/http_client.h"
#include "config/config.h"
#include "discovery/source.h"
#include "gateway/stats.h"
#include "net/event_loop.h"
#include "upstream/endpoint_set.h"
#include "upstream/passive_health.h"

namespace portico::upstream {

class UpstreamManager final : public OutlierSink {
 public:
  // publish(name, set): hand a new set to every worker (called on the main thread).
  using Publish = std::function<void(const std::string& upstream, std::shared_ptr<const EndpointSet> set)>;

  UpstreamManager(net::EventLoop& loop, gateway::StatsRegistry& stats, Publish publish);
  ~UpstreamManager() override;

  // A config was loaded (start-up or reload): keep, restart or stop each upstream's
  // discovery and checks, and publish every upstream's current set. Call before the
  // config reaches the workers, so their sets are in place when it does.
  void configure(const config::Config& config);

  // OutlierSink: any thread.
  void report(gateway::EndpointStats* endpoint) override;

  // Every upstream's state as JSON, for the admin /upstreams page.
  std::string status_json() const;

 private:
  struct Endpoint;
  struct Upstream;

  void set_endpoints(Upstream& u, std::vector<discovery::DiscoveredEndpoint> list);
  void discovery_failed(Upstream& u, std::string error);
  void start_checks(Upstream& u, Endpoint& e);
  void run_check(Upstream& u, Endpoint& e);
  void check_done(Upstream& u, Endpoint& e, bool passed, const std::string& detail);
  void eject(gateway::EndpointStats* stats);
  void uneject(Upstream& u, Endpoint& e);
  void publish(Upstream& u);

  net::EventLoop& loop_;
  gateway::StatsRegistry& stats_;
  Publish publish_;
  std::map<std::string, std::unique_ptr<Upstream>> upstreams_;
  // Reports from workers name endpoints by their stats object: alive while Upstream is.
  std::shared_ptr<bool> alive_;
};

}  // namespace portico::upstream
