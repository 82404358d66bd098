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

#include "config/auth_config.h"
#include "config/functions_config.h"
#include "config/ratelimit_config.h"
#include "http/router.h"
#include "net/ip_range.h"
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
  // Peers whose X-Forwarded-For is believed: the client address is then the rightmost
  // address in it that is not itself a trusted proxy. Empty: the TCP peer is the client.
  std::vector<net::IpRange> trusted_proxies;
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
  std::string text;  // as written ("localhost:9001"); the address is resolved at load
  net::Address address;
  uint32_t weight = 1;
};

// Where a request's hash key comes from (ring_hash balancing, sticky splits).
struct HashKey {
  enum class Source : uint8_t { kNone, kHeader, kCookie, kQuery, kClientIp };
  Source source = Source::kNone;
  std::string name;  // header (lower case), cookie or query parameter name
  std::string text;  // as written, for /config
};

struct DnsDiscovery {
  enum class Type : uint8_t { kA, kAAAA, kAny, kSrv };  // kAny: A and AAAA
  std::string name;
  Type type = Type::kA;
  uint16_t port = 0;                 // A/AAAA records carry no port
  std::vector<net::Address> servers;  // empty: the system's resolvers (/etc/resolv.conf)
  std::vector<std::string> servers_text;
  int64_t min_ttl_ms = 1'000;         // re-resolve no more often than this...
  int64_t max_ttl_ms = 300'000;       // ...and at least this often, whatever the TTL says
  int64_t timeout_ms = 2'000;
};

struct FileDiscovery {
  std::string path;  // YAML or JSON list of endpoints; relative to the config file
};

struct EtcdDiscovery {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379"; tried in turn
  std::vector<net::Address> addresses;
  std::vector<std::string> hosts;      // Host header for each endpoint
  std::string prefix;                  // every key under it is one endpoint (or a list)
  int64_t timeout_ms = 5'000;
};

struct Discovery {
  enum class Kind : uint8_t { kStatic, kDns, kFile, kEtcd };
  Kind kind = Kind::kStatic;
  DnsDiscovery dns;
  FileDiscovery file;
  EtcdDiscovery etcd;
};

struct StatusRange {
  int low;
  int high;
};

// Active health checks: off unless a path is set.
struct HealthCheck {
  std::string path;
  std::string host;  // Host header; default: the endpoint's address
  int64_t interval_ms = 5'000;
  int64_t timeout_ms = 2'000;
  uint32_t healthy_threshold = 2;    // consecutive passes to become healthy
  uint32_t unhealthy_threshold = 2;  // consecutive failures to become unhealthy
  std::vector<StatusRange> expect = {{200, 399}};
  bool enabled() const { return !path.empty(); }
};

// Passive health (outlier ejection), fed by real traffic.
struct Outlier {
  uint32_t consecutive_failures = 3;  // connect failures, resets, timeouts; 0 = off
  uint32_t consecutive_5xx = 0;       // 5xx responses; 0 = off
  int64_t ejection_ms = 10'000;       // first ejection; doubles with each repeat
  int64_t max_ejection_ms = 300'000;
  uint32_t max_ejected_percent = 50;  // never eject past this share of the endpoints
  bool enabled() const { return consecutive_failures > 0 || consecutive_5xx > 0; }
};

struct RetryPolicy {
  uint32_t attempts = 2;  // tries in all, the first included; 1 = no retries
  bool on_connect_failure = true;
  bool on_reset = true;     // connection closed or reset before the response head
  bool on_timeout = false;  // per-try timeout before the response head
  std::vector<int> on_status;
  bool non_idempotent = false;  // also retry POST/PATCH/... once the request was sent
  int64_t backoff_base_ms = 25;
  int64_t backoff_max_ms = 250;
  int64_t retry_after_max_ms = 5'000;  // a longer Retry-After passes the 503 through
  uint32_t budget_percent = 20;        // retries in flight <= this share of requests...
  uint32_t budget_min = 3;             // ...but this many are always allowed
  uint64_t body_buffer = 64 * 1024;    // request bodies up to this size can be replayed
  int64_t per_try_timeout_ms = 0;      // 0: the upstream's response timeout
  std::vector<std::string> on_text;    // as written, for /config
  bool retries_status(int status) const {
    for (int s : on_status) {
      if (s == status) return true;
    }
    return false;
  }
};

// Circuit breaking: limits across all workers; 0 = unlimited.
struct CircuitBreaker {
  uint64_t max_connections = 0;
  uint64_t max_pending = 1'000;     // requests waiting for a connection (max_connections)
  uint64_t max_requests = 10'000;   // requests in flight
};

enum class Balance : uint8_t { kLeastRequest, kRoundRobin, kRandom, kRingHash };

struct Upstream {
  std::string name;
  Discovery discovery;
  std::vector<Endpoint> endpoints;  // static endpoints (Discovery::Kind::kStatic)
  Balance balance = Balance::kLeastRequest;
  HashKey hash_key;  // ring_hash only
  HealthCheck health;
  Outlier outlier;
  RetryPolicy retries;
  CircuitBreaker breaker;
  UpstreamTimeouts timeouts;
  Pool pool;
};

const char* balance_name(Balance b);

struct HeaderValue {
  std::string name;
  std::string value;
};

struct Respond {
  int status = 200;
  std::string body;
  std::vector<HeaderValue> headers;
};

// A JSON Schema a route names: a file, or written inline in the config.
struct SchemaSource {
  std::string uri;          // file:// URI: the file's, or for an inline schema a name in the
                            // config's directory (so its relative $refs find the files there)
  std::string inline_json;  // the inline schema as JSON; empty: the file at uri
  std::string where;        // "FILE:LINE" of the setting, for errors found later
};

// `validate:` on a route: JSON Schema for the request body, its query parameters, path
// parameters and headers (each an object of strings; docs/configuration.md says how
// strings become numbers), and the response body.
struct RouteValidation {
  std::optional<SchemaSource> body;
  std::optional<SchemaSource> query;
  std::optional<SchemaSource> path;
  std::optional<SchemaSource> headers;
  std::optional<SchemaSource> response;
  bool empty() const { return !body && !query && !path && !headers && !response; }
};

// Edits to a set of named values (request headers, query parameters, response headers).
// Values are templates: "${subject}", "v2-${header.x-client}" (format/template.h).
struct NamedEdits {
  std::vector<std::pair<std::string, std::string>> set;     // name, value template
  std::vector<std::string> remove;
  std::vector<std::pair<std::string, std::string>> rename;  // from, to
  bool empty() const { return set.empty() && remove.empty() && rename.empty(); }
};

// `request:` on a route: what Portico changes in the request before the terminal.
struct RequestShaping {
  NamedEdits headers;
  NamedEdits query;
  std::vector<std::pair<std::string, std::string>> body_set;  // JSON Pointer, JSON template
  std::string where;                                          // "FILE:LINE"
  bool empty() const { return headers.empty() && query.empty() && body_set.empty(); }
};

// `response:` on a route: how Portico formats the answer (docs/formatting.md).
struct ResponseFormatting {
  int status = 0;  // 0: the terminal's (successful answers only)
  NamedEdits headers;
  std::string jq;  // a jq program applied to successful bodies
  std::vector<std::string> select, drop;                     // JSON Pointers
  std::vector<std::pair<std::string, std::string>> rename;   // pointer, pointer
  std::vector<std::pair<std::string, std::string>> set;      // pointer, JSON template
  std::string envelope;  // JSON template of the successful body ("${body}" the body so far)
  std::string errors;    // JSON template of error bodies (status >= 400)
  std::string where;     // "FILE:LINE"
  bool empty() const {
    return status == 0 && headers.empty() && jq.empty() && select.empty() && drop.empty() &&
           rename.empty() && set.empty() && envelope.empty() && errors.empty();
  }
};

struct Rewrite {
  std::string strip_prefix;   // removed from the front of the path
  std::string path_template;  // "/v2/items/{id}": parameters from the match pattern
  bool empty() const { return strip_prefix.empty() && path_template.empty(); }
};

// A condition on the request for a split target: every listed value must match exactly.
struct SplitCondition {
  std::vector<HeaderValue> headers;  // name in lower case
  std::vector<HeaderValue> cookies;
  std::vector<HeaderValue> query;
  bool empty() const { return headers.empty() && cookies.empty() && query.empty(); }
};

// One place a route's requests can go. A plain `upstream:` route has one target.
struct Target {
  int upstream = -1;  // index into Config::upstreams
  uint32_t weight = 1;
  SplitCondition when;  // targets with a condition are tried first, in order
};

struct Mirror {
  int upstream = -1;  // -1: no mirror
  uint32_t percent = 100;
  uint64_t max_body = 64 * 1024;  // requests with larger bodies are not mirrored
};

// One step of a `steps:` route (docs/steps.md): a function, or a JSON Schema check of
// the body the steps carry (the request's before any function, else the last result's).
struct Step {
  enum class Kind { kFunction, kValidate };
  Kind kind = Kind::kFunction;
  std::string name;   // in logs and errors: `name:`, else "function NAME" / "validate"
  int function = -1;  // kFunction: index into Config::functions
  std::optional<SchemaSource> schema;  // kValidate: the body's schema
};

struct Route;

// One backend call of an `aggregate:` route (docs/aggregation.md). Its templates are
// compiled with the route (aggregate/plan.cc).
struct AggregateBackend {
  std::string name;  // `as:`: its key in the answer and in ${responses.NAME}
  std::string method = "GET";
  std::string path;  // a template: "/users/${param.user}" ({user} is read as ${param.user})
  std::vector<std::pair<std::string, std::string>> query;    // name, value template
  std::vector<std::pair<std::string, std::string>> headers;  // name, value template
  int64_t timeout_ms = 0;     // the whole call, body included; 0: the route's or none
  bool fail_request = false;  // on_failure: fail (else partial)
  std::string target;         // a JSON Pointer: the member taken as the result
  std::vector<std::string> select, drop;                    // JSON Pointers
  std::vector<std::pair<std::string, std::string>> rename;  // pointer, pointer
  std::shared_ptr<const Route> route;  // what the call runs as: an upstream or function route
  std::string where;                   // "FILE:LINE"
};

// `aggregate:` on a route: the backends called, and how their answers are combined.
struct Aggregate {
  enum class Combine { kGroup, kMerge, kArray };
  Combine combine = Combine::kGroup;
  bool sequential = false;                 // one after another, each seeing those before
  std::string partial_field = "_partial";  // lists the backends that failed; "": none
  std::vector<AggregateBackend> backends;
};

struct Route {
  enum class Kind { kUpstream, kRespond, kEcho, kFunction, kSteps, kAggregate };

  std::string name;  // label in metrics and logs; defaults to "METHODS host/path"
  std::string host;
  std::vector<std::string> methods;
  std::string path;
  std::vector<std::string> param_names;  // in pattern order

  Kind kind = Kind::kUpstream;
  std::vector<Target> targets;  // kUpstream: one, or several for a split
  HashKey split_key;            // sticky splits: the same key always gets the same target
  Mirror mirror;
  std::optional<RetryPolicy> retries;  // overrides the upstream's
  std::vector<int> auth;               // indexes into Config::auth, tried in order; empty: none
  AccessPolicy access;
  Cors cors;                           // the route's own, else the global one
  RouteLimits limits;
  Respond respond;
  int function = -1;  // kFunction: index into Config::functions
  std::vector<Step> steps;  // kSteps, in order
  Aggregate aggregate;      // kAggregate
  PayloadFormat payload_format = PayloadFormat::kV2;
  Rewrite rewrite;
  RouteValidation validate;
  RequestShaping request;
  ResponseFormatting response;
  std::optional<uint64_t> max_body;            // overrides server.limits.body
  std::optional<int64_t> response_timeout_ms;  // overrides the upstream's
  int64_t total_timeout_ms = 0;                // all tries, to the response head; 0 = none

  bool is_split() const { return targets.size() > 1 || (targets.size() == 1 && !targets[0].when.empty()); }
};

// The listener where Portico's AWS-compatible APIs live (Lambda's Invoke API; the
// managed services later), and the account they answer as.
struct ServiceCredential {
  std::string access_key_id;
  std::string secret_access_key;
};

struct Services {
  bool enabled = false;
  net::Address listen;
  std::string listen_text;
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::vector<ServiceCredential> credentials;
};

struct Config {
  std::string file;
  std::vector<std::string> other_files;  // read with the config (consumers, JWKS files): watched too
  Server server;
  std::vector<Upstream> upstreams;
  std::vector<AuthMethod> auth;
  std::vector<int> auth_default;  // methods of routes that name none (auth.default)
  Consumers consumers;
  Cors cors;  // applies to routes without their own
  RedisConfig redis;
  std::vector<RateLimitPolicy> rate_limits;
  std::vector<UsagePlan> usage_plans;
  std::vector<Function> functions;
  Services services;
  std::vector<Route> routes;
  http::Router router;  // route ids are indexes into routes

  const Upstream* find_upstream(std::string_view name) const;
};

}  // namespace portico::config
