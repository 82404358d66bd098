// Calls back when a file changes, via inotify on its directory (so editors that write a
// new file and rename it, and Kubernetes ConfigMap symlink swaps, are seen too).
// Changes are debounced: a burst of events gives one callback.
#pragma once

#include <functional>
#include <string>

#include "net/event_loop.h"

namespace portico::net {

class FileWatcher final : public IoHandler {
 public:
  FileWatcher(EventLoop& loop, const std::string& path, std::function<void()> on_change);
  ~FileWatcher() override;
  bool ok() const { return fd_ >= 0; }
  void on_io(uint32_t events) override;

 private:
  EventLoop& loop_;
  int fd_ = -1;
  std::string name_;
  std::function<void()> on_change_;
  Timer debounce_;
};

}  // namespace portico::net
