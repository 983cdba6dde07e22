// Documents with their derived features (vectors, full-text rows), lineage
// lookups, and the persisted job queue.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

#include "core/crypto.h"
#include "filter/filter.h"
#include "storage/metadata_store.h"

namespace strata::storage {
namespace {

class DocumentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("strata-docs-" + RandomAlnum(8));
    std::filesystem::create_directories(dir_);
    Reopen();
    ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
      ASSIGN_OR_RETURN(auto a, w.CreateOrganization("org_a", Json::object()));
      ASSIGN_OR_RETURN(auto b, w.CreateOrganization("org_b", Json::object()));
      a_ = Scope{a.internal_id, "ns_a"};
      b_ = Scope{b.internal_id, "ns_b"};
      RETURN_IF_ERROR(w.Insert(Kind::kNamespace, Scope{a_.org, ""}, Record{"ns_a", "", "a", {}, {}, Json::object()}));
      return w.Insert(Kind::kNamespace, Scope{b_.org, ""}, Record{"ns_b", "", "b", {}, {}, Json::object()});
    }).ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto s = OpenSqliteMetadataStore((dir_ / "t.db").string());
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
  }
  static Record Doc(const std::string& id, const std::string& col, const std::string& root, const std::string& src,
                    const std::string& text) {
    return Record{id, col, {}, {}, {},
                  Json{{"text", text},
                       {"_internal", {{"lineage", {{"root_object_id", root}, {"source_id", src}}}}}}};
  }
  Status Put(const Scope& scope, const Record& r, const DocumentFeatures& f) {
    return store_->Write([&](Writer& w) -> Status {
      RETURN_IF_ERROR(w.Upsert(Kind::kDocument, scope, r));
      return w.PutFeatures(scope, r.parent, r.id, f);
    });
  }
  std::vector<TextHit> Search(const Scope& scope, const std::string& col, const std::string& match) {
    std::vector<TextHit> hits;
    EXPECT_TRUE(store_->Read([&](Reader& r) -> Status {
      ASSIGN_OR_RETURN(hits, r.SearchText(scope, col, match, 10));
      return Status::Ok();
    }).ok());
    return hits;
  }

  std::filesystem::path dir_;
  std::unique_ptr<MetadataStore> store_;
  Scope a_, b_;
};

TEST_F(DocumentStoreTest, UpsertReplacesDocumentAndFeaturesInPlace) {
  ASSERT_TRUE(Put(a_, Doc("doc_1", "col_1", "obj_1", "obj_1", "running dogs"), {{{"v", {1, 2}}}, "running dogs"}).ok());
  ASSERT_TRUE(Put(a_, Doc("doc_1", "col_1", "obj_1", "obj_1", "quiet cats"), {{{"v", {3, 4, 5}}}, "quiet cats"}).ok());
  EXPECT_TRUE(Search(a_, "col_1", "dogs").empty());
  auto hits = Search(a_, "col_1", "cat");  // porter stemming: cat ~ cats
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].doc_id, "doc_1");
  EXPECT_GT(hits[0].score, 0);
  ASSERT_TRUE(store_->Read([&](Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto vecs, r.GetVectors("doc_1"));
    EXPECT_EQ(vecs.size(), 1u);
    EXPECT_EQ(vecs[0].second, (std::vector<float>{3, 4, 5}));
    ASSIGN_OR_RETURN(auto n, r.Count(Kind::kDocument, a_, std::string("col_1")));
    EXPECT_EQ(n, 1);
    return Status::Ok();
  }).ok());
}

// A document of collection col_1, as a JSON object.
Status PutDocument(MetadataStore& store, const Scope& scope, const std::string& id, const Json& doc) {
  return store.Write([&](Writer& w) { return w.Upsert(Kind::kDocument, scope, Record{id, "col_1", {}, {}, {}, doc}); });
}

// The sorted ids of the documents a filter lists.
std::vector<std::string> MatchingIds(MetadataStore& store, const Scope& scope, const Json& filter_json) {
  std::vector<std::string> ids;
  auto f = filter::Parse(filter_json);
  EXPECT_TRUE(f.ok());
  EXPECT_TRUE(store.Read([&](Reader& r) -> Status {
    ListQuery q;
    q.filter = &*f;
    q.limit = 100;
    ASSIGN_OR_RETURN(auto page, r.List(Kind::kDocument, scope, q));
    for (auto& rec : page.records) ids.push_back(rec.id);
    return Status::Ok();
  }).ok());
  std::sort(ids.begin(), ids.end());
  return ids;
}

// A namespace's payload_indexes decide which fields filters answer from
// payload_values; the answers must be those of the unindexed path, through
// backfill, inserts, rewrites, deletes, index changes and other tenants.
TEST_F(DocumentStoreTest, PayloadIndexesFollowTheNamespaceAndKeepAnswersExact) {
  auto put = [&](const Scope& scope, const std::string& id, const Json& cat) {
    return PutDocument(*store_, scope, id, Json{{"cat", cat}, {"n", 1}});
  };
  auto matching = [&](const Scope& scope, const Json& filter_json) { return MatchingIds(*store_, scope, filter_json); };
  auto set_indexes = [&](const Json& fields) {
    Json payload = Json::array();
    for (const auto& f : fields) payload.push_back({{"field_name", f}, {"type", "keyword"}});
    return store_->Write([&](Writer& w) {
      return w.Update(Kind::kNamespace, Scope{a_.org, ""},
                      Record{"ns_a", "", "a", {}, {}, Json{{"payload_indexes", payload}}});
    });
  };
  const Json news = {{"cat", "news"}};
  ASSERT_TRUE(put(a_, "doc_1", "News").ok());
  ASSERT_TRUE(put(a_, "doc_2", Json::array({"sport", "news"})).ok());
  ASSERT_TRUE(put(a_, "doc_3", "sport").ok());
  ASSERT_TRUE(put(b_, "doc_9", "news").ok());  // another tenant's document
  const std::vector<std::string> before = matching(a_, news);
  EXPECT_EQ(before, (std::vector<std::string>{"doc_1", "doc_2"}));

  ASSERT_TRUE(set_indexes({"cat"}).ok());  // backfill
  EXPECT_EQ(matching(a_, news), before);
  ASSERT_TRUE(put(a_, "doc_4", "NEWS").ok());  // insert
  ASSERT_TRUE(put(a_, "doc_1", "sport").ok());  // rewrite
  ASSERT_TRUE(store_->Write([&](Writer& w) { return w.Delete(Kind::kDocument, a_, "doc_2"); }).ok());
  EXPECT_EQ(matching(a_, news), (std::vector<std::string>{"doc_4"}));
  EXPECT_EQ(matching(a_, {{"field", "cat"}, {"operator", "nin"}, {"value", {"news"}}}),
            (std::vector<std::string>{"doc_1", "doc_3"}));
  EXPECT_EQ(matching(b_, news), (std::vector<std::string>{"doc_9"}));

  ASSERT_TRUE(set_indexes({"n"}).ok());  // another field: cat is read from the documents again
  EXPECT_EQ(matching(a_, news), (std::vector<std::string>{"doc_4"}));
  EXPECT_EQ(matching(a_, {{"field", "n"}, {"operator", "gte"}, {"value", 1}}),
            (std::vector<std::string>{"doc_1", "doc_3", "doc_4"}));
  ASSERT_TRUE(store_->Write([&](Writer& w) { return w.Delete(Kind::kNamespace, Scope{a_.org, ""}, "ns_a"); }).ok());
}


// Filters on a nested path step through arrays of objects (filter.h); an
// index on such a path must hold what they reach there, however the document
// got into the store: before the index was declared, after it, or rewritten
// between an object and an array of objects.
TEST_F(DocumentStoreTest, PayloadIndexesOnNestedPathsReachIntoArraysOfObjects) {
  auto put = [&](const std::string& id, const Json& doc) { return PutDocument(*store_, a_, id, doc); };
  auto matching = [&](const Json& filter_json) { return MatchingIds(*store_, a_, filter_json); };
  const Json person = {{"objects.label", "person"}};
  const Json dogs = {{"field", "frames.objects.label"}, {"operator", "in"}, {"value", {"dog"}}};
  const Json not_person = {{"field", "objects.label"}, {"operator", "nin"}, {"value", {"person"}}};
  ASSERT_TRUE(put("doc_1", Json::parse(R"({"objects": [{"label": "car"}, {"label": "Person"}]})")).ok());
  ASSERT_TRUE(put("doc_2", Json::parse(R"({"frames": [{"objects": [{"label": "dog"}]}]})")).ok());
  ASSERT_TRUE(store_->Write([&](Writer& w) {
    return w.Update(Kind::kNamespace, Scope{a_.org, ""},
                    Record{"ns_a", "", "a", {}, {}, Json{{"payload_indexes", {{{"field_name", "objects.label"}},
                                                                               {{"field_name", "frames.objects.label"}}}}}});
  }).ok());
  // One object: a plain path. Then an array holding no object.
  ASSERT_TRUE(put("doc_3", Json::parse(R"({"objects": {"label": "person"}})")).ok());
  ASSERT_TRUE(put("doc_4", Json::parse(R"({"objects": ["person", [{"label": "person"}]]})")).ok());
  ASSERT_TRUE(put("doc_5", Json::parse(R"({"objects": [{"label": "cat"}, {"label": "person"}]})")).ok());
  EXPECT_EQ(matching(person), (std::vector<std::string>{"doc_1", "doc_3", "doc_5"}));
  EXPECT_EQ(matching(dogs), (std::vector<std::string>{"doc_2"}));
  EXPECT_EQ(matching(not_person), (std::vector<std::string>{"doc_2", "doc_4"}));

  // An object becomes an array of them, an array an object, at either level.
  ASSERT_TRUE(put("doc_3", Json::parse(R"({"objects": [{"label": "cat"}]})")).ok());
  ASSERT_TRUE(put("doc_5", Json::parse(R"({"objects": {"label": "cat"}})")).ok());
  ASSERT_TRUE(put("doc_2", Json::parse(R"({"frames": {"objects": [{"label": "dog"}, {"label": "person"}]}})")).ok());
  EXPECT_EQ(matching(person), (std::vector<std::string>{"doc_1"}));
  EXPECT_EQ(matching({{"objects.label", "cat"}}), (std::vector<std::string>{"doc_3", "doc_5"}));
  EXPECT_EQ(matching(dogs), (std::vector<std::string>{"doc_2"}));
  ASSERT_TRUE(put("doc_3", Json::parse(R"({"objects": {"label": "person"}})")).ok());  // and back
  EXPECT_EQ(matching(person), (std::vector<std::string>{"doc_1", "doc_3"}));
  EXPECT_EQ(matching({{"objects.label", "cat"}}), (std::vector<std::string>{"doc_5"}));
}

// A store whose payload indexes were filled before paths stepped through
// arrays of objects (only what plain navigation reaches) is brought up to
// date on upgrade: existing documents, and those written after.
TEST_F(DocumentStoreTest, UpgradedPayloadIndexesReachIntoArraysOfObjects) {
  auto put = [&](const std::string& id, const Json& doc) { return PutDocument(*store_, a_, id, doc); };
  auto matching = [&](const Json& filter_json) { return MatchingIds(*store_, a_, filter_json); };
  ASSERT_TRUE(store_->Write([&](Writer& w) {
    return w.Update(Kind::kNamespace, Scope{a_.org, ""},
                    Record{"ns_a", "", "a", {}, {}, Json{{"payload_indexes", {{{"field_name", "objects.label"}},
                                                                               {{"field_name", "cat"}}}}}});
  }).ok());
  ASSERT_TRUE(put("doc_1", Json::parse(R"({"objects": [{"label": "person"}, {"label": "dog"}], "cat": "news"})")).ok());
  ASSERT_TRUE(put("doc_2", Json::parse(R"({"objects": {"label": "person"}, "cat": ["sport", "news"]})")).ok());
  store_.reset();
  // Back to the schema before migration 8: its triggers and the rows they wrote.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "t.db").string().c_str(), &db), SQLITE_OK);
  const std::string fill =
      "  INSERT INTO payload_values (doc, path, type, value, folded)"
      "  SELECT NEW.seq, p.path, e.type, e.value, CASE WHEN e.type = 'text' THEN lower(e.value) END"
      "  FROM payload_fields p, json_each(NEW.doc, p.path) e"
      "  WHERE p.org = NEW.org AND p.ns = NEW.ns AND typeof(e.key) <> 'text'; END;";
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db,
                         ("DROP TRIGGER payload_values_insert; DROP TRIGGER payload_values_update;"
                          "CREATE TRIGGER payload_values_insert AFTER INSERT ON documents BEGIN" + fill +
                          "CREATE TRIGGER payload_values_update AFTER UPDATE OF doc ON documents BEGIN"
                          "  DELETE FROM payload_values WHERE doc = OLD.seq;" + fill +
                          "DELETE FROM payload_values;"
                          "INSERT INTO payload_values SELECT d.seq, p.path, e.type, e.value,"
                          "  CASE WHEN e.type = 'text' THEN lower(e.value) END"
                          "  FROM payload_fields p JOIN documents d ON d.org = p.org AND d.ns = p.ns,"
                          "  json_each(d.doc, p.path) e WHERE typeof(e.key) <> 'text';"
                          "ALTER TABLE payload_fields DROP COLUMN steps;"
                          "DELETE FROM schema_migrations WHERE version >= 8;")
                             .c_str(),
                         nullptr, nullptr, &err),
            SQLITE_OK)
      << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
  Reopen();
  EXPECT_EQ(matching({{"objects.label", "person"}}), (std::vector<std::string>{"doc_1", "doc_2"}));
  EXPECT_EQ(matching({{"objects.label", "dog"}}), (std::vector<std::string>{"doc_1"}));
  EXPECT_EQ(matching({{"cat", "news"}}), (std::vector<std::string>{"doc_1", "doc_2"}));
  ASSERT_TRUE(put("doc_3", Json::parse(R"({"objects": [{"label": "dog"}]})")).ok());
  ASSERT_TRUE(put("doc_1", Json::parse(R"({"objects": [{"label": "person"}]})")).ok());
  EXPECT_EQ(matching({{"objects.label", "dog"}}), (std::vector<std::string>{"doc_3"}));
  EXPECT_EQ(matching({{"field", "objects.label"}, {"operator", "nin"}, {"value", {"dog"}}}),
            (std::vector<std::string>{"doc_1", "doc_2"}));
}

// BM25's statistics are each collection's own: another collection (here
// another tenant's) full of the query's word does not move the scores.
TEST_F(DocumentStoreTest, FullTextStatisticsAreEachCollectionsOwn) {
  ASSERT_TRUE(Put(a_, Doc("doc_1", "col_1", "obj_1", "obj_1", "running dogs"), {{}, "running dogs"}).ok());
  ASSERT_TRUE(Put(a_, Doc("doc_2", "col_1", "obj_2", "obj_2", "quiet cats"), {{}, "quiet cats"}).ok());
  auto before = Search(a_, "col_1", "dogs");
  ASSERT_EQ(before.size(), 1u);
  for (int i = 0; i < 20; ++i) {
    const std::string id = "doc_b" + std::to_string(i);
    ASSERT_TRUE(Put(b_, Doc(id, "col_9", "obj_b", "obj_b", "dogs and more dogs"), {{}, "dogs and more dogs"}).ok());
  }
  auto after = Search(a_, "col_1", "dogs");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_DOUBLE_EQ(after[0].score, before[0].score);
  EXPECT_EQ(Search(b_, "col_9", "dogs").size(), 10u);  // the limit
  EXPECT_TRUE(Search(a_, "col_9", "dogs").empty());    // another tenant's collection
  EXPECT_TRUE(Search(a_, "col_none", "dogs").empty());  // no text ever written
}

// A store written before full text was split by collection (one shared
// doc_text table) is migrated with its rows.
TEST_F(DocumentStoreTest, SharedFullTextTableIsSplitByCollectionOnUpgrade) {
  ASSERT_TRUE(Put(a_, Doc("doc_1", "col_1", "obj_1", "obj_1", "running dogs"), {{}, ""}).ok());
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "t.db").string().c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db,
                         "CREATE VIRTUAL TABLE doc_text USING fts5(text, collection UNINDEXED,"
                         "  tokenize = 'porter unicode61 remove_diacritics 2');"
                         "INSERT INTO doc_text(rowid, text, collection)"
                         "  SELECT seq, 'running dogs', parent FROM documents WHERE id = 'doc_1';"
                         "DELETE FROM schema_migrations WHERE version >= 5;",
                         nullptr, nullptr, &err),
            SQLITE_OK)
      << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
  Reopen();
  auto hits = Search(a_, "col_1", "dog");
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].doc_id, "doc_1");
}

// Namespaces that registered text_extractor before its default model became
// USE-lite keep GloVe, and image_extractor before its default image model
// became MobileNetV2 keep none: their collections' vectors were made so.
TEST_F(DocumentStoreTest, UpgradedNamespacesKeepTheTextModelTheyHad) {
  const Json before = {{"feature_extractors",
                        {{{"feature_extractor_name", "text_extractor"}, {"version", "v1"}, {"params", Json::object()}},
                         {{"feature_extractor_name", "image_extractor"}, {"version", "v1"}}}}};
  const Json chosen = {{"feature_extractors",
                        {{{"feature_extractor_name", "text_extractor"}, {"params", {{"embedding_model", "e5"}}}}}}};
  ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
    RETURN_IF_ERROR(w.Insert(Kind::kNamespace, Scope{a_.org, ""}, Record{"ns_old", "", "old", {}, {}, before}));
    return w.Insert(Kind::kNamespace, Scope{a_.org, ""}, Record{"ns_e5", "", "e5", {}, {}, chosen});
  }).ok());
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "t.db").string().c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, "DELETE FROM schema_migrations WHERE version >= 6;", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Reopen();
  auto params = [&](const std::string& id) {
    Json out;
    EXPECT_TRUE(store_->Read([&](Reader& r) -> Status {
      ASSIGN_OR_RETURN(Record rec, r.Get(Kind::kNamespace, Scope{a_.org, ""}, id));
      out = rec.doc["feature_extractors"];
      return Status::Ok();
    }).ok());
    return out;
  };
  const Json old = params("ns_old");
  EXPECT_EQ(old[0]["params"], Json({{"embedding_model", "glove-100d"}}));
  EXPECT_EQ(old[1]["params"], Json({{"model", nullptr}}));
  EXPECT_EQ(params("ns_e5")[0]["params"], Json({{"embedding_model", "e5"}}));  // named models are kept
}

TEST_F(DocumentStoreTest, DeletingDocumentsDeletesTheirFeatures) {
  ASSERT_TRUE(Put(a_, Doc("doc_1", "col_1", "obj_1", "obj_1", "alpha"), {{{"v", {1}}}, "alpha"}).ok());
  ASSERT_TRUE(Put(a_, Doc("doc_2", "col_1", "obj_2", "obj_2", "alpha beta"), {{{"v", {2}}}, "alpha beta"}).ok());
  ASSERT_TRUE(Put(a_, Doc("doc_3", "col_2", "obj_2", "doc_2", "alpha"), {{{"v", {3}}}, "alpha"}).ok());
  ASSERT_TRUE(store_->Write([&](Writer& w) { return w.Delete(Kind::kDocument, a_, "doc_1"); }).ok());
  EXPECT_EQ(Search(a_, "col_1", "alpha").size(), 1u);
  ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
    return w.DeleteAll(Kind::kDocument, a_, std::string("col_1")).status();
  }).ok());
  EXPECT_TRUE(Search(a_, "col_1", "alpha").empty());
  EXPECT_EQ(Search(a_, "col_2", "alpha").size(), 1u);  // the other collection keeps its own
  ASSERT_TRUE(store_->Read([&](Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto v1, r.GetVectors("doc_2"));
    EXPECT_TRUE(v1.empty());
    ASSIGN_OR_RETURN(auto v3, r.GetVectors("doc_3"));
    EXPECT_EQ(v3.size(), 1u);
    return Status::Ok();
  }).ok());
}

TEST_F(DocumentStoreTest, LineageLookupsAndTenantIsolation) {
  ASSERT_TRUE(Put(a_, Doc("doc_1", "col_1", "obj_1", "obj_1", "x"), {}).ok());
  ASSERT_TRUE(Put(a_, Doc("doc_2", "col_2", "obj_1", "doc_1", "x"), {}).ok());
  ASSERT_TRUE(Put(a_, Doc("doc_3", "col_2", "obj_1", "doc_1", "x"), {}).ok());
  ASSERT_TRUE(Put(b_, Doc("doc_b", "col_1", "obj_1", "obj_1", "x"), {}).ok());
  // Another tenant cannot take over an id through upsert.
  EXPECT_FALSE(Put(b_, Doc("doc_1", "col_1", "obj_1", "obj_1", "stolen"), {}).ok());
  ASSERT_TRUE(store_->Read([&](Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto all, r.DocumentsByRoot(a_, "obj_1", ""));
    EXPECT_EQ(all.size(), 3u);
    ASSIGN_OR_RETURN(auto one, r.DocumentsByRoot(a_, "obj_1", "col_1"));
    EXPECT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].doc["text"], "x");
    ASSIGN_OR_RETURN(auto children, r.DocumentsBySource(a_, "col_2", "doc_1"));
    EXPECT_EQ(children.size(), 2u);
    ASSIGN_OR_RETURN(auto theirs, r.DocumentsByRoot(b_, "obj_1", ""));
    EXPECT_EQ(theirs.size(), 1u);
    EXPECT_EQ(theirs[0].id, "doc_b");
    return Status::Ok();
  }).ok());
}

// The lineage columns are copied from the document on every write, so a
// document rewritten with another source or run is found under the new keys.
TEST_F(DocumentStoreTest, LineageKeysFollowRewritesAndRuns) {
  Record d = Doc("doc_1", "col_1", "obj_1", "obj_1", "x");
  d.doc["_internal"]["metadata"] = {{"run_id", "run_old"}};
  ASSERT_TRUE(Put(a_, d, {}).ok());
  d.doc["_internal"]["lineage"]["root_object_id"] = "obj_2";
  d.doc["_internal"]["lineage"]["source_id"] = "obj_2";
  ASSERT_TRUE(store_->Write([&](Writer& w) { return w.Update(Kind::kDocument, a_, d); }).ok());
  ASSERT_TRUE(store_->Read([&](Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto old_root, r.DocumentsByRoot(a_, "obj_1", ""));
    EXPECT_TRUE(old_root.empty());
    ASSIGN_OR_RETURN(auto new_root, r.DocumentsByRoot(a_, "obj_2", ""));
    EXPECT_EQ(new_root.size(), 1u);
    return Status::Ok();
  }).ok());
  ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
    // Same run: nothing is stale. Another run: this document is.
    ASSIGN_OR_RETURN(int64_t kept, w.DeleteSourceDocuments(a_, "col_1", "obj_2", "run_old", Writer::RunMatch::kOtherRuns));
    EXPECT_EQ(kept, 0);
    ASSIGN_OR_RETURN(int64_t gone, w.DeleteSourceDocuments(a_, "col_1", "obj_2", "run_new", Writer::RunMatch::kOtherRuns));
    EXPECT_EQ(gone, 1);
    return Status::Ok();
  }).ok());
  ASSERT_TRUE(store_->Read([&](Reader& r) -> Status {
    EXPECT_EQ(r.Get(Kind::kDocument, a_, "doc_1").status().code(), StatusCode::kNotFound);
    return Status::Ok();
  }).ok());
}

TEST_F(DocumentStoreTest, IdListsAreReplacedAndGoWithTheirBatch) {
  std::vector<std::string> many;
  for (int i = 0; i < 1000; ++i) many.push_back("obj_" + std::to_string(i));
  ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
    RETURN_IF_ERROR(w.Insert(Kind::kBatch, a_, Record{"btch_1", "bkt_1", {}, {}, {}, Json::object()}));
    RETURN_IF_ERROR(w.PutIdList("btch_1", "objects", {"obj_x"}));
    return w.PutIdList("btch_1", "objects", many);
  }).ok());
  ASSERT_TRUE(store_->Read([&](Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto got, r.GetIdList("btch_1", "objects"));
    EXPECT_EQ(got, many);
    ASSIGN_OR_RETURN(auto none, r.GetIdList("btch_1", "retry_objects"));
    EXPECT_TRUE(none.empty());
    return Status::Ok();
  }).ok());
  ASSERT_TRUE(store_->Write([&](Writer& w) { return w.Delete(Kind::kBatch, a_, "btch_1"); }).ok());
  ASSERT_TRUE(store_->Read([&](Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto gone, r.GetIdList("btch_1", "objects"));
    EXPECT_TRUE(gone.empty());
    return Status::Ok();
  }).ok());
}

TEST_F(DocumentStoreTest, JobsAreClaimedInOrderAndRequeuedAfterACrash) {
  ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
    for (int i = 0; i < 3; ++i) {
      RETURN_IF_ERROR(w.EnqueueJob(Job{"job_" + std::to_string(i), a_.org, a_.ns, "t", "g1", 0, {{"i", i}}}));
    }
    return Status::Ok();
  }).ok());
  std::optional<Job> first;
  ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
    ASSIGN_OR_RETURN(first, w.ClaimJob());
    return Status::Ok();
  }).ok());
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->id, "job_0");
  EXPECT_EQ(first->attempts, 1);
  EXPECT_EQ(first->payload["i"], 0);
  Reopen();  // the worker died: job_0 is still "running"
  ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
    ASSIGN_OR_RETURN(int64_t n, w.RequeueRunningJobs());
    EXPECT_EQ(n, 1);
    ASSIGN_OR_RETURN(auto again, w.ClaimJob());
    EXPECT_EQ(again->id, "job_0");
    EXPECT_EQ(again->attempts, 2);
    RETURN_IF_ERROR(w.FinishJob("job_0"));
    ASSIGN_OR_RETURN(int64_t left, w.CountJobs("g1"));
    EXPECT_EQ(left, 2);
    ASSIGN_OR_RETURN(int64_t dropped, w.DropJobs("g1"));
    EXPECT_EQ(dropped, 2);
    ASSIGN_OR_RETURN(auto none, w.ClaimJob());
    EXPECT_FALSE(none.has_value());
    return Status::Ok();
  }).ok());
}

TEST_F(DocumentStoreTest, DeletingDocumentsReleasesTheirMedia) {
  // Thumbnails and keyframes are blobs the document refers to: deleting it
  // (alone, or with its collection) leaves them to the start-up sweep, while
  // a blob another owner still refers to stays.
  const std::string thumb(64, 'c'), shared(64, 'd');
  ASSERT_TRUE(Put(a_, Doc("doc_1", "col_1", "obj_1", "obj_1", "x"), {}).ok());
  ASSERT_TRUE(Put(a_, Doc("doc_2", "col_1", "obj_2", "obj_2", "y"), {}).ok());
  ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
    RETURN_IF_ERROR(w.AddBlobRef({thumb, 10, "image/jpeg"}, "doc_1"));
    RETURN_IF_ERROR(w.AddBlobRef({shared, 10, "image/jpeg"}, "doc_2"));
    return w.AddBlobRef({shared, 10, "image/jpeg"}, "obj_9");
  }).ok());
  ASSERT_TRUE(store_->Write([&](Writer& w) { return w.Delete(Kind::kDocument, a_, "doc_1"); }).ok());
  EXPECT_FALSE(*store_->IsBlobReferenced(thumb));
  ASSERT_TRUE(store_->Write([&](Writer& w) { return w.DeleteAll(Kind::kDocument, a_, std::string("col_1")).status(); }).ok());
  EXPECT_TRUE(*store_->IsBlobReferenced(shared));  // obj_9 still holds it
  ASSERT_TRUE(store_->Write([&](Writer& w) { return w.DropBlobRefs("obj_9").status(); }).ok());
  EXPECT_FALSE(*store_->IsBlobReferenced(shared));
}

}  // namespace
}  // namespace strata::storage
