#include "functions/host.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>

#include "core/log.h"
#include "core/random.h"

namespace portico::functions {

FunctionHost::FunctionHost(HostSettings settings)
    : settings_(std::move(settings)), cgroup_sweep_(loop_, [this] {
        cgroups_->retry_removals();
        cgroup_sweep_.arm_after_ms(1000);
      }) {
  cgroups_ = MemoryCgroups::create();
  settings_.cgroups = cgroups_.get();
  settings_.credentials = &credentials_;
}

FunctionHost::~FunctionHost() { shutdown(); }

void FunctionHost::add_home(net::EventLoop& loop) {
  auto home = std::make_unique<Home>();
  home->loop = &loop;
  homes_.push_back(std::move(home));
}

void FunctionHost::start() {
  if (homes_.empty()) add_home(loop_);
  started_ = true;
  cgroup_sweep_.arm_after_ms(1000);
  thread_ = std::thread([this] { loop_.run(); });
}

// The same home for a name for the life of the process: a reload keeps a function's
// warm instances where they are.
size_t FunctionHost::home_index(const std::string& function) const {
  return std::hash<std::string>{}(function) % homes_.size();
}

void FunctionHost::stop(Home& home) {
  if (home.stopped.exchange(true)) return;
  for (auto& [name, pool] : home.pools) pool->stop_all();
  for (auto& pool : home.retired) pool->stop_all();
  home.pools.clear();
  home.retired.clear();
}

void FunctionHost::stop_home(net::EventLoop& loop) {
  for (auto& h : homes_) {
    if (h->loop == &loop) stop(*h);
  }
}

void FunctionHost::shutdown() {
  if (!thread_.joinable()) return;
  loop_.post([this] {
    stop_home(loop_);
    loop_.stop();
  });
  thread_.join();
  loop_.run_pending();
}

void FunctionHost::announce_cgroups(const config::Config& config) {
  if (config.functions.empty()) return;
  if (!cgroups_->available() && !warned_no_cgroups_) {
    warned_no_cgroups_ = true;
    log::warn("functions run without memory limits: {}", cgroups_->why_unavailable());
  } else if (cgroups_->available() && !announced_cgroups_) {
    announced_cgroups_ = true;
    log::debug("function memory limits: cgroup v{}", cgroups_->version());
  }
}

namespace {

// Share k of n of a limit: as even as possible, the first shares one larger.
uint32_t share(uint32_t total, size_t n, size_t k) {
  return static_cast<uint32_t>(total / n + (k < total % n ? 1 : 0));
}

}  // namespace

// Called on one thread (start-up, then the main loop's reloads).
void FunctionHost::configure(const config::Config& config) {
  if (homes_.empty()) add_home(loop_);
  announce_cgroups(config);
  auto placement = std::make_shared<Placement>();
  std::vector<std::vector<PoolPlan>> split(homes_.size());
  for (const auto& f : config.functions) {
    // A pool per home, but never a pool without an instance to run.
    size_t n = std::max<size_t>(1, std::min<size_t>(homes_.size(), f.max_concurrency));
    size_t first = home_index(f.name);
    auto& slots = (*placement)[f.name];
    for (size_t k = 0; k < n; ++k) {
      PoolPlan plan{f, k, std::make_shared<PoolLoad>(), f.max_concurrency};
      plan.function.max_concurrency = share(f.max_concurrency, n, k);
      plan.function.min_instances = share(f.min_instances, n, k);
      plan.function.max_queue = share(f.max_queue, n, k);
      size_t home = (first + k) % homes_.size();
      slots.push_back({home, plan.load});
      split[home].push_back(std::move(plan));
    }
  }
  {
    std::lock_guard lock(placement_mu_);
    placement_ = placement;
  }
  for (size_t k = 0; k < homes_.size(); ++k) {
    Home& home = *homes_[k];
    // Before the loops run nothing else touches them: the pools are in place before
    // the first request (as the workers' own config is).
    if (!started_) {
      apply(home, std::move(split[k]), placement);
    } else {
      home.loop->post([this, &home, plans = std::move(split[k]), placement]() mutable {
        apply(home, std::move(plans), std::move(placement));
      });
    }
  }
}

void FunctionHost::apply(Home& home, std::vector<PoolPlan> plans,
                         std::shared_ptr<const Placement> placement) {
  if (home.stopped) return;
  home.placement = placement;
  std::unordered_map<std::string, std::unique_ptr<FunctionPool>> next;
  auto retire = [&home](std::unique_ptr<FunctionPool> pool,
                        std::function<void(Invocation&&)> successor) {
    FunctionPool* raw = pool.get();
    home.retired.push_back(std::move(pool));
    raw->drain(std::move(successor), [&home, raw] {
      std::erase_if(home.retired, [raw](const auto& p) { return p.get() == raw; });
    });
  };
  auto wire = [this, &home, &placement](FunctionPool& pool, const PoolPlan& plan) {
    pool.set_load(plan.load);
    const auto& slots = placement->at(plan.function.name);
    if (slots.size() < 2) {
      pool.set_on_spare(nullptr);
      return;
    }
    // The slots live as long as home.placement, which is replaced only here.
    pool.set_on_spare([this, &home, name = plan.function.name, s = &slots] { lend(home, name, *s); });
  };
  for (auto& plan : plans) {
    std::string name = plan.function.name;
    auto it = home.pools.find(name);
    if (it != home.pools.end() && it->second->function().signature() == plan.function.signature()) {
      it->second->update(plan.function, plan.total_concurrency);
      wire(*it->second, plan);
      next[name] = std::move(it->second);
      home.pools.erase(it);
      continue;
    }
    auto pool = std::make_unique<FunctionPool>(*home.loop, settings_, plan.function, plan.index,
                                               plan.total_concurrency);
    wire(*pool, plan);
    if (it != home.pools.end()) {
      log::info(
          "function {} changed: new instances start on demand, the old ones finish what they run",
          name);
      FunctionPool* successor = pool.get();
      retire(std::move(it->second), [successor](Invocation&& inv) { successor->invoke(std::move(inv)); });
      home.pools.erase(it);
    }
    next[name] = std::move(pool);
  }
  for (auto& [name, pool] : home.pools) {
    // Gone from this loop but maybe not from the others: what waits here goes there.
    std::function<void(Invocation&&)> elsewhere;
    if (placement->count(name) > 0) {
      elsewhere = [this, &home, name = name](Invocation&& inv) {
        place(&home, *home.placement, name, std::move(inv));
      };
    }
    retire(std::move(pool), std::move(elsewhere));
  }
  home.pools = std::move(next);
}

namespace {

// A pool's room as placement sees it: what it published, less what is on its way to
// it (which takes a ready instance first, then a start, then a place in the queue).
struct Room {
  int32_t ready, startable, queue;
};

Room room_of(const PoolLoad& load) {
  int32_t incoming = load.incoming.load(std::memory_order_relaxed);
  int32_t ready = load.ready.load(std::memory_order_relaxed);
  int32_t beyond_ready = std::max(0, incoming - ready);
  return {ready - incoming, load.startable.load(std::memory_order_relaxed) - beyond_ready,
          load.queue_room.load(std::memory_order_relaxed) - beyond_ready};
}

}  // namespace

size_t FunctionHost::choose(const std::vector<PoolSlot>& slots, const Home* from,
                            const Home* excluded) const {
  size_t n = slots.size();
  if (n == 1) return 0;
  size_t local = n;
  for (size_t k = 0; k < n; ++k) {
    if (homes_[slots[k].home].get() == from) local = k;
  }
  // Read as each pool is considered (a few relaxed loads; no list per invocation).
  auto has = [&](size_t k, int32_t Room::*field) {
    return homes_[slots[k].home].get() != excluded && room_of(*slots[k].load).*field > 0;
  };
  // A warm instance anywhere before a cold start here; a cold start before a wait.
  thread_local size_t turn = 0;  // the others from a different one each time
  size_t start = turn++;
  for (auto field : {&Room::ready, &Room::startable, &Room::queue}) {
    if (local < n && has(local, field)) return local;
    for (size_t i = 0; i < n; ++i) {
      size_t k = (start + i) % n;
      if (k != local && has(k, field)) return k;
    }
  }
  // Every pool is full: one refuses.
  if (local < n && homes_[slots[local].home].get() != excluded) return local;
  for (size_t i = 0; i < n; ++i) {
    size_t k = (start + i) % n;
    if (homes_[slots[k].home].get() != excluded) return k;
  }
  return start % n;
}

void FunctionHost::send(Home* from, const PoolSlot& slot, const std::string& function,
                        Invocation&& inv) {
  Home& home = *homes_[slot.home];
  if (&home == from) {
    invoke_at_home(home, function, std::move(inv));
    return;
  }
  slot.load->incoming.fetch_add(1, std::memory_order_relaxed);
  home.loop->post([this, &home, function, load = slot.load, inv = std::move(inv)]() mutable {
    load->incoming.fetch_sub(1, std::memory_order_relaxed);
    invoke_at_home(home, function, std::move(inv));
  });
}

void FunctionHost::place(Home* from, const Placement& placement, const std::string& function,
                         Invocation&& inv, const Home* excluded) {
  auto it = placement.find(function);
  if (it == placement.end()) {
    FunctionPool::deliver(std::move(inv),
                          refusal(InvocationResult::Status::kNotFound, "ResourceNotFoundException",
                                  "Function not found: " + function_arn(settings_.region,
                                                                        settings_.account_id,
                                                                        function)));
    return;
  }
  send(from, it->second[choose(it->second, from, excluded)], function, std::move(inv));
}

void FunctionHost::lend(Home& home, const std::string& function,
                        const std::vector<PoolSlot>& slots) {
  const PoolSlot* own = nullptr;
  for (const auto& slot : slots) {
    if (homes_[slot.home].get() == &home) own = &slot;
  }
  for (const auto& slot : slots) {
    Home& other = *homes_[slot.home];
    if (own == nullptr || &other == &home ||
        slot.load->queued.load(std::memory_order_relaxed) == 0)
      continue;
    other.loop->post([this, &other, own = *own, function] {
      auto it = other.pools.find(function);
      Invocation inv;
      if (other.stopped || it == other.pools.end() || !it->second->hand_over(inv)) return;
      send(&other, own, function, std::move(inv));
    });
    return;
  }
}

void FunctionHost::invoke_at_home(Home& home, const std::string& function, Invocation&& inv) {
  auto it = home.pools.find(function);
  if (home.stopped || it == home.pools.end()) {
    if (!home.stopped && home.placement != nullptr && home.placement->count(function) > 0) {
      // Placed here by an older placement: the function lives on elsewhere.
      place(&home, *home.placement, function, std::move(inv));
      return;
    }
    FunctionPool::deliver(
        std::move(inv),
        home.stopped ? refusal(InvocationResult::Status::kNotFound, "ServiceException",
                               "Portico is shutting down")
                     : refusal(InvocationResult::Status::kNotFound, "ResourceNotFoundException",
                               "Function not found: " +
                                   function_arn(settings_.region, settings_.account_id, function)));
    return;
  }
  FunctionPool& pool = *it->second;
  if (pool.offer(inv)) return;
  if (home.placement != nullptr) {
    // Placed here on a stale view of this pool's room (another loop's invocations
    // arrived first): another pool of the function may have room, and is tried before
    // refusing (passed on at most once per other pool).
    auto slots = home.placement->find(function);
    if (slots != home.placement->end() && inv.passed_on + 1u < slots->second.size()) {
      ++inv.passed_on;
      place(&home, *home.placement, function, std::move(inv), &home);
      return;
    }
  }
  pool.invoke(std::move(inv));  // no other pool to try: refused
}

FunctionHost::Home* FunctionHost::current_home() const {
  net::EventLoop* loop = net::EventLoop::current();
  for (const auto& h : homes_) {
    if (h->loop == loop) return h.get();
  }
  return nullptr;
}

std::shared_ptr<Ticket> FunctionHost::invoke(const std::string& function, std::string payload,
                                             net::EventLoop& loop, Reply reply,
                                             InvokeOptions options) {
  auto ticket = std::make_shared<Ticket>();
  Invocation inv;
  inv.request_id = options.request_id.empty() ? random_uuid() : std::move(options.request_id);
  inv.payload = std::move(payload);
  inv.ticket = ticket;
  inv.reply_loop = &loop;
  inv.reply = std::move(reply);
  inv.client_context = std::move(options.client_context);
  inv.tail_log = options.tail_log;
  inv.stream = std::move(options.stream);
  Home* from = current_home();
  if (from != nullptr && from->placement != nullptr) {
    place(from, *from->placement, function, std::move(inv));
    return ticket;
  }
  std::shared_ptr<const Placement> placement;
  {
    std::lock_guard lock(placement_mu_);
    placement = placement_;
  }
  if (placement == nullptr) placement = std::make_shared<Placement>();
  place(nullptr, *placement, function, std::move(inv));
  return ticket;
}

}  // namespace portico::functions
