#include "upstream/endpoint_set.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/hash.h"

namespace portico::upstream {
namespace {

// Ring size: enough points that each endpoint's share is close to its weight
// (~100 points per endpoint), bounded so building and searching stay cheap.
constexpr uint64_t kPointsPerEndpoint = 100;
constexpr uint64_t kMinRing = 1024;
constexpr uint64_t kMaxRing = 65536;

std::vector<RingPoint> build_ring(const std::vector<EndpointEntry>& endpoints, uint64_t total_weight) {
  uint64_t size = std::clamp<uint64_t>(kPointsPerEndpoint * endpoints.size(), kMinRing, kMaxRing);
  std::vector<RingPoint> ring;
  ring.reserve(size + endpoints.size());
  for (size_t i = 0; i < endpoints.size(); ++i) {
    // Points depend only on the endpoint's address, so adding or removing one endpoint
    // moves only the keys that land on its points.
    uint64_t points = std::max<uint64_t>(1, size * endpoints[i].weight / total_weight);
    for (uint64_t k = 0; k < points; ++k) {
      ring.push_back({hash64(fmt::format("{}#{}", endpoints[i].text, k)), static_cast<uint32_t>(i)});
    }
  }
  std::sort(ring.begin(), ring.end(), [](const RingPoint& a, const RingPoint& b) { return a.hash < b.hash; });
  return ring;
}

}  // namespace

std::shared_ptr<const EndpointSet> make_endpoint_set(std::vector<EndpointEntry> usable, size_t known,
                                                     config::Balance balance, std::string why_empty) {
  auto set = std::make_shared<EndpointSet>();
  set->endpoints = std::move(usable);
  set->known = known;
  set->why_empty = std::move(why_empty);
  uint64_t total = 0;
  for (const auto& e : set->endpoints) {
    total += e.weight;
    set->cumulative.push_back(total);
    if (e.weight != set->endpoints.front().weight) set->weighted = true;
  }
  if (balance == config::Balance::kRingHash && !set->endpoints.empty()) set->ring = build_ring(set->endpoints, total);
  return set;
}

}  // namespace portico::upstream
