// The edge's filters: CORS response headers, rate limits (on the request, and on the
// principal) and authentication. Each make_* returns the route's factory, or null when
// the route does not use the filter.
#pragma once

#include <memory>

#include "config/config.h"
#include "core/result.h"
#include "filters/filter.h"

namespace portico::filters {

using FactoryResult = Result<std::unique_ptr<const FilterFactory>>;

FactoryResult make_cors_filter(const config::Config& config, const config::Route& route);
FactoryResult make_request_limits_filter(const config::Config& config, const config::Route& route);
FactoryResult make_auth_filter(const config::Config& config, const config::Route& route);
FactoryResult make_principal_limits_filter(const config::Config& config,
                                           const config::Route& route);

}  // namespace portico::filters
