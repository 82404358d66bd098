#include "server/connection.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/random.h"
#include "core/strings.h"
#include "gateway/client_address.h"
#include "gateway/stats.h"
#include "http/path.h"
#include "http/status.h"
#include "net/socket.h"

namespace portico::server {
namespace {

constexpr size_t kSmallWrite = 16 * 1024;  // smaller bodies are copied and sent in one batch
constexpr size_t kHighWater = 64 * 1024;   // more unsent output than this pauses the handler
constexpr int64_t kLingerMs = 2000;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

bool valid_request_id(std::string_view v) {
  if (v.empty() || v.size() > 128) return false;
  for (char c : v) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

Connection::Connection(net::EventLoop& loop, int fd, const sockaddr_storage& peer, Dispatcher& dispatcher)
    : loop_(loop),
      fd_(fd),
      dispatcher_(dispatcher),
      read_timer_(loop, [this] { on_read_timeout(); }),
      write_timer_(loop, [this] { on_write_timeout(); }) {
  client_ip_len_ = net::format_ip(peer, client_ip_, sizeof client_ip_);
  if (auto ip = net::ip_of(peer)) peer_ = *ip;
}

void Connection::set_client_address() {
  ctx_.peer_ip = {client_ip_, client_ip_len_};
  ctx_.client_ip = ctx_.peer_ip;
  const auto& trusted = ctx_.snapshot->config->server.trusted_proxies;
  if (trusted.empty() || head_.headers.empty()) return;
  net::IpBytes client = gateway::client_address(peer_, trusted, head_);
  if (client.size == peer_.size && memcmp(client.bytes, peer_.bytes, peer_.size) == 0) return;
  forwarded_ip_len_ = net::format_ip(client, forwarded_ip_, sizeof forwarded_ip_);
  ctx_.client_ip = {forwarded_ip_, forwarded_ip_len_};
}

Connection::~Connection() {
  if (state_ != State::kClosed) ::close(fd_);
}

void Connection::start() {
  dispatcher_.connection_opened(this);
  if (!loop_.watch(fd_, this)) {
    close_now();
    return;
  }
  read_timer_.arm_after_ms(settings().timeouts.header_ms);
}

// ---- events ----

void Connection::on_io(uint32_t events) {
  if (state_ == State::kClosed || close_scheduled_) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readable_ = true;
  if (events & EPOLLRDHUP) rdhup_ = true;
  if ((events & (EPOLLHUP | EPOLLERR)) && state_ == State::kHandling && !body_wanted_) {
    // The client reset the connection while its request is served: stop the work now.
    reset_ = true;
    close_now();
    return;
  }
  if (events & EPOLLOUT) {
    if (!out_.empty()) flush();
    if (state_ == State::kClosed) return;
  }
  if (state_ == State::kLingering) {
    linger_or_close();
    return;
  }
  if (readable_) process();
}

void Connection::process() {
  if (in_process_) {
    reprocess_ = true;
    return;
  }
  in_process_ = true;
  do {
    reprocess_ = false;
    step();
  } while (reprocess_ && state_ != State::kClosed);
  in_process_ = false;
}

void Connection::schedule_process() {
  if (in_process_) {
    reprocess_ = true;
  } else {
    loop_.defer([this] { process(); });
  }
}

void Connection::schedule_close() {
  if (close_scheduled_ || state_ == State::kClosed) return;
  close_scheduled_ = true;
  loop_.defer([this] { close_now(); });
}

size_t Connection::fill() {
  if (!readable_ || peer_closed_ || reset_) return 0;
  size_t cap = state_ == State::kReadingHead ? settings().limits.header_bytes + 4096 : Buffer::kBlockSize;
  if (cap < Buffer::kBlockSize) cap = Buffer::kBlockSize;
  if (!in_.prepare(1024, std::max(cap, in_.capacity()))) return 0;
  while (true) {
    size_t room = in_.writable();
    ssize_t n = ::recv(fd_, in_.write_ptr(), room, 0);
    if (n > 0) {
      in_.commit(static_cast<size_t>(n));
      // A short read drained the socket (edge-triggered: the next data brings an event).
      if (static_cast<size_t>(n) < room) {
        readable_ = false;
        if (rdhup_) peer_closed_ = true;
      }
      return static_cast<size_t>(n);
    }
    if (n == 0) {
      peer_closed_ = true;
      readable_ = false;
      return 0;
    }
    if (errno == EINTR) continue;
    readable_ = false;
    if (errno != EAGAIN && errno != EWOULDBLOCK) reset_ = true;
    return 0;
  }
}

// ---- request cycle ----

void Connection::step() {
  while (true) {
    switch (state_) {
      case State::kReadingHead: {
        if (in_.empty()) {
          // Closing here must not drop answers still waiting for the end-of-iteration
          // flush (pipelined requests followed by the client's FIN).
          if (draining_) {
            close_after_flush();
            return;
          }
          fill();
          if (in_.empty()) {
            if (peer_closed_ || reset_) {
              if (reset_) close_now();
              else close_after_flush();
              return;
            }
            in_.release_if_empty();
            return;  // the keep-alive (or first-request) timer is running
          }
        }
        if (head_start_ms_ == 0) {
          // First byte of this request (or a pipelined one already buffered): the header
          // timeout runs from here and is not extended by later bytes.
          head_start_ms_ = loop_.now_ms();
          read_timer_.arm_at_ms(head_start_ms_ + settings().timeouts.header_ms);
        }
        const auto& lim = settings().limits;
        http::ParseLimits limits{lim.request_line, lim.header_bytes, lim.header_count};
        http::ParseError err;
        auto r = http::parse_request(in_.readable(), limits, head_, err);
        if (r == http::ParseResult::kIncomplete) {
          if (fill() > 0) continue;
          if (reset_) close_now();
          else if (peer_closed_) close_after_flush();  // the client gave up mid-head
          return;
        }
        if (r == http::ParseResult::kError) {
          reject(err.status, err.message);
          return;
        }
        start_request();
        continue;
      }
      case State::kHandling:
        if (body_wanted_ && !body_finished_) feed_body();
        if (state_ != State::kHandling) return;
        if (response_done_) {
          finish_request();
          continue;
        }
        return;
      case State::kClosing:
      case State::kLingering:
      case State::kClosed:
        return;
    }
  }
}

void Connection::start_request() {
  // Keep the head's bytes stable: the body streams through in_ behind it.
  head_copy_.assign(in_.read_ptr(), head_.head_size);
  http::rebase(head_, in_.read_ptr(), head_copy_.data());
  in_.consume(head_.head_size);
  read_timer_.cancel();
  head_start_ms_ = 0;

  ctx_.reset();
  ctx_.request = &head_;
  ctx_.start_ns = monotonic_ns();
  ctx_.snapshot = dispatcher_.current_snapshot();
  set_client_address();
  const http::Header* rid = http::find_header(head_.headers, http::HeaderId::kXRequestId);
  if (rid && valid_request_id(rid->value)) {
    request_id_len_ = rid->value.size();
    memcpy(request_id_, rid->value.data(), request_id_len_);
  } else {
    random_uuid(request_id_);
    request_id_len_ = 36;
  }
  ctx_.request_id = {request_id_, request_id_len_};
  dispatcher_.counters().requests.add();

  state_ = State::kHandling;
  response_started_ = response_done_ = false;
  mode_ = gateway::BodyMode::kNone;
  chunked_out_ = continue_sent_ = waiting_writable_ = false;
  head_request_ = head_.method == "HEAD";
  keep_alive_ = head_.keep_alive && !draining_;
  body_wanted_ = false;
  body_finished_ = false;
  body_remaining_ = head_.content_length;
  body_received_ = 0;
  chunked_.reset();

  if (const char* bad = http::normalize_path(head_.path, path_scratch_, ctx_.path)) {
    keep_alive_ = false;
    send_error(400, bad, {});
    return;
  }
  handler_ = dispatcher_.dispatch(*this, ctx_);
  if (!handler_) {
    if (!response_done_) send_error(500, "no handler for the request", {});
    return;
  }
  max_body_ = ctx_.route && ctx_.route->max_body ? *ctx_.route->max_body : settings().limits.body;
  if (head_.framing == http::Framing::kLength && head_.content_length > max_body_) {
    handler_.reset();
    keep_alive_ = false;
    send_error(413, fmt::format("request body of {} bytes exceeds the limit of {} bytes",
                                head_.content_length, max_body_), {});
    return;
  }
  handler_->start();
}

// ---- request body ----

void Connection::want_body(bool want) {
  if (state_ != State::kHandling || close_scheduled_ || response_done_) return;
  body_wanted_ = want;
  if (!want || body_finished_) return;
  if (head_.expect_continue && !continue_sent_ && !response_started_) {
    continue_sent_ = true;
    out_.append(kContinue);
    loop_.request_flush(this);
  }
  schedule_process();
}

void Connection::deliver_body(std::string_view data, bool end) {
  if (end) {
    body_finished_ = true;
    read_timer_.cancel();
  }
  ctx_.body_bytes_in += data.size();
  handler_->on_request_body(data, end);
}

bool Connection::body_over_limit(uint64_t more) {
  body_received_ += more;
  if (body_received_ <= max_body_) return false;
  ctx_.error = "request body too large";
  keep_alive_ = false;
  if (response_started_) {
    schedule_close();
  } else {
    drop_handler();
    send_error(413, fmt::format("request body exceeds the limit of {} bytes", max_body_), {});
  }
  return true;
}

void Connection::feed_body() {
  while (body_wanted_ && !body_finished_ && state_ == State::kHandling && !response_done_ && !close_scheduled_) {
    if (head_.framing == http::Framing::kNone) {
      deliver_body({}, true);
      return;
    }
    if (in_.empty() && fill() == 0 && in_.empty()) {
      if (reset_) {
        ctx_.error = "client reset the connection during the request body";
        close_now();
      } else if (peer_closed_) {
        // Abandon this request, but still deliver answers to earlier pipelined ones.
        ctx_.error = "client closed the connection during the request body";
        ctx_.status = 499;
        drop_handler();
        dispatcher_.request_done(ctx_);
        ctx_.reset();
        close_after_flush();
      } else {
        read_timer_.arm_after_ms(settings().timeouts.body_ms);
      }
      return;
    }
    std::string_view avail = in_.readable();
    if (head_.framing == http::Framing::kLength) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(avail.size(), body_remaining_));
      body_remaining_ -= take;
      deliver_body(avail.substr(0, take), body_remaining_ == 0);
      in_.consume(take);
      continue;
    }
    size_t pos = 0;
    std::string_view piece;
    switch (chunked_.next(avail, pos, piece)) {
      case http::ChunkedDecoder::Step::kData:
        if (body_over_limit(piece.size())) return;
        deliver_body(piece, false);
        in_.consume(pos);
        break;
      case http::ChunkedDecoder::Step::kNeedMore:
        in_.consume(pos);
        break;
      case http::ChunkedDecoder::Step::kDone:
        in_.consume(pos);
        deliver_body({}, true);
        break;
      case http::ChunkedDecoder::Step::kError:
        ctx_.error = std::string(chunked_.error());
        keep_alive_ = false;
        dispatcher_.counters().bad_requests.add();
        if (response_started_) {
          schedule_close();
        } else {
          drop_handler();
          send_error(400, chunked_.error(), {});
        }
        return;
    }
  }
}

// Consumes the rest of an unread request body if it is already buffered, so the
// connection can stay open; false means it must close.
bool Connection::discard_rest_of_body() {
  if (head_.framing == http::Framing::kLength) {
    if (in_.size() < body_remaining_) return false;
    in_.consume(static_cast<size_t>(body_remaining_));
    body_remaining_ = 0;
    return true;
  }
  while (true) {
    size_t pos = 0;
    std::string_view piece;
    auto r = chunked_.next(in_.readable(), pos, piece);
    in_.consume(pos);
    if (r == http::ChunkedDecoder::Step::kDone) return true;
    if (r != http::ChunkedDecoder::Step::kData) return false;
  }
}

void Connection::drop_handler() {
  if (!handler_) return;
  handler_->on_downstream_abort();
  handler_.reset();
}

void Connection::finish_request() {
  read_timer_.cancel();
  write_timer_.cancel();
  dispatcher_.request_done(ctx_);
  handler_.reset();
  if (!body_finished_ && head_.framing != http::Framing::kNone && !discard_rest_of_body()) {
    keep_alive_ = false;
  }
  ctx_.reset();
  head_.clear();
  if (!keep_alive_ || draining_) {
    close_after_flush();
    return;
  }
  state_ = State::kReadingHead;
  response_started_ = response_done_ = false;
  body_finished_ = true;
  read_timer_.arm_after_ms(settings().timeouts.keepalive_ms);
}

// ---- response ----

std::string& Connection::begin_response(int status, std::string_view reason) {
  response_started_ = true;
  ctx_.status = status;
  std::string& out = out_.data();
  out.append("HTTP/1.1 ");
  append_decimal(out, status);
  out += ' ';
  out.append(reason.empty() ? http::reason_phrase(status) : reason);
  out.append("\r\n");
  return out;
}

void Connection::end_response_head(gateway::BodyMode mode, uint64_t length, bool has_date) {
  mode_ = mode;
  if (mode == gateway::BodyMode::kStream && head_.version_minor == 0) keep_alive_ = false;
  chunked_out_ = mode == gateway::BodyMode::kStream && head_.version_minor == 1;
  // A body we have not read and will not get (no 100 Continue sent) means closing.
  if (!body_finished_ && head_.expect_continue && !continue_sent_) keep_alive_ = false;
  std::string& out = out_.data();
  if (mode == gateway::BodyMode::kLength) {
    out.append("Content-Length: ");
    append_decimal(out, static_cast<int64_t>(length));
    out.append("\r\n");
  } else if (chunked_out_) {
    out.append("Transfer-Encoding: chunked\r\n");
  }
  if (!has_date) {
    out.append("Date: ");
    out.append(http_date());
    out.append("\r\n");
  }
  out.append("X-Request-Id: ");
  out.append(ctx_.request_id);
  out.append("\r\n");
  out.append(ctx_.response_headers);
  if (!keep_alive_ || draining_) {
    out.append("Connection: close\r\n");
  } else if (head_.version_minor == 0) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
  loop_.request_flush(this);
}

bool Connection::send_body(std::string_view data) {
  if (state_ != State::kHandling || close_scheduled_) return false;
  if (head_request_ || mode_ == gateway::BodyMode::kNone || data.empty()) return true;
  ctx_.body_bytes_out += data.size();
  char chunk_head[24];
  size_t chunk_head_len = chunked_out_ ? http::format_chunk_header(data.size(), chunk_head) : 0;
  std::string_view crlf = chunked_out_ ? std::string_view("\r\n") : std::string_view();
  if (out_.pending() + data.size() <= kSmallWrite) {
    std::string& out = out_.data();
    out.append(chunk_head, chunk_head_len);
    out.append(data);
    out.append(crlf);
    loop_.request_flush(this);
    return true;
  }
  // Large body piece: written straight from the caller's buffer together with anything
  // pending; only what the socket does not take is copied.
  iovec iov[3] = {{chunk_head, chunk_head_len},
                  {const_cast<char*>(data.data()), data.size()},
                  {const_cast<char*>(crlf.data()), crlf.size()}};
  if (out_.write(fd_, iov, 3) == net::OutputBuffer::Status::kError) {
    reset_ = true;
    schedule_close();
    return false;
  }
  if (!out_.empty()) {
    write_timer_.arm_after_ms(settings().timeouts.send_ms);
    if (out_.pending() >= kHighWater) {
      waiting_writable_ = true;
      return false;
    }
  }
  return true;
}

void Connection::finish() {
  if (state_ != State::kHandling || response_done_) return;
  if (chunked_out_ && !head_request_) out_.append(http::kLastChunk);
  response_done_ = true;
  body_wanted_ = false;
  loop_.request_flush(this);
  schedule_process();
}

void Connection::abort() {
  if (state_ != State::kHandling || close_scheduled_) return;
  if (ctx_.error.empty()) ctx_.error = "response aborted";
  keep_alive_ = false;
  schedule_close();
}

void Connection::send_error(int status, std::string_view message, std::string_view extra_headers) {
  if (state_ != State::kHandling || response_done_) return;
  if (response_started_) {
    abort();
    return;
  }
  if (ctx_.error.empty()) ctx_.error = std::string(message);
  gateway::write_error(*this, status, message, ctx_.request_id, extra_headers);
}

// A request the parser refused: answer, log, close.
void Connection::reject(int status, std::string_view message) {
  dispatcher_.counters().bad_requests.add();
  ctx_.reset();
  ctx_.start_ns = monotonic_ns();
  ctx_.snapshot = dispatcher_.current_snapshot();
  ctx_.peer_ip = ctx_.client_ip = {client_ip_, client_ip_len_};  // the head is not to be trusted
  random_uuid(request_id_);
  request_id_len_ = 36;
  ctx_.request_id = {request_id_, request_id_len_};
  head_.clear();
  head_request_ = false;
  body_finished_ = true;
  keep_alive_ = false;
  state_ = State::kHandling;
  response_started_ = response_done_ = false;
  send_error(status, message, {});
  dispatcher_.request_done(ctx_);
  ctx_.reset();
  close_after_flush();
}

// ---- writing and closing ----

void Connection::flush() {
  if (state_ == State::kClosed || state_ == State::kLingering) return;
  switch (out_.flush(fd_)) {
    case net::OutputBuffer::Status::kBlocked:
      if (!write_timer_.armed()) write_timer_.arm_after_ms(settings().timeouts.send_ms);
      return;
    case net::OutputBuffer::Status::kError:
      reset_ = true;
      if (ctx_.error.empty()) ctx_.error = "client connection lost while sending the response";
      close_now();
      return;
    case net::OutputBuffer::Status::kDone:
      break;
  }
  write_timer_.cancel();
  if (state_ == State::kClosing) {
    linger_or_close();
    return;
  }
  if (waiting_writable_ && handler_) {
    waiting_writable_ = false;
    handler_->on_downstream_writable();
  }
}

void Connection::close_after_flush() {
  state_ = State::kClosing;
  read_timer_.cancel();
  if (out_.empty()) {
    linger_or_close();
  } else {
    loop_.request_flush(this);
    write_timer_.arm_after_ms(settings().timeouts.send_ms);
  }
}

// After the last response: if the client may still be sending (an unread body, pipelined
// requests), shut our side and read for a while before closing, so the client reads the
// response instead of a reset caused by unread data.
void Connection::linger_or_close() {
  if (state_ == State::kClosing) {
    bool client_may_send = !peer_closed_ && !reset_ && (!in_.empty() || !body_finished_ || readable_);
    if (!client_may_send) {
      close_now();
      return;
    }
    ::shutdown(fd_, SHUT_WR);
    state_ = State::kLingering;
    read_timer_.arm_after_ms(kLingerMs);
    in_.clear();
    readable_ = true;
  }
  char discard[16 * 1024];
  while (true) {
    ssize_t n = ::recv(fd_, discard, sizeof discard, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    close_now();  // EOF or error
    return;
  }
}

void Connection::close_now() {
  if (state_ == State::kClosed) return;
  if (handler_ || (state_ == State::kHandling && !response_done_)) {
    // The request did not complete: 499 (client closed) unless a status was sent.
    if (!response_done_) {
      if (ctx_.error.empty()) ctx_.error = "client closed the connection";
      if (ctx_.status == 0 || !response_started_) ctx_.status = 499;
    }
    drop_handler();
    if (ctx_.start_ns != 0) dispatcher_.request_done(ctx_);
  }
  state_ = State::kClosed;
  read_timer_.cancel();
  write_timer_.cancel();
  // Deregistered before the close: a function instance being spawned (fork, then
  // exec) holds a copy of every descriptor for a moment, and epoll forgets a socket
  // only when its last copy is closed; an event for this freed connection could
  // follow otherwise.
  loop_.unwatch(fd_);
  ::close(fd_);
  in_.release();
  ctx_.reset();
  dispatcher_.connection_closed(this);
  loop_.release(this);
}

void Connection::drain() {
  draining_ = true;
  if (state_ == State::kReadingHead && in_.empty()) schedule_close();
}

void Connection::on_read_timeout() {
  switch (state_) {
    case State::kReadingHead:
      if (in_.empty()) {
        close_now();  // idle keep-alive connection
      } else {
        dispatcher_.counters().timeouts.add();
        reject(408, "timed out reading the request head");
      }
      return;
    case State::kHandling:
      if (body_wanted_ && !body_finished_) {
        dispatcher_.counters().timeouts.add();
        ctx_.error = "timed out reading the request body";
        keep_alive_ = false;
        if (response_started_) {
          close_now();
        } else {
          drop_handler();
          send_error(408, "timed out reading the request body", {});
        }
      }
      return;
    case State::kLingering:
    case State::kClosing:
      close_now();
      return;
    case State::kClosed:
      return;
  }
}

void Connection::on_write_timeout() {
  if (state_ == State::kClosed || out_.empty()) return;
  dispatcher_.counters().timeouts.add();
  if (ctx_.error.empty()) ctx_.error = "timed out sending the response";
  close_now();
}

}  // namespace portico::server
