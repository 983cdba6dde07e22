// SQLite implementation of MetadataStore (see metadata_store.h for the contract).
//
// One writer connection behind a mutex (SQLite has one writer at a time anyway;
// serialising in-process avoids busy-waiting) and a pool of reader connections,
// which WAL mode lets run while the writer commits.
#include <cstring>
#include <mutex>
#include <set>
#include <vector>

#include "core/crypto.h"
#include "filter/eval.h"
#include "storage/filter_sql.h"
#include "storage/metadata_store.h"
#include "storage/migrations.h"
#include "storage/sqlite_db.h"

namespace strata::storage {

namespace {

const char* TableOf(Kind kind) {
  switch (kind) {
    case Kind::kNamespace: return "namespaces";
    case Kind::kBucket: return "buckets";
    case Kind::kObject: return "objects";
    case Kind::kUpload: return "uploads";
    case Kind::kApiKey: return "api_keys";
    case Kind::kCollection: return "collections";
    case Kind::kDocument: return "documents";
    case Kind::kBatch: return "batches";
    case Kind::kTask: return "tasks";
    case Kind::kRetriever: return "retrievers";
    case Kind::kExecution: return "executions";
    case Kind::kEvalDataset: return "eval_datasets";
    case Kind::kEvaluation: return "evaluations";
  }
  return "";
}

// A JSON path for SQLite's JSON functions, with every key quoted so dots,
// spaces and quotes inside a key cannot change the path's meaning.
std::string SqlJsonPath(const std::string& dotted) {
  std::string path = "$";
  for (const auto& part : SplitPath(dotted)) {
    path += ".\"";
    for (char c : part) {
      if (c == '"' || c == '\\') path += '\\';
      path += c;
    }
    path += '"';
  }
  return path;
}

constexpr const char* kColumns = "seq, id, parent, name, ukey, chash, doc";

// The settings key under which PruneVectorChanges keeps its mark.
constexpr const char* kVectorFeedPrunedKey = "vector_changes_pruned_through";

// Documents keep their lineage keys in columns of their own (migration 2);
// these are the columns and their values, taken from the document's _internal.
std::string LineageColumns(Kind kind) { return kind == Kind::kDocument ? ", root_id, source_id, run_id" : ""; }
std::string LineageBindMarks(Kind kind) { return kind == Kind::kDocument ? ", ?, ?, ?" : ""; }
std::optional<std::string> StringAt(const Json& doc, std::initializer_list<const char*> path) {
  const Json* at = &doc;
  for (const char* key : path) {
    if (!at->is_object()) return std::nullopt;
    auto it = at->find(key);
    if (it == at->end()) return std::nullopt;
    at = &*it;
  }
  if (!at->is_string()) return std::nullopt;
  return at->get<std::string>();
}
void BindLineage(Statement& s, Kind kind, int first, const Json& doc) {
  if (kind != Kind::kDocument) return;
  s.Bind(first, StringAt(doc, {"_internal", "lineage", "root_object_id"}))
      .Bind(first + 1, StringAt(doc, {"_internal", "lineage", "source_id"}))
      .Bind(first + 2, StringAt(doc, {"_internal", "metadata", "run_id"}));
}

Result<Record> ReadRecord(Statement& s) {
  Record r;
  r.id = s.ColumnText(1);
  r.parent = s.ColumnText(2);
  r.name = s.ColumnOptText(3);
  r.ukey = s.ColumnOptText(4);
  r.chash = s.ColumnOptText(5);
  ASSIGN_OR_RETURN(r.doc, ParseJson(s.ColumnText(6), 256));
  return r;
}

Result<std::vector<Record>> ReadAll(Statement& s) {
  std::vector<Record> out;
  while (s.Step()) {
    ASSIGN_OR_RETURN(Record r, ReadRecord(s));
    out.push_back(std::move(r));
  }
  RETURN_IF_ERROR(s.status());
  return out;
}

// The WHERE clause shared by List, Count and Aggregate: scope, parent, filter, search.
struct Where {
  std::string sql;
  std::vector<Json> params;
  bool exact = true;

  void Add(const std::string& clause, std::vector<Json> p = {}) {
    sql += sql.empty() ? " WHERE " : " AND ";
    sql += clause;
    for (auto& v : p) params.push_back(std::move(v));
  }
};

Where ScopeWhere(const Scope& scope, const std::optional<std::string>& parent,
                 const filter::Node* filter, const std::string& search, const PayloadIndexes* indexes = nullptr) {
  Where w;
  w.Add("org = ? AND ns = ?", {scope.org, scope.ns});
  if (parent) w.Add("parent = ?", {*parent});
  if (filter && !filter::MatchesAll(*filter)) {
    SqlFragment frag = CompileFilter(*filter, "doc", indexes);
    w.Add("(" + frag.sql + ")", frag.params);
    w.exact = frag.exact;
  }
  if (!search.empty()) {
    w.Add("EXISTS (SELECT 1 FROM json_tree(doc) jt WHERE jt.type = 'text' AND "
          "instr(lower(jt.value), lower(?)) > 0)",
          {search});
  }
  return w;
}

void BindAll(Statement& s, const std::vector<Json>& params, int first = 1) {
  for (size_t i = 0; i < params.size(); ++i) s.BindJson(first + static_cast<int>(i), params[i]);
}

// Cursor: where the previous page ended (the sort key and the row's seq) and the
// ordering it belongs to, so a cursor cannot be replayed against another sort.
struct Cursor {
  Json value;
  int64_t seq = 0;
  std::string field;
  bool desc = false;
};

std::string EncodeCursor(const Cursor& c) {
  Json j = {{"v", c.value}, {"s", c.seq}, {"f", c.field}, {"d", c.desc}};
  return Base64UrlEncode(j.dump());
}

Result<Cursor> DecodeCursor(const std::string& text, const SortSpec& sort) {
  auto raw = Base64Decode(text);
  Status bad = Status::BadRequest("invalid cursor: pass next_cursor from a previous page unchanged");
  if (!raw) return bad;
  auto j = ParseJson(*raw, 4);
  if (!j.ok() || !j->is_object() || !j->contains("s") || !(*j)["s"].is_number_integer() ||
      !j->contains("f") || !(*j)["f"].is_string() || !j->contains("d") || !(*j)["d"].is_boolean()) {
    return bad;
  }
  Cursor c{(*j)["v"], (*j)["s"].get<int64_t>(), (*j)["f"].get<std::string>(), (*j)["d"].get<bool>()};
  if (c.value.is_structured()) return bad;
  if (c.field != sort.field || c.desc != sort.descending) {
    return Status::BadRequest("cursor belongs to a different sort order; start again without it");
  }
  return c;
}

class SqliteReader : public virtual Reader {
 public:
  explicit SqliteReader(Database& db) : db_(db) {}

  Result<Record> Get(Kind kind, const Scope& scope, const std::string& id_or_name,
                     const std::optional<std::string>& parent) override {
    // By id first, then by name: two index lookups (an OR of both would make
    // SQLite scan the scope).
    for (const char* column : {"id", "name"}) {
      std::string sql = std::string("SELECT ") + kColumns + " FROM " + TableOf(kind) + " WHERE " + column +
                        " = ? AND org = ? AND ns = ?" + (parent ? " AND parent = ?" : "") + " LIMIT 1";
      ASSIGN_OR_RETURN(auto s, db_.Prepare(sql));
      s.Bind(1, id_or_name).Bind(2, scope.org).Bind(3, scope.ns);
      if (parent) s.Bind(4, *parent);
      if (s.Step()) return ReadRecord(s);
      RETURN_IF_ERROR(s.status());
    }
    return Status::NotFound("");
  }

  Result<std::optional<Record>> FindByUkey(Kind kind, const Scope& scope, const std::string& parent,
                                           const std::string& ukey) override {
    return FindBy(kind, scope, parent, "ukey", ukey);
  }

  Result<std::optional<Record>> FindByContentHash(Kind kind, const Scope& scope,
                                                  const std::string& parent,
                                                  const std::string& chash) override {
    return FindBy(kind, scope, parent, "chash", chash);
  }

  // The namespace's payload-indexed document fields (none for other kinds,
  // or when there is no filter to use them).
  Result<PayloadIndexes> IndexedPaths(Kind kind, const Scope& scope, const filter::Node* filter) {
    if (kind != Kind::kDocument || filter == nullptr || filter::MatchesAll(*filter)) return PayloadIndexes{};
    return PayloadPaths(scope);
  }

  Result<PayloadIndexes> PayloadPaths(const Scope& scope) {
    PayloadIndexes out;
    ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT path FROM payload_fields WHERE org = ? AND ns = ?"));
    s.Bind(1, scope.org).Bind(2, scope.ns);
    while (s.Step()) out.paths.insert(s.ColumnText(0));
    RETURN_IF_ERROR(s.status());
    return out;
  }

  Result<ListPage> List(Kind kind, const Scope& scope, const ListQuery& q) override {
    ASSIGN_OR_RETURN(PayloadIndexes indexes, IndexedPaths(kind, scope, q.filter));
    Where w = ScopeWhere(scope, q.parent, q.filter, q.search, &indexes);
    const std::string sort_expr = q.sort.field.empty() ? "NULL" : "json_extract(doc, ?)";
    const std::string dir = q.sort.descending ? "DESC" : "ASC";
    std::optional<Cursor> cursor;
    if (!q.cursor.empty()) {
      ASSIGN_OR_RETURN(auto c, DecodeCursor(q.cursor, q.sort));
      cursor = std::move(c);
    }

    ListPage page;
    if (q.include_total) {
      if (w.exact) {
        ASSIGN_OR_RETURN(auto s, db_.Prepare(std::string("SELECT COUNT(*) FROM ") + TableOf(kind) + w.sql));
        BindAll(s, w.params);
        if (s.Step()) page.total = s.ColumnInt(0);
        RETURN_IF_ERROR(s.status());
      } else {
        int64_t n = 0;
        RETURN_IF_ERROR(Scan(kind, w, q, sort_expr, dir, std::nullopt, [&](Record&&, const Json&, int64_t) {
          ++n;
          return true;
        }));
        page.total = n;
      }
    }

    // Skip `offset` matches (only without a cursor: a cursor already says where
    // to start), then take limit + 1 to learn whether another page follows.
    // With an exact filter Scan lets SQL skip the offset (see Scan).
    int64_t to_skip = (cursor || w.exact) ? 0 : q.offset;
    Json last_value;
    int64_t last_seq = 0;
    bool more = false;
    RETURN_IF_ERROR(Scan(kind, w, q, sort_expr, dir, cursor,
                         [&](Record&& r, const Json& sort_value, int64_t seq) {
                           if (to_skip > 0) {
                             --to_skip;
                             return true;
                           }
                           if (static_cast<int64_t>(page.records.size()) == q.limit) {
                             more = true;
                             return false;
                           }
                           page.records.push_back(std::move(r));
                           last_value = sort_value;
                           last_seq = seq;
                           return true;
                         }));
    if (more) page.next_cursor = EncodeCursor({last_value, last_seq, q.sort.field, q.sort.descending});
    return page;
  }

  Result<std::vector<AggregateRow>> Aggregate(Kind kind, const Scope& scope,
                                              const AggregateSpec& spec) override {
    ASSIGN_OR_RETURN(PayloadIndexes indexes, IndexedPaths(kind, scope, spec.filter));
    Where w = ScopeWhere(scope, spec.parent, spec.filter, "", &indexes);
    if (!w.exact) {
      return Status::Invalid("body.filters",
                             "the 'text' operator is not supported in aggregations", "unsupported");
    }
    std::string select, group;
    std::vector<Json> select_params;
    for (size_t i = 0; i < spec.group_by.size(); ++i) {
      select += (i ? ", " : "") + std::string("json_extract(doc, ?)");
      select_params.push_back(SqlJsonPath(spec.group_by[i]));
      group += (i ? ", " : "") + std::to_string(i + 1);
    }
    for (const auto& op : spec.ops) {
      std::string expr;
      std::string field = "json_extract(doc, ?)";
      if (op.function == "count") {
        expr = op.field.empty() ? "COUNT(*)" : "COUNT(" + field + ")";
      } else if (op.function == "count_distinct") {
        expr = "COUNT(DISTINCT " + field + ")";
      } else if (op.function == "sum") {
        expr = "TOTAL(" + field + ")";
      } else if (op.function == "avg") {
        expr = "AVG(" + field + ")";
      } else if (op.function == "min") {
        expr = "MIN(" + field + ")";
      } else if (op.function == "max") {
        expr = "MAX(" + field + ")";
      } else {
        return Status::Invalid("body.aggregations", "unknown function '" + op.function + "'");
      }
      select += (select.empty() ? "" : ", ") + expr;
      if (!(op.function == "count" && op.field.empty())) select_params.push_back(SqlJsonPath(op.field));
    }
    std::string sql = "SELECT " + select + " FROM " + TableOf(kind) + w.sql;
    if (!group.empty()) sql += " GROUP BY " + group;
    if (!spec.ops.empty()) sql += " ORDER BY " + std::to_string(spec.group_by.size() + 1) + " DESC";
    sql += " LIMIT ?";
    ASSIGN_OR_RETURN(auto s, db_.Prepare(sql));
    BindAll(s, select_params);
    BindAll(s, w.params, static_cast<int>(select_params.size()) + 1);
    s.Bind(static_cast<int>(select_params.size() + w.params.size()) + 1, spec.limit);
    std::vector<AggregateRow> rows;
    while (s.Step()) {
      AggregateRow row{Json::object(), Json::object()};
      int col = 0;
      for (const auto& g : spec.group_by) row.group[g] = s.ColumnJson(col++);
      for (const auto& op : spec.ops) row.values[op.alias] = s.ColumnJson(col++);
      rows.push_back(std::move(row));
    }
    RETURN_IF_ERROR(s.status());
    return rows;
  }

  Result<int64_t> Count(Kind kind, const Scope& scope, const std::optional<std::string>& parent) override {
    Where w = ScopeWhere(scope, parent, nullptr, "");
    ASSIGN_OR_RETURN(auto s, db_.Prepare(std::string("SELECT COUNT(*) FROM ") + TableOf(kind) + w.sql));
    BindAll(s, w.params);
    int64_t n = s.Step() ? s.ColumnInt(0) : 0;
    RETURN_IF_ERROR(s.status());
    return n;
  }

  Result<double> Sum(Kind kind, const Scope& scope, const std::optional<std::string>& parent,
                     const std::string& path) override {
    Where w = ScopeWhere(scope, parent, nullptr, "");
    ASSIGN_OR_RETURN(auto s, db_.Prepare(std::string("SELECT TOTAL(json_extract(doc, ?)) FROM ") +
                                         TableOf(kind) + w.sql));
    s.Bind(1, SqlJsonPath(path));
    BindAll(s, w.params, 2);
    double v = s.Step() ? s.ColumnDouble(0) : 0;
    RETURN_IF_ERROR(s.status());
    return v;
  }

  Result<std::optional<Record>> FindApiKeyByHash(const std::string& key_hash, int64_t* org) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare(std::string("SELECT ") + kColumns +
                                         ", org FROM api_keys WHERE ukey = ? LIMIT 1"));
    s.Bind(1, key_hash);
    if (s.Step()) {
      *org = s.ColumnInt(7);
      ASSIGN_OR_RETURN(auto r, ReadRecord(s));
      return std::optional<Record>(std::move(r));
    }
    RETURN_IF_ERROR(s.status());
    return std::optional<Record>();
  }

  Result<std::optional<Record>> FindAnyScope(Kind kind, const std::string& id, Scope* scope) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare(std::string("SELECT ") + kColumns + ", org, ns FROM " + TableOf(kind) +
                                         " WHERE id = ?"));
    s.Bind(1, id);
    if (s.Step()) {
      scope->org = s.ColumnInt(7);
      scope->ns = s.ColumnText(8);
      ASSIGN_OR_RETURN(auto r, ReadRecord(s));
      return std::optional<Record>(std::move(r));
    }
    RETURN_IF_ERROR(s.status());
    return std::optional<Record>();
  }

  Result<std::optional<Organization>> GetOrganization(int64_t internal_id) override {
    return FindOrg("SELECT internal_id, organization_id, doc FROM organizations WHERE internal_id = ?",
                   internal_id);
  }

  Result<std::optional<Organization>> FirstOrganization() override {
    return FindOrg("SELECT internal_id, organization_id, doc FROM organizations "
                   "WHERE internal_id >= ? ORDER BY internal_id LIMIT 1",
                   0);
  }

  Result<std::optional<Organization>> FindOrganization(const std::string& organization_id) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare(
        "SELECT internal_id, organization_id, doc FROM organizations WHERE organization_id = ?"));
    s.Bind(1, organization_id);
    return ReadOrg(s);
  }

  Result<std::optional<BlobInfo>> GetBlob(const std::string& sha256) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT size, mime_type FROM blobs WHERE sha256 = ?"));
    s.Bind(1, sha256);
    if (s.Step()) return std::optional<BlobInfo>(BlobInfo{sha256, s.ColumnInt(0), s.ColumnText(1)});
    RETURN_IF_ERROR(s.status());
    return std::optional<BlobInfo>();
  }

  Result<std::optional<std::string>> GetSetting(const std::string& key) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT value FROM settings WHERE key = ?"));
    s.Bind(1, key);
    if (s.Step()) return std::optional<std::string>(s.ColumnText(0));
    RETURN_IF_ERROR(s.status());
    return std::optional<std::string>();
  }

  Result<std::vector<Record>> DocumentsByRoot(const Scope& scope, const std::string& root_object_id,
                                              const std::string& collection) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare(std::string("SELECT ") + kColumns + " FROM documents "
                                         "WHERE org = ? AND ns = ? AND root_id = ? "
                                         "AND (? = '' OR parent = ?) ORDER BY seq"));
    s.Bind(1, scope.org).Bind(2, scope.ns).Bind(3, root_object_id).Bind(4, collection).Bind(5, collection);
    return ReadAll(s);
  }

  Result<std::vector<Record>> DocumentsBySource(const Scope& scope, const std::string& collection,
                                                const std::string& source_id) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare(std::string("SELECT ") + kColumns + " FROM documents "
                                         "WHERE parent = ? AND source_id = ? "
                                         "AND org = ? AND ns = ? ORDER BY seq"));
    s.Bind(1, collection).Bind(2, source_id).Bind(3, scope.org).Bind(4, scope.ns);
    return ReadAll(s);
  }

  Result<std::vector<std::pair<std::string, std::vector<float>>>> GetVectors(const std::string& doc_id) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT name, vec FROM doc_vectors WHERE doc_id = ? ORDER BY name"));
    s.Bind(1, doc_id);
    std::vector<std::pair<std::string, std::vector<float>>> out;
    while (s.Step()) {
      std::string_view blob = s.ColumnBlob(1);
      std::vector<float> v(blob.size() / sizeof(float));
      if (!v.empty()) std::memcpy(v.data(), blob.data(), v.size() * sizeof(float));
      out.emplace_back(s.ColumnText(0), std::move(v));
    }
    RETURN_IF_ERROR(s.status());
    return out;
  }

  Result<VectorChangePage> VectorChangesSince(const std::string& collection, const std::string& name,
                                              int64_t after_seq, int64_t limit) override {
    // The prune mark and the changes must come from one snapshot: read apart,
    // a prune committing in between would make changes vanish unannounced.
    // A savepoint opens a read transaction here and nests inside a writer's.
    RETURN_IF_ERROR(db_.Exec("SAVEPOINT vector_feed"));
    Result<VectorChangePage> page = ReadVectorChanges(collection, name, after_seq, limit);
    Status released = db_.Exec("RELEASE vector_feed");
    if (!page.ok()) return page;
    RETURN_IF_ERROR(released);
    return page;
  }

  Result<int64_t> ScanVectors(const std::string& collection, const std::string& name,
                              const VectorVisitor& fn) override {
    // The seq first, then the rows: the rows are then at least as new as the
    // seq says. sqlite_sequence holds the highest seq ever handed out, which
    // pruning does not lower.
    int64_t seq = 0;
    {
      ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT seq FROM sqlite_sequence WHERE name = 'vector_changes'"));
      if (s.Step()) seq = s.ColumnInt(0);
      RETURN_IF_ERROR(s.status());
    }
    ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT doc_id, vec FROM doc_vectors WHERE collection = ? AND name = ?"));
    s.Bind(1, collection).Bind(2, name);
    std::vector<float> vec;
    while (s.Step()) {
      std::string_view blob = s.ColumnBlob(1);
      vec.resize(blob.size() / sizeof(float));
      if (!vec.empty()) std::memcpy(vec.data(), blob.data(), vec.size() * sizeof(float));
      RETURN_IF_ERROR(fn(s.ColumnText(0), vec.data(), vec.size()));
    }
    RETURN_IF_ERROR(s.status());
    return seq;
  }

  Result<VectorFeedState> LastVectorChange(const std::string& collection, const std::string& name) override {
    // One statement, so one snapshot for all three.
    ASSIGN_OR_RETURN(auto s, db_.Prepare(
        "SELECT (SELECT COALESCE(MAX(seq), 0) FROM vector_changes WHERE collection = ?1 AND name = ?2),"
        " (SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'vector_changes'),"
        " (SELECT COALESCE(MAX(CAST(value AS INTEGER)), 0) FROM settings WHERE key = ?3)"));
    s.Bind(1, collection).Bind(2, name).Bind(3, kVectorFeedPrunedKey);
    VectorFeedState state;
    if (s.Step()) state = {s.ColumnInt(0), s.ColumnInt(1), s.ColumnInt(2)};
    RETURN_IF_ERROR(s.status());
    return state;
  }

  Result<bool> HasFullTextTable(const std::string& collection) {
    const std::string quoted = FullTextTable(collection);
    ASSIGN_OR_RETURN(auto t, db_.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"));
    t.Bind(1, quoted.substr(1, quoted.size() - 2));
    const bool found = t.Step();
    RETURN_IF_ERROR(t.status());
    return found;
  }

  Result<std::vector<TextHit>> SearchText(const Scope& scope, const std::string& collection,
                                          const std::string& match, int64_t limit) override {
    // bm25() is lower-is-better in FTS5; negate it so scores read naturally.
    std::vector<TextHit> out;
    ASSIGN_OR_RETURN(bool has_text, HasFullTextTable(collection));
    if (!has_text) return out;  // a collection whose documents never had text
    const std::string table = FullTextTable(collection);
    ASSIGN_OR_RETURN(auto s, db_.Prepare(
        "SELECT d.id, -bm25(" + table + ") AS score FROM " + table + " JOIN documents d ON d.seq = " + table +
        ".rowid WHERE " + table + " MATCH ? AND d.parent = ? AND d.org = ? AND d.ns = ? ORDER BY bm25(" + table +
        ") LIMIT ?"));
    s.Bind(1, match).Bind(2, collection).Bind(3, scope.org).Bind(4, scope.ns).Bind(5, limit);
    while (s.Step()) out.push_back({s.ColumnText(0), s.ColumnDouble(1)});
    if (!s.status().ok()) {
      return Status::BadRequest("full-text query could not be run: " + s.status().message());
    }
    return out;
  }

  Result<int64_t> CollectionVersion(const std::string& collection) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT version FROM collection_versions WHERE collection = ?"));
    s.Bind(1, collection);
    int64_t v = s.Step() ? s.ColumnInt(0) : 0;
    RETURN_IF_ERROR(s.status());
    return v;
  }

  Result<int64_t> CountJobs(const std::string& group) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT COUNT(*) FROM jobs WHERE grp = ?"));
    s.Bind(1, group);
    int64_t n = s.Step() ? s.ColumnInt(0) : 0;
    RETURN_IF_ERROR(s.status());
    return n;
  }

  Result<std::vector<std::string>> GetIdList(const std::string& owner_id, const std::string& name) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT ids FROM id_lists WHERE owner = ? AND name = ?"));
    s.Bind(1, owner_id).Bind(2, name);
    std::vector<std::string> ids;
    if (s.Step()) {
      ASSIGN_OR_RETURN(Json list, ParseJson(s.ColumnText(0), 4));
      ids = list.get<std::vector<std::string>>();
    }
    RETURN_IF_ERROR(s.status());
    return ids;
  }

 protected:
  Database& db_;

 private:
  Result<VectorChangePage> ReadVectorChanges(const std::string& collection, const std::string& name,
                                             int64_t after_seq, int64_t limit) {
    VectorChangePage page;
    {
      ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT CAST(value AS INTEGER) FROM settings WHERE key = ?"));
      s.Bind(1, kVectorFeedPrunedKey);
      if (s.Step() && after_seq < s.ColumnInt(0)) page.truncated = true;
      RETURN_IF_ERROR(s.status());
    }
    if (page.truncated) return page;
    ASSIGN_OR_RETURN(auto s, db_.Prepare(
        "SELECT c.seq, c.doc_id, c.op, v.vec FROM vector_changes c "
        "LEFT JOIN doc_vectors v ON c.op = 'put' AND v.doc_id = c.doc_id AND v.name = c.name "
        "AND v.collection = c.collection "
        "WHERE c.collection = ? AND c.name = ? AND c.seq > ? ORDER BY c.seq LIMIT ?"));
    s.Bind(1, collection).Bind(2, name).Bind(3, after_seq).Bind(4, limit);
    while (s.Step()) {
      VectorChange c;
      c.seq = s.ColumnInt(0);
      c.doc_id = s.ColumnText(1);
      c.op = s.ColumnText(2) == "put" ? VectorChange::Op::kPut : VectorChange::Op::kDelete;
      if (!s.ColumnIsNull(3)) {
        std::string_view blob = s.ColumnBlob(3);
        std::vector<float> v(blob.size() / sizeof(float));
        if (!v.empty()) std::memcpy(v.data(), blob.data(), v.size() * sizeof(float));
        c.vec = std::move(v);
      }
      page.changes.push_back(std::move(c));
    }
    RETURN_IF_ERROR(s.status());
    return page;
  }

  Result<std::optional<Record>> FindBy(Kind kind, const Scope& scope, const std::string& parent,
                                       const char* column, const std::string& value) {
    ASSIGN_OR_RETURN(auto s, db_.Prepare(std::string("SELECT ") + kColumns + " FROM " +
                                         TableOf(kind) + " WHERE org = ? AND ns = ? AND parent = ? AND " +
                                         column + " = ? ORDER BY seq LIMIT 1"));
    s.Bind(1, scope.org).Bind(2, scope.ns).Bind(3, parent).Bind(4, value);
    if (s.Step()) {
      ASSIGN_OR_RETURN(auto r, ReadRecord(s));
      return std::optional<Record>(std::move(r));
    }
    RETURN_IF_ERROR(s.status());
    return std::optional<Record>();
  }

  Result<std::optional<Organization>> FindOrg(const char* sql, int64_t arg) {
    ASSIGN_OR_RETURN(auto s, db_.Prepare(sql));
    s.Bind(1, arg);
    return ReadOrg(s);
  }

  Result<std::optional<Organization>> ReadOrg(Statement& s) {
    if (s.Step()) {
      Organization o;
      o.internal_id = s.ColumnInt(0);
      o.organization_id = s.ColumnText(1);
      ASSIGN_OR_RETURN(o.doc, ParseJson(s.ColumnText(2), 256));
      return std::optional<Organization>(std::move(o));
    }
    RETURN_IF_ERROR(s.status());
    return std::optional<Organization>();
  }

  // Walks matching rows in sort order from `start`, in chunks, re-checking
  // inexact filters in memory, until `visit` returns false or rows run out.
  Status Scan(Kind kind, const Where& w, const ListQuery& q, const std::string& sort_expr,
              const std::string& dir, std::optional<Cursor> start,
              const std::function<bool(Record&&, const Json&, int64_t)>& visit) {
    // With an exact filter SQL can skip the offset itself; otherwise every row
    // must pass the in-memory check before it counts towards the offset.
    const bool sql_offset = w.exact && !start;
    int64_t chunk = w.exact ? q.limit + 1 + (sql_offset ? 0 : q.offset) : 512;
    bool first = true;
    while (true) {
      std::string sql = std::string("SELECT ") + kColumns + ", " + sort_expr + " FROM " +
                        TableOf(kind) + w.sql;
      std::vector<Json> params;
      if (!q.sort.field.empty()) params.push_back(SqlJsonPath(q.sort.field));
      params.insert(params.end(), w.params.begin(), w.params.end());
      if (start) {
        const bool desc = q.sort.descending;
        const std::string s_cmp = desc ? "<" : ">";
        if (q.sort.field.empty()) {
          sql += (w.sql.empty() ? " WHERE " : " AND ") + std::string("seq ") + s_cmp + " ?";
          params.push_back(start->seq);
        } else {
          std::string e = "json_extract(doc, ?)";
          std::string clause;
          if (start->value.is_null()) {
            // NULL sorts first ascending and last descending.
            clause = desc ? "(" + e + " IS NULL AND seq < ?)"
                          : "((" + e + " IS NULL AND seq > ?) OR " + e + " IS NOT NULL)";
            params.push_back(SqlJsonPath(q.sort.field));
            params.push_back(start->seq);
            if (!desc) params.push_back(SqlJsonPath(q.sort.field));
          } else {
            clause = "(" + e + " " + s_cmp + " ? OR (" + e + " = ? AND seq " + s_cmp + " ?)" +
                     (desc ? " OR " + e + " IS NULL)" : ")");
            for (const Json& p : {Json(SqlJsonPath(q.sort.field)), start->value,
                                  Json(SqlJsonPath(q.sort.field)), start->value, Json(start->seq)}) {
              params.push_back(p);
            }
            if (desc) params.push_back(SqlJsonPath(q.sort.field));
          }
          sql += (w.sql.empty() ? " WHERE " : " AND ") + clause;
        }
      }
      sql += q.sort.field.empty() ? " ORDER BY seq " + dir
                                  : " ORDER BY " + std::to_string(8) + " " + dir + ", seq " + dir;
      sql += " LIMIT ?";
      params.push_back(chunk);
      if (sql_offset && first) {
        sql += " OFFSET ?";
        params.push_back(q.offset);
      }
      ASSIGN_OR_RETURN(auto s, db_.Prepare(sql));
      BindAll(s, params);
      int64_t rows = 0;
      while (s.Step()) {
        ++rows;
        ASSIGN_OR_RETURN(Record r, ReadRecord(s));
        Json sort_value = s.ColumnJson(7);
        int64_t seq = s.ColumnInt(0);
        start = Cursor{sort_value, seq, q.sort.field, q.sort.descending};
        if (!w.exact && q.filter && !filter::Matches(*q.filter, r.doc)) continue;
        if (!visit(std::move(r), sort_value, seq)) return Status::Ok();
      }
      RETURN_IF_ERROR(s.status());
      if (rows < chunk) return Status::Ok();
      first = false;
      if (sql_offset) return Status::Ok();  // exact + offset: one query saw all we need
    }
  }
};

class SqliteWriter : public SqliteReader, public Writer {
 public:
  explicit SqliteWriter(Database& db) : SqliteReader(db) {}

  Status Insert(Kind kind, const Scope& scope, const Record& r) override {
    RETURN_IF_ERROR(CheckNamespace(scope));
    ASSIGN_OR_RETURN(auto s, db_.Prepare(std::string("INSERT INTO ") + TableOf(kind) +
                                         "(id, org, ns, parent, name, ukey, chash, doc" + LineageColumns(kind) +
                                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?" + LineageBindMarks(kind) + ")"));
    s.Bind(1, r.id).Bind(2, scope.org).Bind(3, scope.ns).Bind(4, r.parent).Bind(5, r.name)
        .Bind(6, r.ukey).Bind(7, r.chash).Bind(8, r.doc.dump());
    BindLineage(s, kind, 9, r.doc);
    RETURN_IF_ERROR(s.Run());
    if (kind == Kind::kNamespace) return SyncPayloadFields(scope.org, r.id, r.doc);
    return Status::Ok();
  }

  Status Update(Kind kind, const Scope& scope, const Record& r) override {
    const std::string lineage = kind == Kind::kDocument ? ", root_id = ?9, source_id = ?10, run_id = ?11" : "";
    ASSIGN_OR_RETURN(auto s, db_.Prepare(std::string("UPDATE ") + TableOf(kind) +
                                         " SET parent = ?1, name = ?2, ukey = ?3, chash = ?4, doc = ?5" + lineage +
                                         " WHERE id = ?6 AND org = ?7 AND ns = ?8"));
    s.Bind(1, r.parent).Bind(2, r.name).Bind(3, r.ukey).Bind(4, r.chash).Bind(5, r.doc.dump())
        .Bind(6, r.id).Bind(7, scope.org).Bind(8, scope.ns);
    BindLineage(s, kind, 9, r.doc);
    RETURN_IF_ERROR(s.Run());
    if (db_.Changes() == 0) return Status::NotFound(r.id + " not found");
    if (kind == Kind::kNamespace) return SyncPayloadFields(scope.org, r.id, r.doc);
    return Status::Ok();
  }

  // Keeps payload_fields equal to the namespace's payload_indexes and, when
  // they change, refills payload_values for the namespace's documents with
  // the rows the triggers write (PayloadValuesSql).
  Status SyncPayloadFields(int64_t org, const std::string& ns, const Json& namespace_doc) {
    std::set<std::string> wanted;
    if (namespace_doc.contains("payload_indexes") && namespace_doc["payload_indexes"].is_array()) {
      for (const auto& p : namespace_doc["payload_indexes"]) {
        if (!p.is_object() || !p.contains("field_name") || !p["field_name"].is_string()) continue;
        std::string path = JsonPathOf(p["field_name"].get<std::string>());
        if (!path.empty()) wanted.insert(std::move(path));
      }
    }
    ASSIGN_OR_RETURN(PayloadIndexes current, PayloadPaths(Scope{org, ns}));
    if (current.paths == wanted) return Status::Ok();
    RETURN_IF_ERROR(DropPayloadFields(org, ns));
    for (const auto& path : wanted) {
      ASSIGN_OR_RETURN(auto s, db_.Prepare("INSERT INTO payload_fields (org, ns, path, steps) VALUES (?, ?, ?, ?)"));
      s.Bind(1, org).Bind(2, ns).Bind(3, path).Bind(4, JsonPathSteps(path).dump());
      RETURN_IF_ERROR(s.Run());
    }
    ASSIGN_OR_RETURN(auto fill, db_.Prepare(
        "INSERT INTO payload_values (doc, path, type, value, folded) " +
        PayloadValuesSql("SELECT d.seq AS doc, p.path AS path, p.steps AS steps, d.doc AS json "
                         "FROM payload_fields AS p JOIN documents AS d ON d.org = p.org AND d.ns = p.ns "
                         "WHERE p.org = ? AND p.ns = ?")));
    fill.Bind(1, org).Bind(2, ns);
    return fill.Run();
  }

  Status DropPayloadFields(int64_t org, const std::string& ns) {
    ASSIGN_OR_RETURN(auto values, db_.Prepare(
        "DELETE FROM payload_values WHERE doc IN (SELECT seq FROM documents WHERE org = ? AND ns = ?)"));
    values.Bind(1, org).Bind(2, ns);
    RETURN_IF_ERROR(values.Run());
    ASSIGN_OR_RETURN(auto fields, db_.Prepare("DELETE FROM payload_fields WHERE org = ? AND ns = ?"));
    fields.Bind(1, org).Bind(2, ns);
    return fields.Run();
  }

  Status Delete(Kind kind, const Scope& scope, const std::string& id) override {
    if (kind == Kind::kDocument) RETURN_IF_ERROR(DropFeatures(scope, "id = ?", {id}));
    // A document's media (thumbnails, keyframes) lose their reference; files no
    // one refers to any more are removed by the start-up sweep.
    if (kind == Kind::kDocument) RETURN_IF_ERROR(DropBlobRefs(id).status());
    if (kind == Kind::kNamespace) RETURN_IF_ERROR(DropPayloadFields(scope.org, id));
    ASSIGN_OR_RETURN(auto s, db_.Prepare(std::string("DELETE FROM ") + TableOf(kind) +
                                         " WHERE id = ? AND org = ? AND ns = ?"));
    s.Bind(1, id).Bind(2, scope.org).Bind(3, scope.ns);
    RETURN_IF_ERROR(s.Run());
    if (db_.Changes() == 0) return Status::NotFound(id + " not found");
    // Only once the collection was found in this scope: its full-text table goes too.
    if (kind == Kind::kCollection) return db_.Exec("DROP TABLE IF EXISTS " + FullTextTable(id));
    return Status::Ok();
  }

  Result<std::vector<std::string>> DeleteAll(Kind kind, const Scope& scope,
                                             const std::optional<std::string>& parent) override {
    Where w = ScopeWhere(scope, parent, nullptr, "");
    if (kind == Kind::kDocument) {
      RETURN_IF_ERROR(DropFeatures(scope, parent ? "parent = ?" : "1", parent ? std::vector<Json>{*parent}
                                                                              : std::vector<Json>{}));
    }
    std::vector<std::string> ids;
    {
      ASSIGN_OR_RETURN(auto s, db_.Prepare(std::string("SELECT id FROM ") + TableOf(kind) + w.sql));
      BindAll(s, w.params);
      while (s.Step()) ids.push_back(s.ColumnText(0));
      RETURN_IF_ERROR(s.status());
    }
    ASSIGN_OR_RETURN(auto d, db_.Prepare(std::string("DELETE FROM ") + TableOf(kind) + w.sql));
    BindAll(d, w.params);
    RETURN_IF_ERROR(d.Run());
    if (kind == Kind::kDocument) {
      for (const auto& id : ids) RETURN_IF_ERROR(DropBlobRefs(id).status());
    }
    return ids;
  }

  Status AddBlobRef(const BlobInfo& blob, const std::string& owner_id) override {
    ASSIGN_OR_RETURN(auto b, db_.Prepare(
        "INSERT INTO blobs(sha256, size, mime_type) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"));
    RETURN_IF_ERROR(b.Bind(1, blob.sha256).Bind(2, blob.size).Bind(3, blob.mime_type).Run());
    ASSIGN_OR_RETURN(auto r, db_.Prepare(
        "INSERT INTO blob_refs(owner_id, sha256) VALUES (?, ?) ON CONFLICT DO NOTHING"));
    return r.Bind(1, owner_id).Bind(2, blob.sha256).Run();
  }

  Result<std::vector<std::string>> DropBlobRefs(const std::string& owner_id) override {
    std::vector<std::string> shas;
    {
      ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT sha256 FROM blob_refs WHERE owner_id = ?"));
      s.Bind(1, owner_id);
      while (s.Step()) shas.push_back(s.ColumnText(0));
      RETURN_IF_ERROR(s.status());
    }
    ASSIGN_OR_RETURN(auto d, db_.Prepare("DELETE FROM blob_refs WHERE owner_id = ?"));
    RETURN_IF_ERROR(d.Bind(1, owner_id).Run());
    std::vector<std::string> orphans;
    for (const auto& sha : shas) {
      ASSIGN_OR_RETURN(auto g, db_.Prepare(
          "DELETE FROM blobs WHERE sha256 = ? AND NOT EXISTS "
          "(SELECT 1 FROM blob_refs WHERE sha256 = ?)"));
      RETURN_IF_ERROR(g.Bind(1, sha).Bind(2, sha).Run());
      if (db_.Changes() > 0) orphans.push_back(sha);
    }
    return orphans;
  }

  Result<Organization> CreateOrganization(const std::string& organization_id, const Json& doc) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare(
        "INSERT INTO organizations(organization_id, doc) VALUES (?, ?) RETURNING internal_id"));
    s.Bind(1, organization_id).Bind(2, doc.dump());
    if (!s.Step()) {
      RETURN_IF_ERROR(s.status());
      return Status::Storage("organization insert returned no id");
    }
    Organization o{s.ColumnInt(0), organization_id, doc};
    RETURN_IF_ERROR(s.Run());
    return o;
  }

  Status UpdateOrganization(const Organization& org) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare("UPDATE organizations SET doc = ? WHERE internal_id = ?"));
    return s.Bind(1, org.doc.dump()).Bind(2, org.internal_id).Run();
  }

  Status PutSetting(const std::string& key, const std::string& value) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare(
        "INSERT INTO settings(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
    return s.Bind(1, key).Bind(2, value).Run();
  }

  Status Upsert(Kind kind, const Scope& scope, const Record& r, const std::string* doc_text) override {
    RETURN_IF_ERROR(CheckNamespace(scope));
    const std::string lineage = kind == Kind::kDocument
                                    ? ", root_id = excluded.root_id, source_id = excluded.source_id, run_id = excluded.run_id"
                                    : "";
    ASSIGN_OR_RETURN(auto s, db_.Prepare(std::string("INSERT INTO ") + TableOf(kind) +
                                         "(id, org, ns, parent, name, ukey, chash, doc" + LineageColumns(kind) +
                                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?" + LineageBindMarks(kind) + ") "
                                         "ON CONFLICT(id) DO UPDATE SET parent = excluded.parent, "
                                         "name = excluded.name, ukey = excluded.ukey, chash = excluded.chash, "
                                         "doc = excluded.doc" + lineage + " WHERE org = excluded.org AND ns = excluded.ns"));
    s.Bind(1, r.id).Bind(2, scope.org).Bind(3, scope.ns).Bind(4, r.parent).Bind(5, r.name)
        .Bind(6, r.ukey).Bind(7, r.chash).Bind(8, doc_text ? *doc_text : r.doc.dump());
    BindLineage(s, kind, 9, r.doc);
    RETURN_IF_ERROR(s.Run());
    // The WHERE of DO UPDATE turns a clash with another tenant's id into a no-op.
    if (db_.Changes() == 0) return Status::AlreadyExists(r.id + " exists in another scope");
    return Status::Ok();
  }

  Status PutFeatures(const Scope& scope, const std::string& collection, const std::string& doc_id,
                     const DocumentFeatures& f) override {
    int64_t seq = 0;
    {
      ASSIGN_OR_RETURN(auto s, db_.Prepare("SELECT seq, parent FROM documents WHERE id = ? AND org = ? AND ns = ?"));
      s.Bind(1, doc_id).Bind(2, scope.org).Bind(3, scope.ns);
      if (!s.Step()) {
        RETURN_IF_ERROR(s.status());
        return Status::NotFound("document " + doc_id + " not found");
      }
      seq = s.ColumnInt(0);
      // Features live in the document's own collection's indexes.
      if (s.ColumnText(1) != collection) {
        return Status::Internal("document " + doc_id + " belongs to " + s.ColumnText(1) + ", not " + collection);
      }
    }
    ASSIGN_OR_RETURN(auto dv, db_.Prepare("DELETE FROM doc_vectors WHERE doc_id = ?"));
    RETURN_IF_ERROR(dv.Bind(1, doc_id).Run());
    for (const auto& [name, vec] : f.vectors) {
      ASSIGN_OR_RETURN(auto iv, db_.Prepare(
          "INSERT INTO doc_vectors(doc_id, name, collection, vec) VALUES (?, ?, ?, ?)"));
      RETURN_IF_ERROR(iv.Bind(1, doc_id).Bind(2, name).Bind(3, collection)
                          .BindBlob(4, vec.data(), vec.size() * sizeof(float)).Run());
    }
    RETURN_IF_ERROR(db_.Exec(CreateFullTextTableSql(collection)));
    const std::string table = FullTextTable(collection);
    ASSIGN_OR_RETURN(auto dt, db_.Prepare("DELETE FROM " + table + " WHERE rowid = ?"));
    RETURN_IF_ERROR(dt.Bind(1, seq).Run());
    if (!f.text.empty()) {
      ASSIGN_OR_RETURN(auto it, db_.Prepare("INSERT INTO " + table + "(rowid, text) VALUES (?, ?)"));
      RETURN_IF_ERROR(it.Bind(1, seq).Bind(2, f.text).Run());
    }
    return Status::Ok();
  }

  Status PruneVectorChanges(int64_t through_seq) override {
    ASSIGN_OR_RETURN(auto d, db_.Prepare("DELETE FROM vector_changes WHERE seq <= ?"));
    RETURN_IF_ERROR(d.Bind(1, through_seq).Run());
    // The mark only rises: pruning through an older seq later changes nothing.
    ASSIGN_OR_RETURN(auto m, db_.Prepare(
        "INSERT INTO settings(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = "
        "CAST(MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)"));
    return m.Bind(1, kVectorFeedPrunedKey).Bind(2, std::to_string(through_seq)).Run();
  }

  Result<int64_t> DeleteSourceDocuments(const Scope& scope, const std::string& collection,
                                        const std::string& source_id, const std::string& run_id,
                                        RunMatch match) override {
    // One indexed probe finds the documents; usually there are none (a first
    // run, or a re-run that rewrote every document), and nothing else runs.
    ASSIGN_OR_RETURN(auto s, db_.Prepare(
        std::string("SELECT id FROM documents WHERE org = ? AND ns = ? AND parent = ? AND source_id = ? "
                    "AND COALESCE(run_id, '') ") +
        (match == RunMatch::kThisRun ? "=" : "!=") + " ?"));
    s.Bind(1, scope.org).Bind(2, scope.ns).Bind(3, collection).Bind(4, source_id).Bind(5, run_id);
    std::vector<std::string> ids;
    while (s.Step()) ids.push_back(s.ColumnText(0));
    RETURN_IF_ERROR(s.status());
    for (const auto& id : ids) RETURN_IF_ERROR(Delete(Kind::kDocument, scope, id));
    return static_cast<int64_t>(ids.size());
  }

  Status EnqueueJob(const Job& j) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare(
        "INSERT INTO jobs(id, org, ns, type, grp, payload) VALUES (?, ?, ?, ?, ?, ?)"));
    return s.Bind(1, j.id).Bind(2, j.org).Bind(3, j.ns).Bind(4, j.type).Bind(5, j.group)
        .Bind(6, j.payload.dump()).Run();
  }

  Result<std::optional<Job>> ClaimJob() override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1 WHERE seq = "
        "(SELECT seq FROM jobs WHERE state = 'queued' ORDER BY seq LIMIT 1) "
        "RETURNING id, org, ns, type, grp, attempts, payload"));
    std::optional<Job> job;
    if (s.Step()) {
      Job j{s.ColumnText(0), s.ColumnInt(1), s.ColumnText(2), s.ColumnText(3), s.ColumnText(4),
            static_cast<int>(s.ColumnInt(5)), Json()};
      ASSIGN_OR_RETURN(j.payload, ParseJson(s.ColumnText(6), 64));
      job = std::move(j);
      RETURN_IF_ERROR(s.Run());
    }
    RETURN_IF_ERROR(s.status());
    return job;
  }

  Status FinishJob(const std::string& job_id) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare("DELETE FROM jobs WHERE id = ?"));
    return s.Bind(1, job_id).Run();
  }

  Result<int64_t> RequeueRunningJobs() override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare("UPDATE jobs SET state = 'queued' WHERE state = 'running'"));
    RETURN_IF_ERROR(s.Run());
    return db_.Changes();
  }

  Result<int64_t> DropJobs(const std::string& group) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare("DELETE FROM jobs WHERE grp = ?"));
    RETURN_IF_ERROR(s.Bind(1, group).Run());
    return db_.Changes();
  }

  Status PutIdList(const std::string& owner_id, const std::string& name,
                   const std::vector<std::string>& ids) override {
    ASSIGN_OR_RETURN(auto s, db_.Prepare("INSERT INTO id_lists(owner, name, ids) VALUES (?, ?, ?) "
                                         "ON CONFLICT(owner, name) DO UPDATE SET ids = excluded.ids"));
    return s.Bind(1, owner_id).Bind(2, name).Bind(3, Json(ids).dump()).Run();
  }

 private:
  Status CheckNamespace(const Scope& scope) {
    if (scope.ns.empty()) return Status::Ok();
    // A namespace may be deleted between a request resolving it and its
    // write; checking here, inside the write transaction, means nothing is
    // ever stored under a namespace that no longer exists.
    ASSIGN_OR_RETURN(auto ns, db_.Prepare("SELECT 1 FROM namespaces WHERE id = ? AND org = ?"));
    ns.Bind(1, scope.ns).Bind(2, scope.org);
    if (!ns.Step()) {
      RETURN_IF_ERROR(ns.status());
      return Status::NotFound("namespace '" + scope.ns + "' not found");
    }
    return Status::Ok();
  }

  // Removes the vectors and full-text rows of the documents matching `where`.
  Status DropFeatures(const Scope& scope, const std::string& where, const std::vector<Json>& params) {
    const std::string from = " FROM documents WHERE org = ? AND ns = ? AND " + where;
    std::vector<std::string> statements = {"DELETE FROM doc_vectors WHERE doc_id IN (SELECT id" + from + ")"};
    {
      ASSIGN_OR_RETURN(auto c, db_.Prepare("SELECT DISTINCT parent" + from));
      c.Bind(1, scope.org).Bind(2, scope.ns);
      BindAll(c, params, 3);
      while (c.Step()) {
        const std::string collection = c.ColumnText(0);
        ASSIGN_OR_RETURN(bool has_text, HasFullTextTable(collection));
        if (has_text) {
          statements.push_back("DELETE FROM " + FullTextTable(collection) + " WHERE rowid IN (SELECT seq" + from + ")");
        }
      }
      RETURN_IF_ERROR(c.status());
    }
    for (const std::string& sql : statements) {
      ASSIGN_OR_RETURN(auto s, db_.Prepare(sql));
      s.Bind(1, scope.org).Bind(2, scope.ns);
      BindAll(s, params, 3);
      RETURN_IF_ERROR(s.Run());
    }
    return Status::Ok();
  }
};

class SqliteMetadataStore : public MetadataStore {
 public:
  explicit SqliteMetadataStore(std::string path, std::unique_ptr<Database> writer)
      : path_(std::move(path)), writer_(std::move(writer)) {}

  Status Read(const std::function<Status(Reader&)>& fn) override {
    ASSIGN_OR_RETURN(auto db, Checkout());
    Status st;
    {
      SqliteReader reader(*db);
      st = fn(reader);
    }
    Return(std::move(db));
    return st;
  }

  Status Write(const std::function<Status(Writer&)>& fn) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    Transaction txn(*writer_);
    RETURN_IF_ERROR(txn.begin_status());
    SqliteWriter w(*writer_);
    RETURN_IF_ERROR(fn(w));
    return txn.Commit();
  }

  Result<bool> IsBlobReferenced(const std::string& sha256) override {
    bool found = false;
    RETURN_IF_ERROR(Read([&](Reader& r) -> Status {
      ASSIGN_OR_RETURN(auto b, r.GetBlob(sha256));
      found = b.has_value();
      return Status::Ok();
    }));
    return found;
  }

 private:
  Result<std::unique_ptr<Database>> Checkout() {
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      if (!pool_.empty()) {
        auto db = std::move(pool_.back());
        pool_.pop_back();
        return db;
      }
    }
    ASSIGN_OR_RETURN(auto db, Database::Open(path_));
    RETURN_IF_ERROR(RegisterFilterFunctions(db->handle()));
    return db;
  }

  void Return(std::unique_ptr<Database> db) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (pool_.size() < 32) pool_.push_back(std::move(db));
  }

  std::string path_;
  std::mutex write_mu_;
  std::unique_ptr<Database> writer_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Database>> pool_;
};

}  // namespace

Result<std::unique_ptr<MetadataStore>> OpenSqliteMetadataStore(const std::string& path) {
  ASSIGN_OR_RETURN(auto db, Database::Open(path));
  RETURN_IF_ERROR(Migrate(*db));
  RETURN_IF_ERROR(RegisterFilterFunctions(db->handle()));
  return std::unique_ptr<MetadataStore>(new SqliteMetadataStore(path, std::move(db)));
}

}  // namespace strata::storage
