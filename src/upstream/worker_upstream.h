// One worker's view of one upstream: the endpoint set it balances over, a connection
// pool per endpoint, the balancer's per-worker state, and the queue of requests waiting
// for a connection slot (circuit_breaker.max_connections).
//
// Lives for the life of the worker (keyed by upstream name), so requests in flight can
// always reach it; pools of endpoints that leave the set are freed once unused.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "gateway/stats.h"
#include "net/event_loop.h"
#include "upstream/endpoint_set.h"
#include "upstream/pool.h"

namespace portico::upstream {

// A request waiting for a connection slot.
class ConnectionWaiter {
 public:
  virtual ~ConnectionWaiter() = default;
  // A slot may be free: call WorkerUpstream::acquire again.
  virtual void on_connection_slot() = 0;

 private:
  friend class WorkerUpstream;
  ConnectionWaiter* prev_ = nullptr;
  ConnectionWaiter* next_ = nullptr;
  bool queued_ = false;
};

class WorkerUpstream {
 public:
  WorkerUpstream(net::EventLoop& loop, std::string name, gateway::UpstreamStats* stats);
  ~WorkerUpstream();
  WorkerUpstream(const WorkerUpstream&) = delete;
  WorkerUpstream& operator=(const WorkerUpstream&) = delete;

  // A new endpoint set from the main thread.
  void update(std::shared_ptr<const EndpointSet> set);
  const EndpointSet& set() const { return *set_; }

  // Chooses the endpoint for one try, avoiding those in `tried` while others remain.
  // `hash`: the request's hash key for ring_hash (nullptr when it has none).
  // nullptr when no endpoint is usable.
  EndpointPool* pick(config::Balance balance, const uint64_t* hash, std::span<EndpointPool* const> tried);

  enum class Acquire : uint8_t {
    kPooled,      // conn is a pooled connection, ready for a request
    kConnecting,  // conn is new, connect() in progress
    kWait,        // no connection slot: the waiter is queued and called back
    kOverflow,    // no slot, and the pending queue is full (circuit_breaker.max_pending)
    kFailed,      // connect() failed at once; error says why
  };
  // allow_pooled false: a new connection even if one is idle (the pooled one was stale).
  Acquire acquire(EndpointPool* pool, ConnectionUser* user, ConnectionWaiter* waiter,
                  const config::CircuitBreaker& breaker, bool allow_pooled, UpstreamConnection*& conn,
                  std::string& error);
  void cancel_wait(ConnectionWaiter* waiter);

  // From the pools.
  void connection_closed();
  void connection_idle();

  void close_idle();  // shutdown
  net::EventLoop& loop() { return loop_; }
  const std::string& name() const { return name_; }
  gateway::UpstreamStats* stats() { return stats_; }
  gateway::UpstreamCounters& counters() { return stats_->counters.local(); }
  EndpointPool* pool_at(size_t i) { return pools_[i]; }

 private:
  bool excluded(EndpointPool* p, std::span<EndpointPool* const> tried) const;
  size_t random_index(bool weighted);
  int untried_random(bool weighted, std::span<EndpointPool* const> tried);
  template <typename WeightOf>
  int smooth_pick(std::span<EndpointPool* const> tried, WeightOf weight_of);
  int pick_round_robin(std::span<EndpointPool* const> tried);
  int pick_least_request(std::span<EndpointPool* const> tried);
  int pick_ring(uint64_t hash, std::span<EndpointPool* const> tried);
  bool take_slot(const config::CircuitBreaker& breaker, EndpointPool* for_pool);
  void enqueue(ConnectionWaiter* w);
  void dequeue(ConnectionWaiter* w);
  void serve_waiters();
  void collect();

  net::EventLoop& loop_;
  std::string name_;
  gateway::UpstreamStats* stats_;
  std::shared_ptr<const EndpointSet> set_;
  std::vector<EndpointPool*> pools_;  // aligned with set_->endpoints
  std::unordered_map<std::string, std::unique_ptr<EndpointPool>> by_address_;
  std::vector<std::unique_ptr<EndpointPool>> retired_;  // left the set, still in use
  std::vector<double> smooth_;  // smooth weighted choice state, aligned with pools_
  uint32_t rr_ = 0;
  ConnectionWaiter* wait_head_ = nullptr;
  ConnectionWaiter* wait_tail_ = nullptr;
  bool serve_queued_ = false;
  net::Timer wait_poll_;   // slots freed by other workers send no event here
  net::Timer collect_timer_;
};

}  // namespace portico::upstream
