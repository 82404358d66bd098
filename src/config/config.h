// Portico's configuration as typed, immutable values. A Config is built once per load
// (start-up or reload) by load_config() and shared read-only by every request that pins it.
// Durations are milliseconds; sizes are bytes. Defaults live here, next to the fields.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http/router.h"
#include "net/socket.h"

namespace portico::config {

struct Limits {
  uint64_t request_line = 8 * 1024;    // longer -> 414
  uint64_t header_bytes = 32 * 1024;   // whole head -> 431
  uint64_t header_count = 100;         // -> 431
  uint64_t body = 10 * 1024 * 1024;    // -> 413
};

struct ServerTimeouts {
  int64_t header_ms = 10'000;     // from the first byte of a request to the end of its head
  int64_t body_ms = 30'000;       // longest pause while reading a request body
  int64_t keepalive_ms = 60'000;  // idle time allowed between requests on a connection
  int64_t send_ms = 30'000;       // longest pause while the client is not reading the response
  int64_t shutdown_ms = 30'000;   // how long SIGTERM waits for in-flight requests
};

struct AccessLog {
  bool enabled = false;
  std::string path = "stdout";  // "stdout", "stderr" or a file path (appended to)
};

struct Server {
  std::vector<net::Address> listen;
  std::vector<std::string> listen_text;
  std::optional<net::Address> admin;  // nullopt: admin listener off
  std::string admin_text = "127.0.0.1:9901";
  int workers = 0;  // 0 = one per core
  std::string data_dir = "./data";
  std::string log_level = "info";
  Limits limits;
  ServerTimeouts timeouts;
  AccessLog access_log;
};

struct UpstreamTimeouts {
  int64_t connect_ms = 5'000;
  int64_t response_ms = 30'000;  // to the response head, and longest pause within the body
};

struct Pool {
  int64_t idle_timeout_ms = 55'000;  // below the common 60 s upstream keep-alive timeouts
  uint64_t max_idle = 1024;          // idle connections kept per endpoint per worker
};

struct Endpoint {
  std::string text;
  net::Address address;
};

struct Upstream {
  std::string name;
  std::vector<Endpoint> endpoints;
  std::string balance = "round_robin";
  UpstreamTimeouts timeouts;
  Pool pool;
};

struct HeaderValue {
  std::string name;
  std::string value;
};

struct Respond {
  int status = 200;
  std::string body;
  std::vector<HeaderValue> headers;
};

struct Rewrite {
  std::string strip_prefix;   // removed from the front of the path
  std::string path_template;  // "/v2/items/{id}": parameters from the match pattern
  bool empty() const { return strip_prefix.empty() && path_template.empty(); }
};

struct Route {
  enum class Kind { kUpstream, kRespond, kEcho };

  std::string name;  // label in metrics and logs; defaults to "METHODS host/path"
  std::string host;
  std::vector<std::string> methods;
  std::string path;
  std::vector<std::string> param_names;  // in pattern order

  Kind kind = Kind::kUpstream;
  int upstream = -1;  // index into Config::upstreams
  Respond respond;
  Rewrite rewrite;
  std::optional<uint64_t> max_body;          // overrides server.limits.body
  std::optional<int64_t> response_timeout_ms;  // overrides the upstream's
};

struct Config {
  std::string file;
  Server server;
  std::vector<Upstream> upstreams;
  std::vector<Route> routes;
  http::Router router;  // route ids are indexes into routes

  const Upstream* find_upstream(std::string_view name) const;
};

}  // namespace portico::config
