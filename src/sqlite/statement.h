// One prepared SQLite statement, finalized when it goes: the stores (the async events,
// the function logs) bind and read by position through it.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace portico::sqlite {

class Statement {
 public:
  Statement(sqlite3* db, const char* sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // False when the SQL did not prepare (sqlite3_errmsg of the connection says why).
  bool ok() const { return st_ != nullptr; }
  // Values are copied by SQLite (the caller's may go before step()).
  Statement& bind(int i, std::string_view text);
  Statement& bind(int i, int64_t v);
  Statement& blob(int i, std::string_view bytes);
  int step() { return sqlite3_step(st_); }
  // Ready to step again with new bindings.
  void reset() { sqlite3_reset(st_); }
  std::string text(int i) const { return std::string(view(i)); }
  // Valid until the next step() or reset().
  std::string_view view(int i) const;
  int64_t integer(int i) const { return sqlite3_column_int64(st_, i); }

 private:
  sqlite3_stmt* st_ = nullptr;
};

}  // namespace portico::sqlite
