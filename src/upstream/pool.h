// Upstream connections and the per-worker pool of one endpoint that keeps them alive
// between requests.
//
// Each worker has its own pool per endpoint (no locks, no cross-thread handoff). A pool
// keeps every connection that finished a request cleanly, up to max_idle, most recently
// used first; a pool smaller than the number of requests in flight would close and reopen
// connections on every burst. An idle connection closes on its idle timeout or as soon as
// the upstream closes it.
#pragma once

#include <cstdint>
#include <string>

#include "config/config.h"
#include "core/buffer.h"
#include "gateway/stats.h"
#include "net/event_loop.h"
#include "net/output_buffer.h"
#include "net/socket.h"

namespace portico::upstream {

class EndpointPool;
class WorkerUpstream;

// The user of an active connection (the proxy) receives its socket events.
class ConnectionUser {
 public:
  virtual ~ConnectionUser() = default;
  virtual void on_upstream_io(uint32_t events) = 0;
};

class UpstreamConnection final : public net::IoHandler {
 public:
  enum class ReadResult { kData, kAgain, kFull, kEof, kError };

  UpstreamConnection(EndpointPool& pool, int fd);
  ~UpstreamConnection() override;

  void on_io(uint32_t events) override;

  int fd() const { return fd_; }
  EndpointPool& pool() { return pool_; }
  bool reused() const { return requests_ > 1; }
  void set_user(ConnectionUser* user) { user_ = user; }

  // Reading: appends to in(), making room for at least min_free bytes (so a large
  // body moves in few big reads) without buffering more than max_buffer.
  Buffer& in() { return in_; }
  ReadResult read(size_t min_free, size_t max_buffer);
  bool maybe_readable() const { return readable_; }

  // Writing: sends what it can, keeps the rest; false on a socket error.
  bool write(const iovec* iov, int count) { return out_.write(fd_, iov, count) != net::OutputBuffer::Status::kError; }
  bool flush() { return out_.flush(fd_) != net::OutputBuffer::Status::kError; }
  size_t pending() const { return out_.pending(); }
  std::string& out() { return out_.data(); }  // for building a request head before flush()

  // Pool bookkeeping.
  UpstreamConnection* prev = nullptr;
  UpstreamConnection* next = nullptr;

 private:
  friend class EndpointPool;
  enum class State : uint8_t { kConnecting, kActive, kIdle, kClosed };

  EndpointPool& pool_;
  int fd_;
  State state_ = State::kConnecting;
  ConnectionUser* user_ = nullptr;
  Buffer in_;
  net::OutputBuffer out_;
  bool readable_ = false;
  bool rdhup_ = false;
  uint64_t requests_ = 0;
  net::Timer idle_timer_;
};

class EndpointPool {
 public:
  EndpointPool(WorkerUpstream& owner, const net::Address& address, std::string address_text,
               gateway::EndpointStats* stats);
  ~EndpointPool();

  // A pooled connection, most recently used first, or nullptr. It starts a request.
  UpstreamConnection* take_idle();
  // A new connection with connect() in progress, or nullptr with error set. The caller
  // has reserved the connection slot (WorkerUpstream::acquire).
  UpstreamConnection* connect(ConnectionUser* user, std::string& error);
  // After connect() completed, or before a request on a pooled connection.
  void mark_request(UpstreamConnection* c);
  // Back from a request: pooled if reusable and there is room, else closed.
  void release(UpstreamConnection* c, bool reusable, const config::Pool& settings);
  void close(UpstreamConnection* c);
  void close_idle();

  // Requests from this worker using this endpoint now (least-request balancing). A pool
  // is never freed while this is above zero.
  uint32_t active_requests() const { return active_requests_; }
  void begin_request() { ++active_requests_; }
  void end_request() { --active_requests_; }

  net::EventLoop& loop();
  WorkerUpstream& owner() { return owner_; }
  const net::Address& address() const { return address_; }
  const std::string& address_text() const { return address_text_; }
  gateway::EndpointStats* stats() { return stats_; }
  gateway::EndpointCounters& counters() { return stats_->counters.local(); }
  size_t idle_count() const { return idle_count_; }
  size_t open_count() const { return open_count_; }
  bool in_use() const { return active_requests_ > 0 || open_count_ > 0; }
  // The endpoint left the set: connections close instead of returning to the pool.
  bool retired() const { return retired_; }

 private:
  friend class UpstreamConnection;
  friend class WorkerUpstream;
  void unlink_idle(UpstreamConnection* c);

  WorkerUpstream& owner_;
  net::Address address_;
  std::string address_text_;
  gateway::EndpointStats* stats_;
  UpstreamConnection* idle_head_ = nullptr;  // most recently used
  size_t idle_count_ = 0;
  size_t open_count_ = 0;  // idle + active connections
  uint32_t active_requests_ = 0;
  bool retired_ = false;
};

}  // namespace portico::upstream
