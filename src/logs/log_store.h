// The functions' logs: every line an instance writes, and Lambda's START/END/REPORT
// lines, kept per log group ("/aws/lambda/NAME", as CloudWatch names them) and stream
// (the instance's AWS_LAMBDA_LOG_STREAM_NAME) in a SQLite file under data_dir, bounded
// per group (the oldest lines go first) and by age.
//
// append() is called for every line (three per invocation besides the function's own):
// it only encodes the line into its group's pending chunk under a short lock. A writer
// thread of its own commits the pending chunks every 200 ms as one row per group (a
// chunk of many lines, not a row per line: a row per line cost more CPU than the rest
// of a warm invocation's bookkeeping), so logging never waits on the disk. The file is
// created with the first line (a gateway without functions writes nothing). Readers
// (`portico logs`, the admin API) use a connection of their own; WAL lets them read
// while the writer writes.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/hash.h"
#include "core/result.h"

struct sqlite3;

namespace portico::logs {

struct LogLimits {
  uint64_t max_events_per_group = 100'000;
  int64_t retention_ms = 7 * 24 * 3'600'000LL;
  size_t max_queued = 100'000;         // lines waiting for the writer; beyond this they are dropped
  size_t max_queued_bytes = 64 << 20;  // and their bytes
  int64_t trim_interval_ms = 10'000;   // how often the bounds are applied
};

struct LogEvent {
  int64_t seq = 0;  // increasing in the order lines were appended
  int64_t timestamp_ms = 0;
  std::string stream;
  std::string request_id;  // of the invocation running when the line was written, or empty
  std::string message;
};

struct LogQuery {
  std::string group;
  int64_t start_ms = 0;   // timestamp at or after
  int64_t after_seq = 0;  // only lines appended after this one (following)
  size_t limit = 1000;
};

// "/aws/lambda/NAME"
std::string function_log_group(std::string_view function);

class LogStore {
 public:
  explicit LogStore(std::string path, LogLimits limits = {});
  ~LogStore();  // writes what is queued
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  // Thread-safe, does not block on I/O.
  void append(std::string_view group, std::string_view stream, std::string_view request_id,
              int64_t timestamp_ms, std::string_view message) {
    append(group, stream, request_id, timestamp_ms, {&message, 1});
  }
  // Several lines of one stream at once (END and REPORT): one lock for all of them.
  void append(std::string_view group, std::string_view stream, std::string_view request_id,
              int64_t timestamp_ms, std::span<const std::string_view> messages);
  // Thread-safe; sees what the writer has committed (flush() first for everything).
  Result<std::vector<LogEvent>> query(const LogQuery& q);
  // Commits what is queued now (tests, shutdown).
  void flush();
  uint64_t dropped() const;

 private:
  // Lines of one group waiting for the writer, encoded as stored (see encode_line).
  struct PendingChunk {
    std::string lines;
    size_t count = 0;
  };
  using Pending = std::unordered_map<std::string, PendingChunk, StringHash, std::equal_to<>>;
  void writer_loop();
  bool open_writer();  // under write_mu_
  void write(Pending& pending);
  void trim();

  std::string path_;
  LogLimits limits_;
  sqlite3* writer_db_ = nullptr;  // the writer thread's (and flush()'s, under write_mu_)
  sqlite3* reader_db_ = nullptr;  // readers', under read_mu_
  std::mutex read_mu_;
  std::mutex write_mu_;
  mutable std::mutex queue_mu_;
  std::condition_variable wake_;
  Pending pending_;
  size_t queued_ = 0;        // lines in pending_
  size_t queued_bytes_ = 0;  // their encoded size
  uint64_t dropped_ = 0;
  bool stopping_ = false;
  bool writer_failed_ = false;  // opening failed: said once, lines dropped
  int64_t last_trim_ms_ = 0;
  int64_t next_seq_ = 1;  // the writer's: the seq of the next line stored
  std::thread writer_;
};

}  // namespace portico::logs
