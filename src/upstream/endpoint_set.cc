#include "upstream/endpoint_set.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/hash.h"

namespace portico::upstream {
namespace {

// Points per unit of weight. Each endpoint's points depend only on its own address and
// weight, so adding or removing an endpoint moves only the keys on its points. Only a
// ring that would pass kMaxRing is scaled down (and then loses that property).
constexpr uint64_t kPointsPerWeight = 128;
constexpr uint64_t kMaxRing = 1 << 20;

std::vector<RingPoint> build_ring(const std::vector<EndpointEntry>& endpoints, uint64_t total_weight) {
  double scale = std::min(1.0, static_cast<double>(kMaxRing) / static_cast<double>(kPointsPerWeight * total_weight));
  std::vector<RingPoint> ring;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    auto points = static_cast<uint64_t>(static_cast<double>(kPointsPerWeight * endpoints[i].weight) * scale);
    points = std::max<uint64_t>(1, points);
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
