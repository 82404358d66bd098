#include "core/buffer.h"

#include <cstdlib>
#include <new>
#include <vector>

namespace portico {
namespace {

// Keeps up to kMaxFree standard blocks per thread.
struct FreeList {
  static constexpr size_t kMaxFree = 1024;
  std::vector<char*> blocks;
  ~FreeList() {
    for (char* b : blocks) std::free(b);
  }
  char* take() {
    if (blocks.empty()) {
      auto* p = static_cast<char*>(std::malloc(Buffer::kBlockSize));
      if (p == nullptr) throw std::bad_alloc();
      return p;
    }
    char* b = blocks.back();
    blocks.pop_back();
    return b;
  }
  void give(char* b) {
    if (blocks.size() < kMaxFree) blocks.push_back(b);
    else std::free(b);
  }
};

thread_local FreeList g_free;

}  // namespace

bool Buffer::prepare(size_t min_free, size_t max_capacity) {
  if (data_ == nullptr) {
    if (min_free <= kBlockSize) {
      data_ = g_free.take();
      cap_ = kBlockSize;
      return true;
    }
  }
  if (cap_ - wpos_ >= min_free) return true;
  size_t used = wpos_ - rpos_;
  if (cap_ - used >= min_free) {
    std::memmove(data_, data_ + rpos_, used);
    rpos_ = 0;
    wpos_ = used;
    return true;
  }
  size_t want = cap_ == 0 ? kBlockSize : cap_;
  while (want - used < min_free) want *= 2;
  if (want > max_capacity) {
    if (used + min_free > max_capacity) return false;
    want = max_capacity;
  }
  auto* p = static_cast<char*>(std::malloc(want));
  if (p == nullptr) return false;
  if (used) std::memcpy(p, data_ + rpos_, used);
  release();
  data_ = p;
  cap_ = want;
  rpos_ = 0;
  wpos_ = used;
  return true;
}

void Buffer::append(std::string_view s) {
  prepare(s.size(), SIZE_MAX);
  std::memcpy(data_ + wpos_, s.data(), s.size());
  wpos_ += s.size();
}

void Buffer::release() {
  if (data_ != nullptr) {
    if (cap_ == kBlockSize) g_free.give(data_);
    else std::free(data_);
  }
  data_ = nullptr;
  cap_ = rpos_ = wpos_ = 0;
}

}  // namespace portico
