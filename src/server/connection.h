// One client connection: reads and parses requests (keep-alive, pipelining), streams
// request bodies to the handler that answers, frames and writes responses, and enforces
// the limits and timeouts of the config it runs under. Lives on one worker's loop.
//
// Life of a request here: read -> parse head -> start_request (route, limits, handler)
// -> body pieces to the handler as it asks -> response through the Downstream calls ->
// finish_request (metrics, access log) -> next pipelined request or idle keep-alive.
#pragma once

#include <netinet/in.h>

#include <memory>
#include <string>

#include "core/buffer.h"
#include "gateway/context.h"
#include "gateway/handler.h"
#include "gateway/snapshot.h"
#include "gateway/stats.h"
#include "http/chunked.h"
#include "http/parser.h"
#include "net/event_loop.h"
#include "net/ip_range.h"
#include "net/output_buffer.h"

namespace portico::server {

class Connection;

// Decides what answers each request; implemented by the gateway worker and by admin.
class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  virtual const std::shared_ptr<const gateway::Snapshot>& current_snapshot() = 0;
  // Routes ctx (ctx.snapshot is pinned) and returns the handler to start, or nullptr
  // after answering itself through ds (404, 405, ...).
  virtual std::unique_ptr<gateway::Handler> dispatch(gateway::Downstream& ds, gateway::RequestContext& ctx) = 0;
  // The request is over (answered, or the client left): metrics and access log.
  virtual void request_done(const gateway::RequestContext& ctx) = 0;
  // This thread's server-wide counters.
  virtual gateway::ServerCounters& counters() = 0;
  // Connection bookkeeping, for graceful shutdown.
  virtual void connection_opened(Connection* c) = 0;
  virtual void connection_closed(Connection* c) = 0;
};

class Connection final : public net::IoHandler, public net::Flushable, public gateway::Downstream {
 public:
  Connection(net::EventLoop& loop, int fd, const sockaddr_storage& peer, Dispatcher& dispatcher);
  ~Connection() override;

  void start();
  // Graceful shutdown: close now if idle, else after the current response.
  void drain();
  // Shutdown deadline passed: close at once, whatever is in flight.
  void close_now_for_shutdown() { close_now(); }

  // net::IoHandler / net::Flushable
  void on_io(uint32_t events) override;
  void flush() override;

  // gateway::Downstream
  void want_body(bool want) override;
  std::string& begin_response(int status, std::string_view reason) override;
  void end_response_head(gateway::BodyMode mode, uint64_t length, bool has_date) override;
  bool send_body(std::string_view data) override;
  void finish() override;
  void abort() override;
  bool response_started() const override { return response_started_; }
  void send_error(int status, std::string_view message, std::string_view extra_headers) override;

  // Intrusive list hooks for the owner's connection set.
  Connection* prev = nullptr;
  Connection* next = nullptr;

 private:
  enum class State : uint8_t {
    kReadingHead,
    kHandling,
    kClosing,    // flushing the last response
    kLingering,  // write side shut, discarding what the client still sends (RFC 9112 9.6)
    kClosed,
  };

  void process();
  void step();
  size_t fill();
  void start_request();
  void set_client_address();  // the peer, or the client a trusted proxy reports
  void feed_body();
  void finish_request();
  bool discard_rest_of_body();
  void reject(int status, std::string_view message);  // error before/without a handler
  void close_after_flush();
  void linger_or_close();
  void drop_handler();
  void schedule_process();
  void schedule_close();
  void close_now();
  void on_read_timeout();
  void on_write_timeout();
  void deliver_body(std::string_view data, bool end);
  bool body_over_limit(uint64_t more);
  const config::Server& settings() { return dispatcher_.current_snapshot()->config->server; }

  net::EventLoop& loop_;
  int fd_;
  Dispatcher& dispatcher_;
  State state_ = State::kReadingHead;

  Buffer in_;
  net::OutputBuffer out_;

  http::RequestHead head_;
  std::string head_copy_;  // the head's bytes, stable while the body streams through in_
  std::string path_scratch_;
  gateway::RequestContext ctx_;
  std::unique_ptr<gateway::Handler> handler_;

  // request body
  http::ChunkedDecoder chunked_;
  uint64_t body_remaining_ = 0;  // for Content-Length bodies
  uint64_t max_body_ = 0;
  uint64_t body_received_ = 0;
  bool body_wanted_ = false;
  bool body_finished_ = true;  // the handler has seen the end of the body

  // response
  gateway::BodyMode mode_ = gateway::BodyMode::kNone;
  bool response_started_ = false;
  bool response_done_ = false;
  bool chunked_out_ = false;
  bool continue_sent_ = false;
  bool head_request_ = false;
  bool keep_alive_ = true;
  bool waiting_writable_ = false;

  // socket and lifecycle
  bool readable_ = false;
  bool peer_closed_ = false;
  bool rdhup_ = false;
  bool reset_ = false;
  bool draining_ = false;
  bool in_process_ = false;
  bool reprocess_ = false;
  bool close_scheduled_ = false;
  int64_t head_start_ms_ = 0;

  net::Timer read_timer_;
  net::Timer write_timer_;
  char client_ip_[48];  // the TCP peer's address
  size_t client_ip_len_ = 0;
  net::IpBytes peer_;
  char forwarded_ip_[48];  // the client behind a trusted proxy (server.trusted_proxies)
  size_t forwarded_ip_len_ = 0;
  char request_id_[128];
  size_t request_id_len_ = 0;
};

}  // namespace portico::server
