// The reverse-proxy terminal: forwards one request to an endpoint of an upstream over a
// pooled keep-alive connection and streams the response back, both bodies flowing
// through without being buffered whole.
#pragma once

#include <memory>

#include "gateway/context.h"
#include "gateway/handler.h"
#include "upstream/pool.h"

namespace portico::proxy {

std::unique_ptr<gateway::Handler> make_proxy_handler(gateway::Downstream& ds, gateway::RequestContext& ctx,
                                                     upstream::UpstreamRuntime& upstream);

// Builds the request head sent upstream (exposed for unit tests): request line with the
// rewritten path, end-to-end headers, X-Forwarded-For/-Proto/-Host, X-Request-Id, Via,
// and body framing. Hop-by-hop headers and those named in Connection are dropped.
void build_upstream_request_head(const gateway::RequestContext& ctx, std::string& out);

}  // namespace portico::proxy
