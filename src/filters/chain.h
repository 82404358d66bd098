// A request's way through its route's filters to the terminal and back:
//
//   connection -> FilterChain::start -> filter 1 .. filter n (request side, outside in;
//   each continues, answers, or pauses and is resumed later) -> terminal (proxy,
//   function, respond, echo) -> [response side: filter n .. filter 1 see the head, and
//   the body when one of them asked for it] -> connection.
//
// The chain is the connection's handler. Toward the terminal it is the terminal's
// Downstream only when some filter works on the response; otherwise the terminal
// writes to the connection directly and the response streams as without filters.
// Routes without filters skip the chain altogether (the worker makes their terminal).
#pragma once

#include <array>
#include <memory>
#include <string>

#include "filters/filter.h"
#include "filters/registry.h"
#include "gateway/context.h"
#include "gateway/handler.h"

namespace portico::filters {

class TerminalFactory {
 public:
  virtual ~TerminalFactory() = default;
  virtual std::unique_ptr<gateway::Handler> make_terminal(gateway::Downstream& ds,
                                                          gateway::RequestContext& ctx) = 0;
};

class FilterChain final : public gateway::Handler,
                          public gateway::Downstream,
                          public FilterControl {
 public:
  // route: the chain of ctx.route, in the snapshot ctx pins (so it outlives the request).
  FilterChain(gateway::Downstream& ds, gateway::RequestContext& ctx, const RouteChain& route,
              const WorkerServices& services, TerminalFactory& terminals);
  ~FilterChain() override;

  // gateway::Handler (driven by the connection)
  void start() override;
  void on_request_body(std::string_view data, bool end) override;
  void on_downstream_writable() override;
  void on_downstream_abort() override;

  // FilterControl (used by the filters)
  gateway::RequestContext& context() override { return ctx_; }
  void resume() override;
  void refuse(int status, std::string_view message, std::string_view extra_headers) override;
  void respond_json(int status, std::string body, std::string_view extra_headers) override;
  void read_body() override;

  // gateway::Downstream (the terminal's, when the route's filters work on the response)
  void want_body(bool want) override;
  std::string& begin_response(int status, std::string_view reason) override;
  void end_response_head(gateway::BodyMode mode, uint64_t length, bool has_date) override;
  bool send_body(std::string_view data) override;
  void finish() override;
  void abort() override;
  bool response_started() const override { return response_started_; }
  void send_error(int status, std::string_view message, std::string_view extra_headers) override;

 private:
  void run();            // from the next filter on, until one stops or the terminal starts
  void before_answer();  // the request side is over
  void start_terminal();
  void send_head();  // the (filtered) head to the connection

  gateway::Downstream& ds_;
  gateway::RequestContext& ctx_;
  const RouteChain& route_;
  const WorkerServices& services_;
  TerminalFactory& terminals_;
  // Made as the request reaches them (no allocation for the list itself).
  std::array<std::unique_ptr<Filter>, kMaxFilters> filters_;
  size_t made_ = 0;
  std::unique_ptr<gateway::Handler> terminal_;
  void deliver_body();
  // The request body read for a filter (read_body), then handed to the terminal.
  std::string request_body_;
  bool reading_body_ = false;
  bool body_read_ = false;
  bool body_delivered_ = false;
  std::shared_ptr<bool> alive_;  // expires with the chain: guards the deferred delivery
  bool request_done_ = false;    // answered, or handed to the terminal
  bool running_ = false;         // inside run()

  // The response, held back for the filters (only when route_.wants_response).
  ResponseHead head_;
  std::string body_;  // the whole body (route_.wants_response_body)
  static constexpr size_t kMaxHeldBody = 16 << 20;
  bool body_too_large_ = false;
  bool response_started_ = false;
  bool response_done_ = false;
};

}  // namespace portico::filters
