// The durable half of asynchronous invocation: every accepted event, and every event
// that failed for good (the dead letters), in one SQLite file under data_dir. WAL with
// synchronous=FULL: a commit is on disk before the caller hears "accepted", so neither
// a crash nor kill -9 nor a power cut loses an event Portico answered 202 for.
// Single-threaded: the async invoker's thread owns it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

struct sqlite3;

namespace portico::async {

// An accepted event waiting to run (or running). Times are wall-clock epoch ms, so
// they mean the same after a restart.
struct PendingEvent {
  std::string id;  // the invocation's request id, kept across retries (as Lambda does)
  std::string function;
  int64_t received_ms = 0;
  int64_t due_ms = 0;   // not before
  uint32_t attempts = 0;  // completed attempts that failed
};

// An event that failed for good, with what Lambda's on-failure destination record holds.
struct DeadLetter {
  std::string id;
  std::string function;
  std::string payload;
  int64_t received_ms = 0;
  int64_t failed_ms = 0;
  uint32_t attempts = 0;
  std::string condition;      // RetriesExhausted, EventAgeExceeded, FunctionNotFound
  std::string error_type;     // the last failure's errorType, or empty
  std::string error_payload;  // the last failure's error document, or empty
};

// Which dead letters an operation takes: all, one function's, or one id.
struct DeadLetterFilter {
  std::string function;
  std::string id;
};

class EventStore {
 public:
  // Opens (creating it and its directory) the file at `path`; ":memory:" for tests.
  static Result<std::unique_ptr<EventStore>> open(const std::string& path);
  ~EventStore();
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  const std::string& path() const { return path_; }

  // A transaction around any number of the writes below (one fsync for all).
  Result<void> begin();
  Result<void> commit();
  void rollback();

  Result<void> insert(const PendingEvent& event, const std::string& payload);
  Result<void> reschedule(const std::string& id, uint32_t attempts, int64_t due_ms);
  Result<void> remove(const std::string& id);  // finished
  // Moves the event into the dead letters.
  Result<void> dead_letter(const PendingEvent& event, int64_t failed_ms,
                           const std::string& condition, const std::string& error_type,
                           const std::string& error_payload);

  Result<std::vector<PendingEvent>> pending();  // all, oldest first
  Result<std::optional<std::string>> payload(const std::string& id);

  Result<std::vector<DeadLetter>> dead_letters(const DeadLetterFilter& filter, size_t limit);
  // Removes the matching dead letters and returns them (replay re-accepts them).
  Result<std::vector<DeadLetter>> take_dead_letters(const DeadLetterFilter& filter);

 private:
  explicit EventStore(std::string path) : path_(std::move(path)) {}
  Result<void> exec(const char* sql);

  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace portico::async
