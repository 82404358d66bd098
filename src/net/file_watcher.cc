#include "net/file_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/log.h"

namespace portico::net {

FileWatcher::FileWatcher(EventLoop& loop, const std::string& path, std::function<void()> on_change)
    : loop_(loop), on_change_(std::move(on_change)), debounce_(loop, [this] { on_change_(); }) {
  std::filesystem::path p = std::filesystem::absolute(path);
  name_ = p.filename().string();
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    log::warn("file watch unavailable ({}): {}", path, strerror(errno));
    return;
  }
  if (inotify_add_watch(fd_, p.parent_path().c_str(),
                        IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MODIFY) < 0) {
    log::warn("cannot watch {}: {}", p.parent_path().string(), strerror(errno));
    close(fd_);
    fd_ = -1;
    return;
  }
  loop_.watch(fd_, this, 0x001);  // EPOLLIN, level-triggered
}

FileWatcher::~FileWatcher() {
  if (fd_ >= 0) {
    loop_.unwatch(fd_);
    close(fd_);
  }
}

void FileWatcher::on_io(uint32_t) {
  alignas(inotify_event) char buf[8192];
  bool relevant = false;
  while (true) {
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      // Our file, or a "..data"-style symlink swap of the directory's content.
      if (ev->len > 0 && (name_ == ev->name || ev->name[0] == '.')) relevant = true;
      p += sizeof(inotify_event) + ev->len;
    }
  }
  if (relevant) debounce_.arm_after_ms(150);
}

}  // namespace portico::net
