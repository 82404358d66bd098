// Request shaping (headers, query parameters and JSON body fields of the request,
// before the terminal: principal injection, renames) and response formatting (after
// it: jq, select / drop / rename / set, an envelope, one error shape, status and
// headers). docs/formatting.md has the language and examples.
#pragma once

#include "filters/edge_filters.h"

namespace portico::filters {

FactoryResult make_request_shaping_filter(const config::Config& config, const config::Route& route);
FactoryResult make_response_formatting_filter(const config::Config& config,
                                              const config::Route& route);

}  // namespace portico::filters
