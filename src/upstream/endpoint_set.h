// The endpoints of one upstream that take traffic right now, as the main thread last
// computed them from discovery, active health checks and outlier ejection. Immutable
// and shared by every worker; a change makes a new set, posted to each worker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "gateway/stats.h"
#include "net/socket.h"

namespace portico::upstream {

struct EndpointEntry {
  net::Address address;
  std::string text;  // "127.0.0.1:9001"
  uint32_t weight = 1;
  gateway::EndpointStats* stats = nullptr;
};

struct RingPoint {
  uint64_t hash;
  uint32_t endpoint;  // index into EndpointSet::endpoints
};

struct EndpointSet {
  std::vector<EndpointEntry> endpoints;  // usable: listed, healthy, not ejected
  std::vector<uint64_t> cumulative;      // running weight totals (weighted random choice)
  std::vector<RingPoint> ring;           // sorted by hash; only for balance: ring_hash
  bool weighted = false;                 // weights differ
  size_t known = 0;                      // listed endpoints, usable or not
  std::string why_empty;                 // the 503's explanation when endpoints is empty

  uint64_t total_weight() const { return cumulative.empty() ? 0 : cumulative.back(); }
};

// Builds a set from the usable endpoints (fills cumulative, weighted and, for ring_hash,
// the ring: points per endpoint in proportion to its weight).
std::shared_ptr<const EndpointSet> make_endpoint_set(std::vector<EndpointEntry> usable, size_t known,
                                                     config::Balance balance, std::string why_empty);

}  // namespace portico::upstream
