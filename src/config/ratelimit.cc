// `redis:`, `rate_limits:`, `usage_plans:` and a route's `rate_limit:`.
#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "config/sections.h"
#include "core/strings.h"

namespace portico::config {

std::string RateLimitPolicy::state_signature() const {
  return fmt::format("{}|{}|{}|{}|{}|{}|{}", name, rate.count, rate.period_ms, burst, key.text, per_route, max_keys);
}

std::string RedisConfig::connection_signature() const {
  return fmt::format("{}|{}|{}|{}|{}|{}", address_text, username, password, db, connect_timeout_ms, timeout_ms);
}

namespace {

// "100/s", "6000/min", "20/10s".
bool parse_rate(std::string_view text, Rate& out) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  auto count = parse_u64(trim(text.substr(0, slash)));
  std::string_view unit = trim(text.substr(slash + 1));
  if (!count || *count == 0 || *count > 1'000'000'000) return false;
  int64_t period = 0;
  if (unit == "s" || unit == "sec" || unit == "second") period = 1'000;
  else if (unit == "m" || unit == "min" || unit == "minute") period = 60'000;
  else if (unit == "h" || unit == "hour") period = 3'600'000;
  else if (unit == "d" || unit == "day") period = 86'400'000;
  else if (!parse_duration_ms(unit, period)) return false;
  out.count = static_cast<int64_t>(*count);
  out.period_ms = period;
  out.text = std::string(text);
  return out.interval_ns() >= 1;
}

bool read_rate(Context& ctx, const YAML::Node& n, const std::string& path, Rate& out) {
  if (!n.IsScalar() || !parse_rate(n.Scalar(), out)) {
    ctx.error(n, path, "expected a rate such as 100/s, 6000/min or 20/10s (at most 1000000000 per period)");
    return false;
  }
  return true;
}

// ip | consumer | subject | claim:NAME | header:NAME | route; "a|b" takes the first present.
bool read_key(Context& ctx, const YAML::Node& n, const std::string& path, LimitKey& key) {
  std::vector<std::string> parts;
  if (!ctx.read_string_list(n, path, parts)) return false;
  if (parts.empty()) {
    ctx.error(n, path, "expected at least one key part");
    return false;
  }
  key = LimitKey{};
  bool ok = true;
  for (const auto& part : parts) {
    std::vector<KeySource> alternatives;
    for (std::string_view alt : split(part, '|')) {
      alt = trim(alt);
      KeySource s;
      size_t colon = alt.find(':');
      std::string_view kind = alt.substr(0, colon);
      std::string_view name = colon == std::string_view::npos ? std::string_view() : alt.substr(colon + 1);
      if (kind == "ip" && colon == std::string_view::npos) s.kind = KeySource::Kind::kIp;
      else if (kind == "consumer" && colon == std::string_view::npos) s.kind = KeySource::Kind::kConsumer;
      else if (kind == "subject" && colon == std::string_view::npos) s.kind = KeySource::Kind::kSubject;
      else if (kind == "route" && colon == std::string_view::npos) s.kind = KeySource::Kind::kRoute;
      else if (kind == "claim" && !name.empty()) s.kind = KeySource::Kind::kClaim;
      else if (kind == "header" && !name.empty()) s.kind = KeySource::Kind::kHeader;
      else {
        ctx.error(n, path, fmt::format("\"{}\": expected ip, consumer, subject, route, claim:NAME or header:NAME "
                                       "(alternatives joined by |)", alt));
        ok = false;
        continue;
      }
      s.name = s.kind == KeySource::Kind::kHeader ? to_lower(name) : std::string(name);
      if (s.kind == KeySource::Kind::kConsumer || s.kind == KeySource::Kind::kSubject ||
          s.kind == KeySource::Kind::kClaim) {
        key.needs_principal = true;
      }
      alternatives.push_back(std::move(s));
    }
    key.parts.push_back(std::move(alternatives));
  }
  key.text = fmt::format("{}", fmt::join(parts, ","));
  return ok;
}

bool read_enum(Context& ctx, const YAML::Node& n, const std::string& path,
               const std::vector<std::pair<std::string, int>>& choices, int& out) {
  std::string text;
  if (!ctx.read_string(n, path, text)) return false;
  std::vector<std::string> names;
  for (const auto& [name, value] : choices) {
    if (name == text) {
      out = value;
      return true;
    }
    names.push_back(name);
  }
  ctx.error(n, path, fmt::format("expected one of {}", fmt::join(names, ", ")));
  return false;
}

// store, on_store_error and headers: shared by policies and plans.
void read_store_settings(Context& ctx, const Config& cfg, MapReader& m, LimitStore& store, StoreFailure& on_error,
                         LimitHeaders& headers) {
  int v = 0;
  if (auto s = m.get("store"); s.IsDefined() && read_enum(ctx, s, m.path_of("store"), {{"local", 0}, {"redis", 1}}, v)) {
    store = static_cast<LimitStore>(v);
  }
  if (auto s = m.get("on_store_error"); s.IsDefined() &&
      read_enum(ctx, s, m.path_of("on_store_error"), {{"local", 0}, {"allow", 1}, {"deny", 2}}, v)) {
    on_error = static_cast<StoreFailure>(v);
    if (store != LimitStore::kRedis) ctx.error(s, m.path_of("on_store_error"), "only used with store: redis");
  }
  if (auto s = m.get("headers"); s.IsDefined() &&
      read_enum(ctx, s, m.path_of("headers"), {{"draft", 0}, {"legacy", 1}, {"off", 2}}, v)) {
    headers = static_cast<LimitHeaders>(v);
  }
  if (store == LimitStore::kRedis && !cfg.redis.enabled) {
    ctx.error(m.node(), m.path_of("store"), "store: redis needs the top-level redis section (redis: {address: host:port})");
  }
}

// burst × interval bounded (30 days), so the GCRA arithmetic in ns cannot overflow.
void check_tolerance(Context& ctx, const YAML::Node& n, const std::string& path, const Rate& r, int64_t burst) {
  if (r.count <= 0) return;
  double tolerance_s = static_cast<double>(burst) * static_cast<double>(r.period_ms) / static_cast<double>(r.count) / 1000.0;
  if (tolerance_s > 30.0 * 86'400) {
    ctx.error(n, path, fmt::format("burst {} at {} spans {:.0f} days; at most 30 days are supported", burst, r.text,
                                   tolerance_s / 86'400));
  }
}

int64_t default_burst(const Rate& r) {
  // One second's worth, at least one request.
  return std::max<int64_t>(1, r.count * 1000 / std::max<int64_t>(r.period_ms, 1));
}

// rate and burst (default: one second's worth), checked together, and the item that
// names them in RateLimit-Policy. A policy must have a rate; a plan may have quotas only.
void read_throttle(Context& ctx, MapReader& m, const std::string& name, bool required, std::optional<Rate>& rate,
                   int64_t& burst, std::string& policy_item) {
  if (auto v = m.get("rate"); v.IsDefined()) {
    Rate r;
    if (read_rate(ctx, v, m.path_of("rate"), r)) rate = r;
  } else if (required) {
    ctx.error(m.node(), m.path(), "missing key \"rate\" (e.g. 100/s)");
  }
  YAML::Node b = m.get("burst");
  if (b.IsDefined()) {
    ctx.read_int(b, m.path_of("burst"), 1, 1'000'000'000, burst);
    if (!rate && !required) ctx.error(b, m.path_of("burst"), "needs a rate");
  }
  if (!rate) return;
  if (!b.IsDefined()) burst = default_burst(*rate);
  check_tolerance(ctx, m.node(), m.path(), *rate, burst);
  policy_item = fmt::format("\"{}\";q={};w={}", name, rate->count, rate->window_s());
}

}  // namespace

void read_redis(Context& ctx, Config& cfg, const YAML::Node& n) {
  RedisConfig& r = cfg.redis;
  if (n.IsScalar()) {
    r.address_text = n.Scalar();
  } else {
    MapReader m(ctx, n, "redis");
    if (!m.valid()) return;
    if (auto v = m.get("address"); v.IsDefined()) ctx.read_string(v, "redis.address", r.address_text);
    else ctx.error(n, "redis", "missing key \"address\" (host:port)");
    if (auto v = m.get("username"); v.IsDefined()) ctx.read_string(v, "redis.username", r.username);
    YAML::Node password = m.get("password"), password_env = m.get("password_env");
    if (password.IsDefined() && password_env.IsDefined()) {
      ctx.error(password_env, "redis.password_env", "give password or password_env, not both");
    } else if (password.IsDefined()) {
      ctx.read_string(password, "redis.password", r.password);
    } else if (password_env.IsDefined()) {
      std::string var;
      if (ctx.read_string(password_env, "redis.password_env", var)) {
        const char* value = std::getenv(var.c_str());
        if (value == nullptr) ctx.error(password_env, "redis.password_env", fmt::format("the environment variable {} is not set", var));
        else r.password = value;
      }
    }
    if (auto v = m.get("db"); v.IsDefined()) ctx.read_int(v, "redis.db", 0, 15, r.db);
    if (auto v = m.get("timeout"); v.IsDefined()) ctx.read_duration(v, "redis.timeout", r.timeout_ms);
    if (auto v = m.get("connect_timeout"); v.IsDefined()) ctx.read_duration(v, "redis.connect_timeout", r.connect_timeout_ms);
    if (auto v = m.get("key_prefix"); v.IsDefined()) ctx.read_string(v, "redis.key_prefix", r.key_prefix);
  }
  // host:port or [v6]:port; the host is resolved at each connect.
  std::string_view a = r.address_text;
  size_t colon = a.rfind(':');
  std::optional<uint64_t> port;
  if (colon != std::string_view::npos) port = parse_u64(a.substr(colon + 1));
  std::string_view host = colon == std::string_view::npos ? std::string_view() : a.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || !port || *port == 0 || *port > 65535) {
    ctx.error(n, "redis.address", fmt::format("\"{}\": expected host:port", r.address_text));
    return;
  }
  r.host = std::string(host);
  r.port = static_cast<uint16_t>(*port);
  r.enabled = true;
}

void read_rate_limits(Context& ctx, Config& cfg, const YAML::Node& n) {
  if (!n.IsMap()) {
    ctx.error(n, "rate_limits", "expected a mapping of policy names to {rate, burst, key, ...}");
    return;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    RateLimitPolicy p;
    p.name = it->first.Scalar();
    std::string path = "rate_limits." + p.name;
    if (p.name == "none") ctx.error(it->first, path, "\"none\" is reserved (it means no limits)");
    MapReader m(ctx, it->second, path);
    if (!m.valid()) continue;
    std::optional<Rate> rate;
    read_throttle(ctx, m, p.name, true, rate, p.burst, p.policy_item);
    if (rate) p.rate = *rate;
    if (auto v = m.get("key"); v.IsDefined()) read_key(ctx, v, m.path_of("key"), p.key);
    else ctx.error(it->second, path, "missing key \"key\" (ip, consumer, claim:sub, header:NAME, route or a list)");
    int scope = 0;
    if (auto v = m.get("scope"); v.IsDefined() && read_enum(ctx, v, m.path_of("scope"), {{"global", 0}, {"route", 1}}, scope)) {
      p.per_route = scope == 1;
    }
    if (auto v = m.get("routes"); v.IsDefined()) {
      std::string text;
      if (ctx.read_string(v, m.path_of("routes"), text)) {
        if (text == "all") p.all_routes = true;
        else ctx.error(v, m.path_of("routes"), "expected all (or leave it out and name the policy in routes)");
      }
    }
    read_store_settings(ctx, cfg, m, p.store, p.on_store_error, p.headers);
    if (auto v = m.get("local_precheck"); v.IsDefined()) ctx.read_bool(v, m.path_of("local_precheck"), p.local_precheck);
    if (auto v = m.get("max_keys"); v.IsDefined()) {
      int64_t k = 0;
      if (ctx.read_int(v, m.path_of("max_keys"), 16, 100'000'000, k)) p.max_keys = static_cast<uint64_t>(k);
    }
    cfg.rate_limits.push_back(std::move(p));
  }
}

void read_usage_plans(Context& ctx, Config& cfg, const YAML::Node& n) {
  if (!n.IsMap()) {
    ctx.error(n, "usage_plans", "expected a mapping of plan names to {rate, burst, quota, store}");
    return;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    UsagePlan p;
    p.name = it->first.Scalar();
    std::string path = "usage_plans." + p.name;
    MapReader m(ctx, it->second, path);
    if (!m.valid()) continue;
    read_throttle(ctx, m, p.name, false, p.rate, p.burst, p.policy_item);
    if (auto q = m.get("quota"); q.IsDefined()) {
      MapReader qm(ctx, q, m.path_of("quota"));
      if (auto v = qm.get("day"); v.IsDefined()) ctx.read_int(v, qm.path_of("day"), 1, 1'000'000'000'000, p.per_day);
      if (auto v = qm.get("month"); v.IsDefined()) ctx.read_int(v, qm.path_of("month"), 1, 1'000'000'000'000, p.per_month);
      if (qm.valid() && p.per_day == 0 && p.per_month == 0) ctx.error(q, m.path_of("quota"), "expected day, month or both");
    }
    if (!p.rate && p.per_day == 0 && p.per_month == 0) {
      ctx.error(it->second, path, "a plan needs a rate, a quota or both");
    }
    read_store_settings(ctx, cfg, m, p.store, p.on_store_error, p.headers);
    cfg.usage_plans.push_back(std::move(p));
  }
}

void read_route_limits(Context& ctx, const Config& cfg, MapReader& m, Route& r) {
  std::vector<int> chosen;
  if (auto v = m.get("rate_limit"); v.IsDefined()) {
    std::vector<std::string> list;
    if (ctx.read_string_list(v, m.path_of("rate_limit"), list)) {
      std::vector<std::string> names;
      for (const auto& p : cfg.rate_limits) names.push_back(p.name);
      for (const auto& name : list) {
        if (name == "none") {
          if (list.size() > 1) ctx.error(v, m.path_of("rate_limit"), "\"none\" cannot be combined with policies");
          r.limits.none = true;
          continue;
        }
        if (int index = ctx.find_name(v, m.path_of("rate_limit"), "rate limit policy", name, names); index >= 0) {
          chosen.push_back(index);
        }
      }
    }
  }
  if (r.limits.none) return;
  size_t named = chosen.size();
  for (size_t i = 0; i < cfg.rate_limits.size(); ++i) {
    int index = static_cast<int>(i);
    if (cfg.rate_limits[i].all_routes && std::find(chosen.begin(), chosen.end(), index) == chosen.end()) {
      chosen.push_back(index);
    }
  }
  for (size_t i = 0; i < chosen.size(); ++i) {
    int index = chosen[i];
    const RateLimitPolicy& p = cfg.rate_limits[static_cast<size_t>(index)];
    if (!p.key.needs_principal) {
      r.limits.before_auth.push_back(index);
    } else if (!r.auth.empty()) {
      r.limits.after_auth.push_back(index);
    } else if (i < named) {
      // A `routes: all` policy keyed on the principal skips routes without auth; one
      // the route names itself is a mistake.
      ctx.error(m.node(), m.path() + ".rate_limit",
                fmt::format("policy \"{}\" is keyed on {}, which needs the route to authenticate (auth: METHOD)",
                            p.name, p.key.text));
    }
  }
}

}  // namespace portico::config
