#include "auth/token_cache.h"

namespace portico::auth {

std::shared_ptr<const gateway::Principal> TokenCache::find(std::string_view token, int64_t now_ms, uint64_t key_version) {
  auto it = index_.find(token);
  if (it == index_.end()) return nullptr;
  auto entry = it->second;
  if (now_ms >= entry->expires_ms || entry->key_version != key_version) {
    erase(entry);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, entry);
  return entry->principal;
}

void TokenCache::insert(std::string_view token, std::shared_ptr<const gateway::Principal> principal, int64_t expires_ms,
                        uint64_t key_version) {
  if (capacity_ == 0) return;
  if (auto it = index_.find(token); it != index_.end()) erase(it->second);
  while (index_.size() >= capacity_) erase(std::prev(lru_.end()));
  lru_.push_front(Entry{std::string(token), std::move(principal), expires_ms, key_version});
  index_.emplace(lru_.front().token, lru_.begin());
}

void TokenCache::erase(std::list<Entry>::iterator it) {
  index_.erase(std::string_view(it->token));
  lru_.erase(it);
}

void TokenCache::clear() {
  index_.clear();
  lru_.clear();
}

}  // namespace portico::auth
