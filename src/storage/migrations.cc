#include "storage/migrations.h"

#include "core/json_util.h"
#include "storage/filter_sql.h"

#include <string>
#include <tuple>
#include <vector>

namespace strata::storage {

namespace {

// The columns every resource table shares (see Record in metadata_store.h).
std::string ResourceTable(const std::string& t) {
  return "CREATE TABLE " + t + " ("
         "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
         "  id TEXT NOT NULL UNIQUE,"
         "  org INTEGER NOT NULL REFERENCES organizations(internal_id),"
         "  ns TEXT NOT NULL,"
         "  parent TEXT NOT NULL DEFAULT '',"
         "  name TEXT, ukey TEXT, chash TEXT,"
         "  doc TEXT NOT NULL CHECK (json_valid(doc)));"
         "CREATE UNIQUE INDEX " + t + "_name ON " + t + "(org, ns, parent, name) WHERE name IS NOT NULL;"
         "CREATE UNIQUE INDEX " + t + "_ukey ON " + t + "(org, ns, parent, ukey) WHERE ukey IS NOT NULL;"
         "CREATE INDEX " + t + "_chash ON " + t + "(org, ns, parent, chash) WHERE chash IS NOT NULL;"
         "CREATE INDEX " + t + "_scope ON " + t + "(org, ns, parent, seq);";
}

const std::vector<std::string>& Migrations() {
  static const std::vector<std::string> kMigrations = {
      // 1: tenancy, the first resources, blobs.
      "CREATE TABLE organizations ("
      "  internal_id INTEGER PRIMARY KEY AUTOINCREMENT,"
      "  organization_id TEXT NOT NULL UNIQUE,"
      "  doc TEXT NOT NULL CHECK (json_valid(doc)));"
      "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      + ResourceTable("api_keys") + "CREATE INDEX api_keys_hash ON api_keys(ukey);"
      + ResourceTable("namespaces") + ResourceTable("buckets") + ResourceTable("objects")
      + ResourceTable("uploads") +
      "CREATE TABLE blobs ("
      "  sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, mime_type TEXT NOT NULL);"
      "CREATE TABLE blob_refs ("
      "  owner_id TEXT NOT NULL, sha256 TEXT NOT NULL REFERENCES blobs(sha256),"
      "  PRIMARY KEY (owner_id, sha256));"
      "CREATE INDEX blob_refs_sha ON blob_refs(sha256);",

      // 2: the processing engine: collections, documents and their features,
      // batches, tasks, and the persisted job queue.
      ResourceTable("collections") + ResourceTable("documents") + ResourceTable("batches") +
      ResourceTable("tasks") +
      // A document's lineage keys, copied from its _internal by the store
      // (root object, source object or document, the run that wrote it): every
      // job looks documents up by them, and a column costs less to index than
      // an expression that parses each row's JSON.
      "ALTER TABLE documents ADD COLUMN root_id TEXT;"
      "ALTER TABLE documents ADD COLUMN source_id TEXT;"
      "ALTER TABLE documents ADD COLUMN run_id TEXT;"
      "CREATE INDEX documents_root ON documents(org, ns, root_id);"
      "CREATE INDEX documents_source ON documents(org, ns, parent, source_id);"
      // Dense vectors of a document, one row per named vector (float32, little endian).
      "CREATE TABLE doc_vectors ("
      "  doc_id TEXT NOT NULL, name TEXT NOT NULL, collection TEXT NOT NULL, vec BLOB NOT NULL,"
      "  PRIMARY KEY (doc_id, name)) WITHOUT ROWID;"
      "CREATE INDEX doc_vectors_collection ON doc_vectors(collection, name);"
      // Full-text index: rowid = documents.seq, so an upsert keeps its row.
      "CREATE VIRTUAL TABLE doc_text USING fts5(text, collection UNINDEXED,"
      "  tokenize = 'porter unicode61 remove_diacritics 2');"
      "CREATE TABLE jobs ("
      "  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
      "  org INTEGER NOT NULL, ns TEXT NOT NULL, type TEXT NOT NULL, grp TEXT NOT NULL,"
      "  state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0,"
      "  payload TEXT NOT NULL CHECK (json_valid(payload)));"
      "CREATE INDEX jobs_state ON jobs(state, seq);"
      "CREATE INDEX jobs_grp ON jobs(grp);"
      // Long id lists of a batch (its objects, a retry's objects), kept out of
      // the batch document so that a job's progress update stays small;
      // they go with the batch's row.
      "CREATE TABLE id_lists (owner TEXT NOT NULL, name TEXT NOT NULL,"
      "  ids TEXT NOT NULL CHECK (json_valid(ids)), PRIMARY KEY (owner, name)) WITHOUT ROWID;"
      "CREATE TRIGGER batches_id_lists AFTER DELETE ON batches BEGIN"
      "  DELETE FROM id_lists WHERE owner = OLD.id; END;"
      // The vector change feed that derived vector indexes (index/) catch up
      // from. Triggers, not code in each write path, fill it: every way a row
      // of doc_vectors comes or goes (PutFeatures, Delete, DeleteAll,
      // DeleteSourceDocuments, whatever comes next) lands here in the same
      // transaction. AUTOINCREMENT so that a seq is never reused after pruning
      // (sqlite_sequence keeps the high-water mark).
      "CREATE TABLE vector_changes ("
      "  seq INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL, name TEXT NOT NULL,"
      "  doc_id TEXT NOT NULL, op TEXT NOT NULL CHECK (op IN ('put', 'delete')));"
      "CREATE INDEX vector_changes_key ON vector_changes(collection, name, seq);"
      "CREATE TRIGGER doc_vectors_put AFTER INSERT ON doc_vectors BEGIN"
      "  INSERT INTO vector_changes(collection, name, doc_id, op)"
      "  VALUES (NEW.collection, NEW.name, NEW.doc_id, 'put'); END;"
      "CREATE TRIGGER doc_vectors_delete AFTER DELETE ON doc_vectors BEGIN"
      "  INSERT INTO vector_changes(collection, name, doc_id, op)"
      "  VALUES (OLD.collection, OLD.name, OLD.doc_id, 'delete'); END;"
      "CREATE TRIGGER doc_vectors_update AFTER UPDATE ON doc_vectors BEGIN"
      "  INSERT INTO vector_changes(collection, name, doc_id, op)"
      "  VALUES (OLD.collection, OLD.name, OLD.doc_id, 'delete');"
      "  INSERT INTO vector_changes(collection, name, doc_id, op)"
      "  VALUES (NEW.collection, NEW.name, NEW.doc_id, 'put'); END;",

      // 3: retrievers, their executions, evaluation datasets and runs.
      ResourceTable("retrievers") + ResourceTable("executions") + ResourceTable("eval_datasets") +
      ResourceTable("evaluations") +
      // A collection's version moves with every write of one of its
      // documents (insert, update, delete), in the same transaction: the
      // retrievers' caches key on it, so a cached answer cannot outlive the
      // documents it was computed from.
      "CREATE TABLE collection_versions (collection TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;"
      "CREATE TRIGGER documents_version_insert AFTER INSERT ON documents BEGIN"
      "  INSERT INTO collection_versions VALUES (NEW.parent, 1)"
      "  ON CONFLICT(collection) DO UPDATE SET version = version + 1; END;"
      "CREATE TRIGGER documents_version_update AFTER UPDATE ON documents BEGIN"
      "  INSERT INTO collection_versions VALUES (NEW.parent, 1)"
      "  ON CONFLICT(collection) DO UPDATE SET version = version + 1;"
      "  INSERT INTO collection_versions VALUES (OLD.parent, 1)"
      "  ON CONFLICT(collection) DO UPDATE SET version = version + 1; END;"
      "CREATE TRIGGER documents_version_delete AFTER DELETE ON documents BEGIN"
      "  INSERT INTO collection_versions VALUES (OLD.parent, 1)"
      "  ON CONFLICT(collection) DO UPDATE SET version = version + 1; END;",

      // 4: payload indexes. A namespace's payload_indexes name document
      // fields (payload_fields, kept in step with the namespace record);
      // every scalar or array element of those fields is copied, in the
      // document's own transaction, into payload_values, whose columns mirror
      // json_each's (type, value) plus the ASCII-folded text. The filter
      // compiler then answers a condition on such a field with an index
      // lookup instead of reading every document's JSON.
      "CREATE TABLE payload_fields (org INTEGER NOT NULL, ns TEXT NOT NULL, path TEXT NOT NULL,"
      "  PRIMARY KEY (org, ns, path)) WITHOUT ROWID;"
      "CREATE TABLE payload_values (doc INTEGER NOT NULL, path TEXT NOT NULL, type TEXT NOT NULL, value, folded);"
      "CREATE INDEX payload_values_value ON payload_values(path, value);"
      "CREATE INDEX payload_values_folded ON payload_values(path, folded);"
      "CREATE INDEX payload_values_doc ON payload_values(doc);"
      "CREATE TRIGGER payload_values_insert AFTER INSERT ON documents BEGIN"
      "  INSERT INTO payload_values (doc, path, type, value, folded)"
      "  SELECT NEW.seq, p.path, e.type, e.value, CASE WHEN e.type = 'text' THEN lower(e.value) END"
      "  FROM payload_fields p, json_each(NEW.doc, p.path) e"
      "  WHERE p.org = NEW.org AND p.ns = NEW.ns AND typeof(e.key) <> 'text'; END;"
      "CREATE TRIGGER payload_values_update AFTER UPDATE OF doc ON documents BEGIN"
      "  DELETE FROM payload_values WHERE doc = OLD.seq;"
      "  INSERT INTO payload_values (doc, path, type, value, folded)"
      "  SELECT NEW.seq, p.path, e.type, e.value, CASE WHEN e.type = 'text' THEN lower(e.value) END"
      "  FROM payload_fields p, json_each(NEW.doc, p.path) e"
      "  WHERE p.org = NEW.org AND p.ns = NEW.ns AND typeof(e.key) <> 'text'; END;"
      "CREATE TRIGGER payload_values_delete AFTER DELETE ON documents BEGIN"
      "  DELETE FROM payload_values WHERE doc = OLD.seq; END;",

      // 5: a full-text table per collection (FullTextTable); the rows of the
      // shared doc_text table are moved by SplitFullText, then it goes.
      "",

      // 6: text_extractor's default model became USE-lite; namespaces that
      // registered it without naming a model keep GloVe, the model their
      // collections' vectors were made with (PinParameter).
      "",

      // 7: image_extractor's `model` default became MobileNetV2 (it was none);
      // namespaces that registered it without naming one keep none
      // (PinParameter).
      "",

      // 8: filter paths step through arrays of objects, and so do payload
      // indexes (IndexReachedValues).
      "",
  };
  return kMigrations;
}

// Migration 5's data step: every collection's rows of doc_text into its own table.
Status SplitFullText(Database& db) {
  std::vector<std::string> collections;
  {
    ASSIGN_OR_RETURN(auto s, db.Prepare("SELECT DISTINCT collection FROM doc_text"));
    while (s.Step()) collections.push_back(s.ColumnText(0));
    RETURN_IF_ERROR(s.status());
  }
  for (const auto& c : collections) {
    RETURN_IF_ERROR(db.Exec(CreateFullTextTableSql(c)));
    ASSIGN_OR_RETURN(auto s, db.Prepare("INSERT INTO " + FullTextTable(c) +
                                        "(rowid, text) SELECT rowid, text FROM doc_text WHERE collection = ?"));
    RETURN_IF_ERROR(s.Bind(1, c).Run());
  }
  return db.Exec("DROP TABLE doc_text");
}

// Migrations 6 and 7's data step: namespaces that registered `extractor`
// without naming `key` get `value`, the default their collections were made
// with. Registrations are JSON inside the namespace doc, so they are
// rewritten here rather than in SQL.
Status PinParameter(Database& db, const std::string& extractor, const std::string& key, const Json& value) {
  std::vector<std::pair<int64_t, std::string>> rows;
  {
    ASSIGN_OR_RETURN(auto s, db.Prepare("SELECT seq, doc FROM namespaces"));
    while (s.Step()) rows.emplace_back(s.ColumnInt(0), s.ColumnText(1));
    RETURN_IF_ERROR(s.status());
  }
  for (const auto& [seq, text] : rows) {
    Json doc = Json::parse(text, nullptr, false);
    if (!doc.is_object() || !doc.contains("feature_extractors") || !doc["feature_extractors"].is_array()) continue;
    bool changed = false;
    for (auto& e : doc["feature_extractors"]) {
      if (!e.is_object() || e.value("feature_extractor_name", "") != extractor) continue;
      if (!e.contains("params") || !e["params"].is_object()) e["params"] = Json::object();
      if (e["params"].contains(key)) continue;
      e["params"][key] = value;
      changed = true;
    }
    if (!changed) continue;
    ASSIGN_OR_RETURN(auto u, db.Prepare("UPDATE namespaces SET doc = ? WHERE seq = ?"));
    RETURN_IF_ERROR(u.Bind(1, doc.dump()).Bind(2, seq).Run());
  }
  return Status::Ok();
}

// Migration 8's step. A filter path now reaches the values inside arrays of
// objects ("objects.label", filter.h), so payload_values must hold the
// elements of all of them, not just json_each(doc, path), for the compiler's
// index lookups to stay exact: payload_fields gets each path's steps, the
// triggers walk them (PayloadValuesSql), and the rows of paths of several
// segments are rebuilt. Every statement tolerates a second run, as when
// schema_migrations is rolled back.
Status IndexReachedValues(Database& db) {
  bool has_steps = false;
  {
    ASSIGN_OR_RETURN(auto s, db.Prepare("SELECT 1 FROM pragma_table_info('payload_fields') WHERE name = 'steps'"));
    has_steps = s.Step();
    RETURN_IF_ERROR(s.status());
  }
  if (!has_steps) RETURN_IF_ERROR(db.Exec("ALTER TABLE payload_fields ADD COLUMN steps TEXT NOT NULL DEFAULT '[]'"));
  std::vector<std::tuple<int64_t, std::string, std::string>> fields;
  {
    ASSIGN_OR_RETURN(auto s, db.Prepare("SELECT org, ns, path FROM payload_fields"));
    while (s.Step()) fields.emplace_back(s.ColumnInt(0), s.ColumnText(1), s.ColumnText(2));
    RETURN_IF_ERROR(s.status());
  }
  for (const auto& [org, ns, path] : fields) {
    ASSIGN_OR_RETURN(auto u, db.Prepare("UPDATE payload_fields SET steps = ? WHERE org = ? AND ns = ? AND path = ?"));
    RETURN_IF_ERROR(u.Bind(1, JsonPathSteps(path).dump()).Bind(2, org).Bind(3, ns).Bind(4, path).Run());
  }
  const std::string fill =
      " INSERT INTO payload_values (doc, path, type, value, folded) " +
      PayloadValuesSql("SELECT NEW.seq AS doc, p.path AS path, p.steps AS steps, NEW.doc AS json "
                       "FROM payload_fields AS p WHERE p.org = NEW.org AND p.ns = NEW.ns") + ";";
  RETURN_IF_ERROR(db.Exec(
      "DROP TRIGGER IF EXISTS payload_values_insert;"
      "DROP TRIGGER IF EXISTS payload_values_update;"
      "CREATE TRIGGER payload_values_insert AFTER INSERT ON documents BEGIN" + fill + " END;"
      "CREATE TRIGGER payload_values_update AFTER UPDATE OF doc ON documents BEGIN"
      " DELETE FROM payload_values WHERE doc = OLD.seq;" + fill + " END;"));
  // Rows of one-segment paths are what they were.
  return db.Exec(
      "DELETE FROM payload_values WHERE path IN (SELECT path FROM payload_fields WHERE json_array_length(steps) > 1);"
      "INSERT INTO payload_values (doc, path, type, value, folded) " +
      PayloadValuesSql("SELECT d.seq AS doc, p.path AS path, p.steps AS steps, d.doc AS json "
                       "FROM payload_fields AS p JOIN documents AS d ON d.org = p.org AND d.ns = p.ns "
                       "WHERE json_array_length(p.steps) > 1"));
}

}  // namespace

std::string FullTextTable(const std::string& collection) {
  // Collection ids are letters, digits and '_'; anything else is hex-encoded
  // so the name never needs escaping.
  bool plain = !collection.empty();
  for (char c : collection) {
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
  }
  if (plain) return "\"fts_" + collection + "\"";
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : collection) {
    hex += kHex[c >> 4];
    hex += kHex[c & 15];
  }
  return "\"ftsx_" + hex + "\"";
}

std::string CreateFullTextTableSql(const std::string& collection) {
  return "CREATE VIRTUAL TABLE IF NOT EXISTS " + FullTextTable(collection) +
         " USING fts5(text, tokenize = 'porter unicode61 remove_diacritics 2')";
}

int LatestSchemaVersion() { return static_cast<int>(Migrations().size()); }

Status Migrate(Database& db) {
  RETURN_IF_ERROR(db.Exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)"));
  int current = 0;
  {
    ASSIGN_OR_RETURN(auto stmt, db.Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    if (stmt.Step()) current = static_cast<int>(stmt.ColumnInt(0));
    RETURN_IF_ERROR(stmt.status());
  }
  if (current > LatestSchemaVersion()) {
    return Status::Storage("database schema version " + std::to_string(current) +
                           " is newer than this build knows (" +
                           std::to_string(LatestSchemaVersion()) + "); upgrade strata");
  }
  for (int v = current + 1; v <= LatestSchemaVersion(); ++v) {
    Transaction txn(db);
    RETURN_IF_ERROR(txn.begin_status());
    RETURN_IF_ERROR(db.Exec(Migrations()[v - 1]));
    if (v == 5) RETURN_IF_ERROR(SplitFullText(db));
    if (v == 6) RETURN_IF_ERROR(PinParameter(db, "text_extractor", "embedding_model", "glove-100d"));
    if (v == 7) RETURN_IF_ERROR(PinParameter(db, "image_extractor", "model", nullptr));
    if (v == 8) RETURN_IF_ERROR(IndexReachedValues(db));
    ASSIGN_OR_RETURN(auto stmt, db.Prepare(
        "INSERT INTO schema_migrations(version, applied_at) VALUES (?, datetime('now'))"));
    RETURN_IF_ERROR(stmt.Bind(1, v).Run());
    RETURN_IF_ERROR(txn.Commit());
  }
  return Status::Ok();
}

}  // namespace strata::storage
