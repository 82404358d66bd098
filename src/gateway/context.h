// Everything known about one request while it is served: the parsed head, where it is
// routed, who sent it, the config it pinned on arrival, and what happened (for the
// access log and metrics). One per connection, reset between requests.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/strings.h"
#include "gateway/principal.h"
#include "http/parser.h"
#include "http/router.h"

namespace portico::gateway {

struct RouteStats;
class Snapshot;

struct RequestContext {
  const http::RequestHead* request = nullptr;
  std::string_view path;       // normalised request path (what routing saw)
  std::string_view client_ip;  // the client's IP: the peer, or from X-Forwarded-For of a trusted proxy
  std::string_view peer_ip;    // the TCP peer's IP (appended to X-Forwarded-For)
  std::string_view request_id;

  std::shared_ptr<const Snapshot> snapshot;  // pinned for the whole request
  const config::Route* route = nullptr;
  RouteStats* route_stats = nullptr;
  http::Router::Match match;

  // Set by the edge steps (auth, CORS) before the terminal runs.
  std::shared_ptr<const Principal> principal;
  std::string response_headers;           // extra lines for the response head ("Name: value\r\n")
  std::string upstream_headers;           // extra lines for the upstream request
  std::vector<std::string> drop_headers;  // client headers (lower case) not passed on
  // Headers that carried the credential (Authorization, an API key's): not passed to an
  // upstream, but kept in a function's event, as API Gateway keeps them.
  std::vector<std::string> credential_headers;
  std::optional<std::string> upstream_query;  // the query passed upstream, when reshaped
  // The request body's length once a filter has read it (and maybe changed it).
  std::optional<uint64_t> request_body_length;
  bool cors_owned = false;                // Portico answers CORS: drop the upstream's Access-Control-*
  // The most restrictive limit met so far, for the legacy RateLimit-* fields (written
  // once, when the limits have all been checked).
  struct LimitReport {
    bool set = false;
    int64_t limit = 0;
    int64_t remaining = 0;
    int64_t reset_s = 0;
  } limit_report;

  int64_t start_ns = 0;
  // Outcome, filled as the request is served.
  int status = 0;
  uint64_t body_bytes_in = 0;
  uint64_t body_bytes_out = 0;
  std::string_view upstream_address;  // endpoint used (owned by its pool), for the access log
  int64_t upstream_ns = 0;       // time from request sent to response head
  std::string error;             // why Portico answered with an error, for the access log

  void reset() {
    request = nullptr;
    path = client_ip = peer_ip = request_id = {};
    snapshot.reset();
    route = nullptr;
    route_stats = nullptr;
    principal.reset();
    response_headers.clear();
    upstream_headers.clear();
    drop_headers.clear();
    credential_headers.clear();
    upstream_query.reset();
    request_body_length.reset();
    cors_owned = false;
    limit_report = {};
    start_ns = 0;
    status = 0;
    body_bytes_in = body_bytes_out = 0;
    upstream_address = {};
    upstream_ns = 0;
    error.clear();
  }
};

// A client header that does not go on: one a filter removed, or (toward an upstream,
// with credentials true) the credential's.
inline bool header_dropped(const RequestContext& ctx, std::string_view name, bool credentials) {
  auto in = [&](const std::vector<std::string>& list) {
    for (const auto& d : list) {
      if (iequals(d, name)) return true;
    }
    return false;
  };
  return in(ctx.drop_headers) || (credentials && in(ctx.credential_headers));
}

}  // namespace portico::gateway
