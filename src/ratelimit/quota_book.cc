#include "ratelimit/quota_book.h"

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "core/log.h"

namespace portico::ratelimit {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS quota_usage ("
    "  key TEXT PRIMARY KEY,"      // plan, consumer and period, separated by 0x1f
    "  used INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL"   // the period's end, epoch seconds
    ")";

std::string sqlite_error(sqlite3* db, const char* what) { return fmt::format("{}: {}", what, sqlite3_errmsg(db)); }

int64_t now_s() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace

Period period_at(int64_t epoch_s) {
  time_t t = static_cast<time_t>(epoch_s);
  struct tm tm;
  gmtime_r(&t, &tm);
  Period p;
  p.day = fmt::format("d:{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  p.month = fmt::format("m:{:04}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1);
  struct tm next = tm;
  next.tm_hour = next.tm_min = next.tm_sec = 0;
  next.tm_mday += 1;
  p.day_end_s = static_cast<int64_t>(timegm(&next));
  next = tm;
  next.tm_hour = next.tm_min = next.tm_sec = 0;
  next.tm_mday = 1;
  next.tm_mon += 1;
  p.month_end_s = static_cast<int64_t>(timegm(&next));
  return p;
}

Result<std::unique_ptr<QuotaBook>> QuotaBook::open(const std::string& path) {
  std::unique_ptr<QuotaBook> book(new QuotaBook(path));
  if (!path.empty()) {
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) return Error{fmt::format("cannot create {}: {}", dir.string(), ec.message())};
    if (sqlite3_open_v2(path.c_str(), &book->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string why = book->db_ != nullptr ? sqlite3_errmsg(book->db_) : "out of memory";
      return Error{fmt::format("cannot open {}: {}", path, why)};
    }
    sqlite3_busy_timeout(book->db_, 2'000);
    // WAL: a save does not block readers, and survives a crash of this process.
    sqlite3_exec(book->db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
    if (sqlite3_exec(book->db_, kSchema, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Error{fmt::format("{}: {}", path, sqlite_error(book->db_, "cannot create the quota table"))};
    }
    if (auto r = book->load(); !r) return Error{fmt::format("{}: {}", path, r.error().message)};
  }
  // The writer takes no signals (they belong to the main loop's signalfd).
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  QuotaBook* raw = book.get();
  book->writer_ = std::thread([raw] { raw->writer_loop(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return book;
}

QuotaBook::~QuotaBook() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  save();
  if (db_ != nullptr) sqlite3_close(db_);
}

Result<void> QuotaBook::load() {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT key, used, expires FROM quota_usage WHERE expires > ?", -1, &st, nullptr) !=
      SQLITE_OK) {
    return Error{sqlite_error(db_, "cannot read the quota table")};
  }
  sqlite3_bind_int64(st, 1, now_s());
  size_t rows = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string key(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), static_cast<size_t>(sqlite3_column_bytes(st, 0)));
    Count c;
    c.used = sqlite3_column_int64(st, 1);
    c.expires_s = sqlite3_column_int64(st, 2);
    shard_of(key).map.emplace(std::move(key), c);
    ++rows;
  }
  sqlite3_finalize(st);
  sqlite3_exec(db_, fmt::format("DELETE FROM quota_usage WHERE expires <= {}", now_s()).c_str(), nullptr, nullptr, nullptr);
  if (rows > 0) log::info("quotas: {} usage count{} restored from {}", rows, rows == 1 ? "" : "s", path_);
  return {};
}

bool QuotaBook::take(std::string_view key, int64_t limit, int64_t expires_s, int64_t& used) {
  Shard& s = shard_of(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it == s.map.end()) it = s.map.emplace(std::string(key), Count{0, expires_s, false}).first;
  Count& c = it->second;
  if (c.used >= limit) {
    used = c.used;
    return false;
  }
  ++c.used;
  c.dirty = true;
  used = c.used;
  return true;
}

void QuotaBook::give_back(std::string_view key) {
  Shard& s = shard_of(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  if (it != s.map.end() && it->second.used > 0) {
    --it->second.used;
    it->second.dirty = true;
  }
}

int64_t QuotaBook::used(std::string_view key) {
  Shard& s = shard_of(key);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(key);
  return it == s.map.end() ? 0 : it->second.used;
}

void QuotaBook::save() {
  std::lock_guard save_lock(save_mu_);
  struct Row {
    std::string key;
    int64_t used;
    int64_t expires_s;
  };
  std::vector<Row> rows;
  int64_t now = now_s();
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    for (auto it = s.map.begin(); it != s.map.end();) {
      if (it->second.dirty) {
        rows.push_back({it->first, it->second.used, it->second.expires_s});
        it->second.dirty = false;
      }
      // A period that has ended is never counted again.
      if (it->second.expires_s <= now) it = s.map.erase(it);
      else ++it;
    }
  }
  if (rows.empty() || db_ == nullptr) return;
  sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  bool ok = sqlite3_prepare_v2(db_,
                               "INSERT INTO quota_usage (key, used, expires) VALUES (?, ?, ?) "
                               "ON CONFLICT(key) DO UPDATE SET used = excluded.used, expires = excluded.expires",
                               -1, &st, nullptr) == SQLITE_OK;
  for (size_t i = 0; ok && i < rows.size(); ++i) {
    sqlite3_bind_text(st, 1, rows[i].key.data(), static_cast<int>(rows[i].key.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, rows[i].used);
    sqlite3_bind_int64(st, 3, rows[i].expires_s);
    ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
  }
  if (st != nullptr) sqlite3_finalize(st);
  if (ok) ok = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
  if (!ok) {
    log::warn("quotas: cannot save usage counts to {}: {}; retrying in a second", path_, sqlite3_errmsg(db_));
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    // Mark them unsaved again, so the next save tries them again.
    for (const Row& r : rows) {
      Shard& s = shard_of(r.key);
      std::lock_guard lock(s.mu);
      if (auto it = s.map.find(r.key); it != s.map.end()) it->second.dirty = true;
    }
  }
}

void QuotaBook::writer_loop() {
  std::unique_lock lock(stop_mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    save();
    lock.lock();
  }
}

}  // namespace portico::ratelimit
