// The reverse-proxy terminal: picks the route's target upstream (splits), an endpoint
// (balancing), and a pooled or new connection (circuit breaking), forwards the request
// and streams the response back, both bodies flowing through without being buffered
// whole. Failed tries are retried by the route's policy, and every try's outcome feeds
// the endpoint's passive health.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/context.h"
#include "gateway/handler.h"
#include "upstream/passive_health.h"
#include "upstream/worker_upstream.h"

namespace portico::proxy {

class MirrorTracker;

// What the proxy needs from the worker that runs it.
class ProxyEnv {
 public:
  virtual ~ProxyEnv() = default;
  // The worker's state for upstream `index` of the config it serves now; at dispatch
  // that is the request's pinned config. Lives as long as the worker.
  virtual upstream::WorkerUpstream& upstream(int index) = 0;
  virtual upstream::OutlierSink* outlier_sink() = 0;
  virtual MirrorTracker& mirrors() = 0;
};

std::unique_ptr<gateway::Handler> make_proxy_handler(gateway::Downstream& ds, gateway::RequestContext& ctx,
                                                     ProxyEnv& env);

// Builds the request head sent upstream (exposed for unit tests): request line with the
// rewritten path, end-to-end headers, X-Forwarded-For/-Proto/-Host, X-Request-Id, Via,
// and body framing. Hop-by-hop headers and those named in Connection are dropped.
// extra_headers: preformatted lines to add; fixed_length: frame the body with this
// Content-Length whatever the client's framing (a body sent whole, as mirrors do).
void build_upstream_request_head(const gateway::RequestContext& ctx, std::string& out,
                                 std::string_view extra_headers = {},
                                 std::optional<uint64_t> fixed_length = std::nullopt);

}  // namespace portico::proxy
