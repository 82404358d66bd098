// The functions thread: owns every function's instances (processes), their Runtime API
// listeners and their timers, so spawning, reaping and all the waiting happen off the
// workers' request path. Workers and the Invoke API call invoke() from any
// thread; the result comes back as a closure posted to the caller's loop.
#pragma once

#include <memory>
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

  void start();
  // Thread-safe. A function whose definition changed gets a new pool (the old one
  // drains); an unchanged one keeps its warm instances; a removed one drains.
  void configure(const config::Config& config);
  // Thread-safe. `reply` runs on `loop` with the result, unless the ticket is
  // cancelled first.
  std::shared_ptr<Ticket> invoke(const std::string& function, std::string payload,
                                 net::EventLoop& loop, Reply reply, InvokeOptions options = {});
  // Stops every instance; blocks until the thread has finished.
  void shutdown();
  // Thread-safe: the function whose access key this is (the services listener's check).
  std::optional<IssuedCredential> function_credential(std::string_view access_key_id) const {
    return credentials_.find(access_key_id);
  }
  const HostSettings& settings() const { return settings_; }


 private:
  void apply(std::vector<config::Function> functions);

  HostSettings settings_;
  std::unique_ptr<MemoryCgroups> cgroups_;
  FunctionCredentials credentials_;
  net::EventLoop loop_;
  net::Timer cgroup_sweep_;  // removes instance cgroups whose processes were still exiting
  std::thread thread_;
  // Functions thread only.
  std::unordered_map<std::string, std::unique_ptr<FunctionPool>> pools_;
  std::vector<std::unique_ptr<FunctionPool>> retired_;  // draining after a reload
  bool warned_no_cgroups_ = false;
  bool announced_cgroups_ = false;
};

}  // namespace portico::functions
