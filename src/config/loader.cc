#include "config/loader.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/sections.h"
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

}  // namespace

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
  if (auto n = m.get("trusted_proxies"); n.IsDefined()) {
    std::vector<std::string> ranges;
    if (ctx.read_string_list(n, "server.trusted_proxies", ranges)) {
      for (const auto& text : ranges) {
        auto r = net::parse_ip_range(text);
        if (r) s.trusted_proxies.push_back(std::move(*r));
        else ctx.error(n, "server.trusted_proxies", r.error().message);
      }
    }
  }
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

namespace {

std::shared_ptr<Config> build(const YAML::Node& root, const std::string& name,
                                     std::vector<Diagnostic>& errors) {
  Context ctx(name, errors);
  auto cfg = std::make_shared<Config>();
  cfg->file = name;
  MapReader top(ctx, root, "");
  if (!top.valid()) return nullptr;

  read_server(ctx, top.get("server"), cfg->server);
  std::string base_dir = std::filesystem::path(name).parent_path().string();
  cfg->server.data_dir = resolve_path(cfg->server.data_dir, base_dir);

  std::vector<std::string> upstream_names;
  if (auto ups = top.get("upstreams"); ups.IsDefined() && !ups.IsNull()) {
    if (!ups.IsMap()) {
      ctx.error(ups, "upstreams", "expected a mapping of upstream names to definitions");
    } else {
      for (auto it = ups.begin(); it != ups.end(); ++it) {
        const std::string& uname = it->first.Scalar();
        upstream_names.push_back(uname);
        Upstream u;
        read_upstream(ctx, uname, it->second, base_dir, u);
        cfg->upstreams.push_back(std::move(u));
      }
    }
  }

  if (auto n = top.get("redis"); n.IsDefined() && !n.IsNull()) read_redis(ctx, *cfg, n);
  if (auto n = top.get("rate_limits"); n.IsDefined() && !n.IsNull()) read_rate_limits(ctx, *cfg, n);
  if (auto n = top.get("usage_plans"); n.IsDefined() && !n.IsNull()) read_usage_plans(ctx, *cfg, n);
  // Functions before auth: authorizers name them.
  if (auto n = top.get("functions"); n.IsDefined() && !n.IsNull()) read_functions(ctx, *cfg, n, base_dir);
  if (auto n = top.get("services"); n.IsDefined() && !n.IsNull()) read_services(ctx, *cfg, n);
  if (auto n = top.get("auth"); n.IsDefined()) read_auth(ctx, *cfg, n, base_dir);
  if (auto n = top.get("consumers"); n.IsDefined() && !n.IsNull()) read_consumers(ctx, *cfg, n, base_dir);
  if (auto n = top.get("cors"); n.IsDefined()) read_cors(ctx, n, "cors", cfg->cors);

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

std::string resolve_path(const std::string& path, const std::string& base_dir) {
  std::filesystem::path p(path);
  if (p.is_relative() && !base_dir.empty()) return (std::filesystem::path(base_dir) / p).lexically_normal().string();
  return path;
}

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
