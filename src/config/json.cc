#include "config/json.h"

#include <boost/json.hpp>

namespace portico::config {
namespace {

namespace json = boost::json;

json::value duration(int64_t ms) {
  if (ms % 1000 == 0) return json::value(std::to_string(ms / 1000) + "s");
  return json::value(std::to_string(ms) + "ms");
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

}  // namespace

std::string to_json(const Config& c) {
  json::object server;
  server["listen"] = strings(c.server.listen_text);
  server["admin"] = c.server.admin ? json::value(c.server.admin->to_string()) : json::value("off");
  server["workers"] = c.server.workers == 0 ? json::value("auto") : json::value(c.server.workers);
  server["data_dir"] = c.server.data_dir;
  server["log_level"] = c.server.log_level;
  server["limits"] = {{"request_line", c.server.limits.request_line},
                      {"header_bytes", c.server.limits.header_bytes},
                      {"header_count", c.server.limits.header_count},
                      {"body", c.server.limits.body}};
  server["timeouts"] = {{"header", duration(c.server.timeouts.header_ms)},
                        {"body", duration(c.server.timeouts.body_ms)},
                        {"keepalive", duration(c.server.timeouts.keepalive_ms)},
                        {"send", duration(c.server.timeouts.send_ms)},
                        {"shutdown", duration(c.server.timeouts.shutdown_ms)}};
  server["access_log"] = {{"enabled", c.server.access_log.enabled}, {"path", c.server.access_log.path}};

  json::object upstreams;
  for (const auto& u : c.upstreams) {
    json::array eps;
    for (const auto& e : u.endpoints) eps.emplace_back(e.address.to_string());
    upstreams[u.name] = {{"endpoints", eps},
                         {"balance", u.balance},
                         {"timeouts", {{"connect", duration(u.timeouts.connect_ms)}, {"response", duration(u.timeouts.response_ms)}}},
                         {"pool", {{"idle_timeout", duration(u.pool.idle_timeout_ms)}, {"max_idle", u.pool.max_idle}}}};
  }

  json::array routes;
  for (const auto& r : c.routes) {
    json::object match{{"path", r.path}};
    if (!r.host.empty()) match["host"] = r.host;
    if (!r.methods.empty()) match["methods"] = strings(r.methods);
    json::object route{{"name", r.name}, {"match", match}};
    switch (r.kind) {
      case Route::Kind::kUpstream:
        route["upstream"] = c.upstreams[static_cast<size_t>(r.upstream)].name;
        break;
      case Route::Kind::kRespond: {
        json::object headers;
        for (const auto& h : r.respond.headers) headers[h.name] = h.value;
        route["respond"] = {{"status", r.respond.status}, {"body", r.respond.body}, {"headers", headers}};
        break;
      }
      case Route::Kind::kEcho:
        route["echo"] = true;
        break;
    }
    if (!r.rewrite.strip_prefix.empty()) route["rewrite"] = {{"strip_prefix", r.rewrite.strip_prefix}};
    if (!r.rewrite.path_template.empty()) route["rewrite"] = {{"path", r.rewrite.path_template}};
    if (r.max_body) route["limits"] = {{"body", *r.max_body}};
    if (r.response_timeout_ms) route["timeouts"] = {{"response", duration(*r.response_timeout_ms)}};
    routes.emplace_back(std::move(route));
  }

  json::object root{{"file", c.file}, {"server", server}, {"upstreams", upstreams}, {"routes", routes}};
  return json::serialize(root);
}

}  // namespace portico::config
