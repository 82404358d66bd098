#include "ratelimit/local_store.h"

#include <algorithm>

namespace portico::ratelimit {

LocalStore::LocalStore(uint64_t max_keys) : max_keys_(max_keys) {
  size_t per_shard = std::max<size_t>(1, static_cast<size_t>((max_keys + kShards - 1) / kShards));
  for (Shard& s : shards_) {
    s.capacity = per_shard;
    s.map.reserve(std::min<size_t>(per_shard, 1024));
    s.ring.reserve(std::min<size_t>(per_shard, 1024));
  }
}

LocalStore::Entry& LocalStore::touch(Shard& s, std::string_view key, bool* evicted) {
  auto it = s.map.find(key);
  if (it != s.map.end()) {
    Entry& e = it->second;
    if (!e.referenced) e.referenced = true;  // no store (no dirty line) when already set
    return e;
  }
  auto [inserted, ok] = s.map.emplace(std::string(key), Entry{});
  Entry& e = inserted->second;
  e.key = &inserted->first;
  if (s.ring.size() < s.capacity) {
    s.ring.push_back(&e);
    return e;
  }
  // Full: the hand clears the flags of used entries and stops at the first unused one,
  // whose place the new key takes. At most one sweep: after it every flag is clear.
  while (s.ring[s.hand]->referenced) {
    s.ring[s.hand]->referenced = false;
    s.hand = (s.hand + 1) % s.ring.size();
  }
  Entry* victim = s.ring[s.hand];
  s.ring[s.hand] = &e;
  s.hand = (s.hand + 1) % s.ring.size();
  s.map.erase(s.map.find(std::string_view(*victim->key)));  // by iterator: the key lives in the node
  if (evicted != nullptr) *evicted = true;
  return e;
}

GcraDecision LocalStore::take(std::string_view key, int64_t now, int64_t interval, int64_t burst, bool* evicted) {
  Shard& s = shard_of(key);
  std::lock_guard lock(s.mu);
  Entry& e = touch(s, key, evicted);
  GcraDecision d = gcra(e.tat, now, interval, burst);
  if (d.allowed) e.tat = d.tat;
  return d;
}

void LocalStore::give_back(std::string_view key, int64_t interval) {
  Shard& s = shard_of(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  // Requests taken after this one moved the TAT on by their own intervals; taking this
  // one's interval back leaves exactly their effect.
  if (it != s.map.end()) it->second.tat -= interval;
}

void LocalStore::force(std::string_view key, int64_t now, int64_t interval, bool* evicted) {
  Shard& s = shard_of(key);
  std::lock_guard lock(s.mu);
  Entry& e = touch(s, key, evicted);
  e.tat = std::max(e.tat, now) + interval;
}

GcraDecision LocalStore::peek(std::string_view key, int64_t now, int64_t interval, int64_t burst) {
  Shard& s = shard_of(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  return gcra(it == s.map.end() ? 0 : it->second.tat, now, interval, burst);
}

size_t LocalStore::size() {
  size_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.map.size();
  }
  return n;
}

}  // namespace portico::ratelimit
