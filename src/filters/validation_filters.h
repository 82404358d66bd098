// JSON Schema validation of the request body (before the terminal: a 400 listing every
// failing location, 415 for a body that is not JSON, 400 with the byte offset for
// malformed JSON) and of the response body (after it: a 2xx answer outside the route's
// contract becomes a 502, with the details in Portico's log).
#pragma once

#include "filters/edge_filters.h"

namespace portico::filters {

FactoryResult make_request_validation_filter(const config::Config& config,
                                             const config::Route& route);
FactoryResult make_response_validation_filter(const config::Config& config,
                                              const config::Route& route);

}  // namespace portico::filters
