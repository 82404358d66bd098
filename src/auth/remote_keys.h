// Signing keys fetched from a JWKS URL, as the main thread last saw them. Immutable;
// a new fetch (good or failed) publishes a new one to every worker.
#pragma once

#include <cstdint>
#include <string>

#include "jose/key.h"

namespace portico::auth {

struct RemoteKeys {
  jose::KeySet keys;
  bool loaded = false;   // a fetch has succeeded at least once (keys is its result)
  bool failing = false;  // the last fetch failed (keys, if any, are from before)
  std::string error;     // why it failed
  uint64_t version = 0;  // changes with every new key set
  int64_t fetched_ms = 0;  // monotonic time of the last fetch attempt's end
};

// Workers ask the main thread for a fresh fetch (an unknown kid): thread-safe.
class JwksFetcher {
 public:
  virtual ~JwksFetcher() = default;
  virtual void refetch(const std::string& url) = 0;
};

}  // namespace portico::auth
