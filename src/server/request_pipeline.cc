#include "server/request_pipeline.h"

#include "auth/cors.h"
#include "gateway/snapshot.h"

namespace portico::server {
namespace {

// The longest a request waits for a JWKS fetch: the slowest of its methods' timeouts,
// plus a margin for the answer to reach this worker.
int64_t wait_limit_ms(const config::Config& cfg, const config::Route& route) {
  int64_t limit = 1'000;
  for (int i : route.auth) {
    const config::AuthMethod& m = cfg.auth[static_cast<size_t>(i)];
    if (m.kind == config::AuthMethod::Kind::kJwt && m.jwt.jwks_url) {
      limit = std::max(limit, m.jwt.jwks_url->timeout_ms + 1'000);
    }
    if (m.kind == config::AuthMethod::Kind::kAuthorizer) {
      // The function's own timeout ends it first; this only guards against a lost answer.
      limit = std::max(limit, 2 * cfg.functions[static_cast<size_t>(m.authorizer.function)].timeout_ms + 1'000);
    }
  }
  return limit;
}

}  // namespace

bool needs_pipeline(const config::Config& config, const config::Route& route) {
  return !route.auth.empty() || route.cors.enabled ||
         ratelimit::has_limits(config, route, ratelimit::Phase::kBeforeAuth) ||
         ratelimit::has_limits(config, route, ratelimit::Phase::kAfterAuth);
}

RequestPipeline::RequestPipeline(gateway::Downstream& ds, gateway::RequestContext& ctx, auth::WorkerAuth& auth,
                                 ratelimit::WorkerLimiter& limiter, net::EventLoop& loop, TerminalFactory& terminals)
    : ds_(ds),
      ctx_(ctx),
      auth_(auth),
      limiter_(limiter),
      terminals_(terminals),
      wait_timer_(loop, [this] { on_wait_timeout(); }) {}

RequestPipeline::~RequestPipeline() {
  if (waiting_keys_) auth_.cancel_wait(this);
  if (waiting_limits_) limiter_.cancel(this);
}

void RequestPipeline::start() {
  const config::Route& route = *ctx_.route;
  if (route.cors.enabled) {
    ctx_.cors_owned = true;
    const http::Header* origin = http::find_header(ctx_.request->headers, "origin");
    auth::add_cors_headers(route.cors, origin != nullptr ? origin->value : std::string_view(), ctx_.response_headers);
  }
  run();
}

void RequestPipeline::run() {
  while (true) {
    bool passed = false;
    switch (step_) {
      case Step::kLimitsBeforeAuth:
        passed = limits(ratelimit::Phase::kBeforeAuth);
        break;
      case Step::kAuth:
        passed = authenticate();
        break;
      case Step::kLimitsAfterAuth:
        passed = limits(ratelimit::Phase::kAfterAuth);
        break;
      case Step::kTerminal:
        start_terminal();
        return;
      case Step::kDone:
        return;
    }
    if (!passed) return;
    step_ = static_cast<Step>(static_cast<uint8_t>(step_) + 1);  // steps are in order
  }
}

bool RequestPipeline::limits(ratelimit::Phase phase) {
  if (!ratelimit::has_limits(*ctx_.snapshot->config, *ctx_.route, phase)) return true;
  ratelimit::LimitOutcome outcome = limiter_.check(phase, ctx_, this);
  switch (outcome.kind) {
    case ratelimit::LimitOutcome::Kind::kAllowed:
      return true;
    case ratelimit::LimitOutcome::Kind::kDenied:
      refuse(outcome.status, outcome.message, outcome.headers);
      return false;
    case ratelimit::LimitOutcome::Kind::kPending:
      waiting_limits_ = true;
      return false;
  }
  return false;
}

void RequestPipeline::on_limit_decided(ratelimit::LimitOutcome outcome) {
  waiting_limits_ = false;
  if (step_ == Step::kDone) return;
  if (outcome.kind == ratelimit::LimitOutcome::Kind::kDenied) {
    refuse(outcome.status, outcome.message, outcome.headers);
    return;
  }
  step_ = static_cast<Step>(static_cast<uint8_t>(step_) + 1);
  run();
}

bool RequestPipeline::authenticate() {
  const config::Config& cfg = *ctx_.snapshot->config;
  auth::AuthOutcome outcome = auth_.check(cfg, *ctx_.route, ctx_, this);
  switch (outcome.kind) {
    case auth::AuthOutcome::Kind::kAllowed:
      wait_timer_.cancel();
      return true;
    case auth::AuthOutcome::Kind::kDenied:
      refuse(outcome.status, outcome.message, outcome.headers);
      return false;
    case auth::AuthOutcome::Kind::kPending:
      waiting_keys_ = true;
      waiting_method_ = outcome.method;
      if (!wait_timer_.armed()) wait_timer_.arm_after_ms(wait_limit_ms(cfg, *ctx_.route));
      return false;
  }
  return false;
}

void RequestPipeline::on_keys_updated() {
  waiting_keys_ = false;  // the list that held this waiter has been handed over
  if (step_ != Step::kAuth) return;
  run();
}

void RequestPipeline::on_auth_decided(auth::AuthOutcome outcome) {
  waiting_keys_ = false;
  if (step_ != Step::kAuth) return;
  wait_timer_.cancel();
  auth::AuthOutcome o = auth_.complete(*ctx_.snapshot->config, *ctx_.route, waiting_method_, ctx_, std::move(outcome));
  if (o.kind != auth::AuthOutcome::Kind::kAllowed) {
    refuse(o.status, o.message, o.headers);
    return;
  }
  step_ = static_cast<Step>(static_cast<uint8_t>(step_) + 1);
  run();
}

void RequestPipeline::on_wait_timeout() {
  if (!waiting_keys_ || step_ != Step::kAuth) return;
  auth_.cancel_wait(this);
  waiting_keys_ = false;
  auth::AuthOutcome outcome = auth_.wait_timed_out(*ctx_.snapshot->config, waiting_method_, ctx_);
  refuse(outcome.status, outcome.message, outcome.headers);
}

void RequestPipeline::refuse(int status, const std::string& message, const std::string& headers) {
  step_ = Step::kDone;
  wait_timer_.cancel();
  ratelimit::append_legacy_headers(ctx_, ctx_.response_headers);
  ds_.send_error(status, message, headers);
}

void RequestPipeline::start_terminal() {
  step_ = Step::kDone;
  wait_timer_.cancel();
  ratelimit::append_legacy_headers(ctx_, ctx_.response_headers);
  terminal_ = terminals_.make_terminal(ds_, ctx_);
  if (terminal_) terminal_->start();
}

void RequestPipeline::on_request_body(std::string_view data, bool end) {
  if (terminal_) terminal_->on_request_body(data, end);
}

void RequestPipeline::on_downstream_writable() {
  if (terminal_) terminal_->on_downstream_writable();
}

void RequestPipeline::on_downstream_abort() {
  step_ = Step::kDone;
  wait_timer_.cancel();
  if (waiting_keys_) {
    auth_.cancel_wait(this);
    waiting_keys_ = false;
  }
  if (waiting_limits_) {
    limiter_.cancel(this);
    waiting_limits_ = false;
  }
  if (terminal_) terminal_->on_downstream_abort();
}

}  // namespace portico::server
