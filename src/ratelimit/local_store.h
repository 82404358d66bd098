// The local rate-limit store: one GCRA state (a TAT) per key, shared by every worker
// thread of the process, so a limit is one limit for the whole instance (not limit / N
// per worker) and exact under any mix of threads. Keys are spread over 64 shards, each
// with its own lock (held for a hash lookup and a few arithmetic operations), so
// workers rarely meet. A full shard drops a key not used lately, chosen by the CLOCK
// algorithm (a second chance for keys used since the hand last passed): memory is
// bounded by max_keys, and a hit only sets a flag in the entry it writes anyway, where
// an LRU list would relink neighbours, moving two more cache lines between cores on
// every decision. A key idle long enough for its bucket to refill carries no
// information, so dropping it changes nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/hash.h"
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
    // Used since the clock hand last passed. A new key starts without it, so a scan of
    // new keys (one request each) evicts its own kind, not keys in steady use.
    bool referenced = false;
    const std::string* key = nullptr;
  };
  struct alignas(64) Shard {
    std::mutex mu;
    std::unordered_map<std::string, Entry, StringHash, std::equal_to<>> map;
    std::vector<Entry*> ring;  // every entry, in the order the hand visits them
    size_t hand = 0;
    size_t capacity = 1;
  };
  static constexpr size_t kShards = 64;

  Shard& shard_of(std::string_view key) { return shards_[StringHash{}(key) % kShards]; }
  // The key's entry, marked used; created (evicting an unused one if the shard is full).
  static Entry& touch(Shard& s, std::string_view key, bool* evicted);

  uint64_t max_keys_;
  Shard shards_[kShards];
};

}  // namespace portico::ratelimit
