// The instances of one function and the scaling rules of Lambda's model: no process
// until the first invocation; one invocation per instance at a time; a new instance
// when all are busy, up to max_concurrency; beyond that a bounded wait queue, then
// refusal; idle instances stopped after idle_timeout (down to min_instances, which are
// kept warm). Lives on one loop (a worker's); a function may have a pool on each of
// several loops, each with its share of the limits (see FunctionHost).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config/functions_config.h"
#include "functions/cgroup.h"
#include "functions/credentials.h"
#include "functions/instance.h"
#include "gateway/stats.h"
#include "logs/log_store.h"
#include "net/event_loop.h"

namespace portico::functions {

// What every pool shares: where the runtimes live and the account the ARNs name.
struct HostSettings {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string runtime_dir;
  MemoryCgroups* cgroups = nullptr;         // owned by the host; unavailable: no limits
  gateway::StatsRegistry* stats = nullptr;  // per-function metrics (none in tests without one)
  FunctionCredentials* credentials = nullptr;  // each function's access key (owned by the host)
  std::string endpoint_url;  // the services listener (AWS_ENDPOINT_URL), or empty
  logs::LogStore* logs = nullptr;  // where the functions' output is kept, or none
};

// What a finished invocation cost, for the REPORT line.
struct InvocationReport {
  double duration_ms = 0;
  double init_ms = 0;  // > 0 for the first invocation of a cold instance
  uint64_t max_memory_bytes = 0;
};

// What other loops read of a pool to place an invocation, written by the pool's loop
// after each change (relaxed: a hint for placement, not a promise).
struct PoolLoad {
  std::atomic<int32_t> ready{0};       // instances idle, or about to be (finishing)
  std::atomic<int32_t> startable{0};   // instances it may still start
  std::atomic<int32_t> queue_room{0};  // invocations it would queue rather than refuse
  std::atomic<int32_t> queued{0};      // invocations waiting in it
  // Invocations posted to the pool's loop and not yet there (written by the host):
  // they take the room above first, so two loops placing at once do not both count
  // on the same free instance.
  std::atomic<int32_t> incoming{0};
};

class FunctionPool {
 public:
  // `index`: which of the function's pools this is (its metrics' slot); `function`
  // holds this pool's share of the limits, `total_concurrency` the function's own
  // max_concurrency (for messages; 0: the share is the whole).
  FunctionPool(net::EventLoop& loop, const HostSettings& settings, config::Function function,
               size_t index = 0, uint32_t total_concurrency = 0);
  ~FunctionPool();
  FunctionPool(const FunctionPool&) = delete;
  FunctionPool& operator=(const FunctionPool&) = delete;

  const config::Function& function() const { return function_; }
  const HostSettings& settings() const { return settings_; }
  const std::string& arn() const { return arn_; }
  gateway::FunctionPoolStats& stats() { return *stats_; }
  const IssuedCredential& credential() const { return credential_; }

  // Runs or queues `inv`, or refuses it (throttled) when the pool has no room.
  void invoke(Invocation&& inv);
  // Runs or queues `inv` and returns true; false, leaving `inv` as it was, when the pool
  // has no room for it (the host then tries another pool before invoke() refuses it).
  bool offer(Invocation& inv);
  // Where the pool publishes its load (the host reads it from other loops).
  void set_load(std::shared_ptr<PoolLoad> load);
  // Called when an instance goes idle with nothing waiting here: the host may hand it
  // an invocation waiting in another loop's pool of the same function.
  void set_on_spare(std::function<void()> on_spare) { on_spare_ = std::move(on_spare); }
  // Takes the invocation that has waited longest (for another pool with a free instance).
  bool hand_over(Invocation& out);
  // The same function with other scaling settings (the signature is unchanged).
  void update(config::Function function, uint32_t total_concurrency = 0);
  // Retires the pool: waiting invocations go to `successor` (if any; else they are
  // refused as not found), idle instances stop now, busy ones when their invocation
  // ends. on_empty runs once the last instance is gone.
  void drain(std::function<void(Invocation&&)> successor, std::function<void()> on_empty);
  bool empty() const { return instances_.empty(); }
  // Kills every instance (shutdown).
  void stop_all();

  size_t instance_count() const { return instances_.size(); }
  size_t queue_length() const { return queue_.size(); }

  // From instances.
  // The instance waits in `next` (first: for the first time since it started).
  void on_instance_ready(Instance& instance, bool first);
  void on_invocation_done(Instance& instance, Invocation&& inv, InvocationResult&& result,
                          const InvocationReport& report);
  void on_instance_exit(Instance& instance, const std::string& init_error,
                        const std::string& init_error_type, const std::string& exit_text,
                        bool reached_next);
  void on_idle_timeout(Instance& instance);
  // A line of an instance's output (or, platform, Lambda's START/END/REPORT), with the
  // instance's log stream and the id of the invocation it belongs to (may be empty).
  void log_line(std::string_view stream, std::string_view request_id, std::string_view line,
                bool platform = false);
  void log_lines(std::string_view stream, std::string_view request_id,
                 std::span<const std::string_view> lines, bool platform = false);

  // Sends the result to the caller's thread, unless the caller gave up.
  static void deliver(Invocation&& inv, InvocationResult&& result);
  // Sends a piece of a streamed response to the caller's thread (before the result).
  static void deliver_piece(const Invocation& inv, StreamPiece&& piece);

 private:
  void scale();  // starts instances for waiting invocations, keeps min_instances
  bool queue_has_room() const;  // for one more invocation without an idle instance
  // Instances that answered within the last kFinishGraceMs and will be back in
  // `next` soon: a waiting invocation is theirs rather than a cold start's.
  size_t finishing_soon() const;
  bool start_instance(bool provisioned);
  void expire_queue();
  void throttle(Invocation&& inv, std::string message);
  void remove(Instance& instance);
  void publish();  // the gauges (instances, queue depth) and the load

  net::EventLoop& loop_;
  const HostSettings& settings_;
  config::Function function_;
  uint32_t total_concurrency_;  // the function's max_concurrency, all pools together
  std::string arn_;
  std::string log_group_;  // "/aws/lambda/NAME"
  std::unique_ptr<gateway::FunctionPoolStats> own_stats_;  // when no registry was given
  gateway::FunctionPoolStats* stats_;
  std::shared_ptr<PoolLoad> load_;
  std::function<void()> on_spare_;
  IssuedCredential credential_;
  std::vector<std::unique_ptr<Instance>> instances_;
  std::deque<Invocation> queue_;
  net::Timer queue_timer_;    // the oldest waiting invocation's deadline
  net::Timer respawn_timer_;  // retries keeping min_instances after a failed start
  net::Timer scale_timer_;    // looks again once finishing instances had their grace
  size_t starting_ = 0;  // instances not yet waiting in `next` for the first time
  bool draining_ = false;
  std::function<void()> on_empty_;
  uint32_t failed_starts_ = 0;  // in a row, for the respawn back-off
};

}  // namespace portico::functions
