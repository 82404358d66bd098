// The edge steps a route's request goes through before its terminal, in this order:
//
//   1. CORS: Access-Control-* headers for the response (preflights never get here: the
//      worker answers them at dispatch, before authentication, as they carry no
//      credentials);
//   2. rate limits keyed on the request alone (IP, headers, route): before
//      authentication, so floods of bad credentials are refused before they cost a
//      signature check (may wait for Redis);
//   3. authentication (JWT or API key; may wait for signing keys being fetched) and
//      authorization (scopes, claims, consumers, groups);
//   4. rate limits keyed on the principal (consumer, subject, claims) and the
//      consumer's usage plan (throttle and quotas) (may wait for Redis);
//   5. the terminal (proxy, respond, echo), which then gets the request body.
//
// Routes with none of these steps get their terminal directly (no extra hop).
#pragma once

#include <memory>

#include "auth/worker_auth.h"
#include "gateway/context.h"
#include "gateway/handler.h"
#include "net/event_loop.h"
#include "ratelimit/worker_limiter.h"

namespace portico::server {

class TerminalFactory {
 public:
  virtual ~TerminalFactory() = default;
  virtual std::unique_ptr<gateway::Handler> make_terminal(gateway::Downstream& ds, gateway::RequestContext& ctx) = 0;
};

// True when the route has edge steps (and so needs a RequestPipeline).
bool needs_pipeline(const config::Config& config, const config::Route& route);

class RequestPipeline final : public gateway::Handler, public auth::AuthWaiter, public ratelimit::LimitWaiter {
 public:
  RequestPipeline(gateway::Downstream& ds, gateway::RequestContext& ctx, auth::WorkerAuth& auth,
                  ratelimit::WorkerLimiter& limiter, net::EventLoop& loop, TerminalFactory& terminals);
  ~RequestPipeline() override;

  void start() override;
  void on_request_body(std::string_view data, bool end) override;
  void on_downstream_writable() override;
  void on_downstream_abort() override;
  void on_keys_updated() override;
  void on_auth_decided(auth::AuthOutcome outcome) override;
  void on_limit_decided(ratelimit::LimitOutcome outcome) override;

 private:
  // In the order they run: a step that passes moves to the next one.
  enum class Step : uint8_t { kLimitsBeforeAuth, kAuth, kLimitsAfterAuth, kTerminal, kDone };

  // Runs steps from the current one until one waits or the request is answered.
  void run();
  bool limits(ratelimit::Phase phase);  // false: waiting or answered
  bool authenticate();                  // false: waiting or answered
  void refuse(int status, const std::string& message, const std::string& headers);
  void start_terminal();
  void on_wait_timeout();

  gateway::Downstream& ds_;
  gateway::RequestContext& ctx_;
  auth::WorkerAuth& auth_;
  ratelimit::WorkerLimiter& limiter_;
  TerminalFactory& terminals_;
  net::Timer wait_timer_;  // bounds the wait for signing keys
  std::unique_ptr<gateway::Handler> terminal_;
  Step step_ = Step::kLimitsBeforeAuth;
  bool waiting_keys_ = false;
  bool waiting_limits_ = false;
  int waiting_method_ = -1;  // the auth method whose keys are awaited
};

}  // namespace portico::server
