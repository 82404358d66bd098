// The `routes:` section: match, terminal (upstream, split, respond, echo), mirror,
// retries, rewrites, limits and timeouts.
#include <algorithm>

#include <fmt/format.h>

#include "config/sections.h"
#include "core/strings.h"
#include "http/parser.h"

namespace portico::config {
namespace {

constexpr const char* kStandardMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"};

// An upstream name that must exist; its index, or -1 after reporting the error.
int upstream_index(Context& ctx, const YAML::Node& n, const std::string& path, const std::vector<std::string>& names) {
  std::string name;
  if (!ctx.read_string(n, path, name)) return -1;
  return ctx.find_name(n, path, "upstream", name, names);
}

// {header: {name: value}, cookie: {...}, query: {...}}
void read_condition(Context& ctx, const YAML::Node& n, const std::string& path, SplitCondition& c) {
  MapReader m(ctx, n, path);
  if (!m.valid()) return;
  auto pairs = [&](const char* key, std::vector<HeaderValue>& out, bool lower_names) {
    YAML::Node v = m.get(key);
    if (!v.IsDefined()) return;
    if (!v.IsMap() || v.size() == 0) {
      ctx.error(v, m.path_of(key), "expected a mapping of names to the exact values to match");
      return;
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      std::string name = it->first.Scalar();
      std::string value;
      if (!ctx.read_string(it->second, m.path_of(key) + "." + name, value)) continue;
      out.push_back({lower_names ? to_lower(name) : name, value});
    }
  };
  pairs("header", c.headers, true);
  pairs("cookie", c.cookies, false);
  pairs("query", c.query, false);
  if (c.empty()) ctx.error(n, path, "needs at least one of: header, cookie, query");
}

void read_split(Context& ctx, const YAML::Node& n, const std::string& path, const std::vector<std::string>& names,
                Route& r) {
  if (!n.IsSequence() || n.size() == 0) {
    ctx.error(n, path, "expected a list of {upstream, weight} (and {upstream, when} for matched traffic)");
    return;
  }
  uint64_t total = 0;
  bool has_default = false;
  for (size_t i = 0; i < n.size(); ++i) {
    std::string p = fmt::format("{}[{}]", path, i);
    MapReader m(ctx, n[i], p);
    if (!m.valid()) continue;
    Target t;
    if (auto u = m.get("upstream"); !u.IsDefined()) {
      ctx.error(n[i], p, "missing key \"upstream\"");
    } else {
      t.upstream = upstream_index(ctx, u, m.path_of("upstream"), names);
    }
    YAML::Node when = m.get("when");
    YAML::Node weight = m.get("weight");
    if (when.IsDefined()) {
      read_condition(ctx, when, m.path_of("when"), t.when);
      if (weight.IsDefined()) ctx.error(weight, m.path_of("weight"), "a target with \"when\" takes all matching requests: no weight");
    } else {
      has_default = true;
      if (weight.IsDefined()) ctx.read_u32(weight, m.path_of("weight"), 0, 1'000'000, t.weight);
      total += t.weight;
    }
    r.targets.push_back(std::move(t));
  }
  if (!has_default) ctx.error(n, path, "needs at least one target without \"when\" for the other requests");
  else if (total == 0) ctx.error(n, path, "the weights of the targets without \"when\" add up to 0");
}

void read_mirror(Context& ctx, const YAML::Node& n, const std::string& path, const std::vector<std::string>& names,
                 Mirror& mirror) {
  if (n.IsScalar()) {
    mirror.upstream = upstream_index(ctx, n, path, names);
    return;
  }
  MapReader m(ctx, n, path);
  if (!m.valid()) return;
  if (auto u = m.get("upstream"); !u.IsDefined()) {
    ctx.error(n, path, "missing key \"upstream\" (where the copies go)");
  } else {
    mirror.upstream = upstream_index(ctx, u, m.path_of("upstream"), names);
  }
  if (auto v = m.get("percent"); v.IsDefined()) ctx.read_percent(v, m.path_of("percent"), mirror.percent);
  if (auto v = m.get("max_body"); v.IsDefined()) {
    if (ctx.read_size(v, m.path_of("max_body"), mirror.max_body) && mirror.max_body > 16 * 1024 * 1024) {
      ctx.error(v, m.path_of("max_body"), "must be at most 16MiB");
    }
  }
}

void read_respond(Context& ctx, const YAML::Node& node, const std::string& path, Respond& r) {
  MapReader m(ctx, node, path);
  if (!m.valid()) return;
  if (auto n = m.get("status"); n.IsDefined()) {
    int64_t s;
    if (ctx.read_int(n, m.path_of("status"), 200, 599, s)) r.status = static_cast<int>(s);
  }
  if (auto n = m.get("body"); n.IsDefined()) ctx.read_string(n, m.path_of("body"), r.body);
  if (auto n = m.get("headers"); n.IsDefined()) {
    if (!n.IsMap()) {
      ctx.error(n, m.path_of("headers"), "expected a mapping of header names to values");
      return;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string name = it->first.Scalar();
      std::string hp = m.path_of("headers") + "." + name;
      std::string value;
      if (!ctx.read_string(it->second, hp, value)) continue;
      bool name_ok = !name.empty() && std::all_of(name.begin(), name.end(), http::is_tchar);
      bool value_ok = std::all_of(value.begin(), value.end(), http::is_field_value_char);
      if (!name_ok) ctx.error(it->first, hp, "invalid header name");
      else if (!value_ok) ctx.error(it->second, hp, "invalid character in header value");
      else if (http::classify_header(name) == http::HeaderId::kContentLength ||
               http::is_hop_by_hop(http::classify_header(name))) {
        ctx.error(it->first, hp, "this header is set by Portico itself");
      } else {
        r.headers.push_back({name, value});
      }
    }
  }
}

std::string literal_prefix(const std::string& pattern) {
  size_t brace = pattern.find('{');
  return brace == std::string::npos ? pattern : pattern.substr(0, brace);
}

}  // namespace

void read_route(Context& ctx, Config& cfg, size_t index, const YAML::Node& node,
                const std::vector<std::string>& upstream_names) {
  std::string path = fmt::format("routes[{}]", index);
  Route r;
  MapReader m(ctx, node, path);
  if (!m.valid()) return;
  size_t errors_before = ctx.error_count();

  if (auto n = m.get("name"); n.IsDefined()) ctx.read_string(n, m.path_of("name"), r.name);

  YAML::Node match = m.get("match");
  YAML::Node path_node;
  http::PathPattern pattern;
  if (!match.IsDefined()) {
    ctx.error(node, path, "missing key \"match\" (with at least a path)");
  } else {
    MapReader mm(ctx, match, m.path_of("match"));
    path_node = mm.get("path");
    if (!path_node.IsDefined()) {
      ctx.error(match, mm.path(), "missing key \"path\"");
    } else if (ctx.read_string(path_node, mm.path_of("path"), r.path)) {
      auto p = http::parse_path_pattern(r.path);
      if (!p) ctx.error(path_node, mm.path_of("path"), p.error().message);
      else pattern = std::move(*p);
    }
    if (auto n = mm.get("methods"); n.IsDefined()) {
      if (ctx.read_string_list(n, mm.path_of("methods"), r.methods)) {
        for (const auto& meth : r.methods) {
          std::string upper;
          for (char c : meth) upper += static_cast<char>(toupper(static_cast<unsigned char>(c)));
          bool standard = std::find(std::begin(kStandardMethods), std::end(kStandardMethods), upper) !=
                          std::end(kStandardMethods);
          if (meth.empty() || !std::all_of(meth.begin(), meth.end(), http::is_tchar)) {
            ctx.error(n, mm.path_of("methods"), fmt::format("invalid method \"{}\"", meth));
          } else if (standard && upper != meth) {
            ctx.error(n, mm.path_of("methods"),
                      fmt::format("methods are case-sensitive: write \"{}\", not \"{}\"", upper, meth));
          } else if (upper == "CONNECT") {
            ctx.error(n, mm.path_of("methods"), "CONNECT is not supported");
          }
        }
      }
    }
    if (auto n = mm.get("host"); n.IsDefined()) {
      if (ctx.read_string(n, mm.path_of("host"), r.host)) {
        std::string h = to_lower(r.host);
        bool ok = !h.empty() && h.find_first_of(" /:@") == std::string::npos &&
                  (h.find('*') == std::string::npos || (h.rfind('*') == 0 && h.size() > 2 && h[1] == '.'));
        if (!ok) ctx.error(n, mm.path_of("host"), "expected a host name such as api.example.com or *.example.com (no port)");
        r.host = h;
      }
    }
  }
  r.param_names = pattern.param_names();

  // Exactly one terminal.
  int terminals = 0;
  if (auto n = m.get("upstream"); n.IsDefined()) {
    ++terminals;
    r.kind = Route::Kind::kUpstream;
    Target t;
    t.upstream = upstream_index(ctx, n, m.path_of("upstream"), upstream_names);
    r.targets.push_back(std::move(t));
  }
  if (auto n = m.get("split"); n.IsDefined()) {
    ++terminals;
    r.kind = Route::Kind::kUpstream;
    read_split(ctx, n, m.path_of("split"), upstream_names, r);
  }
  if (auto n = m.get("split_key"); n.IsDefined()) {
    if (read_hash_key(ctx, n, m.path_of("split_key"), r.split_key) && !m.has("split")) {
      ctx.error(n, m.path_of("split_key"), "only used with split");
    }
  }
  if (auto n = m.get("respond"); n.IsDefined()) {
    ++terminals;
    r.kind = Route::Kind::kRespond;
    read_respond(ctx, n, m.path_of("respond"), r.respond);
  }
  if (auto n = m.get("echo"); n.IsDefined()) {
    bool on = false;
    if (ctx.read_bool(n, m.path_of("echo"), on) && on) {
      ++terminals;
      r.kind = Route::Kind::kEcho;
    }
  }
  if (auto n = m.get("function"); n.IsDefined()) {
    ++terminals;
    r.kind = Route::Kind::kFunction;
    r.function = function_index(ctx, cfg, n, m.path_of("function"));
  }
  if (auto n = m.get("steps"); n.IsDefined()) {
    ++terminals;
    r.kind = Route::Kind::kSteps;
    read_route_steps(ctx, cfg, index, n, m.path_of("steps"), r);
  }
  if (auto n = m.get("aggregate"); n.IsDefined()) {
    ++terminals;
    r.kind = Route::Kind::kAggregate;
    read_route_aggregate(ctx, cfg, n, m.path_of("aggregate"), r);
  }
  if (auto n = m.get("payload_format"); n.IsDefined()) {
    std::string v;
    if (ctx.read_string(n, m.path_of("payload_format"), v)) {
      if (v == "2.0") r.payload_format = PayloadFormat::kV2;
      else if (v == "1.0") r.payload_format = PayloadFormat::kV1;
      else ctx.error(n, m.path_of("payload_format"), "expected \"2.0\" (HTTP API) or \"1.0\" (REST API)");
      if (!m.has("function") && !m.has("steps")) {
        ctx.error(n, m.path_of("payload_format"), "only used with function or steps");
      }
    }
  }
  if (terminals != 1) {
    ctx.error(node, path,
              terminals == 0 ? "a route needs one of: upstream, split, respond, echo, function, steps, aggregate"
                             : "a route takes only one of: upstream, split, respond, echo, function, steps, aggregate");
  }

  if (auto n = m.get("mirror"); n.IsDefined()) {
    read_mirror(ctx, n, m.path_of("mirror"), upstream_names, r.mirror);
    if (r.kind != Route::Kind::kUpstream) ctx.error(n, m.path_of("mirror"), "mirror only applies to upstream routes");
  }
  if (auto n = m.get("retries"); n.IsDefined()) {
    RetryPolicy policy;
    read_retries(ctx, n, m.path_of("retries"), policy);
    r.retries = policy;
    if (r.kind != Route::Kind::kUpstream) ctx.error(n, m.path_of("retries"), "retries only apply to upstream routes");
  }
  read_route_auth(ctx, cfg, m, r);
  read_route_limits(ctx, cfg, m, r);
  read_route_validation(ctx, cfg, index, m, r);
  read_route_formatting(ctx, m, r);
  if (auto n = m.get("rewrite"); n.IsDefined()) {
    MapReader rw(ctx, n, m.path_of("rewrite"));
    if (auto v = rw.get("strip_prefix"); v.IsDefined()) {
      if (ctx.read_string(v, rw.path_of("strip_prefix"), r.rewrite.strip_prefix)) {
        const std::string& sp = r.rewrite.strip_prefix;
        if (sp.empty() || sp[0] != '/') {
          ctx.error(v, rw.path_of("strip_prefix"), "must start with '/'");
        } else if (literal_prefix(r.path).compare(0, sp.size(), sp) != 0) {
          ctx.error(v, rw.path_of("strip_prefix"),
                    fmt::format("\"{}\" is not a prefix of the route path \"{}\"", sp, r.path));
        }
      }
    }
    if (auto v = rw.get("path"); v.IsDefined()) {
      if (ctx.read_string(v, rw.path_of("path"), r.rewrite.path_template)) {
        const std::string& t = r.rewrite.path_template;
        if (t.empty() || t[0] != '/') ctx.error(v, rw.path_of("path"), "must start with '/'");
        size_t pos = 0;
        while ((pos = t.find('{', pos)) != std::string::npos) {
          size_t close = t.find('}', pos);
          if (close == std::string::npos) {
            ctx.error(v, rw.path_of("path"), "unclosed '{'");
            break;
          }
          std::string name = t.substr(pos + 1, close - pos - 1);
          if (name.size() > 3 && name.substr(name.size() - 3) == "...") name.resize(name.size() - 3);
          if (std::find(r.param_names.begin(), r.param_names.end(), name) == r.param_names.end()) {
            std::string hint = suggest(name, r.param_names);
            ctx.error(v, rw.path_of("path"),
                      hint.empty() ? fmt::format("unknown parameter {{{}}} (the path pattern has none by that name)", name)
                                   : fmt::format("unknown parameter {{{}}} (did you mean {{{}}}?)", name, hint));
          }
          pos = close + 1;
        }
      }
    }
    if (!r.rewrite.strip_prefix.empty() && !r.rewrite.path_template.empty()) {
      ctx.error(n, m.path_of("rewrite"), "use either strip_prefix or path, not both");
    }
    if (r.kind != Route::Kind::kUpstream && !r.rewrite.empty()) {
      ctx.error(n, m.path_of("rewrite"), "rewrite only applies to upstream routes");
    }
  }
  if (auto n = m.get("limits"); n.IsDefined()) {
    MapReader l(ctx, n, m.path_of("limits"));
    if (auto v = l.get("body"); v.IsDefined()) {
      uint64_t b;
      if (ctx.read_size(v, l.path_of("body"), b)) r.max_body = b;
    }
  }
  if (auto n = m.get("timeouts"); n.IsDefined()) {
    MapReader t(ctx, n, m.path_of("timeouts"));
    if (auto v = t.get("response"); v.IsDefined()) {
      int64_t ms;
      if (ctx.read_duration(v, t.path_of("response"), ms)) r.response_timeout_ms = ms;
    }
    if (auto v = t.get("total"); v.IsDefined()) ctx.read_duration(v, t.path_of("total"), r.total_timeout_ms);
  }

  if (r.kind == Route::Kind::kFunction || r.kind == Route::Kind::kSteps) {
    // Lambda takes request payloads up to 6 MB.
    constexpr uint64_t kLambdaPayload = 6 * 1024 * 1024;
    if (!r.max_body) r.max_body = kLambdaPayload;
    else if (*r.max_body > kLambdaPayload) {
      ctx.error(m.get("limits"), m.path_of("limits"), "a function route takes bodies up to 6MiB (Lambda's limit)");
    }
  }
  if (r.name.empty()) {
    r.name = r.methods.empty() ? "*" : fmt::format("{}", fmt::join(r.methods, ","));
    r.name += " " + r.host + r.path;
  }
  for (AggregateBackend& b : r.aggregate.backends) {  // their calls are named after the route
    auto call = std::make_shared<Route>(*b.route);
    call->name = fmt::format("{} → {}", r.name, b.name);
    b.route = std::move(call);
  }
  if (ctx.error_count() != errors_before) return;
  auto added = cfg.router.add(r.host, r.methods, pattern, static_cast<int>(cfg.routes.size()));
  if (!added) {
    ctx.error(path_node, m.path_of("match"), added.error().message);
    return;
  }
  cfg.routes.push_back(std::move(r));
}

}  // namespace portico::config
