#include <filesystem>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "logs/log_store.h"

namespace portico::logs {
namespace {

class LogStoreTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "portico-log-store-" +
           testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return dir_ + "/logs.sqlite3"; }
  std::vector<LogEvent> all(LogStore& s, const std::string& group, int64_t after = 0) {
    LogQuery q;
    q.group = group;
    q.after_seq = after;
    q.limit = 1000;
    auto r = s.query(q);
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : std::vector<LogEvent>{};
  }
  std::string dir_;
};

TEST_F(LogStoreTest, NothingIsWrittenUntilTheFirstLine) {
  LogStore s(path());
  s.flush();
  EXPECT_FALSE(std::filesystem::exists(path()));
  EXPECT_TRUE(all(s, "/aws/lambda/f").empty());
}

TEST_F(LogStoreTest, LinesComeBackInOrderPerGroupWithTheirFields) {
  LogStore s(path());
  int64_t now = wall_ms();
  s.append("/aws/lambda/a", "stream-1", "req-1", now, "START RequestId: req-1");
  s.append("/aws/lambda/b", "stream-2", "", now, "other function");
  s.append("/aws/lambda/a", "stream-1", "req-1", now + 1, "hello");
  s.flush();
  auto a = all(s, "/aws/lambda/a");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].message, "START RequestId: req-1");
  EXPECT_EQ(a[0].request_id, "req-1");
  EXPECT_EQ(a[0].stream, "stream-1");
  EXPECT_EQ(a[1].message, "hello");
  EXPECT_LT(a[0].seq, a[1].seq);
  EXPECT_EQ(all(s, "/aws/lambda/a", a[0].seq).size(), 1u);  // following: only what is newer
  LogQuery q;
  q.group = "/aws/lambda/a";
  q.start_ms = now + 1;
  EXPECT_EQ(s.query(q)->size(), 1u);  // since
  EXPECT_EQ(function_log_group("orders"), "/aws/lambda/orders");
}

TEST_F(LogStoreTest, KeepsTheNewestLinesPerGroupAndDropsExpiredOnes) {
  LogLimits limits;
  limits.max_events_per_group = 3;
  limits.retention_ms = 60'000;
  limits.trim_interval_ms = 0;
  LogStore s(path(), limits);
  int64_t now = wall_ms();
  s.append("/g", "s", "", now - 120'000, "too old");
  for (int i = 0; i < 5; ++i) s.append("/g", "s", "", now, "line " + std::to_string(i));
  s.append("/h", "s", "", now, "another group keeps its own");
  s.flush();
  auto g = all(s, "/g");
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].message, "line 2");
  EXPECT_EQ(g[2].message, "line 4");
  EXPECT_EQ(all(s, "/h").size(), 1u);
}

TEST_F(LogStoreTest, SurvivesARestartAndBoundsItsQueue) {
  {
    LogLimits limits;
    limits.max_queued = 2;
    LogStore s(path(), limits);
    for (int i = 0; i < 4; ++i) s.append("/g", "s", "", wall_ms(), "line");
    EXPECT_GE(s.dropped(), 1u);  // the writer had no time to take more than two
  }                              // the destructor writes what was queued
  LogStore s(path());
  auto g = all(s, "/g");
  EXPECT_GE(g.size(), 2u);
  EXPECT_LE(g.size(), 4u);
}

// Lines are stored in chunks (at most 4096 lines each); reading pages through them in
// order, and the per-group bound cuts a chunk in the middle, across a restart too.
TEST_F(LogStoreTest, PagesThroughChunksAndTrimsInsideOne) {
  LogLimits limits;
  limits.max_events_per_group = 5'000;
  limits.trim_interval_ms = 0;
  int64_t now = wall_ms();
  {
    LogStore s(path(), limits);
    for (int i = 0; i < 10'000; ++i) {
      s.append("/g", "stream", "id-" + std::to_string(i), now, "line " + std::to_string(i));
      if (i % 1000 == 0) s.append("/h", "other", "", now, "h " + std::to_string(i));
    }
    s.flush();  // writes, then trims /g to its newest 5,000
  }
  LogStore s(path(), limits);
  std::vector<LogEvent> got;
  int64_t after = 0;
  for (;;) {
    LogQuery q;
    q.group = "/g";
    q.after_seq = after;
    q.limit = 1'500;
    auto page = s.query(q);
    ASSERT_TRUE(page) << page.error().message;
    if (page->empty()) break;
    EXPECT_LE(page->size(), 1'500u);
    for (auto& e : *page) got.push_back(std::move(e));
    after = got.back().seq;
  }
  ASSERT_EQ(got.size(), 5'000u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].message, "line " + std::to_string(5'000 + i));
    EXPECT_EQ(got[i].request_id, "id-" + std::to_string(5'000 + i));
    if (i > 0) {
      EXPECT_GT(got[i].seq, got[i - 1].seq);
    }
  }
  EXPECT_EQ(all(s, "/h").size(), 10u);
  // New lines after the restart come after the old ones.
  s.append("/g", "stream", "", now, "after restart");
  s.flush();
  auto tail = all(s, "/g", after);
  ASSERT_EQ(tail.size(), 1u);
  EXPECT_EQ(tail[0].message, "after restart");
  EXPECT_EQ(all(s, "/g").size(), 1'000u);  // one page: the query's limit
}

}  // namespace
}  // namespace portico::logs
