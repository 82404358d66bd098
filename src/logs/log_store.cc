#include "logs/log_store.h"

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <unordered_map>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/log.h"

namespace portico::logs {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS log_events ("
    "  seq INTEGER PRIMARY KEY,"  // the rowid: append order
    "  group_name TEXT NOT NULL,"
    "  stream TEXT NOT NULL,"
    "  request_id TEXT NOT NULL,"
    "  ts_ms INTEGER NOT NULL,"
    "  message TEXT NOT NULL"
    ");"
    "CREATE INDEX IF NOT EXISTS log_events_by_group ON log_events (group_name, seq);";

constexpr size_t kMaxMessage = 256 * 1024;  // CloudWatch Logs' limit for one event
constexpr int kFlushMs = 200;

Result<sqlite3*> open_db(const std::string& path, bool writer) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string why = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    if (db != nullptr) sqlite3_close(db);
    return Error{fmt::format("cannot open {}: {}", path, why)};
  }
  sqlite3_busy_timeout(db, 5'000);
  if (writer) {
    // NORMAL: in WAL mode a crash of Portico loses nothing committed; a power cut may
    // lose the last moments of logs, which is not worth an fsync per batch.
    char* err = nullptr;
    // journal_size_limit: the WAL is truncated back to 16 MiB after a checkpoint (without
    // it, a burst leaves it at its largest size for good).
    std::string sql = std::string(
                          "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                          "PRAGMA journal_size_limit=16777216;") +
                      kSchema;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string why = err != nullptr ? err : sqlite3_errmsg(db);
      sqlite3_free(err);
      sqlite3_close(db);
      return Error{fmt::format("{}: cannot create the log table: {}", path, why)};
    }
  }
  return db;
}

}  // namespace

std::string function_log_group(std::string_view function) {
  return fmt::format("/aws/lambda/{}", function);
}

LogStore::LogStore(std::string path, LogLimits limits) : path_(std::move(path)), limits_(limits) {
  // The writer takes no signals (they belong to the main loop's signalfd).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  writer_ = std::thread([this] { writer_loop(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

bool LogStore::open_writer() {
  if (writer_db_ != nullptr) return true;
  if (writer_failed_) return false;
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  auto w = ec ? Result<sqlite3*>(Error{fmt::format("cannot create {}: {}", dir.string(), ec.message())})
              : open_db(path_, true);
  if (!w) {
    log::error("function logs are not kept: {}", w.error().message);
    writer_failed_ = true;
    return false;
  }
  writer_db_ = *w;
  return true;
}

LogStore::~LogStore() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  flush();
  if (writer_db_ != nullptr) sqlite3_close(writer_db_);
  if (reader_db_ != nullptr) sqlite3_close(reader_db_);
}

void LogStore::append(std::string_view group, std::string_view stream, std::string_view request_id,
                      int64_t timestamp_ms, std::string_view message) {
  if (message.size() > kMaxMessage) message = message.substr(0, kMaxMessage);
  std::lock_guard lock(queue_mu_);
  if (queue_.size() >= limits_.max_queued) {
    ++dropped_;
    return;
  }
  queue_.push_back({std::string(group), std::string(stream), std::string(request_id),
                    std::string(message), timestamp_ms});
}

uint64_t LogStore::dropped() const {
  std::lock_guard lock(queue_mu_);
  return dropped_;
}

void LogStore::writer_loop() {
  std::unique_lock lock(queue_mu_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(kFlushMs), [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    flush();
    lock.lock();
  }
}

void LogStore::flush() {
  std::lock_guard write_lock(write_mu_);
  std::vector<Line> lines;
  {
    std::lock_guard lock(queue_mu_);
    lines.swap(queue_);
  }
  if (lines.empty() && writer_db_ == nullptr) return;
  if (!open_writer()) return;
  if (!lines.empty()) write(lines);
  int64_t now = wall_ms();
  if (now - last_trim_ms_ >= limits_.trim_interval_ms) {
    last_trim_ms_ = now;
    trim();
  }
}

void LogStore::write(std::vector<Line>& lines) {
  sqlite3_exec(writer_db_, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  bool ok = sqlite3_prepare_v2(writer_db_,
                               "INSERT INTO log_events (group_name, stream, request_id, ts_ms, "
                               "message) VALUES (?, ?, ?, ?, ?)",
                               -1, &st, nullptr) == SQLITE_OK;
  for (size_t i = 0; ok && i < lines.size(); ++i) {
    const Line& l = lines[i];
    sqlite3_bind_text(st, 1, l.group.data(), static_cast<int>(l.group.size()), SQLITE_STATIC);
    sqlite3_bind_text(st, 2, l.stream.data(), static_cast<int>(l.stream.size()), SQLITE_STATIC);
    sqlite3_bind_text(st, 3, l.request_id.data(), static_cast<int>(l.request_id.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, l.timestamp_ms);
    sqlite3_bind_text(st, 5, l.message.data(), static_cast<int>(l.message.size()), SQLITE_STATIC);
    ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
  }
  if (st != nullptr) sqlite3_finalize(st);
  if (ok) ok = sqlite3_exec(writer_db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  if (!ok) {
    log::warn("function logs: cannot write {} lines to {}: {}", lines.size(), path_,
              sqlite3_errmsg(writer_db_));
    sqlite3_exec(writer_db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

// The bounds: lines older than the retention, and beyond max_events_per_group in each
// group (oldest first). Runs every few seconds on the writer.
void LogStore::trim() {
  sqlite3_stmt* st = nullptr;
  // Rows are in append order and timestamps grow with it: the expired ones are a prefix,
  // found by scanning from the start to the first one still young enough.
  if (sqlite3_prepare_v2(writer_db_,
                         "DELETE FROM log_events WHERE seq < (SELECT COALESCE(MIN(seq), "
                         "(SELECT COALESCE(MAX(seq), 0) + 1 FROM log_events)) FROM (SELECT seq FROM "
                         "log_events WHERE ts_ms >= ? ORDER BY seq LIMIT 1))",
                         -1, &st, nullptr) == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, wall_ms() - limits_.retention_ms);
    sqlite3_step(st);
    sqlite3_finalize(st);
  }
  std::vector<std::string> groups;
  if (sqlite3_prepare_v2(writer_db_, "SELECT DISTINCT group_name FROM log_events", -1, &st,
                         nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      groups.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    }
    sqlite3_finalize(st);
  }
  for (const auto& g : groups) {
    if (sqlite3_prepare_v2(writer_db_,
                           "DELETE FROM log_events WHERE group_name = ?1 AND seq <= (SELECT seq "
                           "FROM log_events WHERE group_name = ?1 ORDER BY seq DESC LIMIT 1 "
                           "OFFSET ?2)",
                           -1, &st, nullptr) != SQLITE_OK)
      continue;
    sqlite3_bind_text(st, 1, g.data(), static_cast<int>(g.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, static_cast<int64_t>(limits_.max_events_per_group));
    sqlite3_step(st);
    sqlite3_finalize(st);
  }
}

Result<std::vector<LogEvent>> LogStore::query(const LogQuery& q) {
  std::lock_guard lock(read_mu_);
  if (reader_db_ == nullptr) {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec)) return std::vector<LogEvent>{};  // nothing logged yet
    auto r = open_db(path_, false);
    if (!r) return r.error();
    reader_db_ = *r;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(reader_db_,
                         "SELECT seq, ts_ms, stream, request_id, message FROM log_events WHERE group_name = ? "
                         "AND seq > ? AND ts_ms >= ? ORDER BY seq LIMIT ?",
                         -1, &st, nullptr) != SQLITE_OK) {
    // The writer creates the file, then its table: a reader in between sees no table yet.
    std::string_view why = sqlite3_errmsg(reader_db_);
    if (why.find("no such table") != std::string_view::npos) return std::vector<LogEvent>{};
    return Error{fmt::format("cannot read the logs: {}", why)};
  }
  sqlite3_bind_text(st, 1, q.group.data(), static_cast<int>(q.group.size()), SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, q.after_seq);
  sqlite3_bind_int64(st, 3, q.start_ms);
  sqlite3_bind_int64(st, 4, static_cast<int64_t>(q.limit));
  std::vector<LogEvent> out;
  int rc;
  auto text = [&](int i) {
    const unsigned char* p = sqlite3_column_text(st, i);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p),
                                      static_cast<size_t>(sqlite3_column_bytes(st, i)));
  };
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    out.push_back(
        {sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), text(2), text(3), text(4)});
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return Error{fmt::format("cannot read the logs: {}", sqlite3_errmsg(reader_db_))};
  return out;
}

}  // namespace portico::logs
