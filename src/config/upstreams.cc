// The `upstreams:` section: endpoints or discovery, balancing, health checks, outlier
// ejection, retries, circuit breaking, timeouts and pools.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "config/sections.h"
#include "core/strings.h"

namespace portico::config {

const char* balance_name(Balance b) {
  switch (b) {
    case Balance::kLeastRequest: return "least_request";
    case Balance::kRoundRobin: return "round_robin";
    case Balance::kRandom: return "random";
    case Balance::kRingHash: return "ring_hash";
  }
  return "?";
}

namespace {

bool read_endpoint_address(Context& ctx, const YAML::Node& address, const std::string& path, Endpoint& e) {
  if (!ctx.read_string(address, path, e.text)) return false;
  auto a = net::parse_address(e.text, true);
  if (!a) {
    ctx.error(address, path, a.error().message);
    return false;
  }
  if (a->port() == 0) {
    ctx.error(address, path, "endpoint port must not be 0");
    return false;
  }
  e.address = *a;
  return true;
}

// One static endpoint: "host:port" or {address: host:port, weight: N}.
// (yaml-cpp assigns through a Node that refers into the tree, so each node here is bound
// once and never reassigned.)
bool read_endpoint(Context& ctx, const YAML::Node& n, const std::string& path, Endpoint& e) {
  if (n.IsMap()) {
    MapReader m(ctx, n, path);
    YAML::Node address = m.get("address");
    if (!address.IsDefined()) {
      ctx.error(n, path, "missing key \"address\" (host:port)");
      return false;
    }
    if (auto w = m.get("weight"); w.IsDefined() && !ctx.read_u32(w, m.path_of("weight"), 1, 10'000, e.weight)) {
      return false;
    }
    return read_endpoint_address(ctx, address, m.path_of("address"), e);
  }
  return read_endpoint_address(ctx, n, path, e);
}

void read_static_endpoints(Context& ctx, const YAML::Node& eps, const std::string& path, Upstream& u) {
  if (eps.IsScalar()) {
    Endpoint e;
    if (read_endpoint(ctx, eps, path, e)) u.endpoints.push_back(std::move(e));
    return;
  }
  if (!eps.IsSequence()) {
    ctx.error(eps, path, "expected a list of host:port (or {address, weight})");
    return;
  }
  if (eps.size() == 0) ctx.error(eps, path, "needs at least one endpoint");
  for (size_t i = 0; i < eps.size(); ++i) {
    Endpoint e;
    if (read_endpoint(ctx, eps[i], fmt::format("{}[{}]", path, i), e)) u.endpoints.push_back(std::move(e));
  }
}

void read_dns(Context& ctx, const YAML::Node& n, const std::string& path, DnsDiscovery& d) {
  if (n.IsScalar()) {
    // Shorthand "name:port": A records on the given port.
    std::string text = n.Scalar();
    size_t colon = text.rfind(':');
    auto port = colon == std::string::npos ? std::nullopt : parse_u64(std::string_view(text).substr(colon + 1));
    if (!port || *port == 0 || *port > 65535 || colon == 0) {
      ctx.error(n, path, "expected name:port (A records), or a mapping {name, type, port, servers}");
      return;
    }
    d.name = text.substr(0, colon);
    d.port = static_cast<uint16_t>(*port);
    return;
  }
  MapReader m(ctx, n, path);
  if (!m.valid()) return;
  if (auto v = m.get("name"); !v.IsDefined()) {
    ctx.error(n, path, "missing key \"name\" (the DNS name to resolve)");
  } else {
    ctx.read_string(v, m.path_of("name"), d.name);
  }
  if (auto v = m.get("type"); v.IsDefined()) {
    std::string t;
    if (ctx.read_string(v, m.path_of("type"), t)) {
      std::string upper;
      for (char c : t) upper += static_cast<char>(toupper(static_cast<unsigned char>(c)));
      if (upper == "A") d.type = DnsDiscovery::Type::kA;
      else if (upper == "AAAA") d.type = DnsDiscovery::Type::kAAAA;
      else if (upper == "ANY") d.type = DnsDiscovery::Type::kAny;
      else if (upper == "SRV") d.type = DnsDiscovery::Type::kSrv;
      else ctx.error(v, m.path_of("type"), "expected A, AAAA, any (A and AAAA) or SRV");
    }
  }
  if (auto v = m.get("port"); v.IsDefined()) {
    int64_t p;
    if (ctx.read_int(v, m.path_of("port"), 1, 65535, p)) d.port = static_cast<uint16_t>(p);
    if (d.type == DnsDiscovery::Type::kSrv) ctx.error(v, m.path_of("port"), "SRV records carry their own ports");
  } else if (d.type != DnsDiscovery::Type::kSrv) {
    ctx.error(n, path, "missing key \"port\" (A/AAAA records carry no port)");
  }
  if (auto v = m.get("servers"); v.IsDefined()) {
    if (ctx.read_string_list(v, m.path_of("servers"), d.servers_text)) {
      for (const auto& s : d.servers_text) {
        // A bare IP means port 53.
        std::string text = s.find(':') == std::string::npos || (s.front() == '[' && s.back() == ']') ? s + ":53" : s;
        auto a = net::parse_address(text, false);
        if (!a) ctx.error(v, m.path_of("servers"), fmt::format("\"{}\": expected an IP address, with an optional port", s));
        else d.servers.push_back(*a);
      }
    }
  }
  if (auto v = m.get("min_ttl"); v.IsDefined()) ctx.read_duration(v, m.path_of("min_ttl"), d.min_ttl_ms);
  if (auto v = m.get("max_ttl"); v.IsDefined()) ctx.read_duration(v, m.path_of("max_ttl"), d.max_ttl_ms);
  if (auto v = m.get("timeout"); v.IsDefined()) ctx.read_duration(v, m.path_of("timeout"), d.timeout_ms);
  if (d.max_ttl_ms < d.min_ttl_ms) ctx.error(n, m.path_of("max_ttl"), "must not be less than min_ttl");
}

void read_file_path(Context& ctx, const YAML::Node& p, const std::string& path, const std::string& base_dir,
                    FileDiscovery& f) {
  if (!ctx.read_string(p, path, f.path)) return;
  if (f.path.empty()) {
    ctx.error(p, path, "must not be empty");
    return;
  }
  f.path = resolve_path(f.path, base_dir);
}

// "endpoints.yaml" or {path: endpoints.yaml}
void read_file_discovery(Context& ctx, const YAML::Node& n, const std::string& path, const std::string& base_dir,
                         FileDiscovery& f) {
  if (!n.IsMap()) {
    read_file_path(ctx, n, path, base_dir, f);
    return;
  }
  MapReader m(ctx, n, path);
  YAML::Node p = m.get("path");
  if (!p.IsDefined()) {
    ctx.error(n, path, "missing key \"path\"");
    return;
  }
  read_file_path(ctx, p, m.path_of("path"), base_dir, f);
}

void read_etcd(Context& ctx, const YAML::Node& n, const std::string& path, EtcdDiscovery& e) {
  MapReader m(ctx, n, path);
  if (!m.valid()) return;
  if (auto v = m.get("endpoints"); !v.IsDefined()) {
    ctx.error(n, path, "missing key \"endpoints\" (etcd client URLs, e.g. http://127.0.0.1:2379)");
  } else if (ctx.read_string_list(v, m.path_of("endpoints"), e.endpoints)) {
    if (e.endpoints.empty()) ctx.error(v, m.path_of("endpoints"), "needs at least one URL");
    for (const auto& url : e.endpoints) {
      std::string_view rest = url;
      if (rest.substr(0, 7) != "http://") {
        ctx.error(v, m.path_of("endpoints"), fmt::format("\"{}\": expected http://host:port", url));
        continue;
      }
      rest.remove_prefix(7);
      if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
      std::string hostport(rest);
      if (hostport.find(':') == std::string::npos) hostport += ":2379";
      auto a = net::parse_address(hostport, true);
      if (!a) {
        ctx.error(v, m.path_of("endpoints"), fmt::format("\"{}\": {}", url, a.error().message));
        continue;
      }
      e.addresses.push_back(*a);
      e.hosts.push_back(hostport);
    }
  }
  if (auto v = m.get("prefix"); !v.IsDefined()) {
    ctx.error(n, path, "missing key \"prefix\" (e.g. /services/products/)");
  } else if (ctx.read_string(v, m.path_of("prefix"), e.prefix) && e.prefix.empty()) {
    ctx.error(v, m.path_of("prefix"), "must not be empty");
  }
  if (auto v = m.get("timeout"); v.IsDefined()) ctx.read_duration(v, m.path_of("timeout"), e.timeout_ms);
}

void read_discovery(Context& ctx, const YAML::Node& n, const std::string& path, const std::string& base_dir,
                    Discovery& d) {
  MapReader m(ctx, n, path);
  if (!m.valid()) return;
  int sources = 0;
  if (auto v = m.get("dns"); v.IsDefined()) {
    ++sources;
    d.kind = Discovery::Kind::kDns;
    read_dns(ctx, v, m.path_of("dns"), d.dns);
  }
  if (auto v = m.get("file"); v.IsDefined()) {
    ++sources;
    d.kind = Discovery::Kind::kFile;
    read_file_discovery(ctx, v, m.path_of("file"), base_dir, d.file);
  }
  if (auto v = m.get("etcd"); v.IsDefined()) {
    ++sources;
    d.kind = Discovery::Kind::kEtcd;
    read_etcd(ctx, v, m.path_of("etcd"), d.etcd);
  }
  if (sources != 1) ctx.error(n, path, "needs exactly one of: dns, file, etcd");
}

bool read_status_range(std::string_view t, StatusRange& r) {
  size_t dash = t.find('-');
  auto lo = parse_u64(trim(t.substr(0, dash)));
  auto hi = dash == std::string_view::npos ? lo : parse_u64(trim(t.substr(dash + 1)));
  if (!lo || !hi || *lo < 100 || *hi > 599 || *lo > *hi) return false;
  r = {static_cast<int>(*lo), static_cast<int>(*hi)};
  return true;
}

void read_health(Context& ctx, const YAML::Node& n, const std::string& path, HealthCheck& h) {
  MapReader m(ctx, n, path);
  if (!m.valid()) return;
  if (auto v = m.get("path"); !v.IsDefined()) {
    ctx.error(n, path, "missing key \"path\" (the URL path to check, e.g. /healthz)");
  } else if (ctx.read_string(v, m.path_of("path"), h.path) && (h.path.empty() || h.path[0] != '/')) {
    ctx.error(v, m.path_of("path"), "must start with '/'");
  }
  if (auto v = m.get("host"); v.IsDefined()) ctx.read_string(v, m.path_of("host"), h.host);
  if (auto v = m.get("interval"); v.IsDefined()) ctx.read_duration(v, m.path_of("interval"), h.interval_ms);
  if (auto v = m.get("timeout"); v.IsDefined()) ctx.read_duration(v, m.path_of("timeout"), h.timeout_ms);
  if (auto v = m.get("healthy_threshold"); v.IsDefined()) {
    ctx.read_u32(v, m.path_of("healthy_threshold"), 1, 100, h.healthy_threshold);
  }
  if (auto v = m.get("unhealthy_threshold"); v.IsDefined()) {
    ctx.read_u32(v, m.path_of("unhealthy_threshold"), 1, 100, h.unhealthy_threshold);
  }
  if (auto v = m.get("expect_status"); v.IsDefined()) {
    std::vector<std::string> list;
    if (ctx.read_string_list(v, m.path_of("expect_status"), list)) {
      h.expect.clear();
      for (const auto& item : list) {
        StatusRange r;
        if (read_status_range(item, r)) h.expect.push_back(r);
        else ctx.error(v, m.path_of("expect_status"), fmt::format("\"{}\": expected a status such as 200 or a range such as 200-399", item));
      }
    }
  }
  if (h.timeout_ms > h.interval_ms) {
    YAML::Node t = m.get("timeout");
    ctx.error(t.IsDefined() ? t : n, m.path_of("timeout"), "must not be longer than the interval");
  }
}

void read_outlier(Context& ctx, const YAML::Node& n, const std::string& path, Outlier& o) {
  if (n.IsScalar()) {
    bool on = true;
    if (ctx.read_bool(n, path, on) && !on) o.consecutive_failures = o.consecutive_5xx = 0;
    return;
  }
  MapReader m(ctx, n, path);
  if (auto v = m.get("consecutive_failures"); v.IsDefined()) {
    ctx.read_u32(v, m.path_of("consecutive_failures"), 0, 1000, o.consecutive_failures);
  }
  if (auto v = m.get("consecutive_5xx"); v.IsDefined()) ctx.read_u32(v, m.path_of("consecutive_5xx"), 0, 1000, o.consecutive_5xx);
  if (auto v = m.get("ejection_time"); v.IsDefined()) ctx.read_duration(v, m.path_of("ejection_time"), o.ejection_ms);
  if (auto v = m.get("max_ejection_time"); v.IsDefined()) {
    ctx.read_duration(v, m.path_of("max_ejection_time"), o.max_ejection_ms);
  }
  if (auto v = m.get("max_ejected"); v.IsDefined()) ctx.read_percent(v, m.path_of("max_ejected"), o.max_ejected_percent);
  if (o.max_ejection_ms < o.ejection_ms) ctx.error(n, m.path_of("max_ejection_time"), "must not be less than ejection_time");
}

void read_breaker(Context& ctx, const YAML::Node& n, const std::string& path, CircuitBreaker& b) {
  MapReader m(ctx, n, path);
  auto limit = [&](const char* key, uint64_t& out) {
    if (auto v = m.get(key); v.IsDefined()) {
      int64_t x;
      if (ctx.read_int(v, m.path_of(key), 0, 10'000'000, x)) out = static_cast<uint64_t>(x);
    }
  };
  limit("max_connections", b.max_connections);
  limit("max_pending", b.max_pending);
  limit("max_requests", b.max_requests);
}

}  // namespace

bool read_hash_key(Context& ctx, const YAML::Node& n, const std::string& path, HashKey& key) {
  std::string text;
  if (!ctx.read_string(n, path, text)) return false;
  key.text = text;
  size_t colon = text.find(':');
  std::string kind = to_lower(text.substr(0, colon));
  std::string name = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (kind == "client_ip" && colon == std::string::npos) {
    key.source = HashKey::Source::kClientIp;
    return true;
  }
  if ((kind == "header" || kind == "cookie" || kind == "query") && !name.empty()) {
    key.source = kind == "header" ? HashKey::Source::kHeader
                 : kind == "cookie" ? HashKey::Source::kCookie
                                    : HashKey::Source::kQuery;
    key.name = kind == "header" ? to_lower(name) : name;
    return true;
  }
  ctx.error(n, path, "expected header:NAME, cookie:NAME, query:NAME or client_ip");
  return false;
}

void read_retries(Context& ctx, const YAML::Node& n, const std::string& path, RetryPolicy& r) {
  if (n.IsScalar()) {
    bool on = true;
    if (ctx.read_bool(n, path, on) && !on) r.attempts = 1;
    return;
  }
  MapReader m(ctx, n, path);
  if (!m.valid()) return;
  if (auto v = m.get("attempts"); v.IsDefined()) ctx.read_u32(v, m.path_of("attempts"), 1, 10, r.attempts);
  if (auto v = m.get("on"); v.IsDefined()) {
    std::vector<std::string> list;
    if (ctx.read_string_list(v, m.path_of("on"), list)) {
      r.on_connect_failure = r.on_reset = r.on_timeout = false;
      r.on_status.clear();
      r.on_text = list;
      for (const auto& item : list) {
        if (item == "connect_failure") r.on_connect_failure = true;
        else if (item == "reset") r.on_reset = true;
        else if (item == "timeout") r.on_timeout = true;
        else if (item == "gateway_error") r.on_status.insert(r.on_status.end(), {502, 503, 504});
        else if (auto code = parse_u64(item); code && *code >= 400 && *code <= 599) r.on_status.push_back(static_cast<int>(*code));
        else {
          std::string hint = suggest(item, {"connect_failure", "reset", "timeout", "gateway_error"});
          ctx.error(v, m.path_of("on"),
                    hint.empty() ? fmt::format("unknown retry condition \"{}\" (expected connect_failure, reset, timeout, "
                                               "gateway_error or a status code from 400 to 599)",
                                               item)
                                 : fmt::format("unknown retry condition \"{}\" (did you mean \"{}\"?)", item, hint));
        }
      }
    }
  }
  if (auto v = m.get("non_idempotent"); v.IsDefined()) ctx.read_bool(v, m.path_of("non_idempotent"), r.non_idempotent);
  if (auto v = m.get("backoff"); v.IsDefined()) {
    MapReader b(ctx, v, m.path_of("backoff"));
    if (auto x = b.get("base"); x.IsDefined()) ctx.read_duration(x, b.path_of("base"), r.backoff_base_ms);
    if (auto x = b.get("max"); x.IsDefined()) ctx.read_duration(x, b.path_of("max"), r.backoff_max_ms);
    if (r.backoff_max_ms < r.backoff_base_ms) ctx.error(v, b.path_of("max"), "must not be less than base");
  }
  if (auto v = m.get("retry_after_max"); v.IsDefined()) ctx.read_duration(v, m.path_of("retry_after_max"), r.retry_after_max_ms);
  if (auto v = m.get("budget"); v.IsDefined()) {
    MapReader b(ctx, v, m.path_of("budget"));
    if (auto x = b.get("percent"); x.IsDefined()) ctx.read_percent(x, b.path_of("percent"), r.budget_percent);
    if (auto x = b.get("min"); x.IsDefined()) ctx.read_u32(x, b.path_of("min"), 0, 100'000, r.budget_min);
  }
  if (auto v = m.get("body_buffer"); v.IsDefined()) {
    if (ctx.read_size(v, m.path_of("body_buffer"), r.body_buffer) && r.body_buffer > 16 * 1024 * 1024) {
      ctx.error(v, m.path_of("body_buffer"), "must be at most 16MiB");
    }
  }
  if (auto v = m.get("per_try_timeout"); v.IsDefined()) ctx.read_duration(v, m.path_of("per_try_timeout"), r.per_try_timeout_ms);
}

void read_upstream(Context& ctx, const std::string& name, const YAML::Node& node, const std::string& base_dir,
                   Upstream& u) {
  std::string path = "upstreams." + name;
  u.name = name;
  MapReader m(ctx, node, path);
  if (!m.valid()) return;
  YAML::Node eps = m.get("endpoints");
  YAML::Node disc = m.get("discovery");
  if (eps.IsDefined() && disc.IsDefined()) {
    ctx.error(disc, m.path_of("discovery"), "use either endpoints (a static list) or discovery, not both");
  } else if (eps.IsDefined()) {
    read_static_endpoints(ctx, eps, m.path_of("endpoints"), u);
  } else if (disc.IsDefined()) {
    read_discovery(ctx, disc, m.path_of("discovery"), base_dir, u.discovery);
  } else {
    ctx.error(node, path, "missing key \"endpoints\" (a list of host:port) or \"discovery\" (dns, file or etcd)");
  }
  if (auto n = m.get("balance"); n.IsDefined()) {
    std::string b;
    if (ctx.read_string(n, m.path_of("balance"), b)) {
      static const std::vector<std::string> names = {"least_request", "round_robin", "random", "ring_hash"};
      auto it = std::find(names.begin(), names.end(), b);
      if (it == names.end()) {
        std::string hint = suggest(b, names);
        ctx.error(n, m.path_of("balance"),
                  hint.empty()
                      ? fmt::format("unknown balance \"{}\" (expected least_request, round_robin, random or ring_hash)", b)
                      : fmt::format("unknown balance \"{}\" (did you mean \"{}\"?)", b, hint));
      } else {
        u.balance = static_cast<Balance>(it - names.begin());
      }
    }
  }
  if (auto n = m.get("hash_key"); n.IsDefined()) {
    if (read_hash_key(ctx, n, m.path_of("hash_key"), u.hash_key) && u.balance != Balance::kRingHash) {
      ctx.error(n, m.path_of("hash_key"), "only used with balance: ring_hash");
    }
  } else if (u.balance == Balance::kRingHash) {
    ctx.error(node, path, "balance: ring_hash needs a hash_key (header:NAME, cookie:NAME, query:NAME or client_ip)");
  }
  if (auto n = m.get("health"); n.IsDefined()) read_health(ctx, n, m.path_of("health"), u.health);
  if (auto n = m.get("outlier"); n.IsDefined()) read_outlier(ctx, n, m.path_of("outlier"), u.outlier);
  if (auto n = m.get("retries"); n.IsDefined()) read_retries(ctx, n, m.path_of("retries"), u.retries);
  if (auto n = m.get("circuit_breaker"); n.IsDefined()) read_breaker(ctx, n, m.path_of("circuit_breaker"), u.breaker);
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

}  // namespace portico::config
