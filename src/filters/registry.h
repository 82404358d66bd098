// Which filters a route runs, built once per config load: for every route, the factories
// of the filters it uses, outside in (the order and the reason for each slot are in
// registry.cc, the one list of filters). Carried by the config's snapshot, so a request
// runs the chain of the config it pinned.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "filters/filter.h"
#include "gateway/snapshot.h"
#include "schema/schema.h"

namespace portico::filters {

struct RouteChain {
  std::vector<std::unique_ptr<const FilterFactory>> factories;  // outside in
  bool wants_response = false;       // some filter changes the response head
  bool wants_response_body = false;  // some filter needs the whole response body
  // A `steps:` route's validate steps, compiled with its filters (null for a function step).
  std::vector<std::shared_ptr<const schema::Schema>> step_schemas;
  bool empty() const { return factories.empty(); }
};

class RouteFilters final : public gateway::FeatureBindings {
 public:
  std::vector<RouteChain> routes;  // by route index
  std::vector<std::string> files;  // what the filters were read from (watched for changes)
};

// Every route's chain; an error names the route and the filter's setting at fault.
Result<std::shared_ptr<const RouteFilters>> build_route_filters(const config::Config& config);

// The chain of a snapshot's route (an empty one when the snapshot has no filters).
const RouteChain& route_chain(const gateway::Snapshot& snapshot, size_t route_index);

}  // namespace portico::filters
