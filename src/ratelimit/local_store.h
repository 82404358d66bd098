// The local rate-limit store: one GCRA state (a TAT) per key, shared by every worker
// thread of the process, so a limit is one limit for the whole instance (not limit / N
// per worker) and exact under any mix of threads. Keys are spread over 64 shards, each
// with its own lock (held for a hash lookup and a few arithmetic operations), so
// workers rarely meet. Each shard keeps its keys in least-recently-used order and drops
// the oldest when full: memory is bounded by max_keys. A key idle long enough for its
// bucket to refill carries no information, so dropping it changes nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ratelimit/gcra.h"

namespace portico::ratelimit {

class LocalStore {
 public:
  explicit LocalStore(uint64_t max_keys);
  LocalStore(const LocalStore&) = delete;
  LocalStore& operator=(const LocalStore&) = delete;

  // One request for key at now: decided and, when allowed, counted.
  GcraDecision take(std::string_view key, int64_t now, int64_t interval, int64_t burst, bool* evicted = nullptr);
  // Undoes an allowed take (a later limit refused the same request).
  void give_back(std::string_view key, int64_t interval);
  // Counts a request decided elsewhere (by Redis), without a limit.
  void force(std::string_view key, int64_t now, int64_t interval, bool* evicted = nullptr);
  // What take would decide, changing nothing.
  GcraDecision peek(std::string_view key, int64_t now, int64_t interval, int64_t burst);

  size_t size();
  uint64_t max_keys() const { return max_keys_; }

 private:
  struct Entry {
    int64_t tat = 0;
    Entry* newer = nullptr;  // LRU list: head is the most recently used
    Entry* older = nullptr;
    const std::string* key = nullptr;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct alignas(64) Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry, Hash, std::equal_to<>> map;
    Entry* newest = nullptr;
    Entry* oldest = nullptr;
    size_t capacity = 1;
  };
  static constexpr size_t kShards = 64;

  Shard& shard_of(std::string_view key) { return shards_[Hash{}(key) % kShards]; }
  // The key's entry, created (evicting the oldest if the shard is full) and made newest.
  static Entry& touch(Shard& s, std::string_view key, bool* evicted);
  static void unlink(Shard& s, Entry& e);
  static void push_newest(Shard& s, Entry& e);

  uint64_t max_keys_;
  Shard shards_[kShards];
};

}  // namespace portico::ratelimit
