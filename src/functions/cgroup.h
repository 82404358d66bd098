// Memory limits for function instances. Each instance runs in a memory cgroup of its
// own, below one Portico creates for itself: cgroup v2 where the unified hierarchy
// has the memory controller, else the v1 memory controller. The cgroup enforces the
// function's `memory` (the kernel's OOM killer ends the instance when it is
// exceeded), tells afterwards whether that happened, and measures the instance's
// peak memory (its whole process tree). Where neither can be created, instances run
// without a limit and say so once in the log.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace portico::functions {

class MemoryCgroups {
 public:
  // Finds a writable memory controller and creates Portico's own cgroup under it; an
  // object with available() false (and the reason) when there is none.
  static std::unique_ptr<MemoryCgroups> create();
  ~MemoryCgroups();  // removes what is left (instances are gone by then)

  bool available() const { return !base_.empty(); }
  const std::string& why_unavailable() const { return why_; }
  int version() const { return version_; }

  // A new cgroup for one instance with the limit set. Returns its directory, or empty
  // (with error) when it cannot be made.
  std::string make(const std::string& name, uint64_t limit_bytes, std::string& error);
  // The file the instance's process writes "0" (itself) to, before exec. On v1 that is
  // `tasks`, which moves only the calling thread (the whole of a process just forked):
  // the kernel then skips the write lock on every thread group's migration, which on
  // v1 costs ~10 ms (an RCU grace period) whenever no migration happened just before,
  // i.e. at nearly every cold start. v2 has only cgroup.procs.
  std::string join_file(const std::string& dir) const {
    return dir + (version_ == 1 ? "/tasks" : "/cgroup.procs");
  }
  // After the instance's processes are gone: whether the OOM killer ended one, and
  // the peak usage in bytes (0 if unknown).
  bool oom_killed(const std::string& dir) const;
  uint64_t peak_bytes(const std::string& dir) const;
  // Removes the cgroup; one whose last process is still exiting is retried later.
  // Thread-safe (instances live on several loops), as is make().
  void remove(const std::string& dir);
  void retry_removals();

 private:
  MemoryCgroups() = default;
  std::string base_;
  std::string why_;
  int version_ = 0;
  std::mutex mu_;
  std::vector<std::string> pending_removal_;  // under mu_
};

}  // namespace portico::functions
