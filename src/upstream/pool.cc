#include "upstream/pool.h"

#include "upstream/worker_upstream.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace portico::upstream {

// ---- UpstreamConnection ----

UpstreamConnection::UpstreamConnection(EndpointPool& pool, int fd)
    : pool_(pool), fd_(fd), idle_timer_(pool.loop(), [this] { pool_.close(this); }) {}

UpstreamConnection::~UpstreamConnection() {
  if (state_ != State::kClosed) ::close(fd_);
}

void UpstreamConnection::on_io(uint32_t events) {
  if (state_ == State::kClosed) return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) readable_ = true;
  if (events & EPOLLRDHUP) rdhup_ = true;
  if (state_ == State::kIdle) {
    // An idle connection has nothing to say: data, EOF or an error all retire it.
    if (readable_) pool_.close(this);
    return;
  }
  if (user_ != nullptr) user_->on_upstream_io(events);
}

UpstreamConnection::ReadResult UpstreamConnection::read(size_t min_free, size_t max_buffer) {
  if (min_free == 0 || !in_.prepare(min_free, max_buffer)) return ReadResult::kFull;
  while (true) {
    size_t room = in_.writable();
    ssize_t n = ::recv(fd_, in_.write_ptr(), room, 0);
    if (n > 0) {
      in_.commit(static_cast<size_t>(n));
      // A short read drained the socket, unless a FIN is known to follow the data.
      if (static_cast<size_t>(n) < room && !rdhup_) readable_ = false;
      return ReadResult::kData;
    }
    if (n == 0) {
      readable_ = false;
      return ReadResult::kEof;
    }
    if (errno == EINTR) continue;
    readable_ = false;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return ReadResult::kAgain;
    return ReadResult::kError;
  }
}

// ---- EndpointPool ----

EndpointPool::EndpointPool(WorkerUpstream& owner, const net::Address& address, std::string address_text,
                           gateway::EndpointStats* stats)
    : owner_(owner), address_(address), address_text_(std::move(address_text)), stats_(stats) {}

EndpointPool::~EndpointPool() { close_idle(); }

net::EventLoop& EndpointPool::loop() { return owner_.loop(); }

void EndpointPool::unlink_idle(UpstreamConnection* c) {
  if (c->prev) c->prev->next = c->next;
  else idle_head_ = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = nullptr;
  --idle_count_;
  counters().idle.dec();
}

UpstreamConnection* EndpointPool::take_idle() {
  UpstreamConnection* c = idle_head_;
  if (c == nullptr) return nullptr;
  unlink_idle(c);
  c->idle_timer_.cancel();
  c->state_ = UpstreamConnection::State::kActive;
  counters().active.inc();
  return c;
}

UpstreamConnection* EndpointPool::connect(ConnectionUser* user, std::string& error) {
  auto fd = net::connect_tcp(address_);
  counters().connects.add();
  if (!fd) {
    counters().connect_failures.add();
    owner_.connection_closed();
    error = fd.error().message;
    return nullptr;
  }
  auto* c = new UpstreamConnection(*this, *fd);
  c->user_ = user;
  c->state_ = UpstreamConnection::State::kActive;
  if (!loop().watch(*fd, c)) {
    error = strerror(errno);
    c->state_ = UpstreamConnection::State::kClosed;
    ::close(*fd);
    delete c;
    counters().connect_failures.add();
    owner_.connection_closed();
    return nullptr;
  }
  ++open_count_;
  counters().active.inc();
  return c;
}

void EndpointPool::mark_request(UpstreamConnection* c) {
  ++c->requests_;
  counters().requests.add();
  if (c->requests_ > 1) counters().reused.add();
}

void EndpointPool::release(UpstreamConnection* c, bool reusable, const config::Pool& settings) {
  if (!reusable || c->rdhup_ || c->pending() != 0 || !c->in_.empty() || idle_count_ >= settings.max_idle || retired_) {
    close(c);
    return;
  }
  counters().active.dec();
  c->user_ = nullptr;
  c->state_ = UpstreamConnection::State::kIdle;
  c->in_.release();
  c->next = idle_head_;
  if (idle_head_) idle_head_->prev = c;
  idle_head_ = c;
  ++idle_count_;
  counters().idle.inc();
  c->idle_timer_.arm_after_ms(settings.idle_timeout_ms);
  owner_.connection_idle();
}

void EndpointPool::close(UpstreamConnection* c) {
  if (c->state_ == UpstreamConnection::State::kClosed) return;
  if (c->state_ == UpstreamConnection::State::kIdle) unlink_idle(c);
  else counters().active.dec();
  c->state_ = UpstreamConnection::State::kClosed;
  c->user_ = nullptr;
  c->idle_timer_.cancel();
  loop().unwatch(c->fd_);  // before the close: see Connection::close_now (spawned instances hold copies)
  ::close(c->fd_);
  c->in_.release();
  loop().release(c);
  --open_count_;
  owner_.connection_closed();
}

void EndpointPool::close_idle() {
  while (UpstreamConnection* c = take_idle()) close(c);
}

}  // namespace portico::upstream
