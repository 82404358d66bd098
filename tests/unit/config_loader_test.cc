// The config loader: typed values and defaults, and diagnostics with exact positions,
// YAML paths and suggestions.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "config_test_util.h"

namespace portico::config {
namespace {

using testing::Loaded;
using testing::load;

const char* kMinimal = "routes:\n  - match: {path: /x}\n    echo: true\n";

TEST(ConfigLoader, DefaultsFromAMinimalConfig) {
  Loaded l = load(kMinimal);
  ASSERT_TRUE(l.config) << l.text();
  const Server& s = l.config->server;
  ASSERT_EQ(s.listen.size(), 1u);
  EXPECT_EQ(s.listen[0].to_string(), "0.0.0.0:8080");
  ASSERT_TRUE(s.admin);
  EXPECT_EQ(s.admin->to_string(), "127.0.0.1:9901");
  EXPECT_EQ(s.workers, 0);
  EXPECT_EQ(s.limits.body, 10u * 1024 * 1024);
  EXPECT_EQ(s.timeouts.header_ms, 10'000);
  EXPECT_FALSE(s.access_log.enabled);
  ASSERT_EQ(l.config->routes.size(), 1u);
  EXPECT_EQ(l.config->routes[0].kind, Route::Kind::kEcho);
  EXPECT_EQ(l.config->routes[0].name, "* /x");
}

TEST(ConfigLoader, EverySectionTyped) {
  Loaded l = load(R"(
server:
  listen: [127.0.0.1:0, "[::1]:8081"]
  admin: off
  workers: 3
  data_dir: /var/lib/portico
  log_level: warn
  limits: {request_line: 4KiB, header_bytes: 16KB, header_count: 50, body: 1MiB}
  timeouts: {header: 2s, body: 1500ms, keepalive: 2m, send: 1h, shutdown: 0.5s}
  access_log: {path: /tmp/access.log}
upstreams:
  products:
    endpoints: [127.0.0.1:9001, localhost:9002]
    balance: round_robin
    timeouts: {connect: 250ms, response: 3s}
    pool: {idle_timeout: 30s, max_idle: 16}
routes:
  - name: product
    match:
      path: /api/products/{id}
      methods: [GET, HEAD]
      host: API.example.com
    upstream: products
    rewrite: {path: "/products/{id}"}
    limits: {body: 2KiB}
    timeouts: {response: 1s}
  - match: {path: "/static/{rest...}"}
    upstream: products
    rewrite: {strip_prefix: /static}
  - match: {path: /hi, methods: PURGE}
    respond: {status: 201, body: created, headers: {X-Thing: yes}}
)");
  ASSERT_TRUE(l.config) << l.text();
  const Config& c = *l.config;
  EXPECT_EQ(c.server.listen_text, (std::vector<std::string>{"127.0.0.1:0", "[::1]:8081"}));
  EXPECT_EQ(c.server.listen[1].to_string(), "[::1]:8081");
  EXPECT_FALSE(c.server.admin);
  EXPECT_EQ(c.server.workers, 3);
  EXPECT_EQ(c.server.data_dir, "/var/lib/portico");
  EXPECT_EQ(c.server.log_level, "warn");
  EXPECT_EQ(c.server.limits.request_line, 4096u);
  EXPECT_EQ(c.server.limits.header_bytes, 16000u);
  EXPECT_EQ(c.server.limits.header_count, 50u);
  EXPECT_EQ(c.server.limits.body, 1048576u);
  EXPECT_EQ(c.server.timeouts.header_ms, 2000);
  EXPECT_EQ(c.server.timeouts.body_ms, 1500);
  EXPECT_EQ(c.server.timeouts.keepalive_ms, 120'000);
  EXPECT_EQ(c.server.timeouts.send_ms, 3'600'000);
  EXPECT_EQ(c.server.timeouts.shutdown_ms, 500);
  EXPECT_TRUE(c.server.access_log.enabled);
  EXPECT_EQ(c.server.access_log.path, "/tmp/access.log");
  ASSERT_EQ(c.upstreams.size(), 1u);
  const Upstream& u = c.upstreams[0];
  EXPECT_EQ(u.endpoints.size(), 2u);
  EXPECT_EQ(u.endpoints[1].text, "localhost:9002");
  EXPECT_EQ(u.endpoints[1].address.port(), 9002);
  EXPECT_EQ(u.timeouts.connect_ms, 250);
  EXPECT_EQ(u.pool.max_idle, 16u);
  ASSERT_EQ(c.routes.size(), 3u);
  const Route& r = c.routes[0];
  EXPECT_EQ(r.name, "product");
  EXPECT_EQ(r.host, "api.example.com");  // hosts compare case-insensitively
  EXPECT_EQ(r.methods, (std::vector<std::string>{"GET", "HEAD"}));
  EXPECT_EQ(r.param_names, std::vector<std::string>{"id"});
  ASSERT_EQ(r.targets.size(), 1u);
  EXPECT_EQ(r.targets[0].upstream, 0);
  EXPECT_FALSE(r.is_split());
  EXPECT_EQ(r.rewrite.path_template, "/products/{id}");
  EXPECT_EQ(r.max_body, 2048u);
  EXPECT_EQ(r.response_timeout_ms, 1000);
  EXPECT_EQ(c.routes[1].rewrite.strip_prefix, "/static");
  EXPECT_EQ(c.routes[2].respond.status, 201);
  EXPECT_EQ(c.routes[2].respond.headers[0].name, "X-Thing");
  EXPECT_EQ(c.routes[2].respond.headers[0].value, "yes");
  EXPECT_EQ(c.routes[2].methods, std::vector<std::string>{"PURGE"});
  http::Router::Match m;
  EXPECT_TRUE(c.router.match("api.example.com", "GET", "/api/products/7", m));
  EXPECT_EQ(m.route, 0);
}

TEST(ConfigLoader, AccessLogShorthands) {
  auto path_of = [](const std::string& v) {
    Loaded l = load("server:\n  access_log: " + v + "\n" + kMinimal);
    EXPECT_TRUE(l.config) << l.text();
    return l.config->server.access_log.enabled ? l.config->server.access_log.path : std::string("(off)");
  };
  EXPECT_EQ(path_of("stdout"), "stdout");
  EXPECT_EQ(path_of("on"), "stdout");
  EXPECT_EQ(path_of("off"), "(off)");
  EXPECT_EQ(path_of("/var/log/a.log"), "/var/log/a.log");
}

TEST(ConfigLoader, UnknownKeysWithSuggestionsAndPositions) {
  Loaded l = load(
      "server:\n"
      "  listen: 127.0.0.1:0\n"
      "  wrkers: 2\n"
      "upstreams:\n"
      "  a: {endpoints: [127.0.0.1:1], timeout: {connect: 1s}}\n"
      "routes:\n"
      "  - match: {path: /x, metods: [GET]}\n"
      "    echo: true\n"
      "rotues: []\n");
  ASSERT_FALSE(l.config);
  EXPECT_EQ(l.text(),
            "test.yaml:3:3: server.wrkers: unknown key \"wrkers\" (did you mean \"workers\"?)\n"
            "test.yaml:5:33: upstreams.a.timeout: unknown key \"timeout\" (did you mean \"timeouts\"?)\n"
            "test.yaml:7:23: routes[0].match.metods: unknown key \"metods\" (did you mean \"methods\"?)\n"
            "test.yaml:9:1: rotues: unknown key \"rotues\" (did you mean \"routes\"?)\n");
}

TEST(ConfigLoader, UnknownKeyWithNothingClose) {
  Loaded l = load(std::string("frobnicate: 1\n") + kMinimal);
  ASSERT_FALSE(l.config);
  EXPECT_EQ(l.text(), "test.yaml:1:1: frobnicate: unknown key \"frobnicate\"\n");
}

TEST(ConfigLoader, UnknownUpstreamSuggestsTheClosestName) {
  Loaded l = load("upstreams:\n  products: {endpoints: [127.0.0.1:1]}\nroutes:\n  - match: {path: /p}\n    upstream: prodcts\n");
  ASSERT_FALSE(l.config);
  EXPECT_EQ(l.text(), "test.yaml:5:15: routes[0].upstream: unknown upstream \"prodcts\" (did you mean \"products\"?)\n");
}

TEST(ConfigLoader, RouteShapeErrors) {
  Loaded l = load(
      "upstreams:\n  u: {endpoints: [127.0.0.1:1]}\n"
      "routes:\n"
      "  - echo: true\n"                                         // 4: no match
      "  - match: {methods: [GET]}\n    echo: true\n"            // 5: no path
      "  - match: {path: /a}\n"                                  // 7: no terminal
      "  - match: {path: /b}\n    echo: true\n    upstream: u\n"  // 8: two terminals
      "  - match: {path: /c, methods: [get]}\n    echo: true\n"  // 11: method case
      "  - match: {path: c}\n    echo: true\n");                 // 13: bad path
  ASSERT_FALSE(l.config);
  std::string t = l.text();
  EXPECT_NE(t.find("test.yaml:4:5: routes[0]: missing key \"match\" (with at least a path)"), std::string::npos) << t;
  EXPECT_NE(t.find("test.yaml:5:12: routes[1].match: missing key \"path\""), std::string::npos) << t;
  EXPECT_NE(t.find("test.yaml:7:5: routes[2]: a route needs one of: upstream, split, respond, echo"), std::string::npos) << t;
  EXPECT_NE(t.find("test.yaml:8:5: routes[3]: a route takes only one of: upstream, split, respond, echo"), std::string::npos) << t;
  EXPECT_NE(t.find("routes[4].match.methods: methods are case-sensitive: write \"GET\", not \"get\""), std::string::npos) << t;
  EXPECT_NE(t.find("test.yaml:13:19: routes[5].match.path: path must start with '/'"), std::string::npos) << t;
  // Sorted by position.
  EXPECT_LT(t.find(":4:5:"), t.find(":5:12:"));
  EXPECT_LT(t.find(":8:5:"), t.find(":13:19:"));
}

TEST(ConfigLoader, DuplicateRoutesNameTheEarlierOne) {
  Loaded l = load("routes:\n  - match: {path: \"/a/{x}\", methods: [GET]}\n    echo: true\n"
                  "  - match: {path: \"/a/{y}\", methods: [GET, POST]}\n    echo: true\n");
  ASSERT_FALSE(l.config);
  EXPECT_EQ(l.text(), "test.yaml:4:19: routes[1].match: conflicts with route #1 (same host, path shape and method)\n");
}

TEST(ConfigLoader, DuplicateYamlKeysAndRouteNames) {
  Loaded l = load("server:\n  workers: 1\n  workers: 2\n" + std::string(kMinimal));
  ASSERT_FALSE(l.config);
  EXPECT_EQ(l.text(), "test.yaml:3:3: server.workers: duplicate key \"workers\"\n");
  l = load("routes:\n  - name: n\n    match: {path: /a}\n    echo: true\n  - name: n\n    match: {path: /b}\n    echo: true\n");
  ASSERT_FALSE(l.config);
  EXPECT_NE(l.text().find("routes[1].name: duplicate route name \"n\""), std::string::npos) << l.text();
}

TEST(ConfigLoader, RewriteChecks) {
  Loaded l = load("upstreams: {u: {endpoints: [127.0.0.1:1]}}\nroutes:\n"
                  "  - match: {path: \"/a/{id}\"}\n    upstream: u\n    rewrite: {path: \"/b/{idd}\"}\n"
                  "  - match: {path: \"/c/{rest...}\"}\n    upstream: u\n    rewrite: {strip_prefix: /x}\n");
  ASSERT_FALSE(l.config);
  std::string t = l.text();
  EXPECT_NE(t.find("routes[0].rewrite.path: unknown parameter {idd} (did you mean {id}?)"), std::string::npos) << t;
  EXPECT_NE(t.find("routes[1].rewrite.strip_prefix: \"/x\" is not a prefix of the route path \"/c/{rest...}\""),
            std::string::npos) << t;
}

TEST(ConfigLoader, ValueErrors) {
  auto first_error = [](const std::string& server_yaml) {
    Loaded l = load("server:\n" + server_yaml + kMinimal);
    return l.errors.empty() ? std::string("ok") : l.errors[0].message;
  };
  EXPECT_EQ(first_error("  workers: many\n"), "expected a whole number from 1 to 256");
  EXPECT_EQ(first_error("  workers: 0\n"), "expected a whole number from 1 to 256");
  EXPECT_EQ(first_error("  timeouts: {header: 10}\n"), "expected a duration such as 250ms, 5s, 2m or 1h");
  EXPECT_EQ(first_error("  timeouts: {header: 0s}\n"), "expected a duration such as 250ms, 5s, 2m or 1h");
  EXPECT_EQ(first_error("  limits: {body: 10 megabytes}\n"), "expected a size such as 512, 8KiB, 10MiB or 1GiB");
  EXPECT_EQ(first_error("  listen: localhost\n"), "invalid address \"localhost\": expected host:port");
  EXPECT_EQ(first_error("  listen: 127.0.0.1:99999\n"), "invalid address \"127.0.0.1:99999\": port must be a number from 0 to 65535");
  EXPECT_EQ(first_error("  log_level: loud\n"), "expected debug, info, warn, error or off");
  EXPECT_EQ(first_error("  listen: {a: b}\n"), "expected a string or a list of strings");
  EXPECT_EQ(first_error("  access_log: {enabled: maybe}\n"), "expected true or false");
}

TEST(ConfigLoader, YamlSyntaxErrorInFlowMappingHasAQuotingHint) {
  Loaded l = load("routes:\n  - match: {path: /a/{id}}\n    echo: true\n");
  ASSERT_FALSE(l.config);
  ASSERT_EQ(l.errors.size(), 1u);
  EXPECT_EQ(l.errors[0].line, 2);
  EXPECT_NE(l.errors[0].message.find("quote values that contain braces"), std::string::npos) << l.text();
}

TEST(ConfigLoader, WrongShapes) {
  EXPECT_EQ(load("- a\n- b\n").text(), "test.yaml:1:1: (top level): expected a mapping of keys to values\n");
  EXPECT_NE(load("routes: {a: 1}\n").text().find("routes: expected a list of routes"), std::string::npos);
  EXPECT_NE(load("server: {}\n").text().find("missing key \"routes\""), std::string::npos);
  EXPECT_NE(load("upstreams: [a]\n" + std::string(kMinimal)).text().find("upstreams: expected a mapping"), std::string::npos);
}

TEST(ConfigLoader, MissingFile) {
  std::vector<Diagnostic> errors;
  EXPECT_FALSE(load_config_file("/nonexistent/portico.yaml", errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].to_string(), "/nonexistent/portico.yaml: cannot read file: No such file or directory");
}

TEST(ConfigUnits, Durations) {
  int64_t ms = 0;
  EXPECT_TRUE(parse_duration_ms("250ms", ms));
  EXPECT_EQ(ms, 250);
  EXPECT_TRUE(parse_duration_ms("1.5s", ms));
  EXPECT_EQ(ms, 1500);
  EXPECT_TRUE(parse_duration_ms("2m", ms));
  EXPECT_EQ(ms, 120'000);
  EXPECT_TRUE(parse_duration_ms("1h", ms));
  EXPECT_EQ(ms, 3'600'000);
  for (std::string_view bad : {"", "5", "s", "5 s", "-1s", "0ms", "0.1ms", "5d", "1e3s", "1.2.3s"}) {
    EXPECT_FALSE(parse_duration_ms(bad, ms)) << bad;
  }
}

TEST(ConfigUnits, Sizes) {
  uint64_t n = 0;
  EXPECT_TRUE(parse_size("512", n));
  EXPECT_EQ(n, 512u);
  EXPECT_TRUE(parse_size("8KiB", n));
  EXPECT_EQ(n, 8192u);
  EXPECT_TRUE(parse_size("10MiB", n));
  EXPECT_EQ(n, 10u << 20);
  EXPECT_TRUE(parse_size("1GiB", n));
  EXPECT_EQ(n, 1u << 30);
  EXPECT_TRUE(parse_size("8KB", n));
  EXPECT_EQ(n, 8000u);
  EXPECT_TRUE(parse_size("3 MB", n));
  EXPECT_EQ(n, 3'000'000u);
  for (std::string_view bad : {"", "KiB", "1.5MiB", "-1", "5kib", "5TiB", "999999999GiB"}) {
    EXPECT_FALSE(parse_size(bad, n)) << bad;
  }
}

}  // namespace
}  // namespace portico::config
