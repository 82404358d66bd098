#include "config/loader.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/yaml_reader.h"
#include "core/strings.h"
#include "http/parser.h"

namespace portico::config {

std::string Diagnostic::to_string() const {
  std::string out = file;
  if (line > 0) out += fmt::format(":{}:{}", line, column);
  out += ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

std::string format_diagnostics(const std::vector<Diagnostic>& errors) {
  std::string out;
  for (const auto& d : errors) {
    out += d.to_string();
    out += '\n';
  }
  return out;
}

const Upstream* Config::find_upstream(std::string_view name) const {
  for (const auto& u : upstreams) {
    if (u.name == name) return &u;
  }
  return nullptr;
}

bool parse_duration_ms(std::string_view t, int64_t& out) {
  size_t i = 0;
  int dots = 0;
  while (i < t.size() && ((t[i] >= '0' && t[i] <= '9') || t[i] == '.')) dots += t[i++] == '.';
  if (i == 0 || i == t.size() || dots > 1 || t[0] == '.') return false;
  double v = 0;
  try {
    v = std::stod(std::string(t.substr(0, i)));
  } catch (...) {
    return false;
  }
  std::string_view unit = t.substr(i);
  double ms;
  if (unit == "ms") ms = v;
  else if (unit == "s") ms = v * 1000;
  else if (unit == "m") ms = v * 60'000;
  else if (unit == "h") ms = v * 3'600'000;
  else return false;
  if (!(ms >= 1) || ms > 1e12) return false;  // at least 1ms; also rejects NaN
  out = static_cast<int64_t>(std::llround(ms));
  return true;
}

bool parse_size(std::string_view t, uint64_t& out) {
  size_t i = 0;
  while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
  auto v = parse_u64(t.substr(0, i));
  if (!v) return false;
  std::string_view unit = trim(t.substr(i));
  uint64_t mult;
  if (unit.empty() || unit == "B") mult = 1;
  else if (unit == "KiB") mult = uint64_t{1} << 10;
  else if (unit == "MiB") mult = uint64_t{1} << 20;
  else if (unit == "GiB") mult = uint64_t{1} << 30;
  else if (unit == "KB") mult = 1000;
  else if (unit == "MB") mult = 1000 * 1000;
  else if (unit == "GB") mult = 1000 * 1000 * 1000;
  else return false;
  if (*v > (uint64_t{1} << 50) / mult) return false;
  out = *v * mult;
  return true;
}

namespace {

constexpr const char* kStandardMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"};

void read_limits(Context& ctx, const YAML::Node& node, const std::string& path, Limits& l) {
  MapReader m(ctx, node, path);
  if (auto n = m.get("request_line"); n.IsDefined()) ctx.read_size(n, m.path_of("request_line"), l.request_line);
  if (auto n = m.get("header_bytes"); n.IsDefined()) ctx.read_size(n, m.path_of("header_bytes"), l.header_bytes);
  if (auto n = m.get("header_count"); n.IsDefined()) {
    int64_t v;
    if (ctx.read_int(n, m.path_of("header_count"), 1, 10'000, v)) l.header_count = static_cast<uint64_t>(v);
  }
  if (auto n = m.get("body"); n.IsDefined()) ctx.read_size(n, m.path_of("body"), l.body);
  if (l.request_line < 64) ctx.error(node, m.path_of("request_line"), "must be at least 64 bytes");
  if (l.header_bytes < l.request_line) {
    ctx.error(node, m.path_of("header_bytes"), "must be at least request_line");
  }
}

void read_server(Context& ctx, const YAML::Node& node, Server& s) {
  MapReader m(ctx, node, "server");
  if (!m.valid()) return;
  std::vector<std::string> listen = {"0.0.0.0:8080"};
  if (auto n = m.get("listen"); n.IsDefined()) {
    if (ctx.read_string_list(n, "server.listen", listen) && listen.empty()) {
      ctx.error(n, "server.listen", "at least one address is needed");
    }
  }
  for (size_t i = 0; i < listen.size(); ++i) {
    auto a = net::parse_address(listen[i], true);
    if (!a) {
      ctx.error(m.get("listen").IsDefined() ? m.get("listen") : node, "server.listen", a.error().message);
      continue;
    }
    s.listen.push_back(*a);
    s.listen_text.push_back(listen[i]);
  }
  if (auto n = m.get("admin"); n.IsDefined()) {
    ctx.read_string(n, "server.admin", s.admin_text);
  }
  if (s.admin_text != "off") {
    auto a = net::parse_address(s.admin_text, true);
    if (a) s.admin = *a;
    else ctx.error(m.get("admin"), "server.admin", a.error().message + " (or write off)");
  }
  if (auto n = m.get("workers"); n.IsDefined()) {
    if (n.IsScalar() && n.Scalar() == "auto") {
      s.workers = 0;
    } else {
      int64_t w;
      if (ctx.read_int(n, "server.workers", 1, 256, w)) s.workers = static_cast<int>(w);
    }
  }
  if (auto n = m.get("data_dir"); n.IsDefined()) ctx.read_string(n, "server.data_dir", s.data_dir);
  if (auto n = m.get("log_level"); n.IsDefined()) {
    if (ctx.read_string(n, "server.log_level", s.log_level)) {
      static const std::vector<std::string> levels = {"debug", "info", "warn", "error", "off"};
      if (std::find(levels.begin(), levels.end(), s.log_level) == levels.end()) {
        ctx.error(n, "server.log_level", "expected debug, info, warn, error or off");
      }
    }
  }
  if (auto n = m.get("limits"); n.IsDefined()) read_limits(ctx, n, "server.limits", s.limits);
  if (auto n = m.get("timeouts"); n.IsDefined()) {
    MapReader t(ctx, n, "server.timeouts");
    auto dur = [&](const char* key, int64_t& out) {
      if (auto v = t.get(key); v.IsDefined()) ctx.read_duration(v, t.path_of(key), out);
    };
    dur("header", s.timeouts.header_ms);
    dur("body", s.timeouts.body_ms);
    dur("keepalive", s.timeouts.keepalive_ms);
    dur("send", s.timeouts.send_ms);
    dur("shutdown", s.timeouts.shutdown_ms);
  }
  if (auto n = m.get("access_log"); n.IsDefined()) {
    if (n.IsScalar()) {
      std::string v = n.Scalar();
      std::string lower = to_lower(v);
      if (lower == "off" || lower == "false" || lower == "no") {
        s.access_log.enabled = false;
      } else if (lower == "on" || lower == "true" || lower == "yes") {
        s.access_log.enabled = true;
      } else {
        s.access_log.enabled = true;
        s.access_log.path = v;
      }
    } else {
      MapReader a(ctx, n, "server.access_log");
      if (auto v = a.get("enabled"); v.IsDefined()) ctx.read_bool(v, a.path_of("enabled"), s.access_log.enabled);
      else s.access_log.enabled = true;
      if (auto v = a.get("path"); v.IsDefined()) ctx.read_string(v, a.path_of("path"), s.access_log.path);
    }
  }
}

void read_upstream(Context& ctx, const std::string& name, const YAML::Node& node, Upstream& u) {
  std::string path = "upstreams." + name;
  u.name = name;
  MapReader m(ctx, node, path);
  if (!m.valid()) return;
  YAML::Node eps = m.get("endpoints");
  if (!eps.IsDefined()) {
    ctx.error(node, path, "missing key \"endpoints\" (a list of host:port)");
  } else {
    std::vector<std::string> list;
    if (ctx.read_string_list(eps, m.path_of("endpoints"), list)) {
      if (list.empty()) ctx.error(eps, m.path_of("endpoints"), "needs at least one endpoint");
      for (size_t i = 0; i < list.size(); ++i) {
        std::string p = fmt::format("{}.endpoints[{}]", path, i);
        auto a = net::parse_address(list[i], true);
        if (!a) {
          ctx.error(eps.IsSequence() ? eps[i] : eps, p, a.error().message);
        } else if (a->port() == 0) {
          ctx.error(eps.IsSequence() ? eps[i] : eps, p, "endpoint port must not be 0");
        } else {
          u.endpoints.push_back({list[i], *a});
        }
      }
    }
  }
  if (auto n = m.get("balance"); n.IsDefined()) {
    if (ctx.read_string(n, m.path_of("balance"), u.balance) && u.balance != "round_robin") {
      ctx.error(n, m.path_of("balance"),
                fmt::format("unknown balance \"{}\" (this version has: round_robin)", u.balance));
    }
  }
  if (auto n = m.get("timeouts"); n.IsDefined()) {
    MapReader t(ctx, n, m.path_of("timeouts"));
    if (auto v = t.get("connect"); v.IsDefined()) ctx.read_duration(v, t.path_of("connect"), u.timeouts.connect_ms);
    if (auto v = t.get("response"); v.IsDefined()) ctx.read_duration(v, t.path_of("response"), u.timeouts.response_ms);
  }
  if (auto n = m.get("pool"); n.IsDefined()) {
    MapReader p(ctx, n, m.path_of("pool"));
    if (auto v = p.get("idle_timeout"); v.IsDefined()) ctx.read_duration(v, p.path_of("idle_timeout"), u.pool.idle_timeout_ms);
    if (auto v = p.get("max_idle"); v.IsDefined()) {
      int64_t x;
      if (ctx.read_int(v, p.path_of("max_idle"), 0, 100'000, x)) u.pool.max_idle = static_cast<uint64_t>(x);
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
    std::string name;
    if (ctx.read_string(n, m.path_of("upstream"), name)) {
      auto it = std::find(upstream_names.begin(), upstream_names.end(), name);
      if (it == upstream_names.end()) {
        std::string hint = suggest(name, upstream_names);
        ctx.error(n, m.path_of("upstream"),
                  hint.empty() ? fmt::format("unknown upstream \"{}\"", name)
                               : fmt::format("unknown upstream \"{}\" (did you mean \"{}\"?)", name, hint));
      } else {
        r.upstream = static_cast<int>(it - upstream_names.begin());
      }
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
  if (terminals != 1) {
    ctx.error(node, path,
              terminals == 0 ? "a route needs one of: upstream, respond, echo"
                             : "a route takes only one of: upstream, respond, echo");
  }

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
  }

  if (r.name.empty()) {
    r.name = r.methods.empty() ? "*" : fmt::format("{}", fmt::join(r.methods, ","));
    r.name += " " + r.host + r.path;
  }
  if (ctx.error_count() != errors_before) return;
  auto added = cfg.router.add(r.host, r.methods, pattern, static_cast<int>(cfg.routes.size()));
  if (!added) {
    ctx.error(path_node, m.path_of("match"), added.error().message);
    return;
  }
  cfg.routes.push_back(std::move(r));
}

std::shared_ptr<Config> build(const YAML::Node& root, const std::string& name,
                                     std::vector<Diagnostic>& errors) {
  Context ctx(name, errors);
  auto cfg = std::make_shared<Config>();
  cfg->file = name;
  MapReader top(ctx, root, "");
  if (!top.valid()) return nullptr;

  read_server(ctx, top.get("server"), cfg->server);

  std::vector<std::string> upstream_names;
  if (auto ups = top.get("upstreams"); ups.IsDefined() && !ups.IsNull()) {
    if (!ups.IsMap()) {
      ctx.error(ups, "upstreams", "expected a mapping of upstream names to definitions");
    } else {
      for (auto it = ups.begin(); it != ups.end(); ++it) {
        const std::string& uname = it->first.Scalar();
        upstream_names.push_back(uname);
        Upstream u;
        read_upstream(ctx, uname, it->second, u);
        cfg->upstreams.push_back(std::move(u));
      }
    }
  }

  YAML::Node routes = top.get("routes");
  if (!routes.IsDefined() || routes.IsNull()) {
    ctx.error(root, "routes", "missing key \"routes\": nothing would be served");
  } else if (!routes.IsSequence()) {
    ctx.error(routes, "routes", "expected a list of routes");
  } else {
    std::vector<std::string> names;
    for (size_t i = 0; i < routes.size(); ++i) {
      size_t before = cfg->routes.size();
      read_route(ctx, *cfg, i, routes[i], upstream_names);
      if (cfg->routes.size() > before) {
        const std::string& rn = cfg->routes.back().name;
        if (std::find(names.begin(), names.end(), rn) != names.end()) {
          ctx.error(routes[i], fmt::format("routes[{}].name", i), fmt::format("duplicate route name \"{}\"", rn));
        }
        names.push_back(rn);
      }
    }
  }
  top.finish();  // report unknown top-level keys before deciding
  if (!errors.empty()) {
    std::stable_sort(errors.begin(), errors.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    return nullptr;
  }
  return cfg;
}

}  // namespace

std::shared_ptr<Config> load_config_text(const std::string& text, const std::string& name,
                                               std::vector<Diagnostic>& errors) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    Diagnostic d;
    d.file = name;
    d.line = e.mark.line + 1;
    d.column = e.mark.column + 1;
    d.message = "YAML syntax error: " + e.msg;
    if (e.msg.find("flow") != std::string::npos) {
      d.message += " (inside {...} or [...], quote values that contain braces or commas, "
                   "e.g. path: \"/items/{id}\")";
    }
    errors.push_back(std::move(d));
    return nullptr;
  }
  try {
    return build(root, name, errors);
  } catch (const YAML::Exception& e) {
    Diagnostic d;
    d.file = name;
    d.line = e.mark.is_null() ? 0 : e.mark.line + 1;
    d.column = e.mark.is_null() ? 0 : e.mark.column + 1;
    d.message = e.msg;
    errors.push_back(std::move(d));
    return nullptr;
  }
}

std::shared_ptr<Config> load_config_file(const std::string& path, std::vector<Diagnostic>& errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors.push_back({path, 0, 0, "", fmt::format("cannot read file: {}", strerror(errno))});
    return nullptr;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_config_text(ss.str(), path, errors);
}

}  // namespace portico::config
