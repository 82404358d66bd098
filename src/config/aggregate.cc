// A route's `aggregate:`: backends called for one request (in parallel, or one after
// another) and combined into one JSON answer (docs/aggregation.md).
//
//   aggregate:
//     - {upstream: users, path: "/users/{user}", as: user}
//     - {function: invoices, as: invoices, timeout: 300ms, on_failure: partial}
//
// or, with settings for the whole route:
//
//   aggregate:
//     combine: merge          # group (default) | merge | array
//     sequential: true        # each call sees ${responses.NAME...} of those before it
//     backends: [...]
//
// Each backend becomes a route of its own (an upstream or function route, never
// matched by a request) that the aggregate's calls run as: the same balancing,
// retries, breakers, health and metrics as any route.
#include <algorithm>

#include <fmt/format.h>

#include "config/sections.h"

namespace portico::config {
namespace {

constexpr const char* kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};

// "/users/{user}" → "/users/${param.user}": the path shorthand rewrite templates use;
// "${...}" is left as it is. Unknown parameters are errors.
std::string expand_path_params(Context& ctx, const YAML::Node& n, const std::string& path,
                               const std::string& text, const Route& route) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dollar = i > 0 && text[i - 1] == '$';
    if (text[i] != '{' || dollar) {
      out += text[i];
      if (text[i] == '{') {  // a ${...}: copied up to its end
        size_t close = text.find('}', i);
        if (close == std::string::npos) break;
        out.append(text, i + 1, close - i);
        i = close;
      }
      continue;
    }
    size_t close = text.find('}', i);
    if (close == std::string::npos) {
      ctx.error(n, path, "unclosed '{'");
      return out;
    }
    std::string name = text.substr(i + 1, close - i - 1);
    if (std::find(route.param_names.begin(), route.param_names.end(), name) ==
        route.param_names.end()) {
      ctx.error(n, path,
                fmt::format("unknown parameter {{{}}} (the route's path has {})", name,
                            route.param_names.empty()
                                ? std::string("none")
                                : fmt::format("{}", fmt::join(route.param_names, ", "))));
    }
    out += "${param." + name + "}";
    i = close;
  }
  return out;
}

void read_backend(Context& ctx, const Config& cfg, const YAML::Node& node, const std::string& path,
                  const Route& route, AggregateBackend& b) {
  MapReader m(ctx, node, path);
  if (!m.valid()) return;
  b.where = fmt::format("{}:{}", ctx.file(), node.Mark().line + 1);
  auto call = std::make_shared<Route>();
  YAML::Node upstream = m.get("upstream");
  YAML::Node function = m.get("function");
  if (upstream.IsDefined() == function.IsDefined()) {
    ctx.error(node, path, "a backend is one of: upstream, function");
    return;
  }
  std::string target_name;
  if (upstream.IsDefined()) {
    if (!ctx.read_string(upstream, m.path_of("upstream"), target_name)) return;
    std::vector<std::string> names;
    for (const auto& u : cfg.upstreams) names.push_back(u.name);
    int index = ctx.find_name(upstream, m.path_of("upstream"), "upstream", target_name, names);
    if (index < 0) return;
    call->kind = Route::Kind::kUpstream;
    Target t;
    t.upstream = index;
    call->targets.push_back(t);
  } else {
    call->function = function_index(ctx, cfg, function, m.path_of("function"));
    if (call->function < 0) return;
    target_name = cfg.functions[static_cast<size_t>(call->function)].name;
    call->kind = Route::Kind::kFunction;
  }
  b.name = target_name;
  if (auto n = m.get("as"); n.IsDefined()) ctx.read_string(n, m.path_of("as"), b.name);
  if (auto n = m.get("method"); n.IsDefined()) {
    if (ctx.read_string(n, m.path_of("method"), b.method)) {
      if (std::find(std::begin(kMethods), std::end(kMethods), b.method) == std::end(kMethods)) {
        ctx.error(n, m.path_of("method"),
                  fmt::format("expected one of {}", fmt::join(kMethods, ", ")));
      }
    }
  }
  b.path = route.path;  // the client's path, when none is given
  if (auto n = m.get("path"); n.IsDefined()) {
    std::string text;
    if (ctx.read_string(n, m.path_of("path"), text)) {
      if (text.empty() || text[0] != '/') ctx.error(n, m.path_of("path"), "must start with '/'");
      if (text.find('?') != std::string::npos) {
        ctx.error(n, m.path_of("path"), "the query goes in query: {name: value}");
      }
      b.path = expand_path_params(ctx, n, m.path_of("path"), text, route);
    }
  } else if (!route.param_names.empty()) {
    b.path = expand_path_params(ctx, node, path, route.path, route);
  }
  if (auto n = m.get("query"); n.IsDefined()) read_string_map(ctx, n, m.path_of("query"), b.query);
  if (auto n = m.get("headers"); n.IsDefined())
    read_string_map(ctx, n, m.path_of("headers"), b.headers);
  if (auto n = m.get("timeout"); n.IsDefined())
    ctx.read_duration(n, m.path_of("timeout"), b.timeout_ms);
  if (auto n = m.get("on_failure"); n.IsDefined()) {
    std::string v;
    if (ctx.read_string(n, m.path_of("on_failure"), v)) {
      if (v == "fail")
        b.fail_request = true;
      else if (v != "partial")
        ctx.error(n, m.path_of("on_failure"), "expected partial or fail");
    }
  }
  if (auto n = m.get("target"); n.IsDefined()) ctx.read_string(n, m.path_of("target"), b.target);
  if (auto n = m.get("select"); n.IsDefined())
    ctx.read_string_list(n, m.path_of("select"), b.select);
  if (auto n = m.get("drop"); n.IsDefined()) ctx.read_string_list(n, m.path_of("drop"), b.drop);
  if (auto n = m.get("rename"); n.IsDefined())
    read_string_map(ctx, n, m.path_of("rename"), b.rename);
  if (auto n = m.get("retries"); n.IsDefined()) {
    RetryPolicy policy;
    read_retries(ctx, n, m.path_of("retries"), policy);
    call->retries = policy;
    if (call->kind != Route::Kind::kUpstream) {
      ctx.error(n, m.path_of("retries"), "retries only apply to upstream backends");
    }
  }
  // The call's route (named once the route's name is known), timed out as the backend says.
  call->host = route.host;
  call->methods = {b.method};
  call->path = b.path;
  if (b.timeout_ms > 0) {
    call->response_timeout_ms = b.timeout_ms;
    call->total_timeout_ms = b.timeout_ms;
  }
  b.route = std::move(call);
}

}  // namespace

void read_route_aggregate(Context& ctx, const Config& cfg, const YAML::Node& node,
                          const std::string& path, Route& r) {
  Aggregate& a = r.aggregate;
  // (A YAML::Node assigned to another one changes the node it refers to: reset() rebinds.)
  YAML::Node backends;
  backends.reset(node);
  std::string backends_path = path;
  std::optional<MapReader> m;
  if (node.IsMap()) {
    m.emplace(ctx, node, path);
    backends.reset(m->get("backends"));
    backends_path = m->path_of("backends");
    if (auto n = m->get("combine"); n.IsDefined()) {
      std::string v;
      if (ctx.read_string(n, m->path_of("combine"), v)) {
        if (v == "group")
          a.combine = Aggregate::Combine::kGroup;
        else if (v == "merge")
          a.combine = Aggregate::Combine::kMerge;
        else if (v == "array")
          a.combine = Aggregate::Combine::kArray;
        else
          ctx.error(n, m->path_of("combine"), "expected group, merge or array");
      }
    }
    if (auto n = m->get("sequential"); n.IsDefined())
      ctx.read_bool(n, m->path_of("sequential"), a.sequential);
    if (auto n = m->get("partial_field"); n.IsDefined())
      ctx.read_string(n, m->path_of("partial_field"), a.partial_field);
  }
  if (!backends.IsSequence() || backends.size() == 0) {
    ctx.error(node, backends_path,
              "expected a list of backends ({upstream: NAME} or {function: NAME})");
    return;
  }
  for (size_t i = 0; i < backends.size(); ++i) {
    AggregateBackend b;
    read_backend(ctx, cfg, backends[i], fmt::format("{}[{}]", backends_path, i), r, b);
    if (!b.route) continue;
    for (const AggregateBackend& other : a.backends) {
      if (other.name == b.name) {
        ctx.error(backends[i], fmt::format("{}[{}]", backends_path, i),
                  fmt::format("two backends are called \"{}\": give each its own `as:`", b.name));
      }
    }
    if (b.name == a.partial_field && a.combine != Aggregate::Combine::kArray) {
      ctx.error(backends[i], fmt::format("{}[{}]", backends_path, i),
                fmt::format("\"{}\" is the partial_field's name", b.name));
    }
    a.backends.push_back(std::move(b));
  }
}

}  // namespace portico::config
