// File discovery: a YAML or JSON endpoint list (see endpoint_list.h), read at start and
// again whenever the file changes (inotify on its directory, so rename-into-place and
// symlink swaps are seen).
#pragma once

#include <memory>

#include "discovery/source.h"
#include "net/file_watcher.h"

namespace portico::discovery {

class FileSource final : public Source {
 public:
  FileSource(net::EventLoop& loop, config::FileDiscovery config, Callbacks callbacks);
  void start() override;
  std::string describe() const override { return "file " + config_.path; }

 private:
  void load();

  net::EventLoop& loop_;
  config::FileDiscovery config_;
  Callbacks callbacks_;
  std::unique_ptr<net::FileWatcher> watcher_;
};

}  // namespace portico::discovery
