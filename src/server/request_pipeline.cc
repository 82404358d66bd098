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
  }
  return limit;
}

}  // namespace

bool needs_pipeline(const config::Route& route) { return !route.auth.empty() || route.cors.enabled; }

RequestPipeline::RequestPipeline(gateway::Downstream& ds, gateway::RequestContext& ctx, auth::WorkerAuth& auth,
                                 net::EventLoop& loop, TerminalFactory& terminals)
    : ds_(ds), ctx_(ctx), auth_(auth), terminals_(terminals), wait_timer_(loop, [this] { on_wait_timeout(); }) {}

RequestPipeline::~RequestPipeline() {
  if (waiting_) auth_.cancel_wait(this);
}

void RequestPipeline::start() {
  const config::Route& route = *ctx_.route;
  if (route.cors.enabled) {
    ctx_.cors_owned = true;
    const http::Header* origin = http::find_header(ctx_.request->headers, "origin");
    auth::add_cors_headers(route.cors, origin != nullptr ? origin->value : std::string_view(), ctx_.response_headers);
  }
  authenticate();
}

void RequestPipeline::authenticate() {
  const config::Config& cfg = *ctx_.snapshot->config;
  auth::AuthOutcome outcome = auth_.check(cfg, *ctx_.route, ctx_, this);
  switch (outcome.kind) {
    case auth::AuthOutcome::Kind::kAllowed:
      start_terminal();
      return;
    case auth::AuthOutcome::Kind::kDenied:
      done_ = true;
      ds_.send_error(outcome.status, outcome.message, outcome.headers);
      return;
    case auth::AuthOutcome::Kind::kPending:
      waiting_ = true;
      waiting_method_ = outcome.method;
      if (!wait_timer_.armed()) wait_timer_.arm_after_ms(wait_limit_ms(cfg, *ctx_.route));
      return;
  }
}

void RequestPipeline::on_keys_updated() {
  waiting_ = false;  // the list that held this waiter has been handed over
  if (done_) return;
  authenticate();
}

void RequestPipeline::on_wait_timeout() {
  if (!waiting_ || done_) return;
  auth_.cancel_wait(this);
  waiting_ = false;
  done_ = true;
  auth::AuthOutcome outcome = auth_.wait_timed_out(*ctx_.snapshot->config, waiting_method_, ctx_);
  ds_.send_error(outcome.status, outcome.message, outcome.headers);
}

void RequestPipeline::start_terminal() {
  wait_timer_.cancel();
  done_ = true;
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
  done_ = true;
  wait_timer_.cancel();
  if (waiting_) {
    auth_.cancel_wait(this);
    waiting_ = false;
  }
  if (terminal_) terminal_->on_downstream_abort();
}

}  // namespace portico::server
