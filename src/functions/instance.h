// One running copy of a function: a child process that speaks the Runtime API to its
// own loopback listener. It serves one invocation at a time: the pool assigns one when
// the instance waits in `next`, and the instance reports back when the runtime
// answers, fails, runs out of time or exits. Lives on its function's home loop (FunctionHost).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "functions/invocation.h"
#include "functions/runtime_api.h"
#include "net/event_loop.h"

namespace portico::functions {

class FunctionPool;

// An invocation as the home loop holds it.
struct Invocation {
  std::string request_id;
  std::string payload;
  int64_t enqueued_ms = 0;  // monotonic, for the wait-queue bound
  std::shared_ptr<Ticket> ticket;
  net::EventLoop* reply_loop = nullptr;
  Reply reply;
  std::string client_context;  // JSON (decoded from the Invoke API's base64), or empty
  bool tail_log = false;       // keep the log lines (the Invoke API's X-Amz-Log-Type: Tail)
  std::string log;
  StreamSink stream;  // takes a streamed response as it arrives, or none (collected)
  // Pools of the function that passed it on for want of room (FunctionHost): it is
  // refused only when the others had none either.
  uint8_t passed_on = 0;
};

class Instance final : public RuntimeApiHandler {
 public:
  enum class State : uint8_t {
    kStarting,  // spawned; not yet asked for an invocation
    kIdle,      // waiting in `next`
    kBusy,      // running an invocation, or between its answer and the next `next`
    kStopping,  // killed; waiting for the process to be reaped
    kExited,
  };

  Instance(FunctionPool& pool, net::EventLoop& loop, uint64_t serial, bool provisioned);
  ~Instance() override;
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // Starts the listener and the process; false (with a reason) when either fails.
  bool spawn(std::string& error);
  // The instance must be kIdle.
  void assign(Invocation&& inv);
  // Kills the process group; the pool hears of it through on_instance_exit.
  void stop(std::string_view why);
  // Tells the pool (on_idle_timeout) when it has waited this long with nothing to do.
  void arm_idle(int64_t ms) { idle_timer_.arm_after_ms(ms); }
  const std::string& stop_reason() const { return stop_reason_; }
  const std::string& log_stream() const { return log_stream_; }  // AWS_LAMBDA_LOG_STREAM_NAME

  State state() const { return state_; }
  bool idle() const { return state_ == State::kIdle; }
  // Answered its invocation and not yet back in `next` (since finished_ms()).
  bool finishing() const { return state_ == State::kBusy && !current_; }
  int64_t finished_ms() const { return finished_ms_; }
  bool provisioned() const { return provisioned_; }
  uint64_t serial() const { return serial_; }
  pid_t pid() const { return pid_; }
  int64_t idle_since_ms() const { return idle_since_ms_; }
  // The id of the invocation running now (for log lines), or empty.
  std::string_view current_request_id() const;

  // RuntimeApiHandler
  void on_next(RuntimeConnection& c) override;
  void on_response(RuntimeConnection& c, std::string_view request_id, std::string body) override;
  void on_error(RuntimeConnection& c, std::string_view request_id, std::string body,
                std::string_view error_type) override;
  void on_init_error(RuntimeConnection& c, std::string body, std::string_view error_type) override;
  bool on_stream_start(RuntimeConnection& c, std::string_view request_id,
                       std::string_view content_type) override;
  void on_stream_data(std::string_view data) override;
  void on_stream_end(RuntimeConnection& c, std::string_view error_type,
                     std::string_view error_body) override;
  void on_oversized(RuntimeConnection& c, std::string_view request_id) override;
  void on_closed(RuntimeConnection& c) override;

 private:
  class Watch;
  void accept(int fd);
  void on_exit_ready();
  void on_output(int stream);  // 1 stdout, 2 stderr
  // To the log store and Portico's log (platform: Lambda's START line, at debug there), and
  // the invocation's if it keeps one.
  void log(std::string_view line, bool platform = false);
  bool accept_answer(RuntimeConnection& c, std::string_view request_id);
  void finish(InvocationResult&& result);
  void fail_current(InvocationResult::Status status, std::string_view type,
                    std::string_view message);
  void on_timeout();
  std::string exit_text() const;  // "exit status 1", "signal: killed"
  uint64_t sample_memory();       // the peak memory so far (cgroup, else the process's VmHWM)
  std::vector<std::string> environment() const;

  FunctionPool& pool_;
  net::EventLoop& loop_;
  uint64_t serial_;
  bool provisioned_;
  State state_ = State::kStarting;
  std::unique_ptr<RuntimeListener> listener_;
  std::vector<RuntimeConnection*> connections_;
  RuntimeConnection* parked_ = nullptr;  // the connection waiting in `next`
  std::optional<Invocation> current_;
  net::Timer timeout_;
  net::Timer idle_timer_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int out_fd_[3] = {-1, -1, -1};  // read ends of the child's stdout (1) and stderr (2)
  std::string partial_[3];        // output lines not ended yet
  Watch* watches_[3] = {nullptr, nullptr, nullptr};  // pidfd (0), stdout (1), stderr (2)
  int exec_error_fd_ = -1;  // the child writes why execve failed, if it did
  int wait_status_ = 0;
  std::string log_stream_;
  std::string init_error_;  // the document of /init/error, if the runtime posted one
  std::string init_error_type_;
  std::string stop_reason_;
  int64_t spawned_ns_ = 0;
  int64_t init_ns_ = 0;  // spawn to first `next`; reported with the first invocation
  bool init_reported_ = false;
  int64_t started_ns_ = 0;  // the current invocation's start
  int64_t idle_since_ms_ = 0;
  int64_t finished_ms_ = 0;
  std::string cgroup_;  // the instance's memory cgroup, or empty
  bool streaming_ = false;     // the current invocation's response is being streamed
  bool warned_connections_ = false;
  std::string stream_body_;    // a streamed response collected (no sink)
  int64_t memory_sampled_ms_ = 0;
  uint64_t max_rss_bytes_ = 0;
};

}  // namespace portico::functions
