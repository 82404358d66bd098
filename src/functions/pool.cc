#include "functions/pool.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/random.h"
#include "core/strings.h"

namespace portico::functions {
namespace {

// How long an instance that just answered is expected back in `next`. A runtime
// needs a moment between its answer and its next request (AWS's bash runtime starts
// two processes); a client that sends its next request at once should get that
// instance, not a cold start, which costs 20-100 ms.
constexpr int64_t kFinishGraceMs = 50;

// Instance serials, unique in the process: a function's pools on several loops (and a
// reload's old and new pools) never share an instance's number or memory cgroup.
std::atomic<uint64_t> next_serial{1};

}  // namespace

FunctionPool::FunctionPool(net::EventLoop& loop, const HostSettings& settings,
                           config::Function function, size_t index, uint32_t total_concurrency)
    : loop_(loop),
      settings_(settings),
      function_(std::move(function)),
      total_concurrency_(total_concurrency != 0 ? total_concurrency : function_.max_concurrency),
      queue_timer_(loop, [this] { expire_queue(); }),
      respawn_timer_(loop, [this] { scale(); }),
      scale_timer_(loop, [this] { scale(); }) {
  arn_ = function_arn(settings_.region, settings_.account_id, function_.name);
  log_group_ = logs::function_log_group(function_.name);
  if (settings_.stats != nullptr) {
    stats_ = settings_.stats->function_pool(function_.name, index);
  } else {
    own_stats_ = std::make_unique<gateway::FunctionPoolStats>();
    stats_ = own_stats_.get();
  }
  if (settings_.credentials != nullptr) credential_ = settings_.credentials->issue(function_.name);
  scale();  // provisioned instances start now
}

FunctionPool::~FunctionPool() {
  stop_all();
  if (settings_.credentials != nullptr) settings_.credentials->revoke(credential_.access_key_id);
}

void FunctionPool::stop_all() {
  draining_ = true;
  for (auto& inv : queue_) {
    deliver(std::move(inv), refusal(InvocationResult::Status::kNotFound, "ServiceException",
                                    "Portico is shutting down"));
  }
  queue_.clear();
  instances_.clear();  // each kills and reaps its process
}

void FunctionPool::deliver(Invocation&& inv, InvocationResult&& result) {
  if (inv.reply_loop == nullptr || !inv.reply) return;
  if (result.request_id.empty()) result.request_id = inv.request_id;
  // A worker invoking a function at home gets it after the current event, not posted.
  inv.reply_loop->run_soon([ticket = std::move(inv.ticket), reply = std::move(inv.reply),
                            result = std::move(result)]() mutable {
    if (!ticket || !ticket->cancelled()) reply(std::move(result));
  });
}

void FunctionPool::deliver_piece(const Invocation& inv, StreamPiece&& piece) {
  if (inv.reply_loop == nullptr || !inv.stream) return;
  inv.reply_loop->run_soon(
      [ticket = inv.ticket, sink = inv.stream, piece = std::move(piece)]() mutable {
        if (!ticket || !ticket->cancelled()) sink(std::move(piece));
      });
}

void FunctionPool::invoke(Invocation&& inv) {
  if (offer(inv)) return;
  throttle(std::move(inv),
           fmt::format("Rate Exceeded: all {} instances are busy and the wait queue is full",
                       total_concurrency_));
}

bool FunctionPool::offer(Invocation& inv) {
  inv.enqueued_ms = loop_.now_ms();
  // The most recently idle instance first: it is the warmest, and the others reach
  // their idle timeout sooner, so the pool shrinks to what the load needs.
  Instance* best = nullptr;
  for (auto& i : instances_) {
    if (i->idle() && (best == nullptr || i->idle_since_ms() > best->idle_since_ms()))
      best = i.get();
  }
  if (best != nullptr) {
    best->assign(std::move(inv));
    publish();
    return true;
  }
  if (!queue_has_room()) return false;
  queue_.push_back(std::move(inv));
  if (!queue_timer_.armed()) queue_timer_.arm_after_ms(function_.timeout_ms);
  scale();
  publish();
  return true;
}

// Waiting invocations beyond what starting (or startable) instances will take are
// limited by max_queue.
bool FunctionPool::queue_has_room() const {
  size_t can_start = function_.max_concurrency > instances_.size()
                         ? function_.max_concurrency - instances_.size()
                         : 0;
  size_t coming = starting_ + finishing_soon() + can_start;
  size_t without_instance = queue_.size() + 1 > coming ? queue_.size() + 1 - coming : 0;
  return without_instance <= function_.max_queue;
}

void FunctionPool::publish() {
  stats_->instances.set(static_cast<int64_t>(instances_.size()));
  stats_->queued.set(static_cast<int64_t>(queue_.size()));
  if (!load_) return;
  int64_t idle = 0;
  for (const auto& i : instances_) idle += i->idle() ? 1 : 0;
  int64_t startable = static_cast<int64_t>(function_.max_concurrency) -
                      static_cast<int64_t>(instances_.size());
  if (startable < 0 || draining_) startable = 0;
  int64_t waiting = static_cast<int64_t>(queue_.size());
  int64_t returning = static_cast<int64_t>(finishing_soon());
  int64_t starting = static_cast<int64_t>(starting_);
  // Waiting invocations take the ready instances first, then the ones starting, then
  // slots to start more in.
  int64_t ready = idle + returning - waiting;
  int64_t uncovered = waiting - idle - returning - starting;
  if (uncovered > 0) startable = std::max<int64_t>(0, startable - uncovered);
  int64_t coming = starting + returning + startable;
  int64_t room = coming + static_cast<int64_t>(function_.max_queue) - waiting;
  if (draining_) ready = startable = room = 0;
  load_->ready.store(static_cast<int32_t>(std::max<int64_t>(0, ready)), std::memory_order_relaxed);
  load_->startable.store(static_cast<int32_t>(startable), std::memory_order_relaxed);
  load_->queue_room.store(static_cast<int32_t>(std::clamp<int64_t>(room, 0, INT32_MAX)),
                          std::memory_order_relaxed);
  load_->queued.store(static_cast<int32_t>(waiting), std::memory_order_relaxed);
}

void FunctionPool::set_load(std::shared_ptr<PoolLoad> load) {
  load_ = std::move(load);
  publish();
}

bool FunctionPool::hand_over(Invocation& out) {
  while (!queue_.empty()) {
    Invocation inv = std::move(queue_.front());
    queue_.pop_front();
    if (inv.ticket && inv.ticket->cancelled()) continue;
    out = std::move(inv);
    if (queue_.empty()) queue_timer_.cancel();
    publish();
    return true;
  }
  queue_timer_.cancel();
  publish();
  return false;
}

void FunctionPool::throttle(Invocation&& inv, std::string message) {
  stats_->throttles.add();
  deliver(std::move(inv), refusal(InvocationResult::Status::kThrottled, "TooManyRequestsException",
                                  std::move(message)));
}

// An invocation waits for an instance at most the function's timeout.
void FunctionPool::expire_queue() {
  int64_t now = loop_.now_ms();
  while (!queue_.empty() && now - queue_.front().enqueued_ms >= function_.timeout_ms) {
    Invocation inv = std::move(queue_.front());
    queue_.pop_front();
    if (inv.ticket && inv.ticket->cancelled()) continue;
    throttle(std::move(inv),
             fmt::format("Rate Exceeded: no instance became free within {} ms (max_concurrency {})",
                         function_.timeout_ms, total_concurrency_));
  }
  if (!queue_.empty()) queue_timer_.arm_at_ms(queue_.front().enqueued_ms + function_.timeout_ms);
  publish();
}

size_t FunctionPool::finishing_soon() const {
  size_t n = 0;
  int64_t now = loop_.now_ms();
  for (const auto& i : instances_) {
    if (i->finishing() && now - i->finished_ms() < kFinishGraceMs) ++n;
  }
  return n;
}

void FunctionPool::scale() {
  if (draining_) return;
  // Invocations that no starting (or returning) instance will take, and the
  // provisioned minimum.
  size_t returning = queue_.size() > starting_ ? finishing_soon() : 0;
  while (instances_.size() < function_.max_concurrency &&
         (queue_.size() > starting_ + returning || instances_.size() < function_.min_instances)) {
    bool provisioned = instances_.size() < function_.min_instances && queue_.size() <= starting_;
    if (!start_instance(provisioned)) break;
  }
  if (returning > 0 && queue_.size() > starting_ && !scale_timer_.armed())
    scale_timer_.arm_after_ms(kFinishGraceMs);
}

bool FunctionPool::start_instance(bool provisioned) {
  auto instance = std::make_unique<Instance>(*this, loop_, next_serial.fetch_add(1), provisioned);
  std::string error;
  if (!instance->spawn(error)) {
    log::error("function {}: cannot start an instance: {}", function_.name, error);
    // The waiting invocations fail now rather than at their deadline.
    while (queue_.size() > starting_) {
      Invocation inv = std::move(queue_.back());
      queue_.pop_back();
      std::string id = inv.request_id;
      deliver(std::move(inv), failure(InvocationResult::Status::kRuntimeError, id,
                                      "Runtime.ExitError", "cannot start the function: " + error));
    }
    respawn_timer_.arm_after_ms(
        std::min<int64_t>(100 << std::min<uint32_t>(failed_starts_++, 5), 5'000));
    return false;
  }
  log::debug("function {}: instance {} started (pid {}{})", function_.name, instance->serial(),
             instance->pid(), provisioned ? ", provisioned" : "");
  ++starting_;
  instances_.push_back(std::move(instance));
  stats_->cold_starts.add();
  publish();
  return true;
}

void FunctionPool::on_instance_ready(Instance& instance, bool first) {
  if (first) {
    --starting_;
    failed_starts_ = 0;
  }
  if (draining_) {
    instance.stop("retired by a reload");
    return;
  }
  while (!queue_.empty()) {
    Invocation inv = std::move(queue_.front());
    queue_.pop_front();
    if (inv.ticket && inv.ticket->cancelled()) continue;
    if (queue_.empty()) queue_timer_.cancel();
    instance.assign(std::move(inv));
    publish();
    return;
  }
  queue_timer_.cancel();
  instance.arm_idle(function_.idle_timeout_ms);
  publish();
  if (on_spare_) on_spare_();
}

void FunctionPool::on_idle_timeout(Instance& instance) {
  if (!instance.idle()) return;
  if (instances_.size() > function_.min_instances || draining_) {
    log::debug("function {}: instance {} idle for {} ms, stopping", function_.name,
               instance.serial(), function_.idle_timeout_ms);
    instance.stop("idle");
  } else {
    instance.arm_idle(function_.idle_timeout_ms);
  }
}

void FunctionPool::on_invocation_done(Instance& instance, Invocation&& inv,
                                      InvocationResult&& result, const InvocationReport& report) {
  uint64_t billed = static_cast<uint64_t>(report.duration_ms);
  if (static_cast<double>(billed) < report.duration_ms || billed == 0) ++billed;
  // Durations in hundredths of a millisecond, printed as integers (a float's formatting
  // cost more than the rest of the line).
  auto hundredths = [](double ms) { return static_cast<uint64_t>(std::llround(ms * 100)); };
  uint64_t duration = hundredths(report.duration_ms);
  std::string end = "END RequestId: " + inv.request_id;
  std::string line = fmt::format(
      "REPORT RequestId: {}\tDuration: {}.{:02} ms\tBilled Duration: {} ms\tMemory Size: {} MB\t"
      "Max Memory Used: {} MB",
      inv.request_id, duration / 100, duration % 100, billed, function_.memory_bytes >> 20,
      (report.max_memory_bytes + (1 << 20) - 1) >> 20);
  if (report.init_ms > 0) {
    uint64_t init = hundredths(report.init_ms);
    line += fmt::format("\tInit Duration: {}.{:02} ms", init / 100, init % 100);
  }
  const std::string_view lines[] = {end, line};
  log_lines(instance.log_stream(), inv.request_id, lines, true);
  if (inv.tail_log) {
    inv.log.append(end).append("\n").append(line).append("\n");
    result.log = std::move(inv.log);
  }
  stats_->concurrent.dec();
  stats_->duration.observe_ns(static_cast<int64_t>(report.duration_ms * 1e6));
  if (report.init_ms > 0)
    stats_->init_duration.observe_ns(static_cast<int64_t>(report.init_ms * 1e6));
  stats_->billed_mb_ms.add(billed * (function_.memory_bytes >> 20));
  if (!result.ok()) stats_->errors.add();
  if (result.status == InvocationResult::Status::kTimeout) stats_->timeouts.add();
  deliver(std::move(inv), std::move(result));
  if (draining_) instance.stop("retired by a reload");
  publish();  // the instance is ready for another pool's callers (it is finishing)
}

void FunctionPool::on_instance_exit(Instance& instance, const std::string& init_error,
                                    const std::string& init_error_type,
                                    const std::string& exit_text, bool reached_next) {
  bool deliberate = instance.state() == Instance::State::kExited &&
                    !instance.stop_reason().empty() && instance.stop_reason() != "init error" &&
                    instance.stop_reason() != "timeout";
  if (!reached_next) {
    --starting_;
    if (!deliberate) {
      ++failed_starts_;
      stats_->init_failures.add();
      std::string message =
          init_error.empty() ? "Runtime exited with error: " + exit_text : init_error;
      log::warn("function {}: instance {} failed to start: {}", function_.name, instance.serial(),
                message);
      // The invocation that waits longest is the one this instance would have run.
      while (!queue_.empty()) {
        Invocation inv = std::move(queue_.front());
        queue_.pop_front();
        if (inv.ticket && inv.ticket->cancelled()) continue;
        InvocationResult r;
        if (init_error.empty()) {
          r = failure(InvocationResult::Status::kRuntimeError, inv.request_id, "Runtime.ExitError",
                      "Runtime exited with error: " + exit_text);
        } else {
          // The runtime's own document (from /init/error) is the answer.
          r = refusal(InvocationResult::Status::kRuntimeError, init_error_type, init_error);
          r.payload = init_error;
        }
        stats_->errors.add();
        deliver(std::move(inv), std::move(r));
        break;
      }
      if (queue_.empty()) queue_timer_.cancel();
    }
  } else if (!deliberate) {
    log::warn("function {}: instance {} exited: {}", function_.name, instance.serial(), exit_text);
  }
  remove(instance);
  publish();
  if (!queue_.empty())
    scale();
  else if (instances_.size() < function_.min_instances && !draining_) {
    respawn_timer_.arm_after_ms(
        failed_starts_ == 0
            ? 0
            : std::min<int64_t>(100LL << std::min<uint32_t>(failed_starts_, 6), 5'000));
  }
  if (draining_ && instances_.empty() && on_empty_) loop_.defer(on_empty_);
}

void FunctionPool::remove(Instance& instance) {
  auto it = std::find_if(instances_.begin(), instances_.end(),
                         [&](const auto& p) { return p.get() == &instance; });
  if (it == instances_.end()) return;
  // Destroyed after the current event: the caller is one of the instance's own methods.
  auto owned = std::make_shared<std::unique_ptr<Instance>>(std::move(*it));
  instances_.erase(it);
  loop_.defer([owned] {});
}

void FunctionPool::update(config::Function function, uint32_t total_concurrency) {
  function_ = std::move(function);
  total_concurrency_ = total_concurrency != 0 ? total_concurrency : function_.max_concurrency;
  scale();
}

void FunctionPool::drain(std::function<void(Invocation&&)> successor,
                         std::function<void()> on_empty) {
  draining_ = true;
  on_empty_ = std::move(on_empty);
  queue_timer_.cancel();
  respawn_timer_.cancel();
  while (!queue_.empty()) {
    Invocation inv = std::move(queue_.front());
    queue_.pop_front();
    if (successor) {
      successor(std::move(inv));
    } else {
      deliver(std::move(inv), refusal(InvocationResult::Status::kNotFound,
                                      "ResourceNotFoundException", "Function not found: " + arn_));
    }
  }
  for (auto& i : instances_) {
    if (i->state() == Instance::State::kIdle || i->state() == Instance::State::kStarting)
      i->stop("retired by a reload");
  }
  publish();
  if (instances_.empty() && on_empty_) loop_.defer(on_empty_);
}

void FunctionPool::log_line(std::string_view stream, std::string_view id, std::string_view line,
                            bool platform) {
  log_lines(stream, id, {&line, 1}, platform);
}

void FunctionPool::log_lines(std::string_view stream, std::string_view id,
                             std::span<const std::string_view> lines, bool platform) {
  if (settings_.logs != nullptr) settings_.logs->append(log_group_, stream, id, wall_ms(), lines);
  // Lambda's own lines (START/END/REPORT) are three per invocation: in Portico's log only
  // at debug (each line there is a flushed write: 10-24% of a warm invocation's cost).
  log::Level level = platform ? log::Level::kDebug : log::Level::kInfo;
  if (!log::enabled(level)) return;
  for (std::string_view line : lines) {
    log::write(level,
               fmt::format("function {}{}{}: {}", function_.name, id.empty() ? "" : " ", id, line));
  }
}

}  // namespace portico::functions
