// Thin RAII wrappers over the SQLite C API: a connection, a prepared statement
// with typed binding, and a scoped transaction. Used only inside storage/.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::storage {

class Database;

// A prepared statement borrowed from its Database's cache: on destruction it is
// reset and handed back, so the SQL is compiled once per connection.
class Statement {
 public:
  Statement(Database* owner, sqlite3* db, sqlite3_stmt* stmt, std::string sql)
      : owner_(owner), db_(db), stmt_(stmt), sql_(std::move(sql)) {}
  Statement(Statement&& o) noexcept
      : owner_(o.owner_), db_(o.db_), stmt_(o.stmt_), sql_(std::move(o.sql_)), status_(o.status_) {
    o.stmt_ = nullptr;
  }
  Statement(const Statement&) = delete;
  ~Statement();

  Statement& Bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, const std::string& v) { return Bind(i, std::string_view(v)); }
  Statement& Bind(int i, const char* v) { return Bind(i, std::string_view(v)); }
  Statement& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& Bind(int i, int v) { return Bind(i, static_cast<int64_t>(v)); }
  Statement& Bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  Statement& BindBlob(int i, const void* data, size_t size) {
    sqlite3_bind_blob64(stmt_, i, data, size, SQLITE_TRANSIENT);
    return *this;
  }
  Statement& BindNull(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  Statement& Bind(int i, const std::optional<std::string>& v) {
    return v ? Bind(i, *v) : BindNull(i);
  }
  // JSON scalars bind as their SQL types (bool as 0/1); arrays and objects as text.
  Statement& BindJson(int i, const Json& v);

  // Advances; true while a row is available. Errors become a Storage status via status().
  bool Step();
  // Runs to completion (for statements that return no rows).
  Status Run();
  const Status& status() const { return status_; }

  int64_t ColumnInt(int i) const { return sqlite3_column_int64(stmt_, i); }
  double ColumnDouble(int i) const { return sqlite3_column_double(stmt_, i); }
  bool ColumnIsNull(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  std::string ColumnText(int i) const {
    const unsigned char* t = sqlite3_column_text(stmt_, i);
    return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(stmt_, i)) : "";
  }
  std::optional<std::string> ColumnOptText(int i) const {
    if (ColumnIsNull(i)) return std::nullopt;
    return ColumnText(i);
  }
  std::string_view ColumnBlob(int i) const {
    const void* p = sqlite3_column_blob(stmt_, i);
    return p ? std::string_view(static_cast<const char*>(p), sqlite3_column_bytes(stmt_, i)) : std::string_view();
  }
  // The column as a JSON scalar (integer, real, text or null).
  Json ColumnJson(int i) const;

 private:
  Database* owner_;
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
  Status status_;
};

class Database {
 public:
  // Opens (creating) a database file in WAL mode with foreign keys on and a busy
  // timeout, so concurrent readers never fail on a writer's lock.
  static Result<std::unique_ptr<Database>> Open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // A cached statement for `sql` (compiled on first use).
  Result<Statement> Prepare(std::string_view sql);
  Status Exec(std::string_view sql);  // one or more statements, no parameters
  int64_t Changes() const { return sqlite3_changes64(db_); }
  sqlite3* handle() { return db_; }

 private:
  friend class Statement;
  explicit Database(sqlite3* db) : db_(db) {}
  void Release(std::string sql, sqlite3_stmt* stmt);

  sqlite3* db_;
  // Idle compiled statements by SQL text. A statement in use is not here, so a
  // nested use of the same SQL compiles a second copy. Bounded: list queries
  // built from user filters make many distinct texts.
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>> idle_;
  static constexpr size_t kMaxCachedSql = 256;
};

// BEGIN IMMEDIATE on construction (take the write lock up front so the
// transaction never fails half-way on a lock upgrade); ROLLBACK on destruction
// unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  const Status& begin_status() const { return begin_; }
  Status Commit();

 private:
  Database& db_;
  Status begin_;
  bool done_ = false;
};

Status SqliteError(sqlite3* db, std::string_view what);

}  // namespace strata::storage
