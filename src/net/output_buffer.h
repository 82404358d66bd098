// Bytes waiting to go out on a non-blocking socket. The owner appends (or writes a head
// straight into data()); flush() sends from the front until the socket would block.
// write() sends what is pending plus new pieces in one sendmsg and copies only what the
// socket refused, so large bodies usually go out without a copy.
#pragma once

#include <sys/uio.h>

#include <string>
#include <string_view>

namespace portico::net {

class OutputBuffer {
 public:
  enum class Status { kDone, kBlocked, kError };  // kBlocked: bytes remain, wait for EPOLLOUT

  size_t pending() const { return data_.size() - pos_; }
  bool empty() const { return pos_ == data_.size(); }
  // The raw bytes, for appending; bytes before the send position are already sent.
  std::string& data() {
    if (pos_ == data_.size()) clear();
    return data_;
  }
  void append(std::string_view s) { data().append(s); }
  void clear() {
    data_.clear();
    pos_ = 0;
  }

  Status flush(int fd);
  // Sends pending bytes and then the pieces; what the socket refuses is kept.
  Status write(int fd, const iovec* pieces, int count);

 private:
  void compact();
  std::string data_;
  size_t pos_ = 0;
};

}  // namespace portico::net
