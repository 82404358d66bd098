#include "config/json.h"

#include <boost/json.hpp>

#include <fmt/format.h>

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

json::object pairs(const std::vector<HeaderValue>& v) {
  json::object o;
  for (const auto& p : v) o[p.name] = p.value;
  return o;
}

json::object condition_json(const SplitCondition& c) {
  json::object o;
  if (!c.headers.empty()) o["header"] = pairs(c.headers);
  if (!c.cookies.empty()) o["cookie"] = pairs(c.cookies);
  if (!c.query.empty()) o["query"] = pairs(c.query);
  return o;
}

json::object retries_json(const RetryPolicy& r) {
  json::array on;
  if (r.on_connect_failure) on.emplace_back("connect_failure");
  if (r.on_reset) on.emplace_back("reset");
  if (r.on_timeout) on.emplace_back("timeout");
  for (int s : r.on_status) on.emplace_back(s);
  json::object o{{"attempts", r.attempts},
                 {"on", on},
                 {"non_idempotent", r.non_idempotent},
                 {"backoff", {{"base", duration(r.backoff_base_ms)}, {"max", duration(r.backoff_max_ms)}}},
                 {"retry_after_max", duration(r.retry_after_max_ms)},
                 {"budget", {{"percent", r.budget_percent}, {"min", r.budget_min}}},
                 {"body_buffer", r.body_buffer}};
  if (r.per_try_timeout_ms) o["per_try_timeout"] = duration(r.per_try_timeout_ms);
  return o;
}

json::value discovery_json(const Upstream& u) {
  const Discovery& d = u.discovery;
  switch (d.kind) {
    case Discovery::Kind::kStatic:
      return nullptr;
    case Discovery::Kind::kDns: {
      static const char* kTypes[] = {"A", "AAAA", "any", "SRV"};
      json::object dns{{"name", d.dns.name},
                       {"type", kTypes[static_cast<int>(d.dns.type)]},
                       {"min_ttl", duration(d.dns.min_ttl_ms)},
                       {"max_ttl", duration(d.dns.max_ttl_ms)},
                       {"timeout", duration(d.dns.timeout_ms)}};
      if (d.dns.port) dns["port"] = d.dns.port;
      if (!d.dns.servers_text.empty()) dns["servers"] = strings(d.dns.servers_text);
      return json::object{{"dns", dns}};
    }
    case Discovery::Kind::kFile:
      return json::object{{"file", {{"path", d.file.path}}}};
    case Discovery::Kind::kEtcd:
      return json::object{{"etcd", {{"endpoints", strings(d.etcd.endpoints)},
                                    {"prefix", d.etcd.prefix},
                                    {"timeout", duration(d.etcd.timeout_ms)}}}};
  }
  return nullptr;
}

json::array source_texts(const std::vector<CredentialSource>& from) {
  json::array a;
  for (const auto& f : from) a.emplace_back(f.text);
  return a;
}

json::object cors_json(const Cors& c) {
  return {{"origins", strings(c.origins)},
          {"methods", strings(c.methods)},
          {"headers", strings(c.headers)},
          {"expose_headers", strings(c.expose_headers)},
          {"credentials", c.credentials},
          {"max_age", duration(c.max_age_s * 1000)}};
}

const char* store_name(LimitStore s) { return s == LimitStore::kRedis ? "redis" : "local"; }
const char* failure_name(StoreFailure f) {
  return f == StoreFailure::kAllow ? "allow" : f == StoreFailure::kDeny ? "deny" : "local";
}
const char* headers_name(LimitHeaders h) {
  return h == LimitHeaders::kLegacy ? "legacy" : h == LimitHeaders::kOff ? "off" : "draft";
}

json::object policy_json(const RateLimitPolicy& p) {
  json::object o{{"rate", p.rate.text},
                 {"burst", p.burst},
                 {"key", p.key.text},
                 {"scope", p.per_route ? "route" : "global"},
                 {"store", store_name(p.store)},
                 {"headers", headers_name(p.headers)}};
  if (p.all_routes) o["routes"] = "all";
  if (p.store == LimitStore::kRedis) {
    o["on_store_error"] = failure_name(p.on_store_error);
    o["local_precheck"] = p.local_precheck;
  }
  o["max_keys"] = p.max_keys;
  return o;
}

json::object plan_json(const UsagePlan& p) {
  json::object o{{"store", store_name(p.store)}, {"headers", headers_name(p.headers)}};
  if (p.rate) {
    o["rate"] = p.rate->text;
    o["burst"] = p.burst;
  }
  json::object quota;
  if (p.per_day) quota["day"] = p.per_day;
  if (p.per_month) quota["month"] = p.per_month;
  if (!quota.empty()) o["quota"] = std::move(quota);
  if (p.store == LimitStore::kRedis) o["on_store_error"] = failure_name(p.on_store_error);
  return o;
}

json::object redis_json(const RedisConfig& r) {
  json::object o{{"address", r.address_text},
                 {"db", r.db},
                 {"timeout", duration(r.timeout_ms)},
                 {"connect_timeout", duration(r.connect_timeout_ms)},
                 {"key_prefix", r.key_prefix}};
  if (!r.username.empty()) o["username"] = r.username;
  if (!r.password.empty()) o["password"] = "<redacted>";
  return o;
}

json::value route_limits_json(const Config& c, const RouteLimits& l) {
  if (l.none) return "none";
  json::array names;
  for (int i : l.before_auth) names.emplace_back(c.rate_limits[static_cast<size_t>(i)].name);
  for (int i : l.after_auth) names.emplace_back(c.rate_limits[static_cast<size_t>(i)].name);
  return names;
}

// Keys are described (type, size, kid), never shown; secrets not even described.
json::array method_names(const Config& c, const std::vector<int>& indexes) {
  json::array names;
  for (int i : indexes) names.emplace_back(c.auth[static_cast<size_t>(i)].name);
  return names;
}

json::object auth_json(const Config& c, const AuthMethod& a) {
  if (a.kind == AuthMethod::Kind::kAuthorizer) {
    const AuthorizerMethod& z = a.authorizer;
    json::object forward;
    for (const auto& [key, header] : z.forward_context) forward[key] = header;
    return {{"authorizer",
             {{"function", c.functions[static_cast<size_t>(z.function)].name},
              {"type", z.token_type ? "token" : "request"},
              {"identity", source_texts(z.identity)},
              {"cache_ttl", duration(z.cache_ttl_ms)},
              {"response", z.simple_response ? "simple" : "iam"},
              {"forward", forward}}}};
  }
  if (a.kind == AuthMethod::Kind::kApiKey) {
    return {{"api_key", {{"from", source_texts(a.api_key.from)}, {"strip", a.api_key.strip}}}};
  }
  const JwtMethod& j = a.jwt;
  json::array keys;
  for (const auto& k : j.keys) {
    json::object o{{"type", k->type() == jose::Key::Type::kSecret ? "<redacted>" : k->describe()}};
    if (!k->kid().empty()) o["kid"] = k->kid();
    if (k->alg()) o["alg"] = jose::alg_name(*k->alg());
    keys.emplace_back(std::move(o));
  }
  json::array algs;
  for (auto alg : j.algorithms) algs.emplace_back(jose::alg_name(alg));
  json::object forward;
  for (const auto& [claim, header] : j.forward_claims) forward[claim] = header;
  json::object o{{"keys", keys},
                 {"issuers", strings(j.rules.issuers)},
                 {"audiences", strings(j.rules.audiences)},
                 {"required_claims", strings(j.rules.required)},
                 {"algorithms", algs},
                 {"leeway", duration(j.rules.leeway_s * 1000)},
                 {"from", source_texts(j.from)},
                 {"forward_claims", forward},
                 {"strip_token", j.strip_token},
                 {"cache", {{"size", j.cache_size}, {"ttl", duration(j.cache_ttl_ms)}}},
                 {"max_token_bytes", j.max_token_bytes},
                 {"unavailable_status", j.unavailable_status}};
  if (!j.jwks_file.empty()) o["jwks_file"] = j.jwks_file;
  if (j.jwks_url) {
    o["jwks_url"] = {{"url", j.jwks_url->url},
                     {"refresh", duration(j.jwks_url->refresh_ms)},
                     {"min_refetch", duration(j.jwks_url->min_refetch_ms)},
                     {"timeout", duration(j.jwks_url->timeout_ms)}};
    if (!j.jwks_url->ca_file.empty()) o["jwks_url"].as_object()["ca_file"] = j.jwks_url->ca_file;
  }
  if (!j.rules.typ.empty()) o["typ"] = j.rules.typ;
  if (j.rules.max_age_s) o["max_age"] = duration(j.rules.max_age_s * 1000);
  if (!j.scopes_claim.empty()) o["scopes_claim"] = j.scopes_claim;
  if (!j.consumer_claim.empty()) o["consumer_claim"] = j.consumer_claim;
  return {{"jwt", o}};
}

json::object upstream_json(const Upstream& u) {
  json::object o;
  if (u.discovery.kind == Discovery::Kind::kStatic) {
    json::array eps;
    for (const auto& e : u.endpoints) {
      if (e.weight == 1) eps.emplace_back(e.address.to_string());
      else eps.emplace_back(json::object{{"address", e.address.to_string()}, {"weight", e.weight}});
    }
    o["endpoints"] = std::move(eps);
  } else {
    o["discovery"] = discovery_json(u);
  }
  o["balance"] = balance_name(u.balance);
  if (u.hash_key.source != HashKey::Source::kNone) o["hash_key"] = u.hash_key.text;
  if (u.health.enabled()) {
    json::array expect;
    for (const auto& r : u.health.expect) {
      expect.emplace_back(r.low == r.high ? std::to_string(r.low) : fmt::format("{}-{}", r.low, r.high));
    }
    json::object h{{"path", u.health.path},
                   {"interval", duration(u.health.interval_ms)},
                   {"timeout", duration(u.health.timeout_ms)},
                   {"healthy_threshold", u.health.healthy_threshold},
                   {"unhealthy_threshold", u.health.unhealthy_threshold},
                   {"expect_status", expect}};
    if (!u.health.host.empty()) h["host"] = u.health.host;
    o["health"] = std::move(h);
  }
  o["outlier"] = {{"consecutive_failures", u.outlier.consecutive_failures},
                  {"consecutive_5xx", u.outlier.consecutive_5xx},
                  {"ejection_time", duration(u.outlier.ejection_ms)},
                  {"max_ejection_time", duration(u.outlier.max_ejection_ms)},
                  {"max_ejected", fmt::format("{}%", u.outlier.max_ejected_percent)}};
  o["retries"] = retries_json(u.retries);
  o["circuit_breaker"] = {{"max_connections", u.breaker.max_connections},
                          {"max_pending", u.breaker.max_pending},
                          {"max_requests", u.breaker.max_requests}};
  o["timeouts"] = {{"connect", duration(u.timeouts.connect_ms)}, {"response", duration(u.timeouts.response_ms)}};
  o["pool"] = {{"idle_timeout", duration(u.pool.idle_timeout_ms)}, {"max_idle", u.pool.max_idle}};
  return o;
}

}  // namespace

std::string to_json(const Config& c) {
  json::object server;
  server["listen"] = strings(c.server.listen_text);
  server["admin"] = c.server.admin ? json::value(c.server.admin->to_string()) : json::value("off");
  server["workers"] = c.server.workers == 0 ? json::value("auto") : json::value(c.server.workers);
  server["data_dir"] = c.server.data_dir;
  json::array trusted;
  for (const auto& r : c.server.trusted_proxies) trusted.push_back(json::string(r.text));
  server["trusted_proxies"] = std::move(trusted);
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
  for (const auto& u : c.upstreams) upstreams[u.name] = upstream_json(u);

  json::array routes;
  for (const auto& r : c.routes) {
    json::object match{{"path", r.path}};
    if (!r.host.empty()) match["host"] = r.host;
    if (!r.methods.empty()) match["methods"] = strings(r.methods);
    json::object route{{"name", r.name}, {"match", match}};
    switch (r.kind) {
      case Route::Kind::kUpstream:
        if (!r.is_split()) {
          route["upstream"] = c.upstreams[static_cast<size_t>(r.targets[0].upstream)].name;
        } else {
          json::array split;
          for (const auto& t : r.targets) {
            json::object target{{"upstream", c.upstreams[static_cast<size_t>(t.upstream)].name}};
            if (t.when.empty()) target["weight"] = t.weight;
            else target["when"] = condition_json(t.when);
            split.emplace_back(std::move(target));
          }
          route["split"] = std::move(split);
          if (r.split_key.source != HashKey::Source::kNone) route["split_key"] = r.split_key.text;
        }
        if (r.mirror.upstream >= 0) {
          route["mirror"] = {{"upstream", c.upstreams[static_cast<size_t>(r.mirror.upstream)].name},
                             {"percent", r.mirror.percent},
                             {"max_body", r.mirror.max_body}};
        }
        if (r.retries) route["retries"] = retries_json(*r.retries);
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
      case Route::Kind::kFunction:
        route["function"] = c.functions[static_cast<size_t>(r.function)].name;
        route["payload_format"] = r.payload_format == PayloadFormat::kV2 ? "2.0" : "1.0";
        break;
      case Route::Kind::kSteps: {
        json::array steps;
        for (const Step& step : r.steps) {
          json::object o{{"name", step.name}};
          if (step.kind == Step::Kind::kFunction) {
            o["function"] = c.functions[static_cast<size_t>(step.function)].name;
          } else {
            o["validate"] = {{"body", step.schema->uri}};
          }
          steps.emplace_back(std::move(o));
        }
        route["steps"] = std::move(steps);
        route["payload_format"] = r.payload_format == PayloadFormat::kV2 ? "2.0" : "1.0";
        break;
      }
      case Route::Kind::kAggregate: {
        const Aggregate& a = r.aggregate;
        json::array backends;
        for (const AggregateBackend& b : a.backends) {
          const Route& call = *b.route;
          json::object o{{"as", b.name}, {"method", b.method}, {"path", b.path}};
          if (call.kind == Route::Kind::kUpstream) {
            o["upstream"] = c.upstreams[static_cast<size_t>(call.targets[0].upstream)].name;
          } else {
            o["function"] = c.functions[static_cast<size_t>(call.function)].name;
          }
          if (b.timeout_ms > 0) o["timeout_ms"] = b.timeout_ms;
          o["on_failure"] = b.fail_request ? "fail" : "partial";
          backends.emplace_back(std::move(o));
        }
        const char* combine = a.combine == Aggregate::Combine::kGroup   ? "group"
                              : a.combine == Aggregate::Combine::kMerge ? "merge"
                                                                        : "array";
        route["aggregate"] = {{"combine", combine},
                              {"sequential", a.sequential},
                              {"partial_field", a.partial_field},
                              {"backends", std::move(backends)}};
        break;
      }
    }
    if (!r.rewrite.strip_prefix.empty()) route["rewrite"] = {{"strip_prefix", r.rewrite.strip_prefix}};
    if (!r.rewrite.path_template.empty()) route["rewrite"] = {{"path", r.rewrite.path_template}};
    if (r.max_body) route["limits"] = {{"body", *r.max_body}};
    if (!r.auth.empty()) route["auth"] = method_names(c, r.auth);
    else if (!c.auth.empty()) route["auth"] = "none";
    if (!r.access.empty()) {
      json::object claims;
      for (const auto& req : r.access.claims) claims[req.claim] = strings(req.values);
      route["require"] = {{"scopes", strings(r.access.scopes)},
                          {"claims", claims},
                          {"consumers", strings(r.access.consumers)},
                          {"groups", strings(r.access.groups)}};
      route["deny"] = {{"consumers", strings(r.access.deny_consumers)}, {"groups", strings(r.access.deny_groups)}};
    }
    if (r.cors.enabled) route["cors"] = cors_json(r.cors);
    if (r.limits.none || !r.limits.before_auth.empty() || !r.limits.after_auth.empty()) {
      route["rate_limit"] = route_limits_json(c, r.limits);
    }
    if (r.response_timeout_ms || r.total_timeout_ms) {
      json::object t;
      if (r.response_timeout_ms) t["response"] = duration(*r.response_timeout_ms);
      if (r.total_timeout_ms) t["total"] = duration(r.total_timeout_ms);
      route["timeouts"] = std::move(t);
    }
    routes.emplace_back(std::move(route));
  }

  json::object auth;
  for (const auto& a : c.auth) auth[a.name] = auth_json(c, a);
  json::object consumers;
  for (const auto& cons : c.consumers.list) {
    consumers[cons.name] = {{"keys", cons.key_hashes.size()}, {"ids", strings(cons.ids)}, {"groups", strings(cons.groups)}};
    if (cons.plan >= 0) consumers[cons.name].as_object()["plan"] = c.usage_plans[static_cast<size_t>(cons.plan)].name;
  }
  json::object root{{"file", c.file}, {"server", server}, {"upstreams", upstreams}, {"auth", auth},
                    {"consumers", consumers}, {"routes", routes}};
  if (!c.auth_default.empty()) root["auth_default"] = method_names(c, c.auth_default);
  if (c.redis.enabled) root["redis"] = redis_json(c.redis);
  if (!c.rate_limits.empty()) {
    json::object policies;
    for (const auto& p : c.rate_limits) policies[p.name] = policy_json(p);
    root["rate_limits"] = std::move(policies);
  }
  if (!c.usage_plans.empty()) {
    json::object plans;
    for (const auto& p : c.usage_plans) plans[p.name] = plan_json(p);
    root["usage_plans"] = std::move(plans);
  }
  if (c.cors.enabled) root["cors"] = cors_json(c.cors);
  if (c.services.enabled) {
    json::array keys;  // the ids only: secrets are never shown
    for (const auto& k : c.services.credentials) keys.emplace_back(k.access_key_id);
    root["services"] = {{"listen", c.services.listen.to_string()}, {"region", c.services.region},
                        {"account_id", c.services.account_id}, {"access_key_ids", keys}};
  }
  if (!c.functions.empty()) {
    json::object functions;
    for (const auto& f : c.functions) {
      // Values of the environment are not shown: they may be secrets.
      json::array env;
      for (const auto& [k, v] : f.environment) env.emplace_back(k);
      json::array command;
      for (const auto& a : f.command) command.emplace_back(a);
      functions[f.name] = {{"runtime", f.runtime_text}, {"handler", f.handler}, {"code", f.code_dir},
                           {"command", command}, {"environment", env}, {"memory", f.memory_bytes},
                           {"timeout", duration(f.timeout_ms)}, {"max_concurrency", f.max_concurrency},
                           {"min_instances", f.min_instances}, {"idle_timeout", duration(f.idle_timeout_ms)},
                           {"max_queue", f.max_queue}, {"retry_attempts", f.retry_attempts},
                           {"max_event_age", duration(f.max_event_age_ms)},
                           {"retry_delay", duration(f.retry_delay_ms)}};
    }
    root["functions"] = std::move(functions);
  }
  return json::serialize(root);
}

}  // namespace portico::config
