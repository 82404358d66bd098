#include "client/http_client.h"

#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "client/tls.h"

namespace portico::client {
namespace {
constexpr http::ParseLimits kResponseLimits{8 * 1024, 64 * 1024, 200};
constexpr size_t kReadBuffer = 64 * 1024;
}  // namespace

HttpClient* HttpClient::start(net::EventLoop& loop, Request request, Callbacks callbacks) {
  auto* c = new HttpClient(loop, std::move(request), std::move(callbacks));
  c->begin();
  return c;
}

HttpClient::HttpClient(net::EventLoop& loop, Request request, Callbacks callbacks)
    : loop_(loop),
      request_(std::move(request)),
      callbacks_(std::move(callbacks)),
      timer_(loop, [this] { fail(fmt::format("no response within {} ms", request_.timeout_ms)); }) {}

HttpClient::~HttpClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (fd_ >= 0) ::close(fd_);
}

void HttpClient::begin() {
  std::string& out = out_;
  out = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: portico\r\nConnection: close\r\n", request_.method,
                    request_.target, request_.host);
  if (!request_.body.empty() || request_.method == "POST" || request_.method == "PUT") {
    if (!request_.content_type.empty()) out += fmt::format("Content-Type: {}\r\n", request_.content_type);
    out += fmt::format("Content-Length: {}\r\n", request_.body.size());
  }
  out += "\r\n";
  out += request_.body;
  timer_.arm_after_ms(request_.timeout_ms);
  auto fd = net::connect_tcp(request_.address);
  if (!fd) {
    // Reported from the loop, never before start() returns.
    std::string error = fd.error().message;
    loop_.defer([this, error] { fail(error); });
    return;
  }
  fd_ = *fd;
  if (!loop_.watch(fd_, this)) {
    std::string error = strerror(errno);
    loop_.defer([this, error] { fail(error); });
  }
}

void HttpClient::cancel() {
  if (done_) return;
  done_ = true;
  release();
}

void HttpClient::release() {
  timer_.cancel();
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    loop_.unwatch(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  loop_.release(this);
}

void HttpClient::on_io(uint32_t events) {
  if (done_) return;
  if (connecting_) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    if (int err = net::connect_result(fd_); err != 0) {
      fail(fmt::format("cannot connect: {}", strerror(err)));
      return;
    }
    connecting_ = false;
    if (request_.tls && !start_tls()) return;
  }
  // Edge-triggered: every step is retried on any event until it would block.
  if (handshaking_ && !handshake()) return;
  if (out_pos_ < out_.size() && !write_request()) return;
  read();
}

bool HttpClient::start_tls() {
  auto ctx = tls_context(request_.ca_file);
  if (!ctx) {
    fail(ctx.error().message);
    return false;
  }
  ssl_ = SSL_new(*ctx);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1 ||
      SSL_set_tlsext_host_name(ssl_, request_.server_name.c_str()) != 1 ||
      SSL_set1_host(ssl_, request_.server_name.c_str()) != 1) {
    fail("cannot set up TLS");
    return false;
  }
  SSL_set_connect_state(ssl_);
  handshaking_ = true;
  return true;
}

// True when the handshake is done; false while it waits for the socket, or failed.
bool HttpClient::handshake() {
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    handshaking_ = false;
    return true;
  }
  int err = SSL_get_error(ssl_, rc);
  if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) fail("TLS handshake failed: " + tls_error(ssl_, rc));
  return false;
}

// True when the whole request has been sent; false while it waits, or failed.
bool HttpClient::write_request() {
  while (out_pos_ < out_.size()) {
    const char* data = out_.data() + out_pos_;
    size_t size = out_.size() - out_pos_;
    ssize_t n;
    if (ssl_ != nullptr) {
      int rc = SSL_write(ssl_, data, static_cast<int>(size));
      if (rc <= 0) {
        int err = SSL_get_error(ssl_, rc);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return false;
        fail("connection lost while sending the request: " + tls_error(ssl_, rc));
        return false;
      }
      n = rc;
    } else {
      n = ::send(fd_, data, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
      if (n < 0) {
        fail("connection lost while sending the request");
        return false;
      }
    }
    out_pos_ += static_cast<size_t>(n);
  }
  return true;
}

ssize_t HttpClient::receive(char* data, size_t size) {
  if (ssl_ == nullptr) {
    while (true) {
      ssize_t n = ::recv(fd_, data, size, 0);
      if (n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK) return n;
      if (errno == EINTR) continue;
      error_ = fmt::format("connection reset: {}", strerror(errno));
      errno = ECONNRESET;
      return -1;
    }
  }
  int rc = SSL_read(ssl_, data, static_cast<int>(size));
  if (rc > 0) return rc;
  int err = SSL_get_error(ssl_, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (err == SSL_ERROR_ZERO_RETURN) return 0;
  // A peer that closes without close_notify: the end, if the body was delimited.
  if (err == SSL_ERROR_SYSCALL && SSL_get_verify_result(ssl_) == X509_V_OK) return 0;
  error_ = tls_error(ssl_, rc);
  errno = ECONNRESET;
  return -1;
}

void HttpClient::read() {
  while (!done_) {
    if (!in_.prepare(4096, head_done_ ? kReadBuffer : kResponseLimits.max_header_bytes + 8192)) {
      fail("response head too large");
      return;
    }
    ssize_t n = receive(in_.write_ptr(), in_.writable());
    bool eof = n == 0;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      fail(error_);
      return;
    }
    if (n > 0) in_.commit(static_cast<size_t>(n));
    // Parse what is buffered.
    while (!done_) {
      if (!head_done_) {
        http::ParseError err;
        auto r = http::parse_response(in_.readable(), kResponseLimits, request_.method == "HEAD", head_, err);
        if (r == http::ParseResult::kIncomplete) break;
        if (r == http::ParseResult::kError) {
          fail(fmt::format("invalid response: {}", err.message));
          return;
        }
        in_.consume(head_.head_size);
        if (head_.status < 200) continue;
        head_done_ = true;
        response_.status = head_.status;
        bool no_body = request_.method == "HEAD" || head_.status == 204 || head_.status == 304;
        body_.reset(no_body ? http::Framing::kNone : head_.framing, head_.content_length);
        if (request_.stream) {
          timer_.cancel();  // a stream may stay quiet for as long as it likes
          if (callbacks_.on_head) callbacks_.on_head(head_.status);
          if (done_) return;
        }
      }
      size_t pos = 0;
      std::string_view piece;
      auto step = body_.next(in_.readable(), pos, piece);
      if (step == http::BodyReader::Step::kData) {
        if (request_.stream) {
          // A cancel() inside the callback only marks the client done; it is freed
          // after this event, so the piece stays valid for the call.
          if (callbacks_.on_body) callbacks_.on_body(piece);
          in_.consume(pos);
          if (done_) return;
        } else {
          if (response_.body.size() + piece.size() > request_.max_body) {
            fail(fmt::format("response body larger than {} bytes", request_.max_body));
            return;
          }
          response_.body.append(piece);
          in_.consume(pos);
        }
        continue;
      }
      in_.consume(pos);
      if (step == http::BodyReader::Step::kDone) {
        finish();
        return;
      }
      if (step == http::BodyReader::Step::kError) {
        fail(fmt::format("invalid chunked body: {}", body_.error()));
        return;
      }
      break;  // need more
    }
    if (eof) {
      if (head_done_ && body_.complete_at_eof()) finish();
      else fail(head_done_ ? "connection closed mid-body" : "connection closed before a response");
      return;
    }
    // Read on until EAGAIN: a FIN that came with the data brings no further event.
  }
}

void HttpClient::finish() {
  if (done_) return;
  done_ = true;
  auto on_done = std::move(callbacks_.on_done);
  Response response = std::move(response_);
  release();
  if (on_done) on_done(true, std::move(response), {});
}

void HttpClient::fail(std::string error) {
  if (done_) return;
  done_ = true;
  auto on_done = std::move(callbacks_.on_done);
  release();
  if (on_done) on_done(false, {}, std::move(error));
}

}  // namespace portico::client
