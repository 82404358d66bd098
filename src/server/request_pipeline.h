// The edge steps a route's request goes through before its terminal, in this order:
//
//   1. CORS: Access-Control-* headers for the response (preflights never get here: the
//      worker answers them at dispatch, before authentication, as they carry no
//      credentials);
//   2. authentication (JWT or API key; may wait for signing keys being fetched);
//   3. authorization (scopes, claims, consumers, groups);
//   4. the terminal (proxy, respond, echo), which then gets the request body.
//
// Routes with none of these steps get their terminal directly (no extra hop).
#pragma once

#include <memory>

#include "auth/worker_auth.h"
#include "gateway/context.h"
#include "gateway/handler.h"
#include "net/event_loop.h"

namespace portico::server {

class TerminalFactory {
 public:
  virtual ~TerminalFactory() = default;
  virtual std::unique_ptr<gateway::Handler> make_terminal(gateway::Downstream& ds, gateway::RequestContext& ctx) = 0;
};

// True when the route has edge steps (and so needs a RequestPipeline).
bool needs_pipeline(const config::Route& route);

class RequestPipeline final : public gateway::Handler, public auth::AuthWaiter {
 public:
  RequestPipeline(gateway::Downstream& ds, gateway::RequestContext& ctx, auth::WorkerAuth& auth, net::EventLoop& loop,
                  TerminalFactory& terminals);
  ~RequestPipeline() override;

  void start() override;
  void on_request_body(std::string_view data, bool end) override;
  void on_downstream_writable() override;
  void on_downstream_abort() override;
  void on_keys_updated() override;

 private:
  void authenticate();
  void start_terminal();
  void on_wait_timeout();

  gateway::Downstream& ds_;
  gateway::RequestContext& ctx_;
  auth::WorkerAuth& auth_;
  TerminalFactory& terminals_;
  net::Timer wait_timer_;  // bounds the wait for signing keys
  std::unique_ptr<gateway::Handler> terminal_;
  bool waiting_ = false;
  int waiting_method_ = -1;  // the auth method whose keys are awaited
  bool done_ = false;
};

}  // namespace portico::server
