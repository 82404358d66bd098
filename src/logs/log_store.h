// The functions' logs: every line an instance writes, and Lambda's START/END/REPORT
// lines, kept per log group ("/aws/lambda/NAME", as CloudWatch names them) and stream
// (the instance's AWS_LAMBDA_LOG_STREAM_NAME) in a SQLite file under data_dir, bounded
// per group (the oldest lines go first) and by age.
//
// append() is called on the functions thread for every line: it only queues the line
// under a short lock; a writer thread of its own commits the queue every 200 ms, so
// logging never waits on the disk. The file is created with the first line (a gateway
// without functions writes nothing). Readers (`portico logs`, the admin API) use a
// connection of their own; WAL lets them read while the writer writes.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/result.h"

struct sqlite3;

namespace portico::logs {

struct LogLimits {
  uint64_t max_events_per_group = 100'000;
  int64_t retention_ms = 7 * 24 * 3'600'000LL;
  size_t max_queued = 100'000;  // lines waiting for the writer; beyond this they are dropped
  int64_t trim_interval_ms = 10'000;  // how often the bounds are applied
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
  int64_t start_ms = 0;  // timestamp at or after
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
              int64_t timestamp_ms, std::string_view message);
  // Thread-safe; sees what the writer has committed (flush() first for everything).
  Result<std::vector<LogEvent>> query(const LogQuery& q);
  // Commits what is queued now (tests, shutdown).
  void flush();
  uint64_t dropped() const;

 private:
  struct Line {
    std::string group, stream, request_id, message;
    int64_t timestamp_ms;
  };
  void writer_loop();
  bool open_writer();  // under write_mu_
  void write(std::vector<Line>& lines);
  void trim();

  std::string path_;
  LogLimits limits_;
  sqlite3* writer_db_ = nullptr;  // the writer thread's (and flush()'s, under write_mu_)
  sqlite3* reader_db_ = nullptr;  // readers', under read_mu_
  std::mutex read_mu_;
  std::mutex write_mu_;
  mutable std::mutex queue_mu_;
  std::condition_variable wake_;
  std::vector<Line> queue_;
  uint64_t dropped_ = 0;
  bool stopping_ = false;
  bool writer_failed_ = false;  // opening failed: said once, lines dropped
  int64_t last_trim_ms_ = 0;
  std::thread writer_;
};

}  // namespace portico::logs
