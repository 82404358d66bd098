#include "upstream/manager.h"

#include <algorithm>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "core/log.h"
#include "core/random.h"

namespace portico::upstream {
namespace {

namespace json = boost::json;

// What identifies an upstream's endpoint source: a reload that keeps it keeps the
// source running, its endpoints and their health.
std::string discovery_key(const config::Upstream& u) {
  const config::Discovery& d = u.discovery;
  switch (d.kind) {
    case config::Discovery::Kind::kStatic: {
      std::string k = "static";
      for (const auto& e : u.endpoints) k += fmt::format(" {}*{}", e.address.to_string(), e.weight);
      return k;
    }
    case config::Discovery::Kind::kDns:
      return fmt::format("dns {} {} {} {} {} {} {}", d.dns.name, static_cast<int>(d.dns.type), d.dns.port,
                         fmt::join(d.dns.servers_text, ","), d.dns.min_ttl_ms, d.dns.max_ttl_ms, d.dns.timeout_ms);
    case config::Discovery::Kind::kFile:
      return "file " + d.file.path;
    case config::Discovery::Kind::kEtcd:
      return fmt::format("etcd {} {} {}", fmt::join(d.etcd.endpoints, ","), d.etcd.prefix, d.etcd.timeout_ms);
  }
  return {};
}

std::string health_key(const config::HealthCheck& h) {
  std::string k = fmt::format("{} {} {} {} {} {}", h.path, h.host, h.interval_ms, h.timeout_ms, h.healthy_threshold,
                              h.unhealthy_threshold);
  for (const auto& r : h.expect) k += fmt::format(" {}-{}", r.low, r.high);
  return k;
}

bool expected(const config::HealthCheck& h, int status) {
  return std::any_of(h.expect.begin(), h.expect.end(), [&](const config::StatusRange& r) {
    return status >= r.low && status <= r.high;
  });
}

}  // namespace

struct UpstreamManager::Endpoint {
  explicit Endpoint(discovery::DiscoveredEndpoint w) : where(std::move(w)) {}
  ~Endpoint() { stop_checks(); }
  void stop_checks() {
    check_timer.reset();
    if (probe != nullptr) probe->cancel();
    probe = nullptr;
  }

  discovery::DiscoveredEndpoint where;
  gateway::EndpointStats* stats = nullptr;
  bool healthy = true;  // by active checks; optimistic until checks say otherwise
  uint32_t passes = 0;
  uint32_t fails = 0;
  std::string last_failure;
  bool ejected = false;
  uint32_t ejections = 0;  // in a row: the back-off multiplier
  int64_t ejected_until_ms = 0;
  int64_t last_uneject_ms = 0;
  std::unique_ptr<net::Timer> check_timer;
  std::unique_ptr<net::Timer> uneject_timer;
  client::HttpClient* probe = nullptr;
};

struct UpstreamManager::Upstream {
  config::Upstream cfg;
  std::string discovery_key;
  gateway::UpstreamStats* stats = nullptr;
  std::unique_ptr<discovery::Source> source;
  std::map<std::string, std::unique_ptr<Endpoint>> endpoints;  // by address text
  std::string source_error;  // the last discovery failure, cleared by a good answer
  bool listed = false;       // discovery has answered at least once
};

UpstreamManager::UpstreamManager(net::EventLoop& loop, gateway::StatsRegistry& stats, Publish publish)
    : loop_(loop), stats_(stats), publish_(std::move(publish)), alive_(std::make_shared<bool>(true)) {}

UpstreamManager::~UpstreamManager() {
  *alive_ = false;
  upstreams_.clear();
}

void UpstreamManager::configure(const config::Config& config) {
  std::map<std::string, std::unique_ptr<Upstream>> next;
  std::vector<Upstream*> to_start;
  for (const config::Upstream& cu : config.upstreams) {
    std::string key = discovery_key(cu);
    auto it = upstreams_.find(cu.name);
    std::unique_ptr<Upstream> u;
    if (it != upstreams_.end() && it->second->discovery_key == key) {
      u = std::move(it->second);
      upstreams_.erase(it);
      bool health_changed = health_key(u->cfg.health) != health_key(cu.health);
      u->cfg = cu;
      if (health_changed) {
        for (auto& [address, e] : u->endpoints) {
          e->stop_checks();
          e->passes = e->fails = 0;
          if (!cu.health.enabled()) {
            e->healthy = true;
            e->stats->healthy.set(1);
          } else {
            start_checks(*u, *e);
          }
        }
      }
    } else {
      u = std::make_unique<Upstream>();
      u->cfg = cu;
      u->discovery_key = std::move(key);
      u->stats = stats_.upstream(cu.name);
      to_start.push_back(u.get());
    }
    next[cu.name] = std::move(u);
  }
  // Upstreams the config no longer has (or whose source changed): stop, and tell the
  // workers so their pools go.
  for (auto& [name, u] : upstreams_) {
    for (auto& [address, e] : u->endpoints) {
      e->stats->listed.set(0);
      e->stats->ejected.set(0);
    }
    if (next.find(name) == next.end()) {
      u->stats->endpoints_known.set(0);
      u->stats->endpoints_usable.set(0);
      publish_(name, make_endpoint_set({}, 0, u->cfg.balance, "upstream removed from the config"));
    }
  }
  upstreams_ = std::move(next);

  for (Upstream* u : to_start) {
    if (u->cfg.discovery.kind == config::Discovery::Kind::kStatic) {
      std::vector<discovery::DiscoveredEndpoint> list;
      for (const auto& e : u->cfg.endpoints) list.push_back({e.address, e.address.to_string(), e.weight});
      set_endpoints(*u, std::move(list));
      continue;
    }
    u->stats->discovery_ok.set(0);
    u->source = discovery::make_source(
        loop_, u->cfg.discovery,
        {[this, u](std::vector<discovery::DiscoveredEndpoint> list) { set_endpoints(*u, std::move(list)); },
         [this, u](std::string error) { discovery_failed(*u, std::move(error)); }});
    log::info("upstream \"{}\": discovering endpoints from {}", u->cfg.name, u->source->describe());
    u->source->start();
  }
  for (auto& [name, u] : upstreams_) publish(*u);
}

void UpstreamManager::set_endpoints(Upstream& u, std::vector<discovery::DiscoveredEndpoint> list) {
  if (list.empty()) {
    discovery_failed(u, "the source lists no endpoints");
    return;
  }
  bool had_error = !u.source_error.empty();
  bool was_listed = u.listed;
  if (had_error) log::info("upstream \"{}\": discovery works again", u.cfg.name);
  u.source_error.clear();
  u.listed = true;
  u.stats->discovery_ok.set(1);
  if (u.source) u.stats->discovery_updates.add();

  std::map<std::string, std::unique_ptr<Endpoint>> next;
  std::vector<std::string> added;
  bool reweighted = false;
  for (auto& d : list) {
    auto it = u.endpoints.find(d.text);
    if (it != u.endpoints.end()) {
      reweighted |= it->second->where.weight != d.weight;
      it->second->where.weight = d.weight;
      next[d.text] = std::move(it->second);
      u.endpoints.erase(it);
      continue;
    }
    auto e = std::make_unique<Endpoint>(d);
    e->stats = stats_.endpoint(u.cfg.name, d.text);
    e->stats->listed.set(1);
    e->stats->healthy.set(1);
    e->stats->ejected.set(0);
    e->stats->consecutive_failures.store(0, std::memory_order_relaxed);
    e->stats->consecutive_5xx.store(0, std::memory_order_relaxed);
    e->stats->ejection_reported.store(false, std::memory_order_relaxed);
    added.push_back(d.text);
    next[d.text] = std::move(e);
  }
  for (auto& [address, e] : u.endpoints) {
    e->stats->listed.set(0);
    e->stats->ejected.set(0);
  }
  if (u.source && (!added.empty() || !u.endpoints.empty())) {
    log::info("upstream \"{}\": {} endpoint{} from {}{}{}", u.cfg.name, next.size(), next.size() == 1 ? "" : "s",
              u.source->describe(), added.empty() ? "" : fmt::format(", added {}", fmt::join(added, " ")),
              u.endpoints.empty() ? "" : fmt::format(", removed {}", u.endpoints.size()));
  }
  bool changed = !added.empty() || !u.endpoints.empty() || reweighted || !was_listed;
  u.endpoints = std::move(next);
  if (u.cfg.health.enabled()) {
    for (auto& [address, e] : u.endpoints) {
      if (!e->check_timer) start_checks(u, *e);
    }
  }
  // The same answer again (a TTL expiring) changes nothing: the workers keep their set
  // and with it the balancing state (a new set would restart weighted round robin).
  if (changed || had_error) publish(u);
}

void UpstreamManager::discovery_failed(Upstream& u, std::string error) {
  u.stats->discovery_ok.set(0);
  u.stats->discovery_errors.add();
  // Logged when the reason changes, so a source that stays down does not flood the log.
  if (error != u.source_error) {
    if (u.endpoints.empty()) {
      log::warn("upstream \"{}\": discovery failed: {}; no endpoints known yet", u.cfg.name, error);
    } else {
      log::warn("upstream \"{}\": discovery failed: {}; keeping the last {} endpoint{}", u.cfg.name, error,
                u.endpoints.size(), u.endpoints.size() == 1 ? "" : "s");
    }
  }
  u.source_error = std::move(error);
  publish(u);
}

// ---- active health checks ----

void UpstreamManager::start_checks(Upstream& u, Endpoint& e) {
  e.check_timer = std::make_unique<net::Timer>(loop_, [this, &u, &e] { run_check(u, e); });
  // The first check comes soon (a new endpoint may be dead), spread so that checks of
  // many endpoints do not all go out at once.
  int64_t spread = std::min<int64_t>(u.cfg.health.interval_ms, 500);
  e.check_timer->arm_after_ms(static_cast<int64_t>(random_u64() % static_cast<uint64_t>(spread + 1)));
}

void UpstreamManager::run_check(Upstream& u, Endpoint& e) {
  const config::HealthCheck& h = u.cfg.health;
  client::Request r;
  r.address = e.where.address;
  r.host = h.host.empty() ? e.where.text : h.host;
  r.target = h.path;
  r.timeout_ms = h.timeout_ms;
  r.max_body = 64 * 1024;
  e.probe = client::HttpClient::start(loop_, std::move(r),
                                      {nullptr, nullptr, [this, &u, &e](bool ok, client::Response resp, std::string error) {
                                         e.probe = nullptr;
                                         if (!ok) {
                                           check_done(u, e, false, error);
                                         } else {
                                           bool pass = expected(u.cfg.health, resp.status);
                                           check_done(u, e, pass, pass ? "" : fmt::format("HTTP {}", resp.status));
                                         }
                                       }});
}

void UpstreamManager::check_done(Upstream& u, Endpoint& e, bool passed, const std::string& detail) {
  const config::HealthCheck& h = u.cfg.health;
  if (passed) {
    e.stats->checks_passed.add();
    ++e.passes;
    e.fails = 0;
    if (!e.healthy && e.passes >= h.healthy_threshold) {
      e.healthy = true;
      e.stats->healthy.set(1);
      log::info("upstream \"{}\": endpoint {} is healthy again", u.cfg.name, e.where.text);
      publish(u);
    }
  } else {
    e.stats->checks_failed.add();
    ++e.fails;
    e.passes = 0;
    e.last_failure = detail;
    if (e.healthy && e.fails >= h.unhealthy_threshold) {
      e.healthy = false;
      e.stats->healthy.set(0);
      log::warn("upstream \"{}\": endpoint {} is unhealthy: {} (GET {}, {} failure{} in a row)", u.cfg.name,
                e.where.text, detail, h.path, e.fails, e.fails == 1 ? "" : "s");
      publish(u);
    }
  }
  if (e.check_timer) e.check_timer->arm_after_ms(h.interval_ms);
}

// ---- outlier ejection ----

void UpstreamManager::report(gateway::EndpointStats* endpoint) {
  loop_.post([this, endpoint, alive = alive_] {
    if (*alive) eject(endpoint);
  });
}

void UpstreamManager::eject(gateway::EndpointStats* s) {
  auto reset = [s] {
    s->consecutive_failures.store(0, std::memory_order_relaxed);
    s->consecutive_5xx.store(0, std::memory_order_relaxed);
    s->ejection_reported.store(false, std::memory_order_relaxed);
  };
  auto uit = upstreams_.find(s->upstream);
  if (uit == upstreams_.end()) return reset();
  Upstream& u = *uit->second;
  auto eit = u.endpoints.find(s->address);
  if (eit == u.endpoints.end()) return reset();
  Endpoint& e = *eit->second;
  const config::Outlier& o = u.cfg.outlier;
  uint32_t failures = s->consecutive_failures.load(std::memory_order_relaxed);
  uint32_t errors_5xx = s->consecutive_5xx.load(std::memory_order_relaxed);
  bool over = (o.consecutive_failures != 0 && failures >= o.consecutive_failures) ||
              (o.consecutive_5xx != 0 && errors_5xx >= o.consecutive_5xx);
  if (e.ejected || !over) return reset();  // a success came in between, or already out
  size_t ejected = 0;
  for (const auto& [address, other] : u.endpoints) ejected += other->ejected ? 1 : 0;
  if (ejected * 100 >= u.endpoints.size() * o.max_ejected_percent) {
    log::warn("upstream \"{}\": endpoint {} is failing, but {} of {} endpoints are ejected already (max_ejected {}%)",
              u.cfg.name, e.where.text, ejected, u.endpoints.size(), o.max_ejected_percent);
    return reset();
  }
  // Each ejection in a row lasts longer; a quiet spell resets the count.
  int64_t now = loop_.now_ms();
  if (e.ejections > 0 && now - e.last_uneject_ms > o.max_ejection_ms) e.ejections = 0;
  ++e.ejections;
  int64_t duration = o.ejection_ms;
  for (uint32_t i = 1; i < e.ejections && duration < o.max_ejection_ms; ++i) duration *= 2;
  duration = std::min(duration, o.max_ejection_ms);
  e.ejected = true;
  e.ejected_until_ms = now + duration;
  s->ejected.set(1);
  s->ejections.add();
  log::warn("upstream \"{}\": ejected endpoint {} for {} ms ({})", u.cfg.name, e.where.text, duration,
            failures >= o.consecutive_failures && o.consecutive_failures != 0
                ? fmt::format("{} failures in a row", failures)
                : fmt::format("{} 5xx responses in a row", errors_5xx));
  e.uneject_timer = std::make_unique<net::Timer>(loop_, [this, &u, &e] { uneject(u, e); });
  e.uneject_timer->arm_after_ms(duration);
  publish(u);
}

void UpstreamManager::uneject(Upstream& u, Endpoint& e) {
  e.ejected = false;
  e.last_uneject_ms = loop_.now_ms();
  e.stats->ejected.set(0);
  e.stats->consecutive_failures.store(0, std::memory_order_relaxed);
  e.stats->consecutive_5xx.store(0, std::memory_order_relaxed);
  e.stats->ejection_reported.store(false, std::memory_order_relaxed);
  log::info("upstream \"{}\": endpoint {} back in rotation after ejection", u.cfg.name, e.where.text);
  publish(u);
}

// ---- publishing ----

void UpstreamManager::publish(Upstream& u) {
  std::vector<EndpointEntry> usable;
  size_t unhealthy = 0, ejected = 0;
  for (const auto& [address, e] : u.endpoints) {
    if (!e->healthy) ++unhealthy;
    if (e->ejected) ++ejected;
    if (e->healthy && !e->ejected) usable.push_back({e->where.address, e->where.text, e->where.weight, e->stats});
  }
  std::string why;
  if (u.endpoints.empty()) {
    // Clients see this: the source's details (names, addresses) stay in the log and
    // /upstreams.
    why = !u.source_error.empty() ? "discovery has found no endpoints (its last attempt failed)"
          : u.source                ? "discovery has not answered yet"
                                    : "no endpoints";
  } else if (usable.empty()) {
    why = fmt::format("all {} endpoints are down ({} failing health checks, {} ejected)", u.endpoints.size(), unhealthy,
                      ejected);
  }
  u.stats->endpoints_known.set(static_cast<int64_t>(u.endpoints.size()));
  u.stats->endpoints_usable.set(static_cast<int64_t>(usable.size()));
  publish_(u.cfg.name, make_endpoint_set(std::move(usable), u.endpoints.size(), u.cfg.balance, std::move(why)));
}

std::string UpstreamManager::status_json() const {
  json::object out;
  int64_t now = loop_.now_ms();
  for (const auto& [name, u] : upstreams_) {
    json::array eps;
    size_t usable = 0;
    for (const auto& [address, e] : u->endpoints) {
      json::object o{{"address", e->where.text},
                     {"weight", e->where.weight},
                     {"healthy", e->healthy},
                     {"ejected", e->ejected}};
      if (e->ejected) o["ejected_for_ms"] = std::max<int64_t>(0, e->ejected_until_ms - now);
      if (!e->last_failure.empty() && !e->healthy) o["last_check_failure"] = e->last_failure;
      usable += e->healthy && !e->ejected ? 1 : 0;
      eps.emplace_back(std::move(o));
    }
    json::object d{{"source", u->source ? u->source->describe() : "static"}, {"ok", u->source_error.empty()}};
    if (!u->source_error.empty()) d["error"] = u->source_error;
    out[name] = {{"balance", config::balance_name(u->cfg.balance)},
                 {"discovery", d},
                 {"health_checks", u->cfg.health.enabled()},
                 {"endpoints", eps},
                 {"usable", usable}};
  }
  return json::serialize(out);
}

}  // namespace portico::upstream
