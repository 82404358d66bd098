// An aggregate route compiled once per config load: for each backend, its request
// templates (path, query, headers) and the edits that shape its answer. Carried by the
// config's snapshot like the routes' filters, so a request uses the plan of the config
// it pinned.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "format/json_edit.h"
#include "format/template.h"
#include "gateway/snapshot.h"

namespace portico::aggregate {

struct CallPlan {
  const config::AggregateBackend* backend = nullptr;  // in the config the plan was built from
  // The path: literal pieces, and values that are percent-encoded as they are put in.
  struct PathPiece {
    std::string literal;
    std::optional<format::Template> value;
  };
  std::vector<PathPiece> path;
  std::vector<std::pair<std::string, format::Template>> query;    // name, value
  std::vector<std::pair<std::string, format::Template>> headers;  // name, value
  bool uses_responses = false;  // its templates read ${responses...}
  // How its answer is shaped, in this order.
  std::optional<format::Pointer> target;
  std::vector<format::Pointer> select, drop;
  std::vector<std::pair<format::Pointer, format::Pointer>> rename;
};

struct RoutePlan {
  const config::Aggregate* aggregate = nullptr;
  std::vector<CallPlan> calls;  // aligned with aggregate->backends
};

class Plans final : public gateway::FeatureBindings {
 public:
  std::vector<std::shared_ptr<const RoutePlan>> routes;  // by route index; null: not aggregate
};

// Every aggregate route's plan; an error names the route, the backend's line and setting.
Result<std::shared_ptr<const Plans>> build_plans(const config::Config& config);

// The plan of a snapshot's route (nullptr when it has none).
const RoutePlan* route_plan(const gateway::Snapshot& snapshot, size_t route_index);

}  // namespace portico::aggregate
