// The contract between a downstream HTTP connection and whatever answers a request
// (a route's terminal: proxy, built-in response, echo, admin page).
//
// The connection owns the handler and drives it: start(), then request body pieces
// when the handler asked for them, then writability and abort notices. The handler
// answers through Downstream. All calls happen on the connection's worker thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace portico::gateway {

enum class BodyMode : uint8_t {
  kNone,    // no body follows; no framing header is added (HEAD, 1xx, 204, 304 answers)
  kLength,  // exactly `length` bytes follow; Content-Length is added
  kStream,  // length unknown; chunked for HTTP/1.1 clients, close-delimited for HTTP/1.0
};

class Downstream {
 public:
  virtual ~Downstream() = default;

  // --- request body ---
  // Asks for (true) or pauses (false) request body delivery through
  // Handler::on_request_body. The first request sends "100 Continue" if the client
  // expects it. Requests without a body get on_request_body("", true) at once.
  virtual void want_body(bool want) = 0;

  // --- response ---
  // Starts the response: writes the status line and returns the buffer the handler
  // appends its header lines to ("Name: value\r\n" each). reason may be empty.
  virtual std::string& begin_response(int status, std::string_view reason = {}) = 0;
  // Adds framing, X-Request-Id, Connection and (unless has_date) Date headers, and the
  // blank line. A proxied response keeps the origin's Date (RFC 9110 6.6.1).
  virtual void end_response_head(BodyMode mode, uint64_t length = 0, bool has_date = false) = 0;
  // Body bytes, copied or written before returning. Returns false when the client is
  // not keeping up: stop and wait for Handler::on_downstream_writable.
  virtual bool send_body(std::string_view data) = 0;
  // The response is complete.
  virtual void finish() = 0;
  // The response cannot be completed (e.g. upstream died mid-body): the connection is
  // closed so the client sees a truncated message rather than a wrong one.
  virtual void abort() = 0;
  virtual bool response_started() const = 0;

  // A complete JSON error response: {"error": message, "request_id": ...}.
  // extra_headers: preformatted lines ("Allow: GET\r\n"), may be empty.
  virtual void send_error(int status, std::string_view message, std::string_view extra_headers = {}) = 0;
};

// The body of Portico's own error answers: {"error": message, "request_id": id} and a
// newline. One shape for every refusal, whoever sends it.
std::string error_body(std::string_view message, std::string_view request_id);

// That answer, whole, through ds (whose response has not started): the way every
// Downstream implements send_error.
void write_error(Downstream& ds, int status, std::string_view message, std::string_view request_id,
                 std::string_view extra_headers);
// A whole JSON response through ds (whose response has not started).
void write_json(Downstream& ds, int status, std::string_view body, std::string_view extra_headers);

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void start() = 0;
  // data is only valid during the call. end marks the last piece (data may be empty).
  virtual void on_request_body(std::string_view data, bool end) = 0;
  virtual void on_downstream_writable() {}
  // The client went away: release everything now; the handler is destroyed afterwards.
  virtual void on_downstream_abort() = 0;
};

}  // namespace portico::gateway
