// Where functions run. Each function's instances (processes), their Runtime API
// connections and timers live on one event loop, the function's home: a worker's loop
// (the workers register theirs), chosen by the function's name. A worker invoking a
// function at home calls its pool directly and gets the result on the same loop, with
// no thread in between; other callers (other workers, the Invoke API, the async
// invoker) post to the home. The host's own thread is the home only when no worker
// registered (and keeps the cgroup sweep). Why not a thread of their own: every
// invocation then woke it twice and crossed threads twice, ~30 µs of CPU per warm
// invocation on this kind of machine (docs/performance.md).
#pragma once

#include <atomic>
#include <memory>
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
  // A loop and the pools of the functions whose home it is (touched on that loop only).
  struct Home {
    net::EventLoop* loop = nullptr;
    std::unordered_map<std::string, std::unique_ptr<FunctionPool>> pools;
    std::vector<std::unique_ptr<FunctionPool>> retired;  // draining after a reload
    std::atomic<bool> stopped{false};
  };
  size_t home_index(const std::string& function) const;
  void apply(Home& home, std::vector<config::Function> functions);
  void invoke_at_home(Home& home, const std::string& function, Invocation&& inv);
  void stop(Home& home);
  void announce_cgroups(const config::Config& config);

  HostSettings settings_;
  std::unique_ptr<MemoryCgroups> cgroups_;
  FunctionCredentials credentials_;
  net::EventLoop loop_;
  net::Timer cgroup_sweep_;  // removes instance cgroups whose processes were still exiting
  std::thread thread_;
  std::vector<std::unique_ptr<Home>> homes_;  // fixed once started
  bool started_ = false;
  bool warned_no_cgroups_ = false;
  bool announced_cgroups_ = false;
};

}  // namespace portico::functions
