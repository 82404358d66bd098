#include "functions/instance.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "core/base64.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/random.h"
#include "core/strings.h"
#include "functions/pool.h"

namespace portico::functions {

// An fd watched for its owner; released through the loop (never deleted under an
// epoll batch that may still name it).
class Instance::Watch final : public net::IoHandler {
 public:
  Watch(Instance* owner, int which) : owner_(owner), which_(which) {}
  void on_io(uint32_t) override {
    if (owner_ == nullptr) return;
    if (which_ == 0)
      owner_->on_exit_ready();
    else
      owner_->on_output(which_);
  }
  Instance* owner_;
  int which_;
};

namespace {

// Lambda's error document {"errorType", "errorMessage"}: its fields into r. False if
// `body` is not a JSON object.
bool read_error_document(std::string_view body, InvocationResult& r) {
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object()) return false;
  if (auto* t = doc.as_object().if_contains("errorType"); t != nullptr && t->is_string())
    r.error_type = std::string(t->as_string());
  if (auto* m = doc.as_object().if_contains("errorMessage"); m != nullptr && m->is_string())
    r.message = std::string(m->as_string());
  return true;
}

std::string hex_id(size_t chars) {
  std::string s;
  while (s.size() < chars) s += fmt::format("{:016x}", random_u64());
  s.resize(chars);
  return s;
}

// "2026/12/01/[$LATEST]" + 32 hex digits, as Lambda names log streams.
std::string make_log_stream() {
  std::time_t t = static_cast<std::time_t>(wall_ms() / 1000);
  std::tm tm;
  gmtime_r(&t, &tm);
  return fmt::format("{:04}/{:02}/{:02}/[$LATEST]{}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     hex_id(32));
}

std::string trace_id() {
  return fmt::format("Root=1-{:08x}-{};Parent={};Sampled=0", wall_ms() / 1000, hex_id(24),
                     hex_id(16));
}

// The high-water mark of the process's resident memory (VmHWM), in bytes; 0 if unknown.
uint64_t read_max_rss(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", static_cast<int>(pid));
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* p = strstr(buf, "VmHWM:");
  if (p == nullptr) return 0;
  return strtoull(p + 6, nullptr, 10) * 1024;
}

const char* execution_env(const config::Function& f) {
  switch (f.runtime) {
    case config::Runtime::kNodejs:
      return "nodejs";
    case config::Runtime::kPython:
      return "python";
    case config::Runtime::kProvided:
      return "provided";
  }
  return "";
}

}  // namespace

Instance::Instance(FunctionPool& pool, net::EventLoop& loop, uint64_t serial, bool provisioned)
    : pool_(pool),
      loop_(loop),
      serial_(serial),
      provisioned_(provisioned),
      timeout_(loop, [this] { on_timeout(); }),
      idle_timer_(loop, [this] { pool_.on_idle_timeout(*this); }) {
  log_stream_ = make_log_stream();
}

Instance::~Instance() {
  for (RuntimeConnection* c : connections_) c->close();
  connections_.clear();
  for (int i = 0; i < 3; ++i) {
    int fd = i == 0 ? pidfd_ : out_fd_[i];
    if (fd >= 0) {
      loop_.unwatch(fd);
      ::close(fd);
    }
    if (watches_[i] != nullptr) {
      watches_[i]->owner_ = nullptr;
      loop_.release(watches_[i]);
    }
  }
  if (exec_error_fd_ >= 0) ::close(exec_error_fd_);
  if (pid_ > 0 && state_ != State::kExited) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    // Reaped when it is gone, so no zombie is left; a killed process exits at once.
    ::waitpid(pid_, nullptr, 0);
  }
  if (!cgroup_.empty()) pool_.settings().cgroups->remove(cgroup_);
  if (current_) {
    InvocationResult r = failure(InvocationResult::Status::kRuntimeError, current_->request_id,
                                 "Runtime.ExitError", "the function's instance was stopped");
    FunctionPool::deliver(std::move(*current_), std::move(r));
  }
}

std::vector<std::string> Instance::environment() const {
  const config::Function& f = pool_.function();
  const HostSettings& s = pool_.settings();
  std::vector<std::string> env;
  auto set = [&](std::string_view k, std::string_view v) {
    env.push_back(fmt::format("{}={}", k, v));
  };
  // The configured variables first; Portico's own environment never reaches an
  // instance (it may hold secrets, and variables such as NODE_OPTIONS or
  // AWS_LAMBDA_MAX_CONCURRENCY change how runtime clients behave).
  for (const auto& [k, v] : f.environment) set(k, v);
  set("AWS_LAMBDA_RUNTIME_API", fmt::format("127.0.0.1:{}", listener_->port()));
  set("_HANDLER", f.handler);
  set("LAMBDA_TASK_ROOT", f.code_dir);
  set("LAMBDA_RUNTIME_DIR", f.runtime == config::Runtime::kProvided ? f.code_dir : s.runtime_dir);
  set("AWS_LAMBDA_FUNCTION_NAME", f.name);
  set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
  set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", std::to_string(f.memory_bytes >> 20));
  set("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + f.name);
  set("AWS_LAMBDA_LOG_STREAM_NAME", log_stream_);
  set("AWS_LAMBDA_INITIALIZATION_TYPE", provisioned_ ? "provisioned-concurrency" : "on-demand");
  if (!pool_.credential().access_key_id.empty()) {
    set("AWS_ACCESS_KEY_ID", pool_.credential().access_key_id);
    set("AWS_SECRET_ACCESS_KEY", pool_.credential().secret_access_key);
  }
  if (!s.endpoint_url.empty()) set("AWS_ENDPOINT_URL", s.endpoint_url);
  set("AWS_REGION", s.region);
  set("AWS_DEFAULT_REGION", s.region);
  if (f.runtime != config::Runtime::kProvided) {
    // AWS_Lambda_nodejs20.x: the versioned name as written, else the family.
    std::string env_name =
        f.runtime_text.find('.') != std::string::npos || f.runtime_text.size() > 8
            ? f.runtime_text
            : execution_env(f);
    set("AWS_EXECUTION_ENV", "AWS_Lambda_" + env_name);
  }
  set("TZ", ":UTC");
  set("LANG", "en_US.UTF-8");
  set("PATH", "/usr/local/bin:/usr/bin:/bin:/opt/bin");
  set("LD_LIBRARY_PATH", fmt::format("/lib64:/usr/lib64:{0}:{0}/lib:/opt/lib", f.code_dir));
  return env;
}

bool Instance::spawn(std::string& error) {
  listener_ = std::make_unique<RuntimeListener>(loop_, [this](int fd) { accept(fd); });
  if (listener_->fd() < 0) {
    error = "cannot open the Runtime API listener: " + listener_->error();
    return false;
  }
  const config::Function& f = pool_.function();
  std::vector<std::string> env = environment();
  // Everything the child needs is prepared here: between fork and exec only
  // async-signal-safe calls are allowed (this process has threads).
  std::vector<char*> argv, envp;
  for (const auto& a : f.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const char* dir = f.code_dir.c_str();
  MemoryCgroups* cgroups = pool_.settings().cgroups;
  std::string procs_file;
  if (cgroups != nullptr && cgroups->available()) {
    std::string cg_error;
    cgroup_ = cgroups->make(fmt::format("{}-{}", f.name, serial_), f.memory_bytes, cg_error);
    if (cgroup_.empty()) {
      error = "cannot create the instance's memory cgroup: " + cg_error;
      return false;
    }
    procs_file = cgroups->join_file(cgroup_);
  }
  const char* procs = procs_file.empty() ? nullptr : procs_file.c_str();

  int out[2], err[2], exec_err[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    error = fmt::format("pipe: {}", strerror(errno));
    return false;
  }
  if (pipe2(err, O_CLOEXEC) != 0 || pipe2(exec_err, O_CLOEXEC) != 0) {
    error = fmt::format("pipe: {}", strerror(errno));
    ::close(out[0]);
    ::close(out[1]);
    return false;
  }
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  spawned_ns_ = monotonic_ns();
  pid_t pid = fork();
  if (pid == 0) {
    // Child. Its own process group, so a stop kills what the runtime started too;
    // killed if Portico dies; signals as a new process expects them (Portico blocks
    // and ignores some, and both are inherited across exec).
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    struct sched_param batch {};
    sched_setscheduler(0, SCHED_BATCH, &batch);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    if (procs != nullptr) {
      // Into the instance's memory cgroup before exec, so everything it allocates
      // (and every process it starts) counts against its limit. "0" is the writer
      // itself (see MemoryCgroups::join_file).
      int cfd = open(procs, O_WRONLY | O_CLOEXEC);
      if (cfd < 0 || write(cfd, "0", 1) != 1) {
        int e = errno;
        (void)!write(exec_err[1], &e, sizeof e);
        _exit(126);
      }
      close(cfd);
    }
    if (chdir(dir) != 0) {
      int e = errno;
      (void)!write(exec_err[1], &e, sizeof e);
      _exit(127);
    }
    execve(argv[0], argv.data(), envp.data());
    int e = errno;
    (void)!write(exec_err[1], &e, sizeof e);
    _exit(127);
  }
  if (devnull >= 0) ::close(devnull);
  ::close(out[1]);
  ::close(err[1]);
  ::close(exec_err[1]);
  if (pid < 0) {
    error = fmt::format("fork: {}", strerror(errno));
    ::close(out[0]);
    ::close(err[0]);
    ::close(exec_err[0]);
    return false;
  }
  pid_ = pid;
  exec_error_fd_ = exec_err[0];
  out_fd_[1] = out[0];
  out_fd_[2] = err[0];
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd_ < 0) {
    error = fmt::format("pidfd_open: {}", strerror(errno));
    return false;  // the destructor kills and reaps it
  }
  for (int i = 0; i < 3; ++i) {
    int fd = i == 0 ? pidfd_ : out_fd_[i];
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    watches_[i] = new Watch(this, i);
    loop_.watch(fd, watches_[i], i == 0 ? EPOLLIN : (EPOLLIN | EPOLLRDHUP | EPOLLET));
  }
  return true;
}

// A runtime uses one or two connections (AWS's bash runtime: one per curl). More than
// kMaxRuntimeConnections open at once is a runtime gone wrong: the new one is refused,
// so a leaking client cannot take the home loop's descriptors.
void Instance::accept(int fd) {
  constexpr size_t kMaxRuntimeConnections = 32;
  if (connections_.size() >= kMaxRuntimeConnections) {
    if (!warned_connections_) {
      warned_connections_ = true;
      log::warn("function {}: instance {} has {} Runtime API connections open; refusing more",
                pool_.function().name, serial_, connections_.size());
    }
    ::close(fd);
    return;
  }
  connections_.push_back(new RuntimeConnection(loop_, fd, *this));
}

std::string_view Instance::current_request_id() const {
  return current_ ? std::string_view(current_->request_id) : std::string_view();
}

void Instance::on_next(RuntimeConnection& c) {
  if (state_ == State::kStopping || state_ == State::kExited) {
    c.reply(500, error_document("Runtime.Stopping", "this instance is being stopped"));
    return;
  }
  if (current_) {
    // A runtime asking for more work has given up on the current invocation.
    fail_current(InvocationResult::Status::kRuntimeError, "Runtime.InvalidResponse",
                 "the runtime asked for the next invocation without answering this one");
  }
  bool first = state_ == State::kStarting;
  if (first) init_ns_ = monotonic_ns() - spawned_ns_;
  parked_ = &c;
  state_ = State::kIdle;
  idle_since_ms_ = loop_.now_ms();
  pool_.on_instance_ready(*this, first);
}

void Instance::assign(Invocation&& inv) {
  const config::Function& f = pool_.function();
  state_ = State::kBusy;
  idle_timer_.cancel();
  started_ns_ = monotonic_ns();
  InvocationHead head;
  head.request_id = inv.request_id;
  head.deadline_ms = wall_ms() + f.timeout_ms;
  head.function_arn = pool_.arn();
  std::string trace = trace_id();
  head.trace_id = trace;
  head.client_context = inv.client_context;
  current_ = std::move(inv);
  timeout_.arm_after_ms(f.timeout_ms);
  pool_.stats().invocations.add();
  pool_.stats().concurrent.inc();
  log("START RequestId: " + current_->request_id + " Version: $LATEST", true);
  RuntimeConnection* c = parked_;
  parked_ = nullptr;
  c->send_invocation(head, current_->payload);
}

void Instance::finish(InvocationResult&& result) {
  timeout_.cancel();
  streaming_ = false;
  stream_body_.clear();
  Invocation inv = std::move(*current_);
  current_.reset();
  finished_ms_ = loop_.now_ms();
  InvocationReport report;
  report.duration_ms = static_cast<double>(monotonic_ns() - started_ns_) / 1e6;
  if (!init_reported_) {
    init_reported_ = true;
    report.init_ms = static_cast<double>(init_ns_) / 1e6;
  }
  report.max_memory_bytes = sample_memory();
  result.request_id = inv.request_id;
  pool_.on_invocation_done(*this, std::move(inv), std::move(result), report);
}

// Read at most every 100 ms per instance: the peak only grows, and a file read per
// invocation would cost more than the invocation's own bookkeeping.
uint64_t Instance::sample_memory() {
  if (loop_.now_ms() - memory_sampled_ms_ < 100 && max_rss_bytes_ != 0) return max_rss_bytes_;
  memory_sampled_ms_ = loop_.now_ms();
  // The cgroup's peak counts the whole process tree but only memory charged to it
  // (not the runtime's binary, already cached for another); the process's VmHWM
  // counts what it maps, shared pages too. The larger is what the instance needed.
  uint64_t peak = 0;
  if (!cgroup_.empty()) peak = pool_.settings().cgroups->peak_bytes(cgroup_);
  if (pid_ > 0 && state_ != State::kExited) peak = std::max(peak, read_max_rss(pid_));
  if (peak > max_rss_bytes_) max_rss_bytes_ = peak;
  return max_rss_bytes_;
}

void Instance::fail_current(InvocationResult::Status status, std::string_view type,
                            std::string_view message) {
  if (!current_) return;
  finish(failure(status, current_->request_id, type, message));
}

// An answer (response or error) for the running invocation is acknowledged; one for
// any other id is refused, as Lambda refuses it.
bool Instance::accept_answer(RuntimeConnection& c, std::string_view request_id) {
  if (!current_ || request_id != current_->request_id) {
    c.reply(400,
            error_document("InvalidRequestID", "no invocation with this request id is running"));
    return false;
  }
  c.reply(202, R"({"status":"OK"})");
  return true;
}

void Instance::on_response(RuntimeConnection& c, std::string_view request_id, std::string body) {
  if (!accept_answer(c, request_id)) return;
  InvocationResult r;
  r.payload = std::move(body);
  finish(std::move(r));
}

void Instance::on_error(RuntimeConnection& c, std::string_view request_id, std::string body,
                        std::string_view error_type) {
  if (!accept_answer(c, request_id)) return;
  InvocationResult r;
  r.status = InvocationResult::Status::kFunctionError;
  // The type from the header when sent (AWS's clients send it on init errors), else
  // from the document.
  bool is_document = read_error_document(body, r);
  if (!error_type.empty()) r.error_type = std::string(error_type);
  if (r.error_type.empty()) r.error_type = "Unhandled";
  if (!is_document) body = error_document(r.error_type, body);  // wrapped as its message
  r.payload = std::move(body);
  finish(std::move(r));
}

void Instance::on_init_error(RuntimeConnection& c, std::string body, std::string_view error_type) {
  c.reply(202, R"({"status":"OK"})");
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(body, ec);
  std::string type(error_type);
  if (!ec && doc.is_object()) {
    if (auto* t = doc.as_object().if_contains("errorType");
        t != nullptr && t->is_string() && type.empty()) {
      type = std::string(t->as_string());
    }
  }
  if (type.empty()) type = "Runtime.Unknown";
  init_error_type_ = type;
  init_error_ = ec || !doc.is_object() ? error_document(type, body) : std::move(body);
  // An instance that failed to start is of no further use; what it printed has been
  // captured. The invocation waiting for it fails with the runtime's document.
  stop("init error");
}

// A streamed response goes to the caller piece by piece when it gave a sink (a route),
// else it is collected and answered whole (the Invoke API, asynchronous events).
bool Instance::on_stream_start(RuntimeConnection&, std::string_view request_id,
                               std::string_view content_type) {
  if (!current_ || request_id != current_->request_id || streaming_) return false;
  streaming_ = true;
  stream_body_.clear();
  if (current_->stream) {
    FunctionPool::deliver_piece(*current_, {StreamPiece::Kind::kStart, std::string(content_type)});
  }
  return true;
}

void Instance::on_stream_data(std::string_view data) {
  if (!current_ || !streaming_) return;  // timed out part way: the rest is dropped
  if (current_->stream) {
    FunctionPool::deliver_piece(*current_, {StreamPiece::Kind::kData, std::string(data)});
  } else {
    stream_body_.append(data);
  }
}

void Instance::on_stream_end(RuntimeConnection& c, std::string_view error_type,
                             std::string_view error_body) {
  if (!current_ || !streaming_) {
    c.reply(400,
            error_document("InvalidRequestID", "no invocation with this request id is running"));
    return;
  }
  c.reply(202, R"({"status":"OK"})");
  streaming_ = false;
  InvocationResult r;
  r.streamed = static_cast<bool>(current_->stream);
  if (error_type.empty()) {
    r.payload = std::move(stream_body_);
    stream_body_.clear();
    finish(std::move(r));
    return;
  }
  // Failed part way: the error document comes base64 in a trailer; the trailer's type wins.
  r.status = InvocationResult::Status::kFunctionError;
  auto document = base64_decode(error_body);
  bool is_document = document && read_error_document(*document, r);
  r.error_type = std::string(error_type);
  r.payload = is_document ? std::move(*document)
                          : error_document(r.error_type,
                                           "the function failed while streaming its response");
  stream_body_.clear();
  finish(std::move(r));
}

void Instance::on_oversized(RuntimeConnection&, std::string_view request_id) {
  if (!current_ || request_id != current_->request_id) return;
  uint64_t limit = streaming_ ? kMaxStreamedBytes : kMaxPayloadBytes;
  streaming_ = false;
  stream_body_.clear();
  fail_current(
      InvocationResult::Status::kFunctionError, "Function.ResponseSizeTooLarge",
      fmt::format("Response payload size exceeded maximum allowed payload size ({} bytes).",
                  limit));
}

void Instance::on_closed(RuntimeConnection& c) {
  if (parked_ == &c) {
    parked_ = nullptr;
    // Closed while waiting in `next`: not available until it asks again.
    if (state_ == State::kIdle) state_ = State::kBusy;
  }
  std::erase(connections_, &c);
}

void Instance::on_timeout() {
  if (!current_) return;
  double seconds = static_cast<double>(pool_.function().timeout_ms) / 1000.0;
  fail_current(InvocationResult::Status::kTimeout, "Sandbox.Timedout",
               fmt::format("Task timed out after {:.2f} seconds", seconds));
  stop("timeout");
}

void Instance::stop(std::string_view why) {
  if (state_ == State::kStopping || state_ == State::kExited) return;
  stop_reason_ = std::string(why);
  state_ = State::kStopping;
  idle_timer_.cancel();
  parked_ = nullptr;
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
  }
}

std::string Instance::exit_text() const {
  if (WIFEXITED(wait_status_)) return fmt::format("exit status {}", WEXITSTATUS(wait_status_));
  if (WIFSIGNALED(wait_status_)) {
    std::string name = strsignal(WTERMSIG(wait_status_));
    if (!name.empty()) name[0] = ascii_lower(name[0]);
    return "signal: " + name;
  }
  return "exited";
}

void Instance::on_exit_ready() {
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return;
  wait_status_ = status;
  bool reached_next = init_ns_ > 0;
  state_ = State::kExited;
  // Whatever the runtime started in its group goes with it.
  ::kill(-pid_, SIGKILL);
  for (int i = 1; i < 3; ++i) on_output(i);  // the last lines
  std::string why = exit_text();
  int exec_errno = 0;
  if (exec_error_fd_ >= 0 &&
      ::read(exec_error_fd_, &exec_errno, sizeof exec_errno) == sizeof exec_errno) {
    why =
        WIFEXITED(status) && WEXITSTATUS(status) == 126
            ? fmt::format("cannot join the memory cgroup {}: {}", cgroup_, strerror(exec_errno))
            : fmt::format("cannot start {}: {}", pool_.function().command[0], strerror(exec_errno));
  }
  MemoryCgroups* cgroups = pool_.settings().cgroups;
  bool oom = !cgroup_.empty() && cgroups->oom_killed(cgroup_);
  if (oom) {
    log::warn("function {}: instance {} ran out of memory (limit {} MB)", pool_.function().name,
              serial_, pool_.function().memory_bytes >> 20);
  }
  if (!cgroup_.empty()) {
    cgroups->remove(cgroup_);
    cgroup_.clear();
  }
  if (current_ && oom) {
    fail_current(
        InvocationResult::Status::kRuntimeError, "Runtime.OutOfMemory",
        fmt::format("Runtime exited with error: {} (out of memory: the function used more than its "
                    "{} MB)",
                    why, pool_.function().memory_bytes >> 20));
  } else if (current_) {
    if (stop_reason_.empty()) {
      fail_current(InvocationResult::Status::kRuntimeError, "Runtime.ExitError",
                   "Runtime exited with error: " + why);
    } else {
      fail_current(InvocationResult::Status::kRuntimeError, "Runtime.ExitError",
                   fmt::format("Runtime exited with error: {} ({})", why, stop_reason_));
    }
  }
  for (RuntimeConnection* c : connections_) c->close();
  connections_.clear();
  parked_ = nullptr;
  pool_.on_instance_exit(*this, init_error_, init_error_type_, why,
                         reached_next);  // may destroy this
}

void Instance::log(std::string_view line, bool platform) {
  pool_.log_line(log_stream_, current_request_id(), line, platform);
  if (current_ && current_->tail_log) {
    std::string& kept = current_->log;
    kept.append(line).append("\n");
    // The Invoke API returns the last 4 KB; more is kept only to cut at a line.
    if (kept.size() > 64 * 1024) kept.erase(0, kept.size() - 32 * 1024);
  }
}

void Instance::on_output(int stream) {
  int fd = out_fd_[stream];
  if (fd < 0) return;
  char buf[16 * 1024];
  std::string& partial = partial_[stream];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      size_t start = 0;
      for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
        if (buf[i] != '\n') continue;
        partial.append(buf + start, i - start);
        log(partial);
        partial.clear();
        start = i + 1;
      }
      partial.append(buf + start, static_cast<size_t>(n) - start);
      if (partial.size() >= 256 * 1024) {  // a runaway line is cut, not held without bound
        log(partial);
        partial.clear();
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // EOF: the process (and everything it started) closed the stream.
    if (!partial.empty()) {
      log(partial);
      partial.clear();
    }
    loop_.unwatch(fd);
    ::close(fd);
    out_fd_[stream] = -1;
    return;
  }
}

}  // namespace portico::functions
