// Where a route's request goes when the route splits its traffic (canary releases,
// strangler-fig migrations): the first target whose condition matches, else a weighted
// choice among the others, sticky per key when the route names a split_key.
#pragma once

#include <cstdint>
#include <optional>

#include "config/config.h"
#include "gateway/context.h"

namespace portico::proxy {

// The request's hash key (header, cookie, query parameter or client IP), hashed.
std::optional<uint64_t> request_hash(const config::HashKey& key, const gateway::RequestContext& ctx);

const config::Target& choose_target(const config::Route& route, const gateway::RequestContext& ctx);

}  // namespace portico::proxy
