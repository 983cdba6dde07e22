#include "storage/sqlite_db.h"

namespace strata::storage {

Status SqliteError(sqlite3* db, std::string_view what) {
  int code = sqlite3_extended_errcode(db);
  std::string msg = std::string(what) + ": " + sqlite3_errmsg(db);
  if ((code & 0xff) == SQLITE_CONSTRAINT) return Status::AlreadyExists(msg);
  if ((code & 0xff) == SQLITE_FULL) return Status::Storage("disk full: " + msg);
  return Status::Storage(msg);
}

Statement& Statement::BindJson(int i, const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return BindNull(i);
    case Json::value_t::boolean: return Bind(i, static_cast<int64_t>(v.get<bool>() ? 1 : 0));
    case Json::value_t::number_integer: return Bind(i, v.get<int64_t>());
    case Json::value_t::number_unsigned: {
      uint64_t u = v.get<uint64_t>();
      return u > static_cast<uint64_t>(INT64_MAX) ? Bind(i, static_cast<double>(u))
                                                  : Bind(i, static_cast<int64_t>(u));
    }
    case Json::value_t::number_float: return Bind(i, v.get<double>());
    case Json::value_t::string: return Bind(i, v.get_ref<const std::string&>());
    default: return Bind(i, v.dump());
  }
}

bool Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) status_ = SqliteError(db_, "step");
  return false;
}

Status Statement::Run() {
  while (Step()) {
  }
  return status_;
}

Json Statement::ColumnJson(int i) const {
  switch (sqlite3_column_type(stmt_, i)) {
    case SQLITE_INTEGER: return ColumnInt(i);
    case SQLITE_FLOAT: return ColumnDouble(i);
    case SQLITE_NULL: return nullptr;
    default: return ColumnText(i);
  }
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status st = Status::Storage("cannot open database " + path + ": " +
                                (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return st;
  }
  std::unique_ptr<Database> out(new Database(db));
  sqlite3_busy_timeout(db, 10000);
  // NORMAL is durable across application crashes in WAL mode; only an OS crash
  // or power loss can lose the last commits (never corrupt the file).
  RETURN_IF_ERROR(out->Exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
      "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32000;"));
  return out;
}

Database::~Database() {
  for (auto& [sql, stmts] : idle_) {
    for (sqlite3_stmt* s : stmts) sqlite3_finalize(s);
  }
  sqlite3_close_v2(db_);
}

Result<Statement> Database::Prepare(std::string_view sql) {
  std::string key(sql);
  if (auto it = idle_.find(key); it != idle_.end() && !it->second.empty()) {
    sqlite3_stmt* stmt = it->second.back();
    it->second.pop_back();
    return Statement(this, db_, stmt, std::move(key));
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                         nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare");
  }
  return Statement(this, db_, stmt, std::move(key));
}

void Database::Release(std::string sql, sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  auto it = idle_.find(sql);
  if (it == idle_.end()) {
    if (idle_.size() >= kMaxCachedSql) {
      sqlite3_finalize(stmt);
      return;
    }
    it = idle_.emplace(std::move(sql), std::vector<sqlite3_stmt*>{}).first;
  }
  it->second.push_back(stmt);
}

Statement::~Statement() {
  if (stmt_) owner_->Release(std::move(sql_), stmt_);
}

Status Database::Exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Status::Storage("exec: " + msg);
  }
  return Status::Ok();
}

Transaction::Transaction(Database& db) : db_(db) { begin_ = db_.Exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
  if (!done_ && begin_.ok()) (void)db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  RETURN_IF_ERROR(begin_);
  Status st = db_.Exec("COMMIT");
  if (st.ok()) done_ = true;
  return st;
}

}  // namespace strata::storage
