// One worker's balancing over an endpoint set: round robin (plain and smooth weighted),
// least request (P2C, weighted), random, ring hash, avoiding endpoints already tried.
#include <gtest/gtest.h>

#include <map>

#include "core/hash.h"
#include "core/random.h"
#include "upstream/worker_upstream.h"

namespace portico::upstream {
namespace {

class BalancerTest : public ::testing::Test {
 protected:
  void build(std::vector<uint32_t> weights, config::Balance balance) {
    balance_ = balance;
    std::vector<EndpointEntry> entries;
    for (size_t i = 0; i < weights.size(); ++i) {
      std::string text = "127.0.0.1:" + std::to_string(9000 + i);
      if (!endpoint_stats_.count(text)) endpoint_stats_[text] = std::make_unique<gateway::EndpointStats>("svc", text);
      entries.push_back({*net::parse_address(text, false), text, weights[i], endpoint_stats_[text].get()});
    }
    upstream_.update(make_endpoint_set(std::move(entries), weights.size(), balance, "none"));
  }
  int index_of(EndpointPool* p) {
    for (size_t i = 0; i < upstream_.set().endpoints.size(); ++i) {
      if (upstream_.pool_at(i) == p) return static_cast<int>(i);
    }
    return -1;
  }
  std::vector<int> counts(int picks, const uint64_t* hash = nullptr, std::vector<EndpointPool*> tried = {}) {
    std::vector<int> c(upstream_.set().endpoints.size());
    for (int i = 0; i < picks; ++i) ++c[static_cast<size_t>(index_of(upstream_.pick(balance_, hash, tried)))];
    return c;
  }

  net::EventLoop loop_;
  gateway::UpstreamStats stats_{"svc"};
  std::map<std::string, std::unique_ptr<gateway::EndpointStats>> endpoint_stats_;
  WorkerUpstream upstream_{loop_, "svc", &stats_};
  config::Balance balance_ = config::Balance::kRoundRobin;
};

TEST_F(BalancerTest, EmptySetPicksNothing) {
  EXPECT_EQ(upstream_.pick(config::Balance::kLeastRequest, nullptr, {}), nullptr);
  build({}, config::Balance::kRoundRobin);
  EXPECT_EQ(upstream_.pick(config::Balance::kRoundRobin, nullptr, {}), nullptr);
}

TEST_F(BalancerTest, RoundRobinIsExact) {
  build({1, 1, 1}, config::Balance::kRoundRobin);
  EXPECT_EQ(counts(300), (std::vector<int>{100, 100, 100}));
}

TEST_F(BalancerTest, SmoothWeightedRoundRobinInterleaves) {
  build({5, 1, 1}, config::Balance::kRoundRobin);
  std::string seq;
  for (int i = 0; i < 7; ++i) seq += static_cast<char>('a' + index_of(upstream_.pick(balance_, nullptr, {})));
  EXPECT_EQ(seq, "aabacaa");  // nginx's smooth weighted round robin, not "aaaaabc"
  EXPECT_EQ(counts(700), (std::vector<int>{500, 100, 100}));
}

TEST_F(BalancerTest, LeastRequestAvoidsTheBusyEndpoint) {
  build({1, 1, 1}, config::Balance::kLeastRequest);
  for (int i = 0; i < 5; ++i) upstream_.pool_at(0)->begin_request();
  auto c = counts(300);
  EXPECT_EQ(c[0], 0);  // two distinct candidates: the idle one always wins against it
  EXPECT_GT(c[1], 100);
  EXPECT_GT(c[2], 100);
  for (int i = 0; i < 5; ++i) upstream_.pool_at(0)->end_request();
  c = counts(3000);
  for (int n : c) EXPECT_GT(n, 800);
}

TEST_F(BalancerTest, WeightedLeastRequestFollowsWeightsWhenIdleAndLoadWhenBusy) {
  build({1, 3}, config::Balance::kLeastRequest);
  EXPECT_EQ(counts(400), (std::vector<int>{100, 300}));
  // The heavy endpoint is backed up: its effective weight drops (3 / (8 + 1) < 1 / 1).
  for (int i = 0; i < 8; ++i) upstream_.pool_at(1)->begin_request();
  auto c = counts(400);
  EXPECT_GT(c[0], c[1]);
  for (int i = 0; i < 8; ++i) upstream_.pool_at(1)->end_request();
}

TEST_F(BalancerTest, RandomFollowsWeights) {
  build({1, 4}, config::Balance::kRandom);
  auto c = counts(10000);
  EXPECT_NEAR(c[1] / 10000.0, 0.8, 0.03);
}

TEST_F(BalancerTest, TriedEndpointsAreAvoidedWhileOthersRemain) {
  for (auto balance : {config::Balance::kRoundRobin, config::Balance::kLeastRequest, config::Balance::kRandom,
                       config::Balance::kRingHash}) {
    build({1, 2, 1}, balance);
    std::vector<EndpointPool*> tried = {upstream_.pool_at(0), upstream_.pool_at(1)};
    uint64_t h = 42;
    auto c = counts(50, &h, tried);
    EXPECT_EQ(c[2], 50) << config::balance_name(balance);
    // Everything tried: any endpoint is better than none.
    tried.push_back(upstream_.pool_at(2));
    EXPECT_NE(upstream_.pick(balance, &h, tried), nullptr);
  }
}

TEST_F(BalancerTest, RingHashIsStickyAndSpreads) {
  build({1, 1, 1}, config::Balance::kRingHash);
  std::vector<int> owners;
  std::vector<int> per(3);
  for (int k = 0; k < 3000; ++k) {
    uint64_t h = hash64("user-" + std::to_string(k));
    int owner = index_of(upstream_.pick(balance_, &h, {}));
    EXPECT_EQ(owner, index_of(upstream_.pick(balance_, &h, {})));
    owners.push_back(owner);
    ++per[static_cast<size_t>(owner)];
  }
  for (int n : per) EXPECT_GT(n, 700) << "uneven ring";

  // Drop the last endpoint: keys of the others stay where they were.
  build({1, 1}, config::Balance::kRingHash);
  int moved = 0;
  for (int k = 0; k < 3000; ++k) {
    uint64_t h = hash64("user-" + std::to_string(k));
    int now = index_of(upstream_.pick(balance_, &h, {}));
    if (owners[static_cast<size_t>(k)] != 2) EXPECT_EQ(now, owners[static_cast<size_t>(k)]);
    else ++moved;
  }
  EXPECT_EQ(moved, per[2]);
}

TEST_F(BalancerTest, RemovedEndpointPoolLivesUntilItsLastRequestEnds) {
  build({1, 1}, config::Balance::kRoundRobin);
  EndpointPool* leaving = upstream_.pool_at(1);
  leaving->begin_request();
  build({1}, config::Balance::kRoundRobin);
  EXPECT_TRUE(leaving->retired());
  EXPECT_EQ(leaving->active_requests(), 1u);  // still valid: the request in flight holds it
  leaving->end_request();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(index_of(upstream_.pick(balance_, nullptr, {})), 0);
}

}  // namespace
}  // namespace portico::upstream
