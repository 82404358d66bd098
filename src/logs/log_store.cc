#include "logs/log_store.h"

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <unordered_map>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/log.h"
#include "sqlite/statement.h"

namespace portico::logs {
namespace {

// A row holds a chunk of one group's lines, numbered first_seq, first_seq + 1, ... in
// the order they were appended (seq increases across groups too). A group's floor is
// the oldest seq still kept after trimming it to max_events_per_group; a chunk partly
// below it stays until all of it is. Versions before chunks kept a row per line in
// log_events: that table is dropped (these are recent logs, not an archive).
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS log_chunks ("
    "  first_seq INTEGER PRIMARY KEY,"
    "  group_name TEXT NOT NULL,"
    "  line_count INTEGER NOT NULL,"
    "  last_ts INTEGER NOT NULL,"  // the newest line's timestamp: the chunk expires with it
    "  lines BLOB NOT NULL"        // encode_line() of each
    ");"
    "CREATE INDEX IF NOT EXISTS log_chunks_by_group ON log_chunks (group_name, first_seq);"
    "CREATE TABLE IF NOT EXISTS log_floors (group_name TEXT PRIMARY KEY, min_seq INTEGER NOT NULL);"
    "DROP TABLE IF EXISTS log_events;";

// A chunk is cut at this many lines or bytes, so a reader decodes little it skips and
// trimming frees space in small steps.
constexpr size_t kChunkLines = 4096;
constexpr size_t kChunkBytes = 1 << 20;

// A line as stored: timestamp (8 bytes), the lengths of stream, request id and message
// (4 bytes each, little-endian as everything here), then the three.
constexpr size_t kLineHead = 8 + 3 * 4;

void put_le(char* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
uint64_t get_le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

void encode_line(std::string& out, int64_t ts, std::string_view stream, std::string_view request_id,
                 std::string_view message) {
  char head[kLineHead];
  put_le(head, static_cast<uint64_t>(ts), 8);
  put_le(head + 8, stream.size(), 4);
  put_le(head + 12, request_id.size(), 4);
  put_le(head + 16, message.size(), 4);
  out.append(head, kLineHead).append(stream).append(request_id).append(message);
}

struct DecodedLine {
  int64_t ts;
  std::string_view stream, request_id, message;
};

// The line at `pos` of `lines`, advancing pos; false at the end or on a damaged chunk.
bool decode_line(std::string_view lines, size_t& pos, DecodedLine& line) {
  if (lines.size() - pos < kLineHead) return false;
  const char* p = lines.data() + pos;
  line.ts = static_cast<int64_t>(get_le(p, 8));
  size_t ls = get_le(p + 8, 4), lr = get_le(p + 12, 4), lm = get_le(p + 16, 4);
  if (lines.size() - pos - kLineHead < ls + lr + lm) return false;
  const char* d = p + kLineHead;
  line.stream = {d, ls};
  line.request_id = {d + ls, lr};
  line.message = {d + ls + lr, lm};
  pos += kLineHead + ls + lr + lm;
  return true;
}

using sqlite::Statement;

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
  auto w =
      ec ? Result<sqlite3*>(Error{fmt::format("cannot create {}: {}", dir.string(), ec.message())})
         : open_db(path_, true);
  if (!w) {
    log::error("function logs are not kept: {}", w.error().message);
    writer_failed_ = true;
    return false;
  }
  writer_db_ = *w;
  Statement last(writer_db_, "SELECT COALESCE(MAX(first_seq + line_count), 1) FROM log_chunks");
  if (last.ok() && last.step() == SQLITE_ROW) next_seq_ = last.integer(0);
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
                      int64_t timestamp_ms, std::span<const std::string_view> messages) {
  std::lock_guard lock(queue_mu_);
  Pending::iterator it = pending_.end();
  for (std::string_view message : messages) {
    if (message.size() > kMaxMessage) message = message.substr(0, kMaxMessage);
    size_t bytes = kLineHead + stream.size() + request_id.size() + message.size();
    if (queued_ >= limits_.max_queued || queued_bytes_ + bytes > limits_.max_queued_bytes) {
      ++dropped_;
      continue;
    }
    if (it == pending_.end()) it = pending_.find(group);
    if (it == pending_.end()) it = pending_.emplace(std::string(group), PendingChunk{}).first;
    encode_line(it->second.lines, timestamp_ms, stream, request_id, message);
    ++it->second.count;
    ++queued_;
    queued_bytes_ += bytes;
  }
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
  Pending pending;
  {
    std::lock_guard lock(queue_mu_);
    pending.swap(pending_);
    queued_ = 0;
    queued_bytes_ = 0;
  }
  if (pending.empty() && writer_db_ == nullptr) return;
  if (!open_writer()) return;
  if (!pending.empty()) write(pending);
  int64_t now = wall_ms();
  if (now - last_trim_ms_ >= limits_.trim_interval_ms) {
    last_trim_ms_ = now;
    trim();
  }
}

// One transaction: each group's lines as chunks of at most kChunkLines / kChunkBytes.
void LogStore::write(Pending& pending) {
  size_t lines = 0;
  for (const auto& [group, chunk] : pending) lines += chunk.count;
  int64_t seq_before = next_seq_;
  sqlite3_exec(writer_db_, "BEGIN", nullptr, nullptr, nullptr);
  Statement insert(writer_db_,
                   "INSERT INTO log_chunks (first_seq, group_name, line_count, last_ts, lines) "
                   "VALUES (?, ?, ?, ?, ?)");
  bool ok = insert.ok();
  for (auto it = pending.begin(); ok && it != pending.end(); ++it) {
    std::string_view all = it->second.lines;
    size_t pos = 0;
    while (ok && pos < all.size()) {
      size_t start = pos, count = 0;
      int64_t last_ts = 0;
      DecodedLine line;
      while (count < kChunkLines && pos - start < kChunkBytes && decode_line(all, pos, line)) {
        last_ts = std::max(last_ts, line.ts);
        ++count;
      }
      if (count == 0) break;  // cannot happen: append encodes whole lines
      insert.bind(1, next_seq_);
      insert.bind(2, it->first);
      insert.bind(3, static_cast<int64_t>(count));
      insert.bind(4, last_ts);
      insert.blob(5, all.substr(start, pos - start));
      ok = insert.step() == SQLITE_DONE;
      insert.reset();
      next_seq_ += static_cast<int64_t>(count);
    }
  }
  if (ok) ok = sqlite3_exec(writer_db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  if (!ok) {
    log::warn("function logs: cannot write {} lines to {}: {}", lines, path_,
              sqlite3_errmsg(writer_db_));
    sqlite3_exec(writer_db_, "ROLLBACK", nullptr, nullptr, nullptr);
    next_seq_ = seq_before;
  }
}

// The bounds: chunks whose newest line is past the retention (older lines of a chunk
// still kept are hidden by query), and per group the lines beyond the newest
// max_events_per_group (its floor). Runs every few seconds on the writer.
void LogStore::trim() {
  int64_t cutoff = wall_ms() - limits_.retention_ms;
  {
    Statement expired(writer_db_, "DELETE FROM log_chunks WHERE last_ts < ?");
    if (expired.ok()) {
      expired.bind(1, cutoff);
      expired.step();
    }
  }
  std::vector<std::string> groups;
  {
    Statement list(writer_db_, "SELECT DISTINCT group_name FROM log_chunks");
    while (list.ok() && list.step() == SQLITE_ROW) groups.push_back(list.text(0));
  }
  const auto max = static_cast<int64_t>(limits_.max_events_per_group);
  for (const auto& g : groups) {
    // Newest first: the floor is in the chunk where the count reaches max.
    int64_t floor = 0, newer = 0;
    {
      Statement chunks(writer_db_,
                       "SELECT first_seq, line_count FROM log_chunks WHERE group_name = ? "
                       "ORDER BY first_seq DESC");
      if (!chunks.ok()) continue;
      chunks.bind(1, g);
      while (chunks.step() == SQLITE_ROW) {
        int64_t first = chunks.integer(0), count = chunks.integer(1);
        if (newer + count >= max) {
          floor = first + count - (max - newer);
          break;
        }
        newer += count;
      }
    }
    if (floor == 0) continue;
    Statement set(writer_db_,
                  "INSERT OR REPLACE INTO log_floors (group_name, min_seq) VALUES (?, ?)");
    Statement drop(writer_db_,
                   "DELETE FROM log_chunks WHERE group_name = ? AND first_seq < ? AND "
                   "first_seq + line_count <= ?");
    if (!set.ok() || !drop.ok()) continue;
    set.bind(1, g);
    set.bind(2, floor);
    set.step();
    drop.bind(1, g);
    drop.bind(2, floor);
    drop.bind(3, floor);
    drop.step();
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
  // The floor (lines trimmed away in a chunk still kept), then the chunks holding lines
  // after after_seq: a chunk has at most kChunkLines, so its first_seq is within that of them.
  int64_t floor = 0;
  {
    Statement f(reader_db_, "SELECT min_seq FROM log_floors WHERE group_name = ?");
    if (f.ok()) {
      f.bind(1, q.group);
      if (f.step() == SQLITE_ROW) floor = f.integer(0);
    }
  }
  Statement st(reader_db_,
               "SELECT first_seq, lines FROM log_chunks WHERE group_name = ? AND first_seq > ? "
               "AND last_ts >= ? ORDER BY first_seq");
  if (!st.ok()) {
    // The writer creates the file, then its tables: a reader in between sees none yet.
    std::string_view why = sqlite3_errmsg(reader_db_);
    if (why.find("no such table") != std::string_view::npos) return std::vector<LogEvent>{};
    return Error{fmt::format("cannot read the logs: {}", why)};
  }
  int64_t start_ms = std::max(q.start_ms, wall_ms() - limits_.retention_ms);
  int64_t min_seq = std::max(floor, q.after_seq + 1);
  st.bind(1, q.group);
  st.bind(2, min_seq - static_cast<int64_t>(kChunkLines));
  st.bind(3, start_ms);
  std::vector<LogEvent> out;
  int rc = SQLITE_DONE;
  while (out.size() < q.limit && (rc = st.step()) == SQLITE_ROW) {
    int64_t seq = st.integer(0);
    std::string_view lines = st.view(1);
    size_t pos = 0;
    DecodedLine line;
    for (; out.size() < q.limit && decode_line(lines, pos, line); ++seq) {
      if (seq < min_seq || line.ts < start_ms) continue;
      out.push_back({seq, line.ts, std::string(line.stream), std::string(line.request_id),
                     std::string(line.message)});
    }
  }
  if (out.size() < q.limit && rc != SQLITE_DONE)
    return Error{fmt::format("cannot read the logs: {}", sqlite3_errmsg(reader_db_))};
  return out;
}

}  // namespace portico::logs
