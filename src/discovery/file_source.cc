#include "discovery/file_source.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "discovery/endpoint_list.h"

namespace portico::discovery {

FileSource::FileSource(net::EventLoop& loop, config::FileDiscovery config, Callbacks callbacks)
    : loop_(loop), config_(std::move(config)), callbacks_(std::move(callbacks)) {}

void FileSource::start() {
  watcher_ = std::make_unique<net::FileWatcher>(loop_, config_.path, [this] { load(); });
  load();
}

void FileSource::load() {
  std::ifstream in(config_.path, std::ios::binary);
  if (!in) {
    callbacks_.on_error(fmt::format("{}: cannot read: {}", config_.path, strerror(errno)));
    return;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto list = parse_endpoint_list(ss.str());
  if (!list) {
    callbacks_.on_error(fmt::format("{}: {}", config_.path, list.error().message));
    return;
  }
  callbacks_.on_update(std::move(*list));
}

}  // namespace portico::discovery
