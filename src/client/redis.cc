#include "client/redis.h"

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/strings.h"

namespace portico::client {
namespace {

constexpr int64_t kBackoffMinMs = 100;
constexpr int64_t kBackoffMaxMs = 2'000;

void append_command(std::string& out, const std::vector<std::string_view>& args) {
  resp_array(out, args.size());
  for (std::string_view a : args) resp_bulk(out, a);
}

}  // namespace

void resp_array(std::string& out, size_t count) {
  out += '*';
  append_decimal(out, static_cast<int64_t>(count));
  out += "\r\n";
}

void resp_bulk(std::string& out, std::string_view arg) {
  out += '$';
  append_decimal(out, static_cast<int64_t>(arg.size()));
  out += "\r\n";
  out.append(arg);
  out += "\r\n";
}

void resp_bulk(std::string& out, int64_t arg) {
  char digits[24];
  auto r = std::to_chars(digits, digits + sizeof digits, arg);
  resp_bulk(out, std::string_view(digits, static_cast<size_t>(r.ptr - digits)));
}

RedisClient::RedisClient(net::EventLoop& loop, RedisOptions options, StateCallback on_state)
    : loop_(loop),
      options_(std::move(options)),
      on_state_(std::move(on_state)),
      resolver_(loop, {}),
      timer_(loop, [this] { on_timer(); }),
      alive_(std::make_shared<bool>(true)) {
  connect();
}

RedisClient::~RedisClient() {
  *alive_ = false;
  close_socket();
}

void RedisClient::close_socket() {
  if (fd_ >= 0) {
    loop_.unwatch(fd_);
    ::close(fd_);
    fd_ = -1;
  }
  if (reader_ != nullptr) {
    redisReaderFree(reader_);
    reader_ = nullptr;
  }
  connecting_socket_ = false;
}

void RedisClient::connect() {
  state_ = State::kConnecting;
  connect_deadline_ms_ = loop_.now_ms() + options_.connect_timeout_ms;
  arm_timer();
  uint64_t attempt = ++attempt_;
  resolver_.resolve(options_.host, AF_UNSPEC, options_.port,
                    [this, attempt, alive = alive_](int status, Resolver::Addresses r) {
                      if (!*alive || attempt != attempt_ || state_ != State::kConnecting) return;
                      if (status != ARES_SUCCESS || r.addresses.empty()) {
                        fail_connection(fmt::format("cannot resolve {}: {}", options_.host,
                                                    status == ARES_SUCCESS ? "no addresses" : ares_strerror(status)));
                        return;
                      }
                      connect_to(r.addresses.front());
                    });
}

void RedisClient::connect_to(const net::Address& address) {
  auto fd = net::connect_tcp(address);
  if (!fd) {
    fail_connection(fd.error().message);
    return;
  }
  fd_ = *fd;
  connecting_socket_ = true;
  if (!loop_.watch(fd_, this)) {
    fail_connection(strerror(errno));
    return;
  }
  reader_ = redisReaderCreate();
  send_handshake();
}

// AUTH and SELECT go first; what was queued meanwhile follows them.
void RedisClient::send_handshake() {
  std::string& out = out_.data();
  handshake_left_ = 0;
  std::deque<Pending> first;
  auto add = [&](const std::vector<std::string_view>& args) {
    append_command(out, args);
    Pending p;
    p.handshake = true;
    p.deadline_ms = connect_deadline_ms_;
    first.push_back(std::move(p));
    ++handshake_left_;
  };
  std::string db = std::to_string(options_.db);
  if (!options_.password.empty()) {
    if (options_.username.empty()) add({"AUTH", options_.password});
    else add({"AUTH", options_.username, options_.password});
  }
  if (options_.db != 0) add({"SELECT", db});
  add({"PING"});
  out += queued_;
  queued_.clear();
  for (auto& p : pending_) first.push_back(std::move(p));
  pending_ = std::move(first);
  loop_.request_flush(this);
}

bool RedisClient::send(std::string_view command, Callback callback) {
  if (state_ == State::kDown) {
    // Past the back-off, a command starts the next attempt (and waits for it).
    if (loop_.now_ms() < reconnect_at_ms_) return false;
    connect();
  }
  Pending p;
  p.callback = std::move(callback);
  p.deadline_ms = std::max(loop_.now_ms() + options_.timeout_ms, state_ == State::kConnecting ? connect_deadline_ms_ : 0);
  if (state_ == State::kConnecting && fd_ < 0) {
    queued_.append(command);  // before the socket exists: sent after the handshake
  } else {
    out_.data().append(command);
    loop_.request_flush(this);
  }
  pending_.push_back(std::move(p));
  arm_timer();
  return true;
}

void RedisClient::flush() {
  if (fd_ < 0 || connecting_socket_) return;
  if (out_.flush(fd_) == net::OutputBuffer::Status::kError) fail_connection(fmt::format("send: {}", strerror(errno)));
}

void RedisClient::on_io(uint32_t events) {
  if (fd_ < 0) return;
  if (connecting_socket_) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    if (int err = net::connect_result(fd_); err != 0) {
      fail_connection(fmt::format("cannot connect: {}", strerror(err)));
      return;
    }
    connecting_socket_ = false;
  }
  if ((events & EPOLLOUT) && !out_.empty()) flush();
  if (fd_ >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))) read();
}

void RedisClient::read() {
  char buf[16 * 1024];
  while (fd_ >= 0) {
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      fail_connection(n == 0 ? "closed by Redis" : fmt::format("recv: {}", strerror(errno)));
      return;
    }
    if (redisReaderFeed(reader_, buf, static_cast<size_t>(n)) != REDIS_OK) {
      fail_connection("unreadable reply");
      return;
    }
    while (fd_ >= 0) {
      void* reply = nullptr;
      if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
        fail_connection(fmt::format("unreadable reply: {}", reader_->errstr));
        return;
      }
      if (reply == nullptr) break;
      on_reply(static_cast<redisReply*>(reply));
    }
    if (static_cast<size_t>(n) < sizeof buf) return;  // drained
  }
}

void RedisClient::on_reply(redisReply* reply) {
  std::unique_ptr<redisReply, void (*)(void*)> owned(reply, freeReplyObject);
  if (pending_.empty()) {
    fail_connection("a reply nobody asked for");
    return;
  }
  Pending p = std::move(pending_.front());
  pending_.pop_front();
  bool error = reply->type == REDIS_REPLY_ERROR;
  std::string_view text = error ? std::string_view(reply->str, reply->len) : std::string_view();
  if (p.handshake) {
    if (error) {
      fail_connection(fmt::format("handshake refused: {}", text));
      return;
    }
    if (--handshake_left_ == 0) {
      state_ = State::kReady;
      backoff_ms_ = kBackoffMinMs;
      if (on_state_) on_state_(true, {});
      arm_timer();
    }
    return;
  }
  if (p.callback) p.callback(reply, text);
}

void RedisClient::arm_timer() {
  int64_t at = 0;
  if (state_ == State::kDown) {
    at = reconnect_at_ms_;
  } else if (state_ == State::kConnecting) {
    at = connect_deadline_ms_;
  }
  if (!pending_.empty()) at = at == 0 ? pending_.front().deadline_ms : std::min(at, pending_.front().deadline_ms);
  if (at == 0) timer_.cancel();
  else timer_.arm_at_ms(at);
}

void RedisClient::on_timer() {
  int64_t now = loop_.now_ms();
  if (state_ == State::kDown) {
    if (now >= reconnect_at_ms_) connect();  // keep trying: the next request finds it ready
    else arm_timer();
    return;
  }
  if (state_ == State::kConnecting && now >= connect_deadline_ms_) {
    fail_connection(fmt::format("no connection within {} ms", options_.connect_timeout_ms));
    return;
  }
  if (!pending_.empty() && pending_.front().deadline_ms <= now) {
    // Replies come in order: everything behind the oldest is late too. The connection
    // is stuck (or Redis is); start afresh.
    fail_connection(fmt::format("no reply within {} ms", options_.timeout_ms), true);
    return;
  }
  arm_timer();
}

void RedisClient::fail_connection(std::string why, bool timed_out) {
  close_socket();
  out_.clear();
  queued_.clear();
  state_ = State::kDown;
  ++attempt_;
  reconnect_at_ms_ = loop_.now_ms() + backoff_ms_;
  backoff_ms_ = std::min(backoff_ms_ * 2, kBackoffMaxMs);
  std::deque<Pending> failed;
  failed.swap(pending_);
  std::string error = timed_out ? "timeout" : "connection lost: " + why;
  // The state callback may log; command callbacks may issue new commands, which see
  // the connection down and fail at once.
  if (on_state_) on_state_(false, why);
  std::shared_ptr<bool> alive = alive_;
  for (auto& p : failed) {
    if (!*alive) return;
    if (p.callback) p.callback(nullptr, error);
  }
  if (*alive) arm_timer();
}

}  // namespace portico::client
