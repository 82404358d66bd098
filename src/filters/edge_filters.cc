#include "filters/edge_filters.h"

#include <algorithm>

#include "auth/cors.h"
#include "auth/worker_auth.h"
#include "gateway/snapshot.h"
#include "net/event_loop.h"
#include "ratelimit/worker_limiter.h"

namespace portico::filters {
namespace {

// --- CORS: the Access-Control-* headers of an allowed origin, on every answer ---------
// (preflights never get here: the worker answers them at dispatch, as they carry no
// credentials.)

class CorsFilter final : public Filter {
 public:
  explicit CorsFilter(const config::Cors& cors) : cors_(cors) {}
  Verdict on_request(FilterControl& chain) override {
    gateway::RequestContext& ctx = chain.context();
    ctx.cors_owned = true;
    const http::Header* origin = http::find_header(ctx.request->headers, "origin");
    auth::add_cors_headers(cors_, origin != nullptr ? origin->value : std::string_view(),
                           ctx.response_headers);
    return Verdict::kContinue;
  }

 private:
  const config::Cors& cors_;
};

class CorsFactory final : public FilterFactory {
 public:
  explicit CorsFactory(const config::Cors& cors) : cors_(cors) {}
  std::string_view name() const override { return "cors"; }
  std::unique_ptr<Filter> make(const WorkerServices&, gateway::RequestContext&) const override {
    return std::make_unique<CorsFilter>(cors_);
  }

 private:
  const config::Cors& cors_;  // the route's, in the config the snapshot keeps alive
};

// --- rate limits and quotas (may wait for Redis) ----------------------------------------

class LimitsFilter final : public Filter, public ratelimit::LimitWaiter {
 public:
  LimitsFilter(ratelimit::WorkerLimiter& limiter, ratelimit::Phase phase)
      : limiter_(limiter), phase_(phase) {}
  ~LimitsFilter() override { on_abort(); }

  Verdict on_request(FilterControl& chain) override {
    chain_ = &chain;
    ratelimit::LimitOutcome outcome = limiter_.check(phase_, chain.context(), this);
    switch (outcome.kind) {
      case ratelimit::LimitOutcome::Kind::kAllowed:
        return Verdict::kContinue;
      case ratelimit::LimitOutcome::Kind::kDenied:
        chain.refuse(outcome.status, outcome.message, outcome.headers);
        return Verdict::kAnswered;
      case ratelimit::LimitOutcome::Kind::kPending:
        waiting_ = true;
        return Verdict::kPause;
    }
    return Verdict::kPause;
  }

  void on_limit_decided(ratelimit::LimitOutcome outcome) override {
    waiting_ = false;
    if (outcome.kind == ratelimit::LimitOutcome::Kind::kDenied) {
      chain_->refuse(outcome.status, outcome.message, outcome.headers);
    } else {
      chain_->resume();
    }
  }

  // The legacy RateLimit-* fields report the most restrictive limit of all the route's
  // limits: written once, by the innermost limits filter the request reached.
  void before_answer(gateway::RequestContext& ctx) override {
    ratelimit::append_legacy_headers(ctx, ctx.response_headers);
    ctx.limit_report.set = false;
  }

  void on_abort() override {
    if (waiting_) limiter_.cancel(this);
    waiting_ = false;
  }

 private:
  ratelimit::WorkerLimiter& limiter_;
  ratelimit::Phase phase_;
  FilterControl* chain_ = nullptr;
  bool waiting_ = false;
};

class LimitsFactory final : public FilterFactory {
 public:
  explicit LimitsFactory(ratelimit::Phase phase) : phase_(phase) {}
  std::string_view name() const override {
    return phase_ == ratelimit::Phase::kBeforeAuth ? "limits_on_request" : "limits_on_principal";
  }
  std::unique_ptr<Filter> make(const WorkerServices& services,
                               gateway::RequestContext&) const override {
    return std::make_unique<LimitsFilter>(*services.limiter, phase_);
  }

 private:
  ratelimit::Phase phase_;
};

// --- authentication and authorization (may wait for signing keys or an authorizer) -------

class AuthFilter final : public Filter, public auth::AuthWaiter {
 public:
  AuthFilter(auth::WorkerAuth& auth, net::EventLoop& loop, int64_t wait_limit_ms)
      : auth_(auth),
        wait_timer_(loop, [this] { on_wait_timeout(); }),
        wait_limit_ms_(wait_limit_ms) {}
  ~AuthFilter() override { on_abort(); }

  Verdict on_request(FilterControl& chain) override {
    chain_ = &chain;
    return check();
  }

  void on_keys_updated() override {
    waiting_ = false;  // the list that held this waiter has been handed over
    switch (check()) {
      case Verdict::kContinue:
        chain_->resume();
        break;
      case Verdict::kAnswered:
      case Verdict::kPause:
        break;
    }
  }

  void on_auth_decided(auth::AuthOutcome outcome) override {
    waiting_ = false;
    wait_timer_.cancel();
    gateway::RequestContext& ctx = chain_->context();
    auth::AuthOutcome o =
        auth_.complete(*ctx.snapshot->config, *ctx.route, method_, ctx, std::move(outcome));
    if (o.kind == auth::AuthOutcome::Kind::kAllowed) {
      chain_->resume();
    } else {
      chain_->refuse(o.status, o.message, o.headers);
    }
  }

  void on_abort() override {
    wait_timer_.cancel();
    if (waiting_) auth_.cancel_wait(this);
    waiting_ = false;
  }

 private:
  Verdict check() {
    gateway::RequestContext& ctx = chain_->context();
    auth::AuthOutcome outcome = auth_.check(*ctx.snapshot->config, *ctx.route, ctx, this);
    switch (outcome.kind) {
      case auth::AuthOutcome::Kind::kAllowed:
        wait_timer_.cancel();
        return Verdict::kContinue;
      case auth::AuthOutcome::Kind::kDenied:
        wait_timer_.cancel();
        chain_->refuse(outcome.status, outcome.message, outcome.headers);
        return Verdict::kAnswered;
      case auth::AuthOutcome::Kind::kPending:
        waiting_ = true;
        method_ = outcome.method;
        if (!wait_timer_.armed()) wait_timer_.arm_after_ms(wait_limit_ms_);
        return Verdict::kPause;
    }
    return Verdict::kPause;
  }

  void on_wait_timeout() {
    if (!waiting_) return;
    auth_.cancel_wait(this);
    waiting_ = false;
    gateway::RequestContext& ctx = chain_->context();
    auth::AuthOutcome outcome = auth_.wait_timed_out(*ctx.snapshot->config, method_, ctx);
    chain_->refuse(outcome.status, outcome.message, outcome.headers);
  }

  auth::WorkerAuth& auth_;
  net::Timer wait_timer_;  // bounds the wait for signing keys or an authorizer's answer
  int64_t wait_limit_ms_;
  FilterControl* chain_ = nullptr;
  bool waiting_ = false;
  int method_ = -1;  // the auth method whose keys (or authorizer) are awaited
};

// The longest a request waits for a JWKS fetch: the slowest of its methods' timeouts,
// plus a margin for the answer to reach this worker.
int64_t auth_wait_limit_ms(const config::Config& cfg, const config::Route& route) {
  int64_t limit = 1'000;
  for (int i : route.auth) {
    const config::AuthMethod& m = cfg.auth[static_cast<size_t>(i)];
    if (m.kind == config::AuthMethod::Kind::kJwt && m.jwt.jwks_url) {
      limit = std::max(limit, m.jwt.jwks_url->timeout_ms + 1'000);
    }
    if (m.kind == config::AuthMethod::Kind::kAuthorizer) {
      // The function's own timeout ends it first; this only guards against a lost answer.
      limit = std::max(
          limit, 2 * cfg.functions[static_cast<size_t>(m.authorizer.function)].timeout_ms + 1'000);
    }
  }
  return limit;
}

class AuthFactory final : public FilterFactory {
 public:
  explicit AuthFactory(int64_t wait_limit_ms) : wait_limit_ms_(wait_limit_ms) {}
  std::string_view name() const override { return "auth"; }
  std::unique_ptr<Filter> make(const WorkerServices& services,
                               gateway::RequestContext&) const override {
    return std::make_unique<AuthFilter>(*services.auth, *services.loop, wait_limit_ms_);
  }

 private:
  int64_t wait_limit_ms_;
};

}  // namespace

FactoryResult make_cors_filter(const config::Config&, const config::Route& route) {
  if (!route.cors.enabled) return std::unique_ptr<const FilterFactory>();
  return std::unique_ptr<const FilterFactory>(std::make_unique<CorsFactory>(route.cors));
}

FactoryResult make_request_limits_filter(const config::Config& config, const config::Route& route) {
  if (!ratelimit::has_limits(config, route, ratelimit::Phase::kBeforeAuth))
    return std::unique_ptr<const FilterFactory>();
  return std::unique_ptr<const FilterFactory>(
      std::make_unique<LimitsFactory>(ratelimit::Phase::kBeforeAuth));
}

FactoryResult make_auth_filter(const config::Config& config, const config::Route& route) {
  if (route.auth.empty()) return std::unique_ptr<const FilterFactory>();
  return std::unique_ptr<const FilterFactory>(
      std::make_unique<AuthFactory>(auth_wait_limit_ms(config, route)));
}

FactoryResult make_principal_limits_filter(const config::Config& config,
                                           const config::Route& route) {
  if (!ratelimit::has_limits(config, route, ratelimit::Phase::kAfterAuth))
    return std::unique_ptr<const FilterFactory>();
  return std::unique_ptr<const FilterFactory>(
      std::make_unique<LimitsFactory>(ratelimit::Phase::kAfterAuth));
}

}  // namespace portico::filters
