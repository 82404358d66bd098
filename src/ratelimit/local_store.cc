#include "ratelimit/local_store.h"

#include <algorithm>

namespace portico::ratelimit {

LocalStore::LocalStore(uint64_t max_keys) : max_keys_(max_keys) {
  size_t per_shard = std::max<size_t>(1, static_cast<size_t>((max_keys + kShards - 1) / kShards));
  for (Shard& s : shards_) {
    s.capacity = per_shard;
    s.map.reserve(std::min<size_t>(per_shard, 1024));
  }
}

void LocalStore::unlink(Shard& s, Entry& e) {
  if (e.newer != nullptr) e.newer->older = e.older;
  else s.newest = e.older;
  if (e.older != nullptr) e.older->newer = e.newer;
  else s.oldest = e.newer;
  e.newer = e.older = nullptr;
}

void LocalStore::push_newest(Shard& s, Entry& e) {
  e.older = s.newest;
  e.newer = nullptr;
  if (s.newest != nullptr) s.newest->newer = &e;
  s.newest = &e;
  if (s.oldest == nullptr) s.oldest = &e;
}

LocalStore::Entry& LocalStore::touch(Shard& s, std::string_view key, bool* evicted) {
  auto it = s.map.find(key);
  if (it != s.map.end()) {
    Entry& e = it->second;
    if (s.newest != &e) {
      unlink(s, e);
      push_newest(s, e);
    }
    return e;
  }
  if (s.map.size() >= s.capacity && s.oldest != nullptr) {
    Entry* victim = s.oldest;
    unlink(s, *victim);
    s.map.erase(*victim->key);
    if (evicted != nullptr) *evicted = true;
  }
  auto [inserted, ok] = s.map.emplace(std::string(key), Entry{});
  Entry& e = inserted->second;
  e.key = &inserted->first;
  push_newest(s, e);
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
