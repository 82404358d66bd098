#include "async/event_store.h"

#include <sqlite3.h>

#include <filesystem>

#include <fmt/format.h>

#include "sqlite/statement.h"

namespace portico::async {
namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS events ("
    "  id TEXT PRIMARY KEY,"
    "  function TEXT NOT NULL,"
    "  payload BLOB NOT NULL,"
    "  received_ms INTEGER NOT NULL,"
    "  due_ms INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL"
    ");"
    "CREATE TABLE IF NOT EXISTS dead_letters ("
    "  id TEXT PRIMARY KEY,"
    "  function TEXT NOT NULL,"
    "  payload BLOB NOT NULL,"
    "  received_ms INTEGER NOT NULL,"
    "  failed_ms INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL,"
    "  condition TEXT NOT NULL,"
    "  error_type TEXT NOT NULL,"
    "  error_payload BLOB NOT NULL"
    ");"
    "CREATE INDEX IF NOT EXISTS dead_letters_by_function ON dead_letters (function, failed_ms);";

using sqlite::Statement;

Error sqlite_error(sqlite3* db, std::string_view what) {
  return Error{fmt::format("{}: {}", what, sqlite3_errmsg(db))};
}

// The WHERE clause of a filter, with ?1 = function and ?2 = id (an empty value matches all).
constexpr const char* kFilter = " WHERE (?1 = '' OR function = ?1) AND (?2 = '' OR id = ?2)";

DeadLetter read_dead_letter(const Statement& st) {
  DeadLetter d;
  d.id = st.text(0);
  d.function = st.text(1);
  d.payload = st.text(2);
  d.received_ms = st.integer(3);
  d.failed_ms = st.integer(4);
  d.attempts = static_cast<uint32_t>(st.integer(5));
  d.condition = st.text(6);
  d.error_type = st.text(7);
  d.error_payload = st.text(8);
  return d;
}

constexpr const char* kDeadColumns =
    "SELECT id, function, payload, received_ms, failed_ms, attempts, condition, error_type, "
    "error_payload FROM dead_letters";

}  // namespace

Result<std::unique_ptr<EventStore>> EventStore::open(const std::string& path) {
  std::unique_ptr<EventStore> store(new EventStore(path));
  if (path != ":memory:") {
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) return Error{fmt::format("cannot create {}: {}", dir.string(), ec.message())};
  }
  if (sqlite3_open_v2(path.c_str(), &store->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    std::string why = store->db_ != nullptr ? sqlite3_errmsg(store->db_) : "out of memory";
    return Error{fmt::format("cannot open {}: {}", path, why)};
  }
  sqlite3_busy_timeout(store->db_, 5'000);
  // FULL: the WAL is synced at every commit, so an acknowledged event survives a power
  // cut too, not only a crash. Commits are batched by the caller (one per loop turn).
  if (auto r = store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL"); !r)
    return Error{fmt::format("{}: {}", path, r.error().message)};
  if (auto r = store->exec(kSchema); !r)
    return Error{fmt::format("{}: cannot create the event tables: {}", path, r.error().message)};
  return store;
}

EventStore::~EventStore() {
  if (db_ != nullptr) sqlite3_close(db_);
}

Result<void> EventStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err != nullptr ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Error{why};
  }
  return {};
}

Result<void> EventStore::begin() { return exec("BEGIN IMMEDIATE"); }
Result<void> EventStore::commit() { return exec("COMMIT"); }
void EventStore::rollback() { (void)exec("ROLLBACK"); }

Result<void> EventStore::insert(const PendingEvent& e, const std::string& payload) {
  Statement st(db_,
               "INSERT INTO events (id, function, payload, received_ms, due_ms, attempts) "
               "VALUES (?, ?, ?, ?, ?, ?)");
  if (!st.ok()) return sqlite_error(db_, "cannot store the event");
  st.bind(1, e.id).bind(2, e.function).blob(3, payload).bind(4, e.received_ms).bind(5, e.due_ms);
  st.bind(6, static_cast<int64_t>(e.attempts));
  if (st.step() != SQLITE_DONE) return sqlite_error(db_, "cannot store the event");
  return {};
}

Result<void> EventStore::reschedule(const std::string& id, uint32_t attempts, int64_t due_ms) {
  Statement st(db_, "UPDATE events SET attempts = ?, due_ms = ? WHERE id = ?");
  if (!st.ok()) return sqlite_error(db_, "cannot reschedule the event");
  st.bind(1, static_cast<int64_t>(attempts)).bind(2, due_ms).bind(3, id);
  if (st.step() != SQLITE_DONE) return sqlite_error(db_, "cannot reschedule the event");
  return {};
}

Result<void> EventStore::remove(const std::string& id) {
  Statement st(db_, "DELETE FROM events WHERE id = ?");
  if (!st.ok()) return sqlite_error(db_, "cannot remove the event");
  st.bind(1, id);
  if (st.step() != SQLITE_DONE) return sqlite_error(db_, "cannot remove the event");
  return {};
}

Result<void> EventStore::dead_letter(const PendingEvent& e, int64_t failed_ms,
                                     const std::string& condition, const std::string& error_type,
                                     const std::string& error_payload) {
  Statement st(
      db_,
      "INSERT OR REPLACE INTO dead_letters (id, function, payload, received_ms, failed_ms, "
      "attempts, condition, error_type, error_payload) SELECT id, function, payload, "
      "received_ms, ?, ?, ?, ?, ? FROM events WHERE id = ?");
  if (!st.ok()) return sqlite_error(db_, "cannot write the dead letter");
  st.bind(1, failed_ms).bind(2, static_cast<int64_t>(e.attempts)).bind(3, condition);
  st.bind(4, error_type).blob(5, error_payload).bind(6, e.id);
  if (st.step() != SQLITE_DONE) return sqlite_error(db_, "cannot write the dead letter");
  return remove(e.id);
}

Result<std::vector<PendingEvent>> EventStore::pending() {
  Statement st(db_,
               "SELECT id, function, received_ms, due_ms, attempts FROM events ORDER BY "
               "received_ms, rowid");
  if (!st.ok()) return sqlite_error(db_, "cannot read the events");
  std::vector<PendingEvent> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) {
    out.push_back({st.text(0), st.text(1), st.integer(2), st.integer(3),
                   static_cast<uint32_t>(st.integer(4))});
  }
  if (rc != SQLITE_DONE) return sqlite_error(db_, "cannot read the events");
  return out;
}

Result<std::optional<std::string>> EventStore::payload(const std::string& id) {
  Statement st(db_, "SELECT payload FROM events WHERE id = ?");
  if (!st.ok()) return sqlite_error(db_, "cannot read the event");
  st.bind(1, id);
  int rc = st.step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(st.text(0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return sqlite_error(db_, "cannot read the event");
}

Result<std::vector<DeadLetter>> EventStore::dead_letters(const DeadLetterFilter& filter,
                                                         size_t limit) {
  std::string sql = fmt::format("{}{} ORDER BY failed_ms, rowid LIMIT ?3", kDeadColumns, kFilter);
  Statement st(db_, sql.c_str());
  if (!st.ok()) return sqlite_error(db_, "cannot read the dead letters");
  st.bind(1, filter.function).bind(2, filter.id).bind(3, static_cast<int64_t>(limit));
  std::vector<DeadLetter> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out.push_back(read_dead_letter(st));
  if (rc != SQLITE_DONE) return sqlite_error(db_, "cannot read the dead letters");
  return out;
}

Result<std::vector<DeadLetter>> EventStore::take_dead_letters(const DeadLetterFilter& filter) {
  auto taken = dead_letters(filter, static_cast<size_t>(INT64_MAX));
  if (!taken) return taken;
  std::string sql = fmt::format("DELETE FROM dead_letters{}", kFilter);
  Statement st(db_, sql.c_str());
  if (!st.ok()) return sqlite_error(db_, "cannot remove the dead letters");
  st.bind(1, filter.function).bind(2, filter.id);
  if (st.step() != SQLITE_DONE) return sqlite_error(db_, "cannot remove the dead letters");
  return taken;
}

}  // namespace portico::async
