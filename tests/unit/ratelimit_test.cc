// GCRA arithmetic, the shared local store under threads, eviction, and the quota book's
// persistence and calendar periods.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "ratelimit/gcra.h"
#include "ratelimit/local_store.h"
#include "ratelimit/quota_book.h"

namespace portico::ratelimit {
namespace {

constexpr int64_t kMs = 1'000'000;  // ns

TEST(Gcra, BurstThenOnePerInterval) {
  const int64_t interval = 10 * kMs;  // 100/s
  int64_t tat = 0, now = 1'000 * kMs;
  int allowed = 0;
  for (int i = 0; i < 20; ++i) {
    GcraDecision d = gcra(tat, now, interval, 5);
    if (d.allowed) {
      tat = d.tat;
      ++allowed;
    }
  }
  EXPECT_EQ(allowed, 5) << "a burst of 5 at once";
  GcraDecision refused = gcra(tat, now, interval, 5);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, interval) << "the next one passes one interval later";
  EXPECT_EQ(refused.tat, tat) << "a refusal changes nothing";
  now += interval;
  GcraDecision next = gcra(tat, now, interval, 5);
  EXPECT_TRUE(next.allowed);
  EXPECT_EQ(next.remaining, 0);
  EXPECT_EQ(next.reset, 5 * interval) << "full again after five intervals";
}

TEST(Gcra, AnySpanAllowsBurstPlusRate) {
  // Requests every 1 ms over 2 s (t = 0..2000 ms) at 100/s, burst 10: 10 + 200 pass.
  const int64_t interval = 10 * kMs;
  int64_t tat = 0;
  int allowed = 0;
  for (int64_t t = 0; t <= 2'000; ++t) {
    GcraDecision d = gcra(tat, 5'000 * kMs + t * kMs, interval, 10);
    if (d.allowed) {
      tat = d.tat;
      ++allowed;
    }
  }
  EXPECT_EQ(allowed, 10 + 200);
}

TEST(Gcra, RemainingCountsDown) {
  const int64_t interval = kMs;
  int64_t tat = 0;
  for (int64_t expected = 2; expected >= 0; --expected) {
    GcraDecision d = gcra(tat, 100 * kMs, interval, 3);
    ASSERT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, expected);
    tat = d.tat;
  }
}

TEST(LocalStore, OneLimitForAllThreadsExactly) {
  // Eight threads hammer one key at the same instant: exactly `burst` pass.
  LocalStore store(1'000);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) {
        if (store.take("k", 0, 1'000 * kMs, 1'000).allowed) allowed.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1'000);
}

TEST(LocalStore, GiveBackAndForceAndPeek) {
  LocalStore store(100);
  const int64_t interval = 10 * kMs;
  ASSERT_TRUE(store.take("a", 0, interval, 1).allowed);
  EXPECT_FALSE(store.peek("a", 0, interval, 1).allowed);
  store.give_back("a", interval);
  EXPECT_TRUE(store.peek("a", 0, interval, 1).allowed) << "given back";
  store.force("a", 0, interval);
  store.force("a", 0, interval);
  GcraDecision d = store.take("a", 0, interval, 1);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, 2 * interval) << "two forced requests ahead";
}

TEST(LocalStore, BoundedByMaxKeysDroppingKeysNotUsedLately) {
  LocalStore store(64);  // one key per shard
  for (int i = 0; i < 10'000; ++i) store.take("key-" + std::to_string(i), 0, kMs, 1);
  EXPECT_LE(store.size(), 64u);
  bool evicted = false;
  store.take("fresh", 0, kMs, 1, &evicted);
  EXPECT_TRUE(evicted);
  // The most recent key is still there (its bucket is empty).
  EXPECT_FALSE(store.peek("fresh", 0, kMs, 1).allowed);
}

TEST(LocalStore, KeysInUseSurviveAScanOfNewKeys) {
  // 8 keys per shard on average; 8 hot keys used between every insert of a cold one.
  // A hot key evicted and created again would pass again (burst 1, time frozen).
  LocalStore store(512);
  std::vector<std::string> hot;
  for (int i = 0; i < 8; ++i) hot.push_back("hot-" + std::to_string(i));
  int hot_allowed = 0;
  bool any_evicted = false;
  for (int i = 0; i < 20'000; ++i) {
    bool evicted = false;
    store.take("cold-" + std::to_string(i), 0, kMs, 1, &evicted);
    any_evicted |= evicted;
    for (const auto& k : hot) hot_allowed += store.take(k, 0, kMs, 1).allowed ? 1 : 0;
  }
  EXPECT_TRUE(any_evicted);
  EXPECT_LE(store.size(), 512u);
  EXPECT_EQ(hot_allowed, 8) << "each hot key passed once and was never dropped";
}

TEST(Period, UtcDaysAndMonths) {
  Period p = period_at(1'795'046'399);  // 2026-11-18T23:59:59Z
  EXPECT_EQ(p.day, "d:2026-11-18");
  EXPECT_EQ(p.month, "m:2026-11");
  EXPECT_EQ(p.day_end_s, 1'795'046'400);
  EXPECT_EQ(p.month_end_s, 1'796'083'200) << "2026-12-01T00:00:00Z";
  Period dec = period_at(1'798'761'599);  // 2026-12-31T23:59:59Z
  EXPECT_EQ(dec.month, "m:2026-12");
  EXPECT_EQ(dec.month_end_s, 1'798'761'600) << "into the next year";
}

TEST(QuotaBook, CountsAreExactAndSurviveReopening) {
  std::string dir = std::filesystem::temp_directory_path() / ("portico-quota-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::string path = dir + "/quotas.sqlite3";
  int64_t expires = static_cast<int64_t>(time(nullptr)) + 3'600;
  {
    auto book = QuotaBook::open(path);
    ASSERT_TRUE(book) << book.error().message;
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        int64_t used = 0;
        for (int i = 0; i < 100; ++i) {
          if ((*book)->take("gold:acme:d", 150, expires, used)) allowed.fetch_add(1);
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(allowed.load(), 150);
    (*book)->give_back("gold:acme:d");
    int64_t used = 0;
    EXPECT_TRUE((*book)->take("old:acme:d", 5, static_cast<int64_t>(time(nullptr)) - 1, used));
  }  // saved on close
  {
    auto book = QuotaBook::open(path);
    ASSERT_TRUE(book) << book.error().message;
    EXPECT_EQ((*book)->used("gold:acme:d"), 149) << "restored";
    EXPECT_EQ((*book)->used("old:acme:d"), 0) << "an ended period is not restored";
    int64_t used = 0;
    EXPECT_TRUE((*book)->take("gold:acme:d", 150, expires, used));
    EXPECT_FALSE((*book)->take("gold:acme:d", 150, expires, used));
  }
  std::filesystem::remove_all(dir);
}

TEST(QuotaBook, UnwritableDirectoryIsAClearError) {
  auto book = QuotaBook::open("/proc/portico-cannot/quotas.sqlite3");
  ASSERT_FALSE(book);
  EXPECT_NE(book.error().message.find("cannot create /proc/portico-cannot"), std::string::npos) << book.error().message;
}

}  // namespace
}  // namespace portico::ratelimit
