// The upstream and traffic-splitting parts of the config: typed values, and the errors
// a user gets for each kind of mistake.
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config_test_util.h"

namespace portico::config {
namespace {

using testing::Loaded;
using testing::load;

const char* kRoute = "routes:\n  - match: {path: /x}\n    upstream: u\n";

TEST(ConfigUpstreams, DefaultsAreSafe) {
  Loaded l = load(std::string("upstreams:\n  u: {endpoints: [127.0.0.1:1]}\n") + kRoute);
  ASSERT_TRUE(l.config) << l.text();
  const Upstream& u = l.config->upstreams[0];
  EXPECT_EQ(u.balance, Balance::kLeastRequest);
  EXPECT_FALSE(u.health.enabled());
  EXPECT_EQ(u.outlier.consecutive_failures, 3u);
  EXPECT_EQ(u.outlier.consecutive_5xx, 0u);
  EXPECT_EQ(u.retries.attempts, 2u);
  EXPECT_TRUE(u.retries.on_connect_failure);
  EXPECT_TRUE(u.retries.on_reset);
  EXPECT_FALSE(u.retries.non_idempotent);
  EXPECT_EQ(u.breaker.max_requests, 10'000u);
  EXPECT_EQ(u.breaker.max_connections, 0u);
}

TEST(ConfigUpstreams, EverySectionTyped) {
  Loaded l = load(R"(
upstreams:
  u:
    endpoints: [127.0.0.1:9001, {address: 127.0.0.1:9002, weight: 3}]
    balance: ring_hash
    hash_key: cookie:session
    health: {path: /healthz, interval: 2s, timeout: 500ms, healthy_threshold: 3, unhealthy_threshold: 4, expect_status: [200-299, 404], host: api.internal}
    outlier: {consecutive_failures: 5, consecutive_5xx: 7, ejection_time: 5s, max_ejection_time: 1m, max_ejected: 30%}
    retries: {attempts: 4, on: [reset, timeout, gateway_error, 429], non_idempotent: true, backoff: {base: 10ms, max: 1s}, retry_after_max: 3s, budget: {percent: 50, min: 1}, body_buffer: 1MiB, per_try_timeout: 800ms}
    circuit_breaker: {max_connections: 100, max_pending: 50, max_requests: 200}
  dns:
    discovery: {dns: {name: _http._tcp.orders.internal, type: SRV, servers: [10.0.0.2, "10.0.0.3:5353"], min_ttl: 2s, max_ttl: 1m}}
  short:
    discovery: {dns: orders.internal:8080}
  etcd:
    discovery: {etcd: {endpoints: ["http://127.0.0.1:2379/"], prefix: /services/orders/}}
  file:
    discovery: {file: eps/orders.yaml}
routes:
  - match: {path: "/orders/{rest...}"}
    split:
      - {upstream: dns, when: {header: {X-Canary: "1"}, cookie: {beta: "yes"}}}
      - {upstream: u, weight: 90}
      - {upstream: etcd, weight: 10}
    split_key: header:X-User
    mirror: {upstream: file, percent: 25, max_body: 1KiB}
    retries: off
    timeouts: {total: 3s}
)", "/etc/portico/portico.yaml");
  ASSERT_TRUE(l.config) << l.text();
  const Config& c = *l.config;
  const Upstream& u = c.upstreams[0];
  EXPECT_EQ(u.endpoints[1].weight, 3u);
  EXPECT_EQ(u.balance, Balance::kRingHash);
  EXPECT_EQ(u.hash_key.source, HashKey::Source::kCookie);
  EXPECT_EQ(u.hash_key.name, "session");
  EXPECT_EQ(u.health.interval_ms, 2000);
  EXPECT_EQ(u.health.expect.size(), 2u);
  EXPECT_EQ(u.health.expect[1].low, 404);
  EXPECT_EQ(u.outlier.max_ejected_percent, 30u);
  EXPECT_EQ(u.retries.attempts, 4u);
  EXPECT_FALSE(u.retries.on_connect_failure);  // an explicit list replaces the defaults
  EXPECT_TRUE(u.retries.on_timeout);
  EXPECT_EQ(u.retries.on_status, (std::vector<int>{502, 503, 504, 429}));
  EXPECT_EQ(u.retries.body_buffer, 1u << 20);
  EXPECT_EQ(u.breaker.max_pending, 50u);

  const Upstream& dns = c.upstreams[1];
  EXPECT_EQ(dns.discovery.kind, Discovery::Kind::kDns);
  EXPECT_EQ(dns.discovery.dns.type, DnsDiscovery::Type::kSrv);
  ASSERT_EQ(dns.discovery.dns.servers.size(), 2u);
  EXPECT_EQ(dns.discovery.dns.servers[0].to_string(), "10.0.0.2:53");
  EXPECT_EQ(dns.discovery.dns.servers[1].to_string(), "10.0.0.3:5353");
  EXPECT_EQ(c.upstreams[2].discovery.dns.name, "orders.internal");
  EXPECT_EQ(c.upstreams[2].discovery.dns.port, 8080);
  EXPECT_EQ(c.upstreams[3].discovery.etcd.hosts[0], "127.0.0.1:2379");
  EXPECT_EQ(c.upstreams[4].discovery.file.path, "/etc/portico/eps/orders.yaml");  // beside the config

  const Route& r = c.routes[0];
  ASSERT_EQ(r.targets.size(), 3u);
  EXPECT_TRUE(r.is_split());
  EXPECT_EQ(r.targets[0].when.headers[0].name, "x-canary");
  EXPECT_EQ(r.targets[0].when.cookies[0].value, "yes");
  EXPECT_EQ(r.targets[2].weight, 10u);
  EXPECT_EQ(r.split_key.name, "x-user");
  EXPECT_EQ(r.mirror.upstream, 4);
  EXPECT_EQ(r.mirror.percent, 25u);
  ASSERT_TRUE(r.retries);
  EXPECT_EQ(r.retries->attempts, 1u);
  EXPECT_EQ(r.total_timeout_ms, 3000);
}

TEST(ConfigUpstreams, MistakesGetPreciseMessages) {
  Loaded l = load(R"(upstreams:
  a: {endpoints: [127.0.0.1:1], balance: least_requests}
  b: {endpoints: [127.0.0.1:1], balance: ring_hash}
  c: {endpoints: [127.0.0.1:1], discovery: {file: x.yaml}}
  d: {discovery: {dns: {name: x.internal}}}
  e: {discovery: {dns: {name: _x._tcp.y, type: SRV, port: 80}}}
  f: {endpoints: [127.0.0.1:1], retries: {on: [conect_failure]}}
  g: {endpoints: [127.0.0.1:1], hash_key: header:x}
  h: {discovery: {etcd: {endpoints: [https://etcd:2379], prefix: /p/}}}
  i: {endpoints: [127.0.0.1:1], health: {path: healthz, timeout: 10s}}
  j: {discovery: {dns: a:1, file: b.yaml}}
routes:
  - match: {path: /a}
    split: [{upstream: a, when: {header: {x: "1"}}}]
  - match: {path: /b}
    split: [{upstream: a, weight: 0}]
  - match: {path: /c}
    respond: {status: 200}
    mirror: a
)");
  ASSERT_FALSE(l.config);
  std::string t = l.text();
  auto has = [&](const std::string& s) { EXPECT_NE(t.find(s), std::string::npos) << "missing: " << s << "\nin:\n" << t; };
  has("test.yaml:2:42: upstreams.a.balance: unknown balance \"least_requests\" (did you mean \"least_request\"?)\n");
  has("upstreams.b: balance: ring_hash needs a hash_key");
  has("upstreams.c.discovery: use either endpoints (a static list) or discovery, not both");
  has("upstreams.d.discovery.dns: missing key \"port\" (A/AAAA records carry no port)");
  has("upstreams.e.discovery.dns.port: SRV records carry their own ports");
  has("test.yaml:7:47: upstreams.f.retries.on: unknown retry condition \"conect_failure\" (did you mean \"connect_failure\"?)\n");
  has("upstreams.g.hash_key: only used with balance: ring_hash");
  has("\"https://etcd:2379\": expected http://host:port");
  has("upstreams.i.health.path: must start with '/'");
  has("test.yaml:10:66: upstreams.i.health.timeout: must not be longer than the interval");
  has("upstreams.j.discovery: needs exactly one of: dns, file, etcd");
  has("routes[0].split: needs at least one target without \"when\" for the other requests");
  has("routes[1].split: the weights of the targets without \"when\" add up to 0");
  has("routes[2].mirror: mirror only applies to upstream routes");
}

}  // namespace
}  // namespace portico::config
