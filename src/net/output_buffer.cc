#include "net/output_buffer.h"

#include <sys/socket.h>

#include <cerrno>

#include "net/socket.h"

namespace portico::net {
namespace {
constexpr size_t kCompactAbove = 16 * 1024;  // sent bytes kept before moving the rest forward
constexpr size_t kShrinkAbove = 64 * 1024;   // capacity given back once drained
}  // namespace

void OutputBuffer::compact() {
  if (pos_ == data_.size()) {
    data_.clear();
    pos_ = 0;
    if (data_.capacity() > kShrinkAbove) data_.shrink_to_fit();
  } else if (pos_ > kCompactAbove) {
    data_.erase(0, pos_);
    pos_ = 0;
  }
}

OutputBuffer::Status OutputBuffer::flush(int fd) {
  while (pos_ < data_.size()) {
    ssize_t n = ::send(fd, data_.data() + pos_, data_.size() - pos_, MSG_NOSIGNAL);
    if (n > 0) {
      pos_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      compact();
      return Status::kBlocked;
    }
    return Status::kError;
  }
  compact();
  return Status::kDone;
}

OutputBuffer::Status OutputBuffer::write(int fd, const iovec* pieces, int count) {
  constexpr int kMaxIov = 8;
  iovec iov[kMaxIov];
  int n = 0;
  size_t pending_bytes = pending();
  if (pending_bytes) iov[n++] = {data_.data() + pos_, pending_bytes};
  int used = 0;  // pieces that went into this sendmsg; the rest are appended whole
  for (; used < count && n < kMaxIov; ++used) {
    if (pieces[used].iov_len) iov[n++] = pieces[used];
  }
  ssize_t sent;
  do {
    sent = send_iov(fd, iov, n);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Status::kError;
    sent = 0;
  }
  size_t left = static_cast<size_t>(sent);
  size_t from_pending = left < pending_bytes ? left : pending_bytes;
  pos_ += from_pending;
  left -= from_pending;
  compact();
  for (int i = pending_bytes ? 1 : 0; i < n; ++i) {
    if (left >= iov[i].iov_len) {
      left -= iov[i].iov_len;
      continue;
    }
    data_.append(static_cast<const char*>(iov[i].iov_base) + left, iov[i].iov_len - left);
    left = 0;
  }
  for (; used < count; ++used) data_.append(static_cast<const char*>(pieces[used].iov_base), pieces[used].iov_len);
  return empty() ? Status::kDone : Status::kBlocked;
}

}  // namespace portico::net
