// Where functions run. A function's instances (processes), their Runtime API
// connections and timers live in pools on the workers' loops (the workers register
// theirs as homes): one pool on each of min(workers, max_concurrency) homes, each with
// its share of max_concurrency, min_instances and max_queue, so that a hot function's
// traffic is spread over the workers and a request is served on the loop that read it.
// A worker invoking a function uses its own loop's pool while that has an instance
// free (or one to start), else another pool that has (posted to its loop), else the
// first with queue room; a pool whose instance goes idle with nothing waiting takes an
// invocation waiting in another pool of the function, so no invocation waits while
// the function has a free instance elsewhere. Other callers (the Invoke API, the async
// invoker) choose the same way. The host's own thread is the only home when no worker
// registered (and keeps the cgroup sweep). Why not a thread of their own: every
// invocation then woke it twice and crossed threads twice, ~30 µs of CPU per warm
// invocation on this kind of machine; why not one home per function: its home worker
// then carried all of its traffic and half of the requests crossed threads
// (docs/performance.md).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "functions/invocation.h"
#include "functions/pool.h"
#include "net/event_loop.h"

namespace portico::functions {

class FunctionHost {
 public:
  explicit FunctionHost(HostSettings settings);
  ~FunctionHost();  // stops every instance and the thread
  FunctionHost(const FunctionHost&) = delete;
  FunctionHost& operator=(const FunctionHost&) = delete;

  // Before start(): a worker's loop, to be the home of some functions. The loop's
  // thread must call stop_home(loop) before its loop ends.
  void add_home(net::EventLoop& loop);
  void start();
  // Thread-safe. A function whose definition changed gets a new pool (the old one
  // drains); an unchanged one keeps its warm instances; a removed one drains.
  void configure(const config::Config& config);
  // Thread-safe. `reply` runs on `loop` with the result, unless the ticket is
  // cancelled first.
  std::shared_ptr<Ticket> invoke(const std::string& function, std::string payload,
                                 net::EventLoop& loop, Reply reply, InvokeOptions options = {});
  // On the home loop's thread: stops the instances living there; invocations of its
  // functions are refused from now on ("shutting down"). Idempotent.
  void stop_home(net::EventLoop& loop);
  // Stops every instance left (the host's own home); blocks until the thread has finished.
  void shutdown();
  // Thread-safe: the function whose access key this is (the services listener's check).
  std::optional<IssuedCredential> function_credential(std::string_view access_key_id) const {
    return credentials_.find(access_key_id);
  }
  const HostSettings& settings() const { return settings_; }

 private:
  // One of a function's pools: the home it lives on and the load it publishes.
  struct PoolSlot {
    size_t home = 0;
    std::shared_ptr<PoolLoad> load;
  };
  // Every function's pools, made by each configure() and never changed after.
  using Placement = std::unordered_map<std::string, std::vector<PoolSlot>>;
  // A pool's definition for one home: the function with its share of the limits.
  struct PoolPlan {
    config::Function function;
    size_t index = 0;
    std::shared_ptr<PoolLoad> load;
    uint32_t total_concurrency = 0;  // the function's own max_concurrency
  };
  // A loop and the pools living there (touched on that loop only).
  struct Home {
    net::EventLoop* loop = nullptr;
    std::unordered_map<std::string, std::unique_ptr<FunctionPool>> pools;
    std::vector<std::unique_ptr<FunctionPool>> retired;  // draining after a reload
    std::shared_ptr<const Placement> placement;           // as this loop last applied it
    std::atomic<bool> stopped{false};
  };
  size_t home_index(const std::string& function) const;
  void apply(Home& home, std::vector<PoolPlan> plans, std::shared_ptr<const Placement> placement);
  // Chooses the pool for an invocation made on `from` (null: not on a home loop),
  // other than `excluded`'s (a home whose pool had no room).
  size_t choose(const std::vector<PoolSlot>& slots, const Home* from,
                const Home* excluded = nullptr) const;
  void place(Home* from, const Placement& placement, const std::string& function,
             Invocation&& inv, const Home* excluded = nullptr);
  // Runs `inv` in `slot`'s pool: on this loop now, else posted to the pool's loop.
  void send(Home* from, const PoolSlot& slot, const std::string& function, Invocation&& inv);
  void invoke_at_home(Home& home, const std::string& function, Invocation&& inv);
  // `home`'s pool has an idle instance: take an invocation waiting in another pool.
  void lend(Home& home, const std::string& function, const std::vector<PoolSlot>& slots);
  Home* current_home() const;
  void stop(Home& home);
  void announce_cgroups(const config::Config& config);

  HostSettings settings_;
  std::unique_ptr<MemoryCgroups> cgroups_;
  FunctionCredentials credentials_;
  net::EventLoop loop_;
  net::Timer cgroup_sweep_;  // removes instance cgroups whose processes were still exiting
  std::thread thread_;
  std::vector<std::unique_ptr<Home>> homes_;  // fixed once started
  mutable std::mutex placement_mu_;
  std::shared_ptr<const Placement> placement_;  // the latest, for callers on no home loop
  bool started_ = false;
  bool warned_no_cgroups_ = false;
  bool announced_cgroups_ = false;
};

}  // namespace portico::functions
