#include "upstream/worker_upstream.h"

#include <algorithm>

#include "core/random.h"

namespace portico::upstream {
namespace {
constexpr int64_t kWaitPollMs = 10;     // how soon a waiter sees a slot freed by another worker
constexpr int64_t kCollectMs = 5'000;  // retry freeing pools of endpoints that left the set
constexpr int kRandomTries = 4;        // random draws before scanning for an untried endpoint
}  // namespace

WorkerUpstream::WorkerUpstream(net::EventLoop& loop, std::string name, gateway::UpstreamStats* stats)
    : loop_(loop),
      name_(std::move(name)),
      stats_(stats),
      set_(make_endpoint_set({}, 0, config::Balance::kRoundRobin, "no endpoints known yet")),
      rr_(static_cast<uint32_t>(random_u64())),  // workers start at different endpoints
      wait_poll_(loop, [this] { serve_waiters(); }),
      collect_timer_(loop, [this] { collect(); }) {}

WorkerUpstream::~WorkerUpstream() {
  for (auto& [address, pool] : by_address_) pool->close_idle();
  for (auto& pool : retired_) pool->close_idle();
  by_address_.clear();
  retired_.clear();
}

void WorkerUpstream::update(std::shared_ptr<const EndpointSet> set) {
  std::unordered_map<std::string, std::unique_ptr<EndpointPool>> next;
  pools_.clear();
  for (const EndpointEntry& e : set->endpoints) {
    auto it = by_address_.find(e.text);
    std::unique_ptr<EndpointPool> pool;
    if (it != by_address_.end()) {
      pool = std::move(it->second);
      by_address_.erase(it);
    } else {
      pool = std::make_unique<EndpointPool>(*this, e.address, e.text, e.stats);
    }
    pools_.push_back(pool.get());
    next.emplace(e.text, std::move(pool));
  }
  // Endpoints that left the set: no new requests; freed once their last one is done.
  for (auto& [address, pool] : by_address_) {
    pool->retired_ = true;
    pool->close_idle();
    retired_.push_back(std::move(pool));
  }
  by_address_ = std::move(next);
  set_ = std::move(set);
  smooth_.assign(pools_.size(), 0.0);
  collect();
  if (wait_head_ != nullptr) serve_waiters();  // waiters for a retired endpoint may now go elsewhere
}

void WorkerUpstream::collect() {
  std::erase_if(retired_, [](const std::unique_ptr<EndpointPool>& p) { return !p->in_use(); });
  if (!retired_.empty()) collect_timer_.arm_after_ms(kCollectMs);
}

// ---- balancing ----

bool WorkerUpstream::excluded(EndpointPool* p, std::span<EndpointPool* const> tried) const {
  return std::find(tried.begin(), tried.end(), p) != tried.end();
}

size_t WorkerUpstream::random_index(bool weighted) {
  if (!weighted) return static_cast<size_t>(random_u64() % pools_.size());
  const auto& cum = set_->cumulative;
  uint64_t r = random_u64() % cum.back();
  return static_cast<size_t>(std::upper_bound(cum.begin(), cum.end(), r) - cum.begin());
}

int WorkerUpstream::untried_random(bool weighted, std::span<EndpointPool* const> tried) {
  for (int k = 0; k < kRandomTries; ++k) {
    size_t i = random_index(weighted);
    if (tried.empty() || !excluded(pools_[i], tried)) return static_cast<int>(i);
  }
  size_t n = pools_.size();
  size_t start = random_u64() % n;
  for (size_t k = 0; k < n; ++k) {
    size_t i = (start + k) % n;
    if (!excluded(pools_[i], tried)) return static_cast<int>(i);
  }
  return static_cast<int>(start);  // every endpoint was tried: any will do
}

// Smooth weighted choice (nginx's weighted round robin): every candidate gains its
// weight, the leader is chosen and pays the total, so picks interleave (5:1:1 gives
// a a b a c a a, not a a a a a b c). Tried endpoints are left out while others remain.
template <typename WeightOf>
int WorkerUpstream::smooth_pick(std::span<EndpointPool* const> tried, WeightOf weight_of) {
  size_t n = pools_.size();
  bool all_tried = !tried.empty();
  for (size_t i = 0; i < n && all_tried; ++i) all_tried = excluded(pools_[i], tried);
  double total = 0;
  int best = -1;
  for (size_t i = 0; i < n; ++i) {
    if (!all_tried && !tried.empty() && excluded(pools_[i], tried)) continue;
    double w = weight_of(i);
    smooth_[i] += w;
    total += w;
    if (best < 0 || smooth_[i] > smooth_[static_cast<size_t>(best)]) best = static_cast<int>(i);
  }
  smooth_[static_cast<size_t>(best)] -= total;
  return best;
}

int WorkerUpstream::pick_round_robin(std::span<EndpointPool* const> tried) {
  size_t n = pools_.size();
  if (!set_->weighted) {
    for (size_t k = 0; k < n; ++k) {
      size_t i = rr_++ % n;
      if (tried.empty() || !excluded(pools_[i], tried)) return static_cast<int>(i);
    }
    return static_cast<int>(rr_++ % n);
  }
  return smooth_pick(tried, [this](size_t i) { return static_cast<double>(set_->endpoints[i].weight); });
}

// Equal weights: power of two choices. Two distinct random candidates, the one with
// fewer requests in flight wins. Unequal weights: a smooth weighted choice on effective
// weights weight / (in flight + 1), as Envoy does: the configured shares when endpoints
// keep up, less for one that falls behind. Counts are this worker's own: no shared
// writes on the request path, and each worker balances the load it sends.
int WorkerUpstream::pick_least_request(std::span<EndpointPool* const> tried) {
  size_t n = pools_.size();
  if (set_->weighted) {
    return smooth_pick(tried, [this](size_t i) {
      return set_->endpoints[i].weight / (pools_[i]->active_requests() + 1.0);
    });
  }
  int a = untried_random(false, tried);
  int b = untried_random(false, tried);
  if (a == b) {
    // Two distinct candidates, or the choice degenerates to random (with two endpoints,
    // half the time).
    b = static_cast<int>((static_cast<size_t>(a) + 1 + random_u64() % (n - 1)) % n);
    if (!tried.empty() && excluded(pools_[static_cast<size_t>(b)], tried)) return a;
  }
  return pools_[static_cast<size_t>(b)]->active_requests() < pools_[static_cast<size_t>(a)]->active_requests() ? b : a;
}

int WorkerUpstream::pick_ring(uint64_t hash, std::span<EndpointPool* const> tried) {
  const auto& ring = set_->ring;
  size_t start = static_cast<size_t>(
      std::lower_bound(ring.begin(), ring.end(), hash, [](const RingPoint& p, uint64_t h) { return p.hash < h; }) -
      ring.begin());
  for (size_t k = 0; k < ring.size(); ++k) {
    uint32_t e = ring[(start + k) % ring.size()].endpoint;
    if (tried.empty() || !excluded(pools_[e], tried)) return static_cast<int>(e);
  }
  return static_cast<int>(ring[start % ring.size()].endpoint);
}

EndpointPool* WorkerUpstream::pick(config::Balance balance, const uint64_t* hash,
                                   std::span<EndpointPool* const> tried) {
  size_t n = pools_.size();
  if (n == 0) return nullptr;
  if (n == 1) return pools_[0];
  int i = 0;
  switch (balance) {
    case config::Balance::kRoundRobin:
      i = pick_round_robin(tried);
      break;
    case config::Balance::kRandom:
      i = untried_random(set_->weighted, tried);
      break;
    case config::Balance::kLeastRequest:
      i = pick_least_request(tried);
      break;
    case config::Balance::kRingHash:
      // No key on this request (or no ring yet): balance it like any other.
      i = hash != nullptr && !set_->ring.empty() ? pick_ring(*hash, tried) : pick_least_request(tried);
      break;
  }
  return pools_[static_cast<size_t>(i)];
}

// ---- connection slots ----

bool WorkerUpstream::take_slot(const config::CircuitBreaker& breaker, EndpointPool* for_pool) {
  auto& open = stats_->connections;
  if (breaker.max_connections == 0) {
    open.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  int64_t max = static_cast<int64_t>(breaker.max_connections);
  if (open.fetch_add(1, std::memory_order_relaxed) < max) return true;
  open.fetch_sub(1, std::memory_order_relaxed);
  // At the limit: an idle connection to another endpoint of this upstream is worth less
  // than this request. Close it and take its slot.
  for (EndpointPool* p : pools_) {
    if (p == for_pool || p->idle_count() == 0) continue;
    p->close(p->take_idle());  // gives its slot back through connection_closed()
    if (open.fetch_add(1, std::memory_order_relaxed) < max) return true;
    open.fetch_sub(1, std::memory_order_relaxed);
    break;
  }
  return false;
}

WorkerUpstream::Acquire WorkerUpstream::acquire(EndpointPool* pool, ConnectionUser* user, ConnectionWaiter* waiter,
                                                const config::CircuitBreaker& breaker, bool allow_pooled,
                                                UpstreamConnection*& conn, std::string& error) {
  conn = allow_pooled ? pool->take_idle() : nullptr;
  if (conn == nullptr && !take_slot(breaker, pool)) {
    if (!waiter->queued_) {
      int64_t pending = stats_->pending.fetch_add(1, std::memory_order_relaxed);
      if (breaker.max_pending != 0 && pending >= static_cast<int64_t>(breaker.max_pending)) {
        stats_->pending.fetch_sub(1, std::memory_order_relaxed);
        counters().overflow[gateway::UpstreamStats::kPending].add();
        return Acquire::kOverflow;
      }
      enqueue(waiter);
    }
    return Acquire::kWait;
  }
  if (waiter->queued_) dequeue(waiter);
  if (conn != nullptr) {
    conn->set_user(user);
    return Acquire::kPooled;
  }
  conn = pool->connect(user, error);
  return conn != nullptr ? Acquire::kConnecting : Acquire::kFailed;
}

void WorkerUpstream::enqueue(ConnectionWaiter* w) {
  w->queued_ = true;
  w->next_ = nullptr;
  w->prev_ = wait_tail_;
  if (wait_tail_) wait_tail_->next_ = w;
  else wait_head_ = w;
  wait_tail_ = w;
  if (!wait_poll_.armed()) wait_poll_.arm_after_ms(kWaitPollMs);
}

void WorkerUpstream::dequeue(ConnectionWaiter* w) {
  if (w->prev_) w->prev_->next_ = w->next_;
  else wait_head_ = w->next_;
  if (w->next_) w->next_->prev_ = w->prev_;
  else wait_tail_ = w->prev_;
  w->prev_ = w->next_ = nullptr;
  w->queued_ = false;
  stats_->pending.fetch_sub(1, std::memory_order_relaxed);
}

void WorkerUpstream::cancel_wait(ConnectionWaiter* w) {
  if (w->queued_) dequeue(w);
}

// First come, first served: the head of the queue tries again; the rest wait for the
// next slot (or the next poll).
void WorkerUpstream::serve_waiters() {
  serve_queued_ = false;
  while (ConnectionWaiter* w = wait_head_) {
    w->on_connection_slot();
    if (wait_head_ == w) break;  // still waiting: no slot after all
  }
  if (wait_head_ != nullptr && !wait_poll_.armed()) wait_poll_.arm_after_ms(kWaitPollMs);
}

void WorkerUpstream::connection_closed() {
  stats_->connections.fetch_sub(1, std::memory_order_relaxed);
  connection_idle();
}

void WorkerUpstream::connection_idle() {
  if (wait_head_ == nullptr || serve_queued_) return;
  serve_queued_ = true;  // not now: the caller is in the middle of releasing a connection
  loop_.defer([this] { serve_waiters(); });
}

void WorkerUpstream::close_idle() {
  for (auto& [address, pool] : by_address_) pool->close_idle();
  for (auto& pool : retired_) pool->close_idle();
}

}  // namespace portico::upstream
