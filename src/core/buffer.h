// Byte buffer for socket I/O: one contiguous block with read and write cursors.
// Blocks of the standard size come from a per-thread free list, so a connection can
// give its buffer back whenever it goes idle (10k idle keep-alive connections hold no
// buffers) and take one again on the next read without touching malloc.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

namespace portico {

class Buffer {
 public:
  static constexpr size_t kBlockSize = 16 * 1024;

  Buffer() = default;
  ~Buffer() { release(); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  std::string_view readable() const { return {data_ + rpos_, wpos_ - rpos_}; }
  size_t size() const { return wpos_ - rpos_; }
  bool empty() const { return wpos_ == rpos_; }
  const char* read_ptr() const { return data_ + rpos_; }

  char* write_ptr() { return data_ + wpos_; }
  size_t writable() const { return cap_ - wpos_; }
  size_t capacity() const { return cap_; }

  void commit(size_t n) { wpos_ += n; }
  void consume(size_t n) {
    rpos_ += n;
    if (rpos_ == wpos_) rpos_ = wpos_ = 0;
  }
  void clear() { rpos_ = wpos_ = 0; }

  // Makes at least min_free bytes writable: moves unread bytes to the front, and grows
  // (up to max_capacity) only when that is not enough. Returns false at the cap.
  bool prepare(size_t min_free, size_t max_capacity);
  void append(std::string_view s);

  // Returns the block to the free list when empty (buffers stay while bytes remain).
  void release_if_empty() {
    if (empty() && data_ != nullptr) release();
  }
  void release();
  bool allocated() const { return data_ != nullptr; }

 private:
  char* data_ = nullptr;
  size_t cap_ = 0;
  size_t rpos_ = 0;
  size_t wpos_ = 0;
};

}  // namespace portico
