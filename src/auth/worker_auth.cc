#include "auth/worker_auth.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "auth/credentials.h"
#include "core/clock.h"
#include "core/strings.h"
#include "gateway/snapshot.h"
#include "http/parser.h"

namespace portico::auth {
namespace {

namespace json = boost::json;

constexpr std::string_view kRealm = "portico";

// RFC 6750 3: error_description is a quoted-string.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
  }
  out += '"';
  return out;
}

AuthOutcome invalid_token(std::string message) {
  AuthOutcome o;
  o.kind = AuthOutcome::Kind::kDenied;
  o.status = 401;
  o.headers = fmt::format("WWW-Authenticate: Bearer realm=\"{}\", error=\"invalid_token\", error_description={}\r\n",
                          kRealm, quoted(message));
  o.message = std::move(message);
  return o;
}

AuthOutcome allowed() { return AuthOutcome{}; }

// A claim's value as a header value, or nullopt when it cannot be one safely.
std::optional<std::string> header_value(const json::value& v) {
  auto safe = [](std::string_view s) {
    return s.size() <= 4096 && std::all_of(s.begin(), s.end(), http::is_field_value_char);
  };
  if (v.is_string()) {
    std::string_view s = v.as_string();
    if (!safe(s)) return std::nullopt;
    return std::string(s);
  }
  if (v.is_bool() || v.is_number()) return json::serialize(v);
  if (v.is_array()) {
    std::string out;
    for (const json::value& item : v.as_array()) {
      if (!item.is_string() || !safe(item.as_string())) return std::nullopt;
      if (!out.empty()) out += ", ";
      out += std::string_view(item.as_string());
    }
    return out;
  }
  return std::nullopt;
}

void drop_header(gateway::RequestContext& ctx, std::string name) { ctx.drop_headers.push_back(std::move(name)); }

// Values (claims, an authorizer's context) for the upstream as headers; a client-sent
// header of the same name never passes.
void forward_values(gateway::RequestContext& ctx, const std::vector<std::pair<std::string, std::string>>& forwards,
                    const json::object& values) {
  for (const auto& [name, header] : forwards) {
    drop_header(ctx, to_lower(header));
    const json::value* v = values.if_contains(name);
    if (v == nullptr) continue;
    if (auto text = header_value(*v)) {
      ctx.upstream_headers += header;
      ctx.upstream_headers += ": ";
      ctx.upstream_headers += *text;
      ctx.upstream_headers += "\r\n";
    }
  }
}

// The credential does not go on to the upstream (headers only: a cookie or query
// parameter stays where it is).
void strip_credential(gateway::RequestContext& ctx, const config::CredentialSource& source) {
  if (source.kind == config::CredentialSource::Kind::kBearer) ctx.credential_headers.emplace_back("authorization");
  else if (source.kind == config::CredentialSource::Kind::kHeader) ctx.credential_headers.push_back(source.name);
}

std::vector<std::string> scopes_of(const json::object& claims, const std::string& claim) {
  std::vector<std::string> out;
  auto add = [&](const json::value* v) {
    if (v == nullptr) return false;
    if (v->is_string()) {
      for (std::string_view s : split(v->as_string(), ' ')) {
        if (!s.empty()) out.emplace_back(s);
      }
      return true;
    }
    if (v->is_array()) {
      for (const json::value& item : v->as_array()) {
        if (item.is_string()) out.emplace_back(item.as_string());
      }
      return true;
    }
    return false;
  };
  if (!claim.empty()) add(claims.if_contains(claim));
  else if (!add(claims.if_contains("scope"))) add(claims.if_contains("scp"));
  return out;
}

bool contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

AuthOutcome forbidden(std::string message, std::string headers = {}) {
  AuthOutcome o;
  o.kind = AuthOutcome::Kind::kDenied;
  o.status = 403;
  o.message = std::move(message);
  o.headers = std::move(headers);
  return o;
}

}  // namespace

void WorkerAuth::update_jwks(const std::string& url, std::shared_ptr<const RemoteKeys> keys) {
  Remote& r = remote_[url];
  r.keys = std::move(keys);
  std::vector<AuthWaiter*> waiting;
  waiting.swap(r.waiters);
  for (AuthWaiter* w : waiting) w->on_keys_updated();
}

void WorkerAuth::cancel_wait(AuthWaiter* waiter) {
  for (auto& [url, r] : remote_) std::erase(r.waiters, waiter);
  if (authorizers_ != nullptr) authorizers_->cancel(waiter);
}

AuthOutcome WorkerAuth::check(const config::Config& config, const config::Route& route, gateway::RequestContext& ctx,
                              AuthWaiter* waiter) {
  if (route.auth.empty()) return allowed();
  int method = -1;
  AuthOutcome o = decide(config, route, ctx, waiter, method);
  if (o.kind == AuthOutcome::Kind::kPending) return o;
  count(config, route, method, o, ctx);
  return o;
}

void WorkerAuth::count(const config::Config&, const config::Route& route, int method, const AuthOutcome& o,
                       gateway::RequestContext& ctx) {
  using R = gateway::AuthCounters::Result;
  R result = o.kind == AuthOutcome::Kind::kAllowed ? R::kAllowed
             : method < 0                          ? R::kMissing
             : o.status == 403                     ? R::kForbidden
             : o.status == 503 || o.status == 500  ? R::kUnavailable
                                                   : R::kInvalid;
  // Requests without any credential count under the route's first method.
  size_t index = static_cast<size_t>(method < 0 ? route.auth.front() : method);
  ctx.snapshot->auth_stats[index]->counters.local().results[result].add();
}

AuthOutcome WorkerAuth::complete(const config::Config& config, const config::Route& route, int method,
                                 gateway::RequestContext& ctx, AuthOutcome decided) {
  AuthOutcome o = std::move(decided);
  if (o.kind == AuthOutcome::Kind::kAllowed) {
    o = admit(route, config.auth[static_cast<size_t>(method)], ctx, nullptr);
  }
  count(config, route, method, o, ctx);
  return o;
}

AuthOutcome WorkerAuth::admit(const config::Route& route, const config::AuthMethod& method,
                              gateway::RequestContext& ctx, const config::CredentialSource* credential) {
  using Kind = config::AuthMethod::Kind;
  bool strip = method.kind == Kind::kJwt ? method.jwt.strip_token : method.kind == Kind::kApiKey && method.api_key.strip;
  if (strip && credential != nullptr) strip_credential(ctx, *credential);
  if (method.kind == Kind::kAuthorizer) forward_values(ctx, method.authorizer.forward_context, ctx.principal->claims);
  if (auto denied = authorize(route.access, *ctx.principal)) return *denied;
  return allowed();
}

AuthOutcome WorkerAuth::authorizer(const config::Config& config, size_t method_index, gateway::RequestContext& ctx,
                                   const std::vector<std::string_view>& identity, AuthWaiter* waiter) {
  if (authorizers_ == nullptr) {
    AuthOutcome o;
    o.kind = AuthOutcome::Kind::kDenied;
    o.status = 500;
    o.message = "authorizer functions are not available in this process";
    return o;
  }
  AuthOutcome o = authorizers_->authorize(config, method_index, ctx, identity, waiter, loop_);
  if (o.kind == AuthOutcome::Kind::kPending) o.method = static_cast<int>(method_index);
  return o;
}

AuthOutcome WorkerAuth::decide(const config::Config& config, const config::Route& route, gateway::RequestContext& ctx,
                               AuthWaiter* waiter, int& method_index) {
  for (int index : route.auth) {
    const config::AuthMethod& method = config.auth[static_cast<size_t>(index)];
    if (method.kind == config::AuthMethod::Kind::kAuthorizer) {
      // Every identity source must be present (else 401 without invoking, as API
      // Gateway does).
      std::vector<std::string_view> identity;
      for (const auto& source : method.authorizer.identity) {
        auto value = find_credential(*ctx.request, source);
        if (!value) break;
        identity.push_back(value->value);
      }
      if (identity.size() != method.authorizer.identity.size()) continue;
      method_index = index;
      AuthOutcome o = authorizer(config, static_cast<size_t>(index), ctx, identity, waiter);
      if (o.kind != AuthOutcome::Kind::kAllowed) return o;
      return admit(route, method, ctx, nullptr);
    }
    auto credential = find_credential(*ctx.request, method.sources());
    if (!credential) continue;
    method_index = index;
    AuthOutcome o = method.kind == config::AuthMethod::Kind::kJwt
                        ? jwt(config, static_cast<size_t>(index), credential->value, ctx, waiter,
                              ctx.snapshot->auth_stats[static_cast<size_t>(index)]->counters.local())
                        : api_key(config, method, credential->value, ctx);
    if (o.kind != AuthOutcome::Kind::kAllowed) return o;
    return admit(route, method, ctx, credential->source);
  }
  // No method found its credential: say what would do.
  AuthOutcome o;
  o.kind = AuthOutcome::Kind::kDenied;
  o.status = 401;
  std::vector<std::string> wanted;
  bool bearer = false, key = false;
  for (int index : route.auth) {
    const config::AuthMethod& m = config.auth[static_cast<size_t>(index)];
    if (m.kind == config::AuthMethod::Kind::kAuthorizer) {
      std::vector<std::string> texts;
      for (const auto& s : m.authorizer.identity) texts.push_back(s.text);
      std::string what = fmt::format("{}", fmt::join(texts, " and "));
      if (!contains(wanted, what)) wanted.push_back(what);
      continue;
    }
    for (const auto& s : m.sources()) {
      std::string what = s.kind == config::CredentialSource::Kind::kBearer ? "a bearer token"
                         : m.kind == config::AuthMethod::Kind::kJwt
                             ? fmt::format("a token in {}", s.text)
                             : fmt::format("an API key in {}", s.text);
      if (!contains(wanted, what)) wanted.push_back(what);
    }
    (m.kind == config::AuthMethod::Kind::kJwt ? bearer : key) = true;
  }
  o.message = fmt::format("authentication required: {}", fmt::join(wanted, " or "));
  if (bearer) o.headers += fmt::format("WWW-Authenticate: Bearer realm=\"{}\"\r\n", kRealm);
  if (key) o.headers += fmt::format("WWW-Authenticate: APIKey realm=\"{}\"\r\n", kRealm);
  return o;
}

AuthOutcome WorkerAuth::api_key(const config::Config& config, const config::AuthMethod& method, std::string_view key,
                                gateway::RequestContext& ctx) {
  auto it = config.consumers.by_key_hash.find(jose::sha256_hex(key));
  if (it == config.consumers.by_key_hash.end()) {
    AuthOutcome o;
    o.kind = AuthOutcome::Kind::kDenied;
    o.status = 401;
    o.message = "the API key is not valid";
    o.headers = fmt::format("WWW-Authenticate: APIKey realm=\"{}\"\r\n", kRealm);
    return o;
  }
  const config::Consumer& c = config.consumers.list[it->second];
  auto p = std::make_shared<gateway::Principal>();
  p->method = method.name;
  p->subject = c.name;
  p->consumer = c.name;
  p->groups = c.groups;
  ctx.principal = std::move(p);
  return allowed();
}

std::shared_ptr<const gateway::Principal> WorkerAuth::principal_of(const config::Config& config,
                                                                   const config::AuthMethod& method,
                                                                   const json::object& claims) {
  auto p = std::make_shared<gateway::Principal>();
  p->method = method.name;
  if (const json::value* sub = claims.if_contains("sub"); sub != nullptr && sub->is_string()) p->subject = sub->as_string();
  p->scopes = scopes_of(claims, method.jwt.scopes_claim);
  if (!method.jwt.consumer_claim.empty()) {
    const json::value* v = claims.if_contains(method.jwt.consumer_claim);
    if (v != nullptr && v->is_string()) {
      auto it = config.consumers.by_name_or_id.find(std::string(v->as_string()));
      if (it != config.consumers.by_name_or_id.end()) {
        const config::Consumer& c = config.consumers.list[it->second];
        p->consumer = c.name;
        p->groups = c.groups;
      }
    }
  }
  p->claims = claims;
  return p;
}

AuthOutcome WorkerAuth::wait(Remote& remote, AuthWaiter* waiter, size_t method_index) {
  remote.waiters.push_back(waiter);
  AuthOutcome o;
  o.kind = AuthOutcome::Kind::kPending;
  o.method = static_cast<int>(method_index);
  return o;
}

AuthOutcome WorkerAuth::wait_timed_out(const config::Config& config, int method, gateway::RequestContext& ctx) {
  size_t index = static_cast<size_t>(method);
  ctx.snapshot->auth_stats[index]->counters.local().results[gateway::AuthCounters::Result::kUnavailable].add();
  if (config.auth[index].kind == config::AuthMethod::Kind::kAuthorizer) {
    // Never an allow: an authorizer that cannot decide in time refuses.
    AuthOutcome o;
    o.kind = AuthOutcome::Kind::kDenied;
    o.status = 500;
    o.message = fmt::format("the authorizer {} did not decide in time", config.auth[index].name);
    return o;
  }
  AuthOutcome o = unavailable(config.auth[index].jwt);
  if (o.status == 503) o.message = "the signing keys could not be fetched in time; try again later";
  return o;
}

// The why (the fetch's error) is in the log, not in answers to clients.
AuthOutcome WorkerAuth::unavailable(const config::JwtMethod& jwt) {
  if (jwt.unavailable_status == 401) return invalid_token("no signing key for the token is available");
  AuthOutcome o;
  o.kind = AuthOutcome::Kind::kDenied;
  o.status = 503;
  o.message = "the signing keys could not be fetched; try again later";
  o.headers = "Retry-After: 5\r\n";
  return o;
}

AuthOutcome WorkerAuth::jwt(const config::Config& config, size_t method_index, std::string_view token,
                            gateway::RequestContext& ctx, AuthWaiter* waiter, gateway::AuthCounters& counters) {
  const config::AuthMethod& method = config.auth[method_index];
  const config::JwtMethod& m = method.jwt;
  Remote* remote = m.jwks_url ? &remote_[m.jwks_url->url] : nullptr;
  uint64_t key_version = remote != nullptr && remote->keys ? remote->keys->version : 0;
  if (caches_.size() < config.auth.size()) caches_.resize(config.auth.size());
  MethodCache& cache = caches_[method_index];
  uint64_t generation = ctx.snapshot->generation;
  if (cache.generation != generation || cache.tokens.capacity() != m.cache_size) {
    cache.generation = generation;  // a new config: its rules may differ
    cache.tokens = TokenCache(m.cache_size);
  }
  int64_t now_ms = wall_ms_coarse();
  std::shared_ptr<const gateway::Principal> principal = cache.tokens.find(token, now_ms, key_version);
  if (principal) {
    counters.cache_hits.add();
  } else {
    // A request parked until keys arrive comes back through here: count its miss once, when it is decided.
    struct MissCount {
      Counter& misses;
      bool parked = false;
      ~MissCount() {
        if (!parked) misses.add();
      }
    } miss{counters.cache_misses};
    auto park = [&] {
      miss.parked = true;
      return wait(*remote, waiter, method_index);
    };
    auto parsed = jose::parse_jwt(token, m.max_token_bytes);
    if (!parsed) return invalid_token(parsed.error().message);
    const jose::Jwt& t = *parsed;
    if (!m.accepts(t.alg)) return invalid_token(fmt::format("the algorithm {} is not accepted", jose::alg_name(t.alg)));
    std::optional<std::string_view> kid;
    if (t.kid) kid = *t.kid;
    std::vector<const jose::Key*> candidates;
    for (const auto& k : m.keys) {
      if ((!kid || k->kid() == *kid) && k->allows(t.alg)) candidates.push_back(k.get());
    }
    if (candidates.empty() && remote != nullptr) {
      const RemoteKeys* rk = remote->keys.get();
      if (rk == nullptr || !rk->loaded) {
        // The first fetch: wait for it, unless it failed already.
        if (rk != nullptr && rk->failing) return unavailable(m);
        return park();
      }
      candidates = rk->keys.candidates(kid, t.alg);
      if (candidates.empty() && kid && !rk->keys.has_kid(*kid)) {
        // An unknown kid may be a key rotated in since the last fetch.
        if (!remote->waiters.empty()) return park();  // a fetch is on its way
        if (loop_.now_ms() - remote->last_refetch_ms >= m.jwks_url->min_refetch_ms && fetcher_ != nullptr) {
          remote->last_refetch_ms = loop_.now_ms();
          fetcher_->refetch(m.jwks_url->url);
          return park();
        }
        if (rk->failing) return unavailable(m);
      }
    }
    if (candidates.empty()) {
      return invalid_token(kid ? "no key matches the token's kid" : fmt::format("no key for the algorithm {}", jose::alg_name(t.alg)));
    }
    if (!jose::verify_signature(t, candidates)) return invalid_token("the signature is invalid");
    if (auto why = jose::check_claims(t, m.rules, static_cast<double>(now_ms) / 1000.0)) return invalid_token(*why);
    principal = principal_of(config, method, t.claims);
    int64_t expires = now_ms + m.cache_ttl_ms;
    if (auto exp = jose::expiry(t)) expires = std::min(expires, static_cast<int64_t>((*exp + static_cast<double>(m.rules.leeway_s)) * 1000));
    cache.tokens.insert(token, principal, expires, key_version);
  }
  forward_values(ctx, m.forward_claims, principal->claims);
  ctx.principal = std::move(principal);
  return allowed();
}

std::optional<AuthOutcome> authorize(const config::AccessPolicy& policy, const gateway::Principal& p) {
  if (policy.empty()) return std::nullopt;
  auto in_groups = [&](const std::vector<std::string>& groups) {
    return std::any_of(p.groups.begin(), p.groups.end(), [&](const std::string& g) { return contains(groups, g); });
  };
  if (!p.consumer.empty() && contains(policy.deny_consumers, p.consumer)) {
    return forbidden(fmt::format("consumer \"{}\" may not use this route", p.consumer));
  }
  if (in_groups(policy.deny_groups)) return forbidden(fmt::format("consumer \"{}\" may not use this route", p.consumer));
  if (!policy.consumers.empty() || !policy.groups.empty()) {
    bool ok = (!p.consumer.empty() && contains(policy.consumers, p.consumer)) || in_groups(policy.groups);
    if (!ok) {
      return forbidden(p.consumer.empty() ? "this route is only for known consumers"
                                          : fmt::format("consumer \"{}\" may not use this route", p.consumer));
    }
  }
  std::vector<std::string> missing;
  for (const auto& s : policy.scopes) {
    if (!contains(p.scopes, s)) missing.push_back(s);
  }
  if (!missing.empty()) {
    std::string scope = fmt::format("{}", fmt::join(policy.scopes, " "));
    return forbidden(fmt::format("insufficient scope: this route needs {}", fmt::join(missing, ", ")),
                     fmt::format("WWW-Authenticate: Bearer realm=\"{}\", error=\"insufficient_scope\", scope={}\r\n",
                                 kRealm, quoted(scope)));
  }
  for (const auto& req : policy.claims) {
    const json::value* v = p.claims.if_contains(req.claim);
    bool ok = false;
    if (v != nullptr && v->is_string()) ok = contains(req.values, std::string_view(v->as_string()));
    if (v != nullptr && v->is_array()) {
      ok = std::any_of(v->as_array().begin(), v->as_array().end(), [&](const json::value& item) {
        return item.is_string() && contains(req.values, std::string_view(item.as_string()));
      });
    }
    if (v != nullptr && (v->is_bool() || v->is_number())) ok = contains(req.values, json::serialize(*v));
    if (!ok) return forbidden(fmt::format("the token's \"{}\" claim does not allow this route", req.claim));
  }
  return std::nullopt;
}

}  // namespace portico::auth
