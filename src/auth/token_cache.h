// Verified tokens, so a token used again is not verified again: keyed by the token's
// bytes, least recently used out first, each entry valid until the token expires (or
// the cache's TTL, whichever comes first) and only for the key set it was verified
// with. One per worker and auth method: no locks.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/principal.h"

namespace portico::auth {

class TokenCache {
 public:
  explicit TokenCache(size_t capacity) : capacity_(capacity) {}

  // The principal for this token, or nullptr (absent, expired, or from another key set).
  std::shared_ptr<const gateway::Principal> find(std::string_view token, int64_t now_ms, uint64_t key_version);
  void insert(std::string_view token, std::shared_ptr<const gateway::Principal> principal, int64_t expires_ms,
              uint64_t key_version);
  void clear();
  size_t size() const { return index_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  struct Entry {
    std::string token;
    std::shared_ptr<const gateway::Principal> principal;
    int64_t expires_ms;
    uint64_t key_version;
  };
  void erase(std::list<Entry>::iterator it);

  size_t capacity_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // views into Entry::token
};

}  // namespace portico::auth
