#include "functions/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace portico::functions {
namespace {

bool write_file(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  ::close(fd);
  return ok;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The value of "key N" in a flat keyed file (memory.events, memory.oom_control).
uint64_t keyed_value(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  uint64_t v;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

// This process's cgroup path in a hierarchy: "0::/a/b" (v2) or "4:memory:/a/b" (v1).
std::string own_path(bool v2) {
  std::istringstream in(read_file("/proc/self/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1);
    if (v2 ? controllers.empty()
           : (controllers == "memory" || controllers.find("memory,") == 0 ||
              controllers.find(",memory") != std::string::npos)) {
      return line.substr(b + 1);
    }
  }
  return "/";
}

bool is_dir(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::unique_ptr<MemoryCgroups> MemoryCgroups::create() {
  std::unique_ptr<MemoryCgroups> cg(new MemoryCgroups());
  std::string name = fmt::format("portico-{}", getpid());
  // v2: the unified hierarchy, with the memory controller available to children of
  // Portico's own cgroup (a v2 cgroup holding processes cannot delegate it, so
  // Portico's cgroup gets a sibling).
  if (::access("/sys/fs/cgroup/cgroup.controllers", R_OK) == 0) {
    std::string own = "/sys/fs/cgroup" + own_path(true);
    std::string parent = own.substr(0, own.rfind('/'));
    if (parent.size() < strlen("/sys/fs/cgroup")) parent = "/sys/fs/cgroup";
    std::string controllers = read_file(parent + "/cgroup.controllers");
    if (controllers.find("memory") != std::string::npos) {
      std::string dir = parent + "/" + name;
      if ((::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) &&
          write_file(dir + "/cgroup.subtree_control", "+memory")) {
        cg->base_ = dir;
        cg->version_ = 2;
        return cg;
      }
      ::rmdir(dir.c_str());
      cg->why_ = fmt::format("cannot create a memory cgroup under {}: {}", parent, strerror(errno));
    } else {
      cg->why_ = "the cgroup v2 hierarchy has no memory controller";
    }
  }
  // v1: the memory controller's own hierarchy, below Portico's cgroup if it is
  // visible here (else at the mount's root).
  if (is_dir("/sys/fs/cgroup/memory")) {
    std::string parent = "/sys/fs/cgroup/memory" + own_path(false);
    if (!is_dir(parent)) parent = "/sys/fs/cgroup/memory";
    std::string dir = parent + "/" + name;
    if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) {
      cg->base_ = dir;
      cg->version_ = 1;
      cg->why_.clear();
      return cg;
    }
    cg->why_ = fmt::format("cannot create a memory cgroup under {}: {}", parent, strerror(errno));
  }
  if (cg->why_.empty()) cg->why_ = "no memory cgroup controller is mounted";
  return cg;
}

MemoryCgroups::~MemoryCgroups() {
  retry_removals();
  if (!base_.empty()) ::rmdir(base_.c_str());
}

std::string MemoryCgroups::make(const std::string& name, uint64_t limit_bytes, std::string& error) {
  if (base_.empty()) return {};
  std::string dir = base_ + "/" + name;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    error = fmt::format("mkdir {}: {}", dir, strerror(errno));
    return {};
  }
  std::string limit = std::to_string(limit_bytes);
  bool ok;
  if (version_ == 2) {
    ok = write_file(dir + "/memory.max", limit);
    write_file(dir + "/memory.swap.max", "0");  // Lambda has no swap; may be absent
  } else {
    ok = write_file(dir + "/memory.limit_in_bytes", limit);
    write_file(dir + "/memory.memsw.limit_in_bytes",
               limit);  // no swap either; absent without swap accounting
  }
  if (!ok) {
    error = fmt::format("cannot set the memory limit of {}: {}", dir, strerror(errno));
    ::rmdir(dir.c_str());
    return {};
  }
  return dir;
}

bool MemoryCgroups::oom_killed(const std::string& dir) const {
  if (dir.empty()) return false;
  if (version_ == 2) return keyed_value(read_file(dir + "/memory.events"), "oom_kill") > 0;
  std::string text = read_file(dir + "/memory.oom_control");
  if (keyed_value(text, "oom_kill") > 0) return true;
  // Kernels before 4.13 have no oom_kill count: the limit was hit (failcnt) and a
  // process died of SIGKILL, which the caller checks.
  return false;
}

uint64_t MemoryCgroups::peak_bytes(const std::string& dir) const {
  if (dir.empty()) return 0;
  std::string text =
      read_file(dir + (version_ == 2 ? "/memory.peak" : "/memory.max_usage_in_bytes"));
  return text.empty() ? 0 : strtoull(text.c_str(), nullptr, 10);
}

void MemoryCgroups::remove(const std::string& dir) {
  if (dir.empty()) return;
  if (::rmdir(dir.c_str()) != 0 && errno == EBUSY) {
    std::lock_guard lock(mu_);
    pending_removal_.push_back(dir);
  }
}

void MemoryCgroups::retry_removals() {
  std::lock_guard lock(mu_);
  std::erase_if(pending_removal_,
                [](const std::string& d) { return ::rmdir(d.c_str()) == 0 || errno != EBUSY; });
}

}  // namespace portico::functions
