// The AWS Lambda Runtime API (2018-06-01) as a runtime process sees it: one loopback
// listener per instance, so every connection is known to belong to its instance
// (AWS_LAMBDA_RUNTIME_API names the listener's address). A connection parses the
// runtime's requests (next, response, error, init/error), hands them to its
// RuntimeApiHandler, and carries the answers: an invocation for a parked `next`, or a
// status with a small JSON body. Runtimes do not pipeline, so one request is
// outstanding per connection at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "http/body_reader.h"
#include "http/parser.h"
#include "net/event_loop.h"
#include "net/output_buffer.h"

namespace portico::functions {

// Lambda's limit for a synchronous response (and request) payload: 6 MB.
inline constexpr uint64_t kMaxPayloadBytes = 6 * 1024 * 1024;
// Lambda's limit for a streamed response (Lambda-Runtime-Function-Response-Mode: streaming).
inline constexpr uint64_t kMaxStreamedBytes = 20 * 1024 * 1024;

class RuntimeConnection;

// What an instance does with its runtime's requests. Each call must answer the
// connection (reply or send_invocation), at once or later (a parked `next`).
class RuntimeApiHandler {
 public:
  virtual ~RuntimeApiHandler() = default;
  virtual void on_next(RuntimeConnection& c) = 0;
  virtual void on_response(RuntimeConnection& c, std::string_view request_id, std::string body) = 0;
  // error_type: the Lambda-Runtime-Function-Error-Type header (may be empty).
  virtual void on_error(RuntimeConnection& c, std::string_view request_id, std::string body,
                        std::string_view error_type) = 0;
  virtual void on_init_error(RuntimeConnection& c, std::string body,
                             std::string_view error_type) = 0;
  // A streamed response (Lambda-Runtime-Function-Response-Mode: streaming, chunked):
  // its start (false: no such invocation; the connection answers 400 and closes), each
  // piece as it arrives, and its end with the error trailers
  // (Lambda-Runtime-Function-Error-Type, and -Body: base64 of the error document) when
  // the function failed part way. on_stream_end must answer the connection.
  virtual bool on_stream_start(RuntimeConnection& c, std::string_view request_id,
                               std::string_view content_type) = 0;
  virtual void on_stream_data(std::string_view data) = 0;
  virtual void on_stream_end(RuntimeConnection& c, std::string_view error_type,
                             std::string_view error_body) = 0;
  // A response or error payload over kMaxPayloadBytes: the invocation fails. The
  // connection answers 413 itself and closes.
  virtual void on_oversized(RuntimeConnection& c, std::string_view request_id) = 0;
  // The connection is going away (the runtime closed it or broke the protocol).
  virtual void on_closed(RuntimeConnection& c) = 0;
};

struct InvocationHead {
  std::string_view request_id;
  int64_t deadline_ms = 0;  // wall clock, milliseconds since the epoch
  std::string_view function_arn;
  std::string_view trace_id;
  std::string_view client_context;    // JSON (the Invoke API sends it base64: decoded); empty when absent
  std::string_view cognito_identity;  // JSON; empty when absent
};

class RuntimeConnection final : public net::IoHandler {
 public:
  RuntimeConnection(net::EventLoop& loop, int fd, RuntimeApiHandler& handler);
  ~RuntimeConnection() override;

  void on_io(uint32_t events) override;

  // Answers the parked `next` with an invocation.
  void send_invocation(const InvocationHead& head, std::string_view event);
  // Answers the current request with a status and a JSON body.
  void reply(int status, std::string_view json_body);
  // Closes now (the instance is gone); no callback follows.
  void close();

 private:
  void read_some();
  void process();   // parses and dispatches what the buffer holds
  bool dispatch();  // false: the connection was closed
  bool start_stream();  // the head of a streamed response: false if refused (closed)
  uint64_t body_limit() const { return streaming_ ? kMaxStreamedBytes : kMaxPayloadBytes; }
  void write_out();
  void fail(int status, std::string_view type, std::string_view message);
  void oversized();

  net::EventLoop& loop_;
  int fd_;
  RuntimeApiHandler* handler_;
  std::string in_;          // bytes not parsed yet
  std::string head_bytes_;  // the current request's head (head_ points into it)
  net::OutputBuffer out_;
  http::RequestHead head_;
  http::BodyReader body_reader_;
  std::string body_;
  std::string trailers_;    // a streamed response's trailer section
  uint64_t body_bytes_ = 0;
  bool streaming_ = false;  // the current request is a streamed response
  bool have_head_ = false;
  bool awaiting_answer_ = false;  // a request was handed over and not answered yet
  bool close_after_write_ = false;
  bool closed_ = false;
};

// Accepts the runtime's connections on a loopback port of its own.
class RuntimeListener final : public net::IoHandler {
 public:
  using OnAccept = std::function<void(int fd)>;
  // Binds 127.0.0.1 on an ephemeral port; fd() < 0 (and error()) on failure.
  RuntimeListener(net::EventLoop& loop, OnAccept on_accept);
  ~RuntimeListener() override;
  void on_io(uint32_t events) override;
  int fd() const { return fd_; }
  uint16_t port() const { return port_; }
  const std::string& error() const { return error_; }

 private:
  net::EventLoop& loop_;
  OnAccept on_accept_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::string error_;
};

}  // namespace portico::functions
