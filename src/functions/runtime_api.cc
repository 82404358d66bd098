#include "functions/runtime_api.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/strings.h"
#include "net/socket.h"

namespace portico::functions {
namespace {

constexpr std::string_view kPrefix = "/2018-06-01/runtime/";
// The largest head a runtime sends (its requests carry a handful of short headers).
constexpr size_t kMaxHeadBytes = 64 * 1024;

std::string_view reason_for(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Request Entity Too Large";
    default:
      return "Internal Server Error";
  }
}

}  // namespace

RuntimeConnection::RuntimeConnection(net::EventLoop& loop, int fd, RuntimeApiHandler& handler)
    : loop_(loop), fd_(fd), handler_(&handler) {
  net::set_nodelay(fd_);
  loop_.watch(fd_, this);
}

RuntimeConnection::~RuntimeConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void RuntimeConnection::close() {
  if (closed_) return;
  closed_ = true;
  handler_ = nullptr;
  loop_.unwatch(fd_);
  ::close(fd_);
  fd_ = -1;
  loop_.release(this);
}

void RuntimeConnection::on_io(uint32_t events) {
  if (closed_) return;
  if (events & EPOLLOUT) {
    write_out();
    if (closed_) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) read_some();
}

void RuntimeConnection::read_some() {
  char buf[16 * 1024];
  for (;;) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof buf) break;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // EOF or an error: the runtime is gone (or finished with this connection).
    RuntimeApiHandler* h = handler_;
    close();
    if (h != nullptr) h->on_closed(*this);
    return;
  }
  process();
}

void RuntimeConnection::process() {
  while (!closed_ && !awaiting_answer_) {
    if (!have_head_) {
      if (in_.empty()) return;
      http::ParseLimits limits;
      limits.max_header_bytes = kMaxHeadBytes;
      http::ParseError err;
      auto r = http::parse_request(in_, limits, head_, err);
      if (r == http::ParseResult::kIncomplete) return;
      if (r == http::ParseResult::kError) {
        fail(400, "InvalidRequest", err.message);
        return;
      }
      // The head moves to its own string, so the body can be read through in_.
      head_bytes_.assign(in_.data(), head_.head_size);
      http::rebase(head_, in_.data(), head_bytes_.data());
      in_.erase(0, head_.head_size);
      have_head_ = true;
      body_reader_.reset(head_.framing, head_.content_length);
      body_.clear();
      body_bytes_ = 0;
      if (!start_stream()) return;
      if (head_.framing == http::Framing::kLength && head_.content_length > body_limit()) {
        oversized();
        return;
      }
    }
    // The body: in full (the Runtime API's bodies are whole payloads), or handed on
    // piece by piece for a streamed response.
    size_t consumed = 0;
    for (;;) {
      std::string_view piece;
      auto step = body_reader_.next(in_, consumed, piece);
      if (step == http::BodyReader::Step::kData) {
        body_bytes_ += piece.size();
        if (body_bytes_ > body_limit()) {
          oversized();
          return;
        }
        if (streaming_) {
          if (handler_ != nullptr) handler_->on_stream_data(piece);
        } else {
          body_.append(piece);
        }
        continue;
      }
      if (step == http::BodyReader::Step::kError) {
        fail(400, "InvalidRequest", body_reader_.error());
        return;
      }
      in_.erase(0, consumed);
      if (step == http::BodyReader::Step::kNeedMore) return;
      break;  // kDone
    }
    have_head_ = false;
    if (streaming_) {
      streaming_ = false;
      body_reader_.capture_trailers(nullptr);
      close_after_write_ = !head_.keep_alive;
      awaiting_answer_ = true;
      handler_->on_stream_end(*this, http::find_trailer(trailers_, "lambda-runtime-function-error-type"),
                              http::find_trailer(trailers_, "lambda-runtime-function-error-body"));
      if (closed_) return;
      continue;
    }
    if (!dispatch()) return;
  }
}

bool RuntimeConnection::start_stream() {
  streaming_ = false;
  constexpr std::string_view kInvocation = "/2018-06-01/runtime/invocation/";
  std::string_view path = head_.path;
  const http::Header* mode =
      http::find_header(head_.headers, "lambda-runtime-function-response-mode");
  if (mode == nullptr || !iequals(mode->value, "streaming") || head_.method != "POST" ||
      path.substr(0, kInvocation.size()) != kInvocation || path.size() < 9 ||
      path.substr(path.size() - 9) != "/response") {
    return true;
  }
  std::string_view id = path.substr(kInvocation.size(), path.size() - 9 - kInvocation.size());
  const http::Header* type = http::find_header(head_.headers, "content-type");
  if (handler_ == nullptr ||
      !handler_->on_stream_start(*this, id, type != nullptr ? type->value : "application/octet-stream")) {
    fail(400, "InvalidRequestID", "no invocation with this request id is running");
    return false;
  }
  streaming_ = true;
  trailers_.clear();
  body_reader_.capture_trailers(&trailers_);
  return true;
}

// A payload over Lambda's limit: the invocation fails with Lambda's error and the
// runtime gets a 413 on a connection that is then closed (the rest of the body is
// not read).
void RuntimeConnection::oversized() {
  std::string_view path = head_.path;
  constexpr std::string_view kInvocation = "/2018-06-01/runtime/invocation/";
  if (path.substr(0, kInvocation.size()) == kInvocation && handler_ != nullptr) {
    std::string_view tail = path.substr(kInvocation.size());
    handler_->on_oversized(*this, tail.substr(0, tail.find('/')));
  }
  fail(413, "RequestEntityTooLarge",
       fmt::format("the payload is over Lambda's limit of {} bytes",
                   body_limit()));
}

bool RuntimeConnection::dispatch() {
  std::string_view path = head_.path;
  std::string_view method = head_.method;
  close_after_write_ = !head_.keep_alive;
  awaiting_answer_ = true;
  if (path.substr(0, kPrefix.size()) != kPrefix) {
    reply(404, R"({"errorMessage":"unknown Runtime API path","errorType":"InvalidRequest"})");
    return !closed_;
  }
  std::string_view rest = path.substr(kPrefix.size());
  const http::Header* type_header =
      http::find_header(head_.headers, "lambda-runtime-function-error-type");
  std::string_view error_type = type_header != nullptr ? type_header->value : std::string_view();
  if (rest == "invocation/next") {
    if (method != "GET") {
      reply(405, R"({"errorMessage":"use GET","errorType":"InvalidRequest"})");
    } else {
      handler_->on_next(*this);
    }
  } else if (rest == "init/error") {
    if (method != "POST")
      reply(405, R"({"errorMessage":"use POST","errorType":"InvalidRequest"})");
    else
      handler_->on_init_error(*this, std::move(body_), error_type);
  } else if (rest.substr(0, 11) == "invocation/") {
    std::string_view tail = rest.substr(11);
    size_t slash = tail.find('/');
    std::string_view id = tail.substr(0, slash);
    std::string_view what =
        slash == std::string_view::npos ? std::string_view() : tail.substr(slash + 1);
    if (method != "POST") {
      reply(405, R"({"errorMessage":"use POST","errorType":"InvalidRequest"})");
    } else if (what == "response") {
      handler_->on_response(*this, id, std::move(body_));
    } else if (what == "error") {
      handler_->on_error(*this, id, std::move(body_), error_type);
    } else {
      reply(404, R"({"errorMessage":"unknown Runtime API path","errorType":"InvalidRequest"})");
    }
  } else {
    reply(404, R"({"errorMessage":"unknown Runtime API path","errorType":"InvalidRequest"})");
  }
  return !closed_;
}

void RuntimeConnection::send_invocation(const InvocationHead& h, std::string_view event) {
  if (closed_) return;
  std::string& o = out_.data();
  // Content-Type must be exactly application/json: the clients built on aws-lambda-cpp
  // (Node's, Python's) crash without it, and Python decodes the event only for it.
  o += "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: ";
  o += h.request_id;
  o += "\r\nLambda-Runtime-Deadline-Ms: ";
  append_decimal(o, h.deadline_ms);
  o += "\r\nLambda-Runtime-Invoked-Function-Arn: ";
  o += h.function_arn;
  o += "\r\nLambda-Runtime-Trace-Id: ";
  o += h.trace_id;
  if (!h.client_context.empty()) {
    o += "\r\nLambda-Runtime-Client-Context: ";
    o += h.client_context;
  }
  if (!h.cognito_identity.empty()) {
    o += "\r\nLambda-Runtime-Cognito-Identity: ";
    o += h.cognito_identity;
  }
  o += "\r\nContent-Length: ";
  append_decimal(o, static_cast<int64_t>(event.size()));
  o += "\r\n\r\n";
  iovec piece{const_cast<char*>(event.data()), event.size()};
  awaiting_answer_ = false;
  auto st = out_.write(fd_, &piece, 1);
  if (st == net::OutputBuffer::Status::kError) {
    RuntimeApiHandler* hd = handler_;
    close();
    if (hd != nullptr) hd->on_closed(*this);
    return;
  }
  if (st == net::OutputBuffer::Status::kDone && close_after_write_) {
    RuntimeApiHandler* hd = handler_;
    close();
    if (hd != nullptr) hd->on_closed(*this);
    return;
  }
  loop_.defer([this] { process(); });
}

void RuntimeConnection::reply(int status, std::string_view json_body) {
  if (closed_) return;
  std::string& o = out_.data();
  fmt::format_to(std::back_inserter(o),
                 "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
                 status, reason_for(status), json_body.size(),
                 close_after_write_ ? "Connection: close\r\n" : "");
  o += json_body;
  awaiting_answer_ = false;
  write_out();
  if (!closed_)
    loop_.defer([this] {
      if (!closed_) process();
    });
}

void RuntimeConnection::write_out() {
  auto st = out_.flush(fd_);
  if (st == net::OutputBuffer::Status::kError ||
      (st == net::OutputBuffer::Status::kDone && close_after_write_)) {
    RuntimeApiHandler* h = handler_;
    close();
    if (h != nullptr) h->on_closed(*this);
  }
}

void RuntimeConnection::fail(int status, std::string_view type, std::string_view message) {
  close_after_write_ = true;
  awaiting_answer_ = true;
  reply(status, fmt::format(R"({{"errorMessage":{},"errorType":{}}})", json_quote(message),
                            json_quote(type)));
}

RuntimeListener::RuntimeListener(net::EventLoop& loop, OnAccept on_accept)
    : loop_(loop), on_accept_(std::move(on_accept)) {
  auto addr = net::parse_address("127.0.0.1:0", false);
  auto fd = net::listen_tcp(*addr, false, 64);
  if (!fd) {
    error_ = fd.error().message;
    return;
  }
  fd_ = *fd;
  port_ = net::local_address(fd_).port();
  loop_.watch(fd_, this, EPOLLIN | EPOLLET);
}

RuntimeListener::~RuntimeListener() {
  if (fd_ >= 0) {
    loop_.unwatch(fd_);
    ::close(fd_);
  }
}

void RuntimeListener::on_io(uint32_t) {
  for (;;) {
    int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      on_accept_(fd);
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    return;  // EAGAIN, or out of descriptors (the runtime retries its connect)
  }
}

}  // namespace portico::functions
