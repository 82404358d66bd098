// Requests Portico makes itself: active health checks, the etcd API (and later remote
// JWKS). One request per connection, HTTP/1.1, asynchronous on an event loop. Not for
// proxied traffic, which goes through the pooled upstream connections.
//
// Ownership: the caller owns the client until its on_done runs; after on_done the
// client frees itself. cancel() ends it early (no callback) and frees it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/buffer.h"
#include "http/body_reader.h"
#include "http/parser.h"
#include "net/event_loop.h"
#include "net/socket.h"

typedef struct ssl_st SSL;

namespace portico::client {

struct Request {
  net::Address address;
  std::string host;  // Host header
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::string content_type;  // sent with a body
  int64_t timeout_ms = 5'000;  // to the whole response, or to the head when streaming
  uint64_t max_body = 1 << 20;  // collected bodies larger than this fail the request
  bool stream = false;          // body pieces go to on_body as they come; no size limit
  // TLS (https): the server's certificate must chain to ca_file (PEM; empty: the system's
  // trust store) and name server_name, which is also sent as SNI.
  bool tls = false;
  std::string server_name;
  std::string ca_file;
};

struct Response {
  int status = 0;
  std::string body;  // collected (not streaming)
};

class HttpClient final : public net::IoHandler {
 public:
  struct Callbacks {
    // Streaming only: each body piece as it arrives (after on_head).
    std::function<void(int status)> on_head;
    std::function<void(std::string_view piece)> on_body;
    // Always called once, last: the response, or an error message.
    std::function<void(bool ok, Response response, std::string error)> on_done;
  };

  // Starts a request; the client reports through callbacks (possibly before returning
  // when the connect fails at once). Returns the client so it can be cancelled.
  static HttpClient* start(net::EventLoop& loop, Request request, Callbacks callbacks);
  void cancel();

  void on_io(uint32_t events) override;

 private:
  HttpClient(net::EventLoop& loop, Request request, Callbacks callbacks);
  ~HttpClient() override;
  void begin();
  bool start_tls();
  bool handshake();
  bool write_request();
  // recv/send, in the clear or through TLS: bytes, 0 at the end, -1 with errno EAGAIN
  // when the socket has nothing (more) for now, -1 with error_ set on failure.
  ssize_t receive(char* data, size_t size);
  void read();
  void fail(std::string error);
  void finish();
  void release();

  net::EventLoop& loop_;
  Request request_;
  Callbacks callbacks_;
  net::Timer timer_;
  int fd_ = -1;
  bool connecting_ = true;
  bool handshaking_ = false;
  bool done_ = false;
  SSL* ssl_ = nullptr;
  std::string error_;
  Buffer in_;
  std::string out_;
  size_t out_pos_ = 0;
  http::ResponseHead head_;
  bool head_done_ = false;
  http::BodyReader body_;
  Response response_;
};

}  // namespace portico::client
