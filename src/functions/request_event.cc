#include "functions/request_event.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "core/strings.h"
#include "functions/api_gateway.h"

namespace portico::functions {
namespace {

// requestContext.authorizer as API Gateway fills it: {"jwt": {"claims", "scopes"}} for
// a JWT; for a Lambda authorizer {"lambda": context} (2.0) or the context's keys with
// principalId (1.0).
std::string authorizer_json(const gateway::RequestContext& ctx, bool v1) {
  const gateway::Principal* p = ctx.principal.get();
  if (p == nullptr) return {};
  if (p->from_authorizer) {
    if (!v1) return boost::json::serialize(boost::json::object{{"lambda", p->claims}});
    boost::json::object o = p->claims;
    o["principalId"] = p->principal_id;
    o["integrationLatency"] = 0;
    return boost::json::serialize(o);
  }
  if (p->claims.empty()) return {};
  boost::json::object jwt;
  jwt["claims"] = p->claims;
  if (p->scopes.empty()) {
    jwt["scopes"] = nullptr;
  } else {
    boost::json::array scopes;
    for (const auto& s : p->scopes) scopes.emplace_back(s);
    jwt["scopes"] = std::move(scopes);
  }
  return boost::json::serialize(boost::json::object{{"jwt", std::move(jwt)}});
}

std::string_view host_without_port(std::string_view host) {
  size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos)
    return host.substr(0, colon);
  return host;
}

// The headers as the route's filters left them: the client's, less those a filter
// removed (request shaping, a forwarded value's forged copy), plus those filters set
// (ctx.upstream_headers' "Name: value\r\n" lines). Views into the request and ctx.
http::HeaderList shaped_headers(const gateway::RequestContext& ctx) {
  http::HeaderList out;
  for (const http::Header& h : ctx.request->headers) {
    if (!gateway::header_dropped(ctx, h.name, false)) out.push_back(h);
  }
  std::string_view lines = ctx.upstream_headers;
  while (!lines.empty()) {
    size_t end = lines.find("\r\n");
    std::string_view line = lines.substr(0, end);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = line.substr(0, colon);
      out.push_back(http::Header{name, trim(line.substr(colon + 1)), http::classify_header(name)});
    }
    if (end == std::string_view::npos) break;
    lines.remove_prefix(end + 2);
  }
  return out;
}

}  // namespace

std::string request_event(const gateway::RequestContext& ctx, bool v1, std::string_view body,
                          int64_t arrived_ms, EventRequest as) {
  const config::Route& route = *ctx.route;
  const http::RequestHead& req = *ctx.request;
  HttpEventInput in;
  in.method = req.method;
  in.raw_path = req.path;
  in.raw_query = req.query;
  in.protocol = req.version_minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  in.headers = &req.headers;
  http::HeaderList shaped;
  if (as == EventRequest::kShaped) {
    if (ctx.upstream_query) in.raw_query = *ctx.upstream_query;
    if (!ctx.drop_headers.empty() || !ctx.upstream_headers.empty()) {
      shaped = shaped_headers(ctx);
      in.headers = &shaped;
    }
  }
  for (size_t i = 0; i < route.param_names.size() && i < static_cast<size_t>(ctx.match.param_count);
       ++i) {
    in.path_parameters.emplace_back(route.param_names[i], ctx.match.params[i]);
  }
  std::string route_key =
      fmt::format("{} {}", route.methods.size() == 1 ? route.methods[0] : "ANY", route.path);
  in.route_key = route_key;
  in.resource = route.path;
  in.source_ip = ctx.client_ip;
  in.request_id = ctx.request_id;
  in.domain_name = host_without_port(req.host);
  in.time_ms = arrived_ms;
  in.body = body;
  std::string authorizer = authorizer_json(ctx, v1);
  in.authorizer_json = authorizer;
  return v1 ? build_http_event_v1(in) : build_http_event_v2(in);
}

std::string route_arn(const gateway::RequestContext& ctx, std::string_view region,
                      std::string_view account_id) {
  return fmt::format("arn:aws:execute-api:{}:{}:portico/$default/{}{}", region, account_id,
                     ctx.request->method, ctx.request->path);
}

}  // namespace portico::functions
