#include "filters/registry.h"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include "filters/edge_filters.h"
#include "filters/format_filters.h"
#include "filters/validation_filters.h"

namespace portico::filters {
namespace {

using MakeFactory = FactoryResult (*)(const config::Config&, const config::Route&);

struct Slot {
  const char* name;
  MakeFactory make;
};

// Every filter there is, outside in. The request side runs them top to bottom, the
// response side bottom to top. Why each sits where it does:
const Slot kChain[] = {
    // 1. CORS first: every answer to an allowed origin carries its Access-Control-*
    //    headers, refusals included, or the browser hides the refusal's reason.
    {"cors", make_cors_filter},
    // 2. Limits keyed on the request alone (IP, headers, route) before authentication,
    //    so a flood of bad credentials is refused before it costs a signature check.
    {"limits_on_request", make_request_limits_filter},
    // 3. Authentication and authorization (JWT, API keys, authorizer functions): who
    //    asks, and whether the route lets them.
    {"auth", make_auth_filter},
    // 4. Limits keyed on the principal (consumer, subject, claims, usage plans): they
    //    need to know who asks.
    {"limits_on_principal", make_principal_limits_filter},
    // 5. Request validation (JSON Schema on the query, path, headers and body): only a
    //    request that may be served is worth reading and parsing.
    {"request_validation", make_request_validation_filter},
    // 6. Request shaping (headers, query, body fields; the principal injected) on a
    //    request known to be valid, so the checks above saw what the client sent.
    {"request_shaping", make_request_shaping_filter},
    // 7. Response formatting: on the response side it runs after response validation
    //    (the contract is the terminal's answer, not the formatted one) and last of all
    //    changes what the client gets.
    {"response_formatting", make_response_formatting_filter},
    // 8. Response validation innermost: it checks what the terminal answered, before
    //    anything outside it reshapes the answer.
    {"response_validation", make_response_validation_filter},
};

static_assert(std::size(kChain) <= kMaxFilters, "FilterChain holds at most kMaxFilters filters");

const RouteChain kNoFilters;

}  // namespace

Result<std::shared_ptr<const RouteFilters>> build_route_filters(const config::Config& config) {
  auto filters = std::make_shared<RouteFilters>();
  filters->routes.resize(config.routes.size());
  for (size_t r = 0; r < config.routes.size(); ++r) {
    const config::Route& route = config.routes[r];
    RouteChain& chain = filters->routes[r];
    for (const Slot& slot : kChain) {
      FactoryResult factory = slot.make(config, route);
      // The factory's message says where (a file and line, for settings read from files).
      if (!factory) {
        return Error{fmt::format("{} (route {}, filter {})", factory.error().message, route.name,
                                 slot.name)};
      }
      if (*factory == nullptr) continue;
      chain.wants_response =
          chain.wants_response || (*factory)->wants_response() || (*factory)->wants_response_body();
      chain.wants_response_body = chain.wants_response_body || (*factory)->wants_response_body();
      (*factory)->watched_files(filters->files);
      chain.factories.push_back(std::move(*factory));
    }
    for (size_t i = 0; i < route.steps.size(); ++i) {
      const config::Step& step = route.steps[i];
      if (step.kind != config::Step::Kind::kValidate) {
        chain.step_schemas.emplace_back();
        continue;
      }
      auto schema = compile_schema(*step.schema, fmt::format("steps[{}].validate", i));
      if (!schema) return Error{fmt::format("{} (route {})", schema.error().message, route.name)};
      filters->files.insert(filters->files.end(), (*schema)->files().begin(),
                            (*schema)->files().end());
      chain.step_schemas.push_back(std::move(*schema));
    }
  }
  std::sort(filters->files.begin(), filters->files.end());
  filters->files.erase(std::unique(filters->files.begin(), filters->files.end()),
                       filters->files.end());
  return std::shared_ptr<const RouteFilters>(std::move(filters));
}

const RouteChain& route_chain(const gateway::Snapshot& snapshot, size_t route_index) {
  const auto* filters = static_cast<const RouteFilters*>(snapshot.filters.get());
  if (filters == nullptr || route_index >= filters->routes.size()) return kNoFilters;
  return filters->routes[route_index];
}

}  // namespace portico::filters
