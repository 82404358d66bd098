#include "aggregate/plan.h"

#include <fmt/format.h>

namespace portico::aggregate {
namespace {

Result<format::Template> compile(std::string_view text, const config::AggregateBackend& b,
                                 std::string_view setting) {
  auto t = format::Template::compile_string(text, format::Names::kAggregate);
  if (!t) return Error{fmt::format("{}: {}: {}", b.where, setting, t.error().message)};
  return t;
}

Result<format::Pointer> pointer(std::string_view text, const config::AggregateBackend& b,
                                std::string_view setting) {
  auto p = format::parse_pointer(text);
  if (!p) return Error{fmt::format("{}: {}: {}", b.where, setting, p.error().message)};
  return p;
}

// "/users/${param.user}/orders" → "/users/", ${param.user}, "/orders".
Result<std::vector<CallPlan::PathPiece>> compile_path(const config::AggregateBackend& b) {
  std::vector<CallPlan::PathPiece> pieces;
  std::string_view rest = b.path;
  while (!rest.empty()) {
    size_t open = rest.find("${");
    if (open == std::string_view::npos) {
      pieces.push_back({std::string(rest), std::nullopt});
      break;
    }
    size_t close = rest.find('}', open);
    if (close == std::string_view::npos) {
      return Error{fmt::format("{}: path: \"${{\" without its \"}}\"", b.where)};
    }
    if (open > 0) pieces.push_back({std::string(rest.substr(0, open)), std::nullopt});
    auto value = compile(rest.substr(open, close - open + 1), b, "path");
    if (!value) return value.error();
    pieces.push_back({{}, std::move(*value)});
    rest.remove_prefix(close + 1);
  }
  return pieces;
}

bool mentions_responses(std::string_view text) {
  return text.find("${responses") != std::string_view::npos ||
         text.find("|responses") != std::string_view::npos;
}

Result<CallPlan> compile_call(const config::AggregateBackend& b) {
  CallPlan call;
  call.backend = &b;
  auto path = compile_path(b);
  if (!path) return path.error();
  call.path = std::move(*path);
  call.uses_responses = mentions_responses(b.path);
  for (const auto& [name, text] : b.query) {
    auto t = compile(text, b, "query." + name);
    if (!t) return t.error();
    call.query.emplace_back(name, std::move(*t));
    call.uses_responses = call.uses_responses || mentions_responses(text);
  }
  for (const auto& [name, text] : b.headers) {
    auto t = compile(text, b, "headers." + name);
    if (!t) return t.error();
    call.headers.emplace_back(name, std::move(*t));
    call.uses_responses = call.uses_responses || mentions_responses(text);
  }
  if (!b.target.empty()) {
    auto p = pointer(b.target, b, "target");
    if (!p) return p.error();
    call.target = std::move(*p);
  }
  for (const auto& [list, out, setting] :
       {std::tuple{&b.select, &call.select, "select"}, std::tuple{&b.drop, &call.drop, "drop"}}) {
    for (const std::string& text : *list) {
      auto p = pointer(text, b, setting);
      if (!p) return p.error();
      out->push_back(std::move(*p));
    }
  }
  for (const auto& [from, to] : b.rename) {
    auto f = pointer(from, b, "rename");
    if (!f) return f.error();
    auto t = pointer(to, b, "rename." + from);
    if (!t) return t.error();
    call.rename.emplace_back(std::move(*f), std::move(*t));
  }
  return call;
}

}  // namespace

Result<std::shared_ptr<const Plans>> build_plans(const config::Config& config) {
  auto plans = std::make_shared<Plans>();
  plans->routes.resize(config.routes.size());
  for (size_t r = 0; r < config.routes.size(); ++r) {
    const config::Route& route = config.routes[r];
    if (route.kind != config::Route::Kind::kAggregate) continue;
    auto plan = std::make_shared<RoutePlan>();
    plan->aggregate = &route.aggregate;
    for (size_t i = 0; i < route.aggregate.backends.size(); ++i) {
      auto call = compile_call(route.aggregate.backends[i]);
      if (!call) return Error{fmt::format("{} (route {})", call.error().message, route.name)};
      if (call->uses_responses && !route.aggregate.sequential) {
        return Error{fmt::format(
            "{}: ${{responses...}} needs sequential: true (parallel calls cannot see each "
            "other's answers) (route {})",
            route.aggregate.backends[i].where, route.name)};
      }
      plan->calls.push_back(std::move(*call));
    }
    plans->routes[r] = std::move(plan);
  }
  return std::shared_ptr<const Plans>(std::move(plans));
}

const RoutePlan* route_plan(const gateway::Snapshot& snapshot, size_t route_index) {
  const auto* plans = static_cast<const Plans*>(snapshot.aggregates.get());
  if (plans == nullptr || route_index >= plans->routes.size()) return nullptr;
  return plans->routes[route_index].get();
}

}  // namespace portico::aggregate
