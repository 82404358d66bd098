#include "functions/authorizer.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "core/clock.h"
#include "core/strings.h"
#include "functions/api_gateway.h"
#include "functions/request_event.h"
#include "gateway/snapshot.h"

namespace portico::functions {
namespace {

namespace json = boost::json;

constexpr size_t kMaxCached = 100'000;

auth::AuthOutcome denied(int status, std::string message) {
  auth::AuthOutcome o;
  o.kind = auth::AuthOutcome::Kind::kDenied;
  o.status = status;
  o.message = std::move(message);
  return o;
}

// A string or a list of strings (IAM allows both for Action and Resource).
bool strings_of(const json::value* v, std::vector<std::string>& out) {
  if (v == nullptr) return false;
  if (v->is_string()) {
    out.emplace_back(v->as_string());
    return true;
  }
  if (!v->is_array()) return false;
  for (const auto& item : v->as_array()) {
    if (!item.is_string()) return false;
    out.emplace_back(item.as_string());
  }
  return true;
}

}  // namespace

bool iam_match(std::string_view p, std::string_view v) {
  size_t pi = 0, vi = 0, star = std::string_view::npos, mark = 0;
  while (vi < v.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == v[vi])) {
      ++pi;
      ++vi;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = vi;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      vi = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool AuthorizerDecision::allows(std::string_view arn) const {
  if (!error.empty()) return false;
  if (simple) return authorized;
  bool allowed = false;
  for (const auto& s : statements) {
    bool action = std::any_of(s.actions.begin(), s.actions.end(), [](const std::string& a) {
      return iam_match(a, "execute-api:Invoke");
    });
    bool resource = std::any_of(s.resources.begin(), s.resources.end(),
                                [&](const std::string& r) { return iam_match(r, arn); });
    if (!action || !resource) continue;
    if (!s.allow) return false;  // an explicit Deny wins
    allowed = true;
  }
  return allowed;
}

AuthorizerDecision parse_authorizer_result(std::string_view payload, bool simple,
                                           const std::string& method_name) {
  AuthorizerDecision d;
  d.simple = simple;
  boost::system::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec || !v.is_object()) {
    d.error = "the authorizer's answer is not a JSON object";
    return d;
  }
  const json::object& o = v.as_object();
  auto p = std::make_shared<gateway::Principal>();
  p->method = method_name;
  p->from_authorizer = true;
  if (const json::value* c = o.if_contains("context"); c != nullptr && !c->is_null()) {
    if (!c->is_object()) {
      d.error = "the authorizer's context is not an object";
      return d;
    }
    p->claims = c->as_object();
  }
  if (simple) {
    const json::value* a = o.if_contains("isAuthorized");
    if (a == nullptr || !a->is_bool()) {
      d.error = "the authorizer's answer has no boolean isAuthorized (simple response format)";
      return d;
    }
    d.authorized = a->as_bool();
  } else {
    const json::value* id = o.if_contains("principalId");
    if (id != nullptr && id->is_string()) p->principal_id = std::string(id->as_string());
    const json::value* doc = o.if_contains("policyDocument");
    const json::value* st =
        doc != nullptr && doc->is_object() ? doc->as_object().if_contains("Statement") : nullptr;
    if (st == nullptr) {
      d.error = "the authorizer's answer has no policyDocument.Statement (IAM response format)";
      return d;
    }
    json::array list;
    if (st->is_object())
      list.push_back(*st);
    else if (st->is_array())
      list = st->as_array();
    for (const auto& item : list) {
      AuthorizerDecision::Statement s;
      const json::object* so = item.if_object();
      const json::value* effect = so != nullptr ? so->if_contains("Effect") : nullptr;
      if (effect == nullptr || !effect->is_string() ||
          (effect->as_string() != "Allow" && effect->as_string() != "Deny")) {
        d.error = "a policy statement's Effect is not Allow or Deny";
        return d;
      }
      s.allow = effect->as_string() == "Allow";
      if (!strings_of(so->if_contains("Action"), s.actions) ||
          !strings_of(so->if_contains("Resource"), s.resources)) {
        d.error = "a policy statement needs Action and Resource (strings or lists of strings)";
        return d;
      }
      d.statements.push_back(std::move(s));
    }
  }
  p->subject = !p->principal_id.empty() ? p->principal_id : std::string();
  d.principal = std::move(p);
  return d;
}

Authorizers::Authorizers(FunctionHost& host, std::string region, std::string account_id)
    : host_(host), region_(std::move(region)), account_id_(std::move(account_id)) {}

auth::AuthOutcome Authorizers::evaluate(const AuthorizerDecision& d, gateway::RequestContext& ctx,
                                        const std::string& name) {
  if (!d.error.empty())
    return denied(500, fmt::format("the authorizer {} failed: {}", name, d.error));
  // A simple answer needs no ARN: formatted only for a policy (a cache hit is on the
  // request path).
  bool allowed = d.simple ? d.authorized : d.allows(route_arn(ctx, region_, account_id_));
  if (!allowed) return denied(403, "the authorizer denied the request");
  ctx.principal = d.principal;
  return auth::AuthOutcome{};
}

auth::AuthOutcome Authorizers::authorize(const config::Config& config, size_t method_index,
                                         gateway::RequestContext& ctx,
                                         const std::vector<std::string_view>& identity,
                                         auth::AuthWaiter* waiter, net::EventLoop& loop) {
  const config::AuthMethod& method = config.auth[method_index];
  const config::AuthorizerMethod& a = method.authorizer;
  // The decision depends on the config (its function and rules) and the identity
  // values only; a reload starts a fresh set of keys.
  std::string key = fmt::format("{}\x1f{}", ctx.snapshot->generation, method_index);
  for (std::string_view v : identity) {
    key += '\x1f';
    key += v;
  }
  int64_t now = wall_ms_coarse();
  std::shared_ptr<const AuthorizerDecision> cached;
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      if (it->second.expires_ms > now)
        cached = it->second.decision;
      else
        cache_.erase(it);
    }
  }
  if (cached) return evaluate(*cached, ctx, method.name);
  {
    std::lock_guard lock(mu_);
    auto alive = std::make_shared<Ticket>();
    auto [it, first] = in_flight_.try_emplace(key);
    it->second.push_back({waiter, &loop, &ctx, alive});
    waiting_[waiter] = {key, alive};
    auth::AuthOutcome pending;
    pending.kind = auth::AuthOutcome::Kind::kPending;
    if (!first) return pending;  // an invocation for the same identity is on its way
  }
  // The event: API Gateway's authorizer formats (no body).
  std::string event;
  std::string arn = route_arn(ctx, region_, account_id_);
  if (a.token_type) {
    event = fmt::format(R"({{"type":"TOKEN","authorizationToken":{},"methodArn":{}}})",
                        json_quote(identity[0]), json_quote(arn));
  } else {
    event = request_event(ctx, false, {}, wall_ms(), EventRequest::kAsSent);
    std::string extra =
        fmt::format(R"("type":"REQUEST","routeArn":{},"identitySource":[)", json_quote(arn));
    for (size_t i = 0; i < identity.size(); ++i) {
      if (i > 0) extra += ',';
      extra += json_quote(identity[i]);
    }
    extra += "],";
    event.insert(1, extra);
  }
  const std::string& fn = config.functions[static_cast<size_t>(a.function)].name;
  host_.invoke(fn, std::move(event), loop,
               [this, key, ttl = a.cache_ttl_ms, simple = a.simple_response, name = method.name](
                   InvocationResult&& r) { on_result(key, ttl, simple, name, std::move(r)); });
  auth::AuthOutcome pending;
  pending.kind = auth::AuthOutcome::Kind::kPending;
  return pending;
}

void Authorizers::on_result(const std::string& key, int64_t ttl_ms, bool simple,
                            const std::string& name, InvocationResult&& r) {
  auto decision = std::make_shared<AuthorizerDecision>();
  if (r.ok()) {
    *decision = parse_authorizer_result(r.payload, simple, name);
  } else {
    decision->error =
        r.message.empty() ? r.error_type : fmt::format("{}: {}", r.error_type, r.message);
  }
  std::vector<Waiting> waiters;
  {
    std::lock_guard lock(mu_);
    // Failures are not cached: the next request asks again.
    if (ttl_ms > 0 && decision->error.empty()) {
      if (cache_.size() >= kMaxCached) {
        int64_t now = wall_ms_coarse();
        std::erase_if(cache_, [now](const auto& e) { return e.second.expires_ms <= now; });
        if (cache_.size() >= kMaxCached) cache_.erase(cache_.begin());
      }
      cache_[key] = {wall_ms_coarse() + ttl_ms, decision};
    }
    if (auto it = in_flight_.find(key); it != in_flight_.end()) {
      waiters = std::move(it->second);
      in_flight_.erase(it);
    }
    for (const auto& w : waiters) waiting_.erase(w.waiter);
  }
  // Each request is decided on its own worker, with its own route ARN.
  for (auto& w : waiters) {
    w.loop->run_soon([this, w, decision, name] {
      if (w.alive->cancelled()) return;
      w.waiter->on_auth_decided(evaluate(*decision, *w.ctx, name));
    });
  }
}

void Authorizers::cancel(auth::AuthWaiter* waiter) {
  std::lock_guard lock(mu_);
  auto it = waiting_.find(waiter);
  if (it == waiting_.end()) return;
  it->second.second->cancel();
  if (auto f = in_flight_.find(it->second.first); f != in_flight_.end()) {
    std::erase_if(f->second, [waiter](const Waiting& w) { return w.waiter == waiter; });
  }
  waiting_.erase(it);
}

}  // namespace portico::functions
