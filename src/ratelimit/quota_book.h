// Usage-plan quota counters for the local store: how many requests each consumer made
// in the current UTC day and month. Counted exactly across worker threads (a sharded
// map under short locks) and persisted in SQLite under data_dir, so a restart does not
// hand out a fresh quota: a writer thread saves the counts that changed once a second,
// and everything at shutdown. A crash loses at most the last second of counting.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "core/hash.h"
#include "core/result.h"

struct sqlite3;

namespace portico::ratelimit {

class QuotaBook {
 public:
  // path: the SQLite file (its directory is created); empty: in memory only.
  static Result<std::unique_ptr<QuotaBook>> open(const std::string& path);
  ~QuotaBook();  // saves what is unsaved
  QuotaBook(const QuotaBook&) = delete;
  QuotaBook& operator=(const QuotaBook&) = delete;

  // One request against limit for key (plan, consumer, period), whose period ends at
  // expires_s (epoch seconds). True if allowed (and counted); used is the count after.
  bool take(std::string_view key, int64_t limit, int64_t expires_s, int64_t& used);
  void give_back(std::string_view key);
  int64_t used(std::string_view key);

  // Writes the counts changed since the last save (also done once a second).
  void save();
  const std::string& path() const { return path_; }

 private:
  struct Count {
    int64_t used = 0;
    int64_t expires_s = 0;
    bool dirty = false;
  };
  struct alignas(64) Shard {
    std::mutex mu;
    std::unordered_map<std::string, Count, StringHash, std::equal_to<>> map;
  };
  static constexpr size_t kShards = 16;

  explicit QuotaBook(std::string path) : path_(std::move(path)) {}
  Shard& shard_of(std::string_view key) { return shards_[StringHash{}(key) % kShards]; }
  Result<void> load();
  void writer_loop();

  std::string path_;
  sqlite3* db_ = nullptr;
  std::mutex save_mu_;  // one save at a time (writer thread or shutdown)
  Shard shards_[kShards];
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread writer_;
};

// UTC calendar periods: "d:2026-11-23" ends at the next midnight, "m:2026-11" at the
// first of the next month.
struct Period {
  std::string day;
  std::string month;
  int64_t day_end_s = 0;
  int64_t month_end_s = 0;
};
Period period_at(int64_t epoch_s);

}  // namespace portico::ratelimit
