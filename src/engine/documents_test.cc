// The documents API over a real SQLite store: create with vectors and
// lineage, list (filters, sort, select, cursor, groups, vectors), updates that
// keep the server's fields, deletes that take the features along, bulk and
// batch operations, aggregation, lineage views and tenant isolation.
#include "engine/documents.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "core/crypto.h"
#include "storage/metadata_store.h"

namespace strata::engine {
namespace {

using storage::Kind;
using storage::Record;
using storage::Scope;

Json Collection(const std::string& id, const std::string& name, bool text) {
  Json indexes = Json::array();
  indexes.push_back({{"feature_uri", "mixpeek://test_extractor@v1/embedding"},
                     {"name", "test_extractor_v1_embedding"},
                     {"type", "single"},
                     {"index", {{"name", "test_extractor_v1_embedding"}, {"dimensions", 3}, {"type", "dense"},
                                {"distance", "cosine"}}}});
  if (text) {
    indexes.push_back({{"feature_uri", "mixpeek://test_extractor@v1/bm25"},
                       {"name", "test_extractor_v1_bm25"},
                       {"type", "single"},
                       {"index", {{"name", "test_extractor_v1_bm25"}, {"dimensions", nullptr}, {"type", "sparse"},
                                  {"distance", "bm25"}}}});
  }
  return {{"collection_id", id},
          {"collection_name", name},
          {"vector_indexes", indexes},
          {"feature_extractor", {{"feature_extractor_name", "test_extractor"}, {"version", "v1"},
                                 {"feature_extractor_id", "test_extractor_v1"}}}};
}

class DocumentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("strata-documents-" + RandomAlnum(8));
    std::filesystem::create_directories(dir_);
    store_ = std::move(storage::OpenSqliteMetadataStore((dir_ / "db").string())).value();
    ASSERT_TRUE(store_->Write([&](storage::Writer& w) -> Status {
      ASSIGN_OR_RETURN(auto org, w.CreateOrganization("org_a", Json::object()));
      ASSIGN_OR_RETURN(auto other, w.CreateOrganization("org_b", Json::object()));
      a_ = {org.internal_id, "ns_a"};
      a2_ = {org.internal_id, "ns_a2"};
      b_ = {other.internal_id, "ns_b"};
      // Every tenant has a collection named "texts" (ids are unique across tenants).
      for (const auto& [s, id] : {std::pair{&a_, "col_text"}, std::pair{&a2_, "col_text2"}, std::pair{&b_, "col_text3"}}) {
        RETURN_IF_ERROR(w.Insert(Kind::kNamespace, {s->org, ""}, {s->ns, "", s->ns, {}, {}, Json::object()}));
        RETURN_IF_ERROR(w.Insert(Kind::kCollection, *s, {id, "", std::string("texts"), {}, {}, Collection(id, "texts", true)}));
      }
      RETURN_IF_ERROR(w.Insert(Kind::kCollection, a_, {"col_b", "", std::string("tier2"), {}, {},
                                                       Collection("col_b", "tier2", false)}));
      RETURN_IF_ERROR(w.Insert(Kind::kCollection, a_, {"col_c", "", std::string("tier3"), {}, {},
                                                       Collection("col_c", "tier3", false)}));
      RETURN_IF_ERROR(w.Insert(Kind::kBucket, a_, {"bkt_1", "", std::string("bucket"), {}, {}, Json::object()}));
      Json blob = {{"property", "t"}, {"type", "text"}, {"details", {{"hash", std::string(64, 'a')}}}};
      return w.Insert(Kind::kObject, a_, {"obj_1", "bkt_1", {}, {}, {}, {{"object_id", "obj_1"}, {"bucket_id", "bkt_1"},
                                                                           {"blobs", Json::array({blob})}}});
    }).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  DocumentContext Ctx(const Scope& s) { return DocumentContext{*store_, s, "key", "http://h", 60}; }

  Json Create(const Json& body, const std::string& col = "texts", const Scope* s = nullptr) {
    auto ctx = Ctx(s ? *s : a_);
    auto r = CreateDocument(ctx, col, body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Json();
  }
  Json List(const Json& body, const catalog::QueryParams& params = {}, const std::string& col = "texts") {
    auto ctx = Ctx(a_);
    auto r = ListDocuments(ctx, col, body, params);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : Json();
  }
  Json Doc(const std::string& text, int n, const std::string& kind) {
    return {{"metadata", {{"chunk_text", text}, {"n", n}, {"kind", kind}}}};
  }
  std::vector<std::string> Texts(const Json& results) {
    std::vector<std::string> out;
    for (const auto& d : results) out.push_back(d.value("chunk_text", ""));
    return out;
  }
  std::vector<storage::TextHit> Search(const std::string& word) {
    std::vector<storage::TextHit> hits;
    EXPECT_TRUE(store_->Read([&](storage::Reader& r) -> Status {
      ASSIGN_OR_RETURN(hits, r.SearchText(a_, "col_text", word, 10));
      return Status::Ok();
    }).ok());
    return hits;
  }
  size_t VectorCount(const std::string& id) {
    size_t n = 0;
    EXPECT_TRUE(store_->Read([&](storage::Reader& r) -> Status {
      ASSIGN_OR_RETURN(auto v, r.GetVectors(id));
      n = v.size();
      return Status::Ok();
    }).ok());
    return n;
  }
  int64_t Count(const std::string& col, const Scope* s = nullptr) {
    int64_t n = 0;
    EXPECT_TRUE(store_->Read([&](storage::Reader& r) -> Status {
      ASSIGN_OR_RETURN(n, r.Count(Kind::kDocument, s ? *s : a_, col));
      return Status::Ok();
    }).ok());
    return n;
  }
  static std::vector<std::string> Locations(const Status& st) {
    std::vector<std::string> out;
    for (const auto& e : st.details().value("validation_errors", Json::array())) out.push_back(e.value("location", ""));
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::MetadataStore> store_;
  Scope a_, a2_, b_;
};

TEST_F(DocumentsTest, CreateStoresUserFieldsLineageVectorsAndText) {
  Json d = Create({{"collection_id", "col_text"},
                   {"source_object_id", "obj_1"},
                   {"metadata", {{"chunk_text", "running dogs"}, {"n", 1}}},
                   {"extra", "root field"},
                   {"features", {{{"feature_extractor_id", "test_extractor_v1"},
                                  {"payload", {{"score", 0.5}}},
                                  {"vectors", {{"test_extractor_v1_embedding", {1, 2, 3}}}}}}}});
  ASSERT_TRUE(d.is_object());
  const std::string id = d["document_id"];
  EXPECT_EQ(id.rfind("doc_", 0), 0u);
  EXPECT_EQ(d["collection_id"], "col_text");
  EXPECT_EQ(d["chunk_text"], "running dogs");
  EXPECT_EQ(d["extra"], "root field");
  EXPECT_EQ(d["score"], 0.5);
  EXPECT_EQ(d["document_blobs"], Json::array());
  const Json& in = d["_internal"];
  EXPECT_EQ(in["document_id"], id);
  EXPECT_EQ(in["namespace_id"], "ns_a");
  EXPECT_EQ(in["lineage"]["root_object_id"], "obj_1");
  EXPECT_EQ(in["lineage"]["root_bucket_id"], "bkt_1");
  EXPECT_EQ(in["lineage"]["source_type"], "bucket");
  EXPECT_EQ(in["lineage"]["source_id"], "obj_1");
  EXPECT_EQ(in["lineage"]["path"], "bkt_1/col_text");
  ASSERT_EQ(in["lineage"]["chain"].size(), 1u);
  EXPECT_EQ(in["lineage"]["chain"][0]["document_id"], id);
  EXPECT_EQ(in["source_blobs"].size(), 1u);
  EXPECT_EQ(VectorCount(id), 1u);
  ASSERT_EQ(Search("dog").size(), 1u);

  auto ctx = Ctx(a_);
  auto got = GetDocument(ctx, "col_text", id, {true, true});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["test_extractor_v1_embedding"], Json::array({1.0, 2.0, 3.0}));
  EXPECT_NE((*got)["_internal"]["source_blobs"][0].value("url", "").find("/v1/blobs/"), std::string::npos);
  auto plain = GetDocument(ctx, "texts", id, {});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->contains("test_extractor_v1_embedding"));
}

TEST_F(DocumentsTest, CreateRejectsBadInputAndWritesNothing) {
  auto ctx = Ctx(a_);
  struct Case {
    Json body;
    std::string location;
  };
  std::vector<Case> cases = {
      {{{"features", {{{"feature_extractor_id", "test_extractor_v1"}, {"vectors", {{"test_extractor_v1_embedding", {1, 2}}}}}}}},
       "body.features[0].vectors.test_extractor_v1_embedding"},
      {{{"features", {{{"feature_extractor_id", "test_extractor_v1"}, {"vectors", {{"nope", {1, 2, 3}}}}}}}},
       "body.features[0].vectors.nope"},
      {{{"features", {{{"feature_extractor_id", "test_extractor_v1"}, {"vectors", {{"indices", {1}}, {"values", {1.0}}}}}}}},
       "body.features[0].vectors"},
      {{{"features", {{{"feature_extractor_id", "other_v1"}}}}}, "body.features[0].feature_extractor_id"},
      {{{"features", {{{"feature_extractor_id", "test_extractor_v1"}, {"vector", Json::object()}}}}}, "body.features[0].vector"},
      {{{"_internal", {{"x", 1}}}}, "body._internal"},
      {{{"metadata", {{"document_id", "doc_mine"}}}}, "body.metadata.document_id"},
      {{{"metadata", "nope"}}, "body.metadata"},
      {{{"source_document_id", "doc_missing"}}, "body.source_document_id"},
      {{{"source_object_id", "obj_missing"}}, "body.source_object_id"},
      {{{"source_type", "elsewhere"}}, "body.source_type"},
      {{{"collection_id", "col_b"}}, "body.collection_id"},
      {{{"lineage_chain", {{{"collection_id", "c"}}}}}, "body.lineage_chain[0].feature_extractor_id"},
      {{{"document_blobs", {{{"field", "x"}}}}}, "body.document_blobs[0].url"},
  };
  for (const auto& c : cases) {
    auto r = CreateDocument(ctx, "texts", c.body);
    ASSERT_FALSE(r.ok()) << c.body.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kValidation) << c.body.dump();
    auto locs = Locations(r.status());
    EXPECT_NE(std::find(locs.begin(), locs.end(), c.location), locs.end()) << c.body.dump() << " " << r.status().ToString();
  }
  EXPECT_EQ(Count("col_text"), 0);
  EXPECT_EQ(CreateDocument(ctx, "nope", Json::object()).status().code(), StatusCode::kNotFound);
}

TEST_F(DocumentsTest, ListFiltersSortsSelectsAndPages) {
  for (int i = 0; i < 7; ++i) Create(Doc("text " + std::to_string(i), i, i % 2 ? "odd" : "even"));
  Json page = List({{"filters", {{"kind", "odd"}}}, {"sort", {{"field", "n"}, {"direction", "desc"}}}},
                   {{"include_total", "true"}});
  EXPECT_EQ(Texts(page["results"]), (std::vector<std::string>{"text 5", "text 3", "text 1"}));
  EXPECT_EQ(page["pagination"]["total"], 3);
  EXPECT_EQ(page["stats"]["total_documents"], 3);
  EXPECT_TRUE(page["groups"].is_null());

  Json sel = List({{"select", {"n"}}}, {{"limit", "2"}});
  ASSERT_EQ(sel["results"].size(), 2u);
  EXPECT_EQ(sel["results"][0].size(), 3u);  // n, document_id, collection_id
  EXPECT_TRUE(sel["results"][0].contains("document_id"));

  // Cursor paging (query or body) walks every document once.
  std::vector<std::string> seen;
  std::string cursor;
  for (int guard = 0; guard < 10; ++guard) {
    Json body = {{"sort", {{"field", "n"}}}};
    if (!cursor.empty()) body["cursor"] = cursor;
    Json p = List(body, {{"limit", "3"}});
    for (const auto& t : Texts(p["results"])) seen.push_back(t);
    if (p["pagination"]["next_cursor"].is_null()) break;
    cursor = p["pagination"]["next_cursor"];
  }
  EXPECT_EQ(seen.size(), 7u);
  EXPECT_EQ(seen.front(), "text 0");

  Json search = List({{"search", "TEXT 4"}});
  EXPECT_EQ(Texts(search["results"]), (std::vector<std::string>{"text 4"}));

  auto ctx = Ctx(a_);
  EXPECT_EQ(ListDocuments(ctx, "texts", {{"return_vectors", "yes"}}, {}).status().code(), StatusCode::kValidation);
  EXPECT_EQ(ListDocuments(ctx, "texts", {{"unknown", 1}}, {}).status().code(), StatusCode::kValidation);
  EXPECT_EQ(ListDocuments(ctx, "nope", Json::object(), {}).status().code(), StatusCode::kNotFound);
}

TEST_F(DocumentsTest, ListReturnsVectorsWhenAsked) {
  Json d = Create({{"metadata", {{"chunk_text", "x"}}},
                   {"features", {{{"feature_extractor_id", "test_extractor"},
                                  {"vectors", {{"mixpeek://test_extractor@v1/embedding", {0.5, 0, 1}}}}}}}});
  Json with = List({{"return_vectors", true}});
  ASSERT_EQ(with["results"].size(), 1u);
  EXPECT_EQ(with["results"][0]["test_extractor_v1_embedding"], Json::array({0.5, 0.0, 1.0}));
  Json without = List(Json::object());
  EXPECT_FALSE(without["results"][0].contains("test_extractor_v1_embedding"));
}

TEST_F(DocumentsTest, GroupByPagesGroupsWithCountsAndLimitedDocuments) {
  for (int i = 0; i < 9; ++i) Create(Doc("t" + std::to_string(i), i, i < 5 ? "a" : (i < 8 ? "b" : "c")));
  Create({{"metadata", {{"chunk_text", "none"}, {"n", 100}}}});  // no "kind": the null group
  Json g = List({{"group_by", "kind"}, {"group_limit", 2}, {"sort", {{"field", "n"}}}}, {{"limit", "2"}});
  ASSERT_EQ(g["groups"].size(), 2u);
  EXPECT_TRUE(g["results"].is_null());
  EXPECT_EQ(g["group_by_field"], "kind");
  EXPECT_EQ(g["groups"][0]["group_key"], "a");
  EXPECT_EQ(g["groups"][0]["count"], 5);
  EXPECT_EQ(Texts(g["groups"][0]["documents"]), (std::vector<std::string>{"t0", "t1"}));
  EXPECT_EQ(g["groups"][1]["group_key"], "b");
  EXPECT_EQ(g["pagination"]["total"], 4);
  EXPECT_EQ(g["stats"]["total_groups"], 4);
  EXPECT_EQ(g["stats"]["total_documents"], 10);
  ASSERT_TRUE(g["pagination"]["next_cursor"].is_string());
  Json next = List({{"group_by", "kind"}, {"sort", {{"field", "n"}}}, {"cursor", g["pagination"]["next_cursor"]}},
                   {{"limit", "2"}});
  ASSERT_EQ(next["groups"].size(), 2u);
  EXPECT_EQ(next["groups"][0]["group_key"], "c");
  EXPECT_TRUE(next["groups"][1]["group_key"].is_null());
  EXPECT_TRUE(next["pagination"]["next_cursor"].is_null());
  // A filter narrows the grouped set.
  Json filtered = List({{"group_by", "kind"}, {"filters", {{"field", "n"}, {"operator", "gte"}, {"value", 7}}}});
  ASSERT_EQ(filtered["groups"].size(), 3u);
  EXPECT_EQ(filtered["groups"][0]["group_key"], "b");
  EXPECT_EQ(filtered["groups"][0]["count"], 1);
  auto ctx = Ctx(a_);
  EXPECT_EQ(ListDocuments(ctx, "texts", {{"group_by", "kind"}, {"cursor", "garbage"}}, {}).status().code(),
            StatusCode::kBadRequest);
}

TEST_F(DocumentsTest, PatchMergesAndKeepsServerFields) {
  Json d = Create({{"metadata", {{"chunk_text", "old words"}, {"tags", {{"a", 1}, {"b", 2}}}, {"keep", true}}}});
  const std::string id = d["document_id"];
  auto ctx = Ctx(a_);
  auto p = UpdateDocument(ctx, "texts", id, {{"tags", {{"a", nullptr}, {"c", 3}}}, {"new.path", 1}, {"chunk_text", "fresh words"}}, false);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)["tags"], (Json{{"b", 2}, {"c", 3}}));
  EXPECT_EQ((*p)["new"]["path"], 1);
  EXPECT_EQ((*p)["keep"], true);
  EXPECT_EQ((*p)["document_id"], id);
  EXPECT_EQ((*p)["_internal"]["created_at"], d["_internal"]["created_at"]);
  EXPECT_EQ((*p)["_internal"]["lineage"], d["_internal"]["lineage"]);
  // The full-text index follows the text.
  EXPECT_TRUE(Search("old").empty());
  EXPECT_EQ(Search("fresh").size(), 1u);

  // Sending back what GET gave is fine; changing the server's fields is not.
  auto same = UpdateDocument(ctx, "texts", id, *p, false);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  for (const Json& bad : {Json{{"_internal", {{"namespace_id", "x"}}}}, Json{{"document_id", "doc_other"}},
                          Json{{"_internal.lineage", 1}}, Json{{"test_extractor_v1_embedding", {1, 2, 3}}}}) {
    auto r = UpdateDocument(ctx, "texts", id, bad, false);
    EXPECT_EQ(r.status().code(), StatusCode::kValidation) << bad.dump();
  }
  auto put = UpdateDocument(ctx, "texts", id, {{"only", "this"}}, true);
  ASSERT_TRUE(put.ok());
  EXPECT_FALSE(put->contains("keep"));
  EXPECT_EQ((*put)["only"], "this");
  EXPECT_EQ((*put)["_internal"]["document_id"], id);
  EXPECT_TRUE(Search("fresh").empty());
  EXPECT_EQ(UpdateDocument(ctx, "texts", "doc_missing", {{"x", 1}}, false).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(UpdateDocument(ctx, "tier2", id, {{"x", 1}}, false).status().code(), StatusCode::kNotFound);
}

TEST_F(DocumentsTest, DeleteRemovesVectorsAndText) {
  Json d = Create({{"metadata", {{"chunk_text", "unique zebra"}}},
                   {"features", {{{"feature_extractor_id", "test_extractor_v1"},
                                  {"vectors", {{"test_extractor_v1_embedding", {1, 1, 1}}}}}}}});
  const std::string id = d["document_id"];
  ASSERT_EQ(VectorCount(id), 1u);
  auto ctx = Ctx(a_);
  auto r = DeleteDocument(ctx, "texts", id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["success"], true);
  EXPECT_EQ(VectorCount(id), 0u);
  EXPECT_TRUE(Search("zebra").empty());
  EXPECT_EQ(DeleteDocument(ctx, "texts", id).status().code(), StatusCode::kNotFound);
}

TEST_F(DocumentsTest, BulkAndBatchOperations) {
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(Create(Doc("b" + std::to_string(i), i, i < 3 ? "low" : "high"))["document_id"]);
  auto ctx = Ctx(a_);
  auto bulk = BulkUpdateDocuments(ctx, "texts", {{"filters", {{"kind", "low"}}}, {"update_data", {{"status.state", "done"}}}});
  ASSERT_TRUE(bulk.ok()) << bulk.status().ToString();
  EXPECT_EQ((*bulk)["updated_count"], 3);
  EXPECT_EQ(List({{"filters", {{"status.state", "done"}}}})["results"].size(), 3u);
  EXPECT_EQ(BulkUpdateDocuments(ctx, "texts", {{"update_data", {{"_internal", 1}}}}).status().code(), StatusCode::kValidation);
  EXPECT_EQ(BulkUpdateDocuments(ctx, "texts", {{"filters", {{"kind", "low"}}}}).status().code(), StatusCode::kValidation);

  auto batch = BatchUpdateDocuments(ctx, "texts", {{"updates", {{{"document_id", ids[0]}, {"update_data", {{"v", 1}}}},
                                                                {{"document_id", "doc_missing"}, {"update_data", {{"v", 2}}}}}}});
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ((*batch)["updated_count"], 1);
  EXPECT_EQ((*batch)["failed_count"], 1);
  EXPECT_EQ((*batch)["results"][1]["success"], false);
  auto by_filter = BatchUpdateDocuments(ctx, "texts", {{"filters", {{"kind", "high"}}}, {"update_data", {{"v", 9}}}});
  ASSERT_TRUE(by_filter.ok());
  EXPECT_EQ((*by_filter)["updated_count"], 3);
  EXPECT_EQ(BatchUpdateDocuments(ctx, "texts", {{"updates", Json::array()}}).status().code(), StatusCode::kValidation);
  EXPECT_EQ(BatchUpdateDocuments(ctx, "texts", Json::object()).status().code(), StatusCode::kValidation);
  // A bad entry anywhere fails the whole batch, and nothing is written.
  auto mixed = BatchUpdateDocuments(ctx, "texts", {{"updates", {{{"document_id", ids[1]}, {"update_data", {{"w", 1}}}},
                                                                {{"document_id", ids[2]}, {"update_data", {{"document_id", "x"}}}}}}});
  EXPECT_EQ(mixed.status().code(), StatusCode::kValidation);
  EXPECT_TRUE(List({{"filters", {{"w", 1}}}})["results"].empty());

  auto del = BatchDeleteDocuments(ctx, "texts", {{"document_ids", {ids[0], ids[0], "doc_missing"}}});
  ASSERT_TRUE(del.ok()) << del.status().ToString();
  EXPECT_EQ((*del)["deleted_count"], 1);
  EXPECT_EQ((*del)["failed_count"], 1);
  auto del_f = BatchDeleteDocuments(ctx, "texts", {{"filters", {{"kind", "high"}}}});
  ASSERT_TRUE(del_f.ok());
  EXPECT_EQ((*del_f)["deleted_count"], 3);
  EXPECT_EQ((*del_f)["results"], Json::array());
  EXPECT_EQ(Count("col_text"), 2);
  EXPECT_EQ(BatchDeleteDocuments(ctx, "texts", {{"document_ids", {ids[1]}}, {"filters", Json::object()}}).status().code(),
            StatusCode::kValidation);
  EXPECT_EQ(BatchDeleteDocuments(ctx, "texts", Json::object()).status().code(), StatusCode::kValidation);
}

TEST_F(DocumentsTest, Aggregate) {
  for (int i = 0; i < 6; ++i) Create(Doc("a" + std::to_string(i), i, i < 4 ? "x" : "y"));
  auto ctx = Ctx(a_);
  auto r = AggregateDocuments(ctx, "texts", {{"group_by", {{{"field", "kind"}, {"alias", "k"}}}},
                                            {"aggregations", {{{"function", "count"}, {"alias", "n"}},
                                                              {{"function", "sum"}, {"field", "n"}, {"alias", "total"}}}},
                                            {"sort_by", "k"}, {"sort_direction", "asc"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ((*r)["results"].size(), 2u);
  EXPECT_EQ((*r)["results"][0]["group"]["k"], "x");
  EXPECT_EQ((*r)["results"][0]["metrics"]["n"], 4);
  EXPECT_EQ((*r)["results"][0]["metrics"]["total"], 6.0);
  EXPECT_EQ((*r)["results"][1]["metrics"]["total"], 9.0);
  EXPECT_EQ((*r)["total_groups"], 2);
  auto having = AggregateDocuments(ctx, "texts", {{"group_by", {"kind"}},
                                                 {"aggregations", {{{"function", "count"}, {"alias", "n"}}}},
                                                 {"having", {{{"field", "n"}, {"operator", "lt"}, {"value", 3}}}}});
  ASSERT_TRUE(having.ok()) << having.status().ToString();
  ASSERT_EQ((*having)["results"].size(), 1u);
  EXPECT_EQ((*having)["results"][0]["group"]["kind"], "y");
  for (const Json& bad : {Json{{"group_by", {"kind"}}, {"aggregations", {{{"function", "push"}, {"field", "n"}, {"alias", "p"}}}}},
                          Json{{"group_by", {{{"field", "kind"}, {"date_trunc", "day"}}}}, {"aggregations", {{{"function", "count"}, {"alias", "n"}}}}},
                          Json{{"group_by", {"kind"}}, {"aggregations", {{{"function", "count"}, {"alias", "n"}}}}, {"unwind", "tags"}},
                          Json{{"group_by", {"kind"}}, {"aggregations", Json::array()}}}) {
    auto e = AggregateDocuments(ctx, "texts", bad);
    EXPECT_EQ(e.status().code(), StatusCode::kValidation) << bad.dump();
  }
}

// obj_1 -> col_text (a1, a2) -> col_b (b1, b2 from a1) -> col_c (c1 from b1).
TEST_F(DocumentsTest, LineageAndDecompositionTree) {
  const std::string a1 = Create({{"source_object_id", "obj_1"}, {"metadata", {{"chunk_text", "a1"}}}})["document_id"];
  const std::string a2 = Create({{"root_object_id", "obj_1"}, {"metadata", {{"chunk_text", "a2"}}}})["document_id"];
  const std::string b1 = Create({{"source_document_id", a1}}, "tier2")["document_id"];
  const std::string b2 = Create({{"source_document_id", a1}, {"source_collection_id", "col_text"}}, "col_b")["document_id"];
  Json c1doc = Create({{"source_type", "collection"}, {"source_document_id", b1}}, "tier3");
  const std::string c1 = c1doc["document_id"];
  const Json& lin = c1doc["_internal"]["lineage"];
  EXPECT_EQ(lin["root_object_id"], "obj_1");
  EXPECT_EQ(lin["root_bucket_id"], "bkt_1");
  EXPECT_EQ(lin["source_collection_id"], "col_b");
  EXPECT_EQ(lin["path"], "bkt_1/col_text/col_b/col_c");
  ASSERT_EQ(lin["chain"].size(), 3u);
  EXPECT_EQ(lin["chain"][0]["document_id"], a1);
  EXPECT_EQ(lin["chain"][2]["collection_id"], "col_c");

  auto ctx = Ctx(a_);
  auto l = DocumentLineage(ctx, "col_b", b1);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_EQ((*l)["root_object"], (Json{{"object_id", "obj_1"}, {"bucket_id", "bkt_1"}}));
  ASSERT_EQ((*l)["ancestors"].size(), 1u);
  EXPECT_EQ((*l)["ancestors"][0]["document_id"], a1);
  EXPECT_EQ((*l)["ancestors"][0]["collection_id"], "col_text");
  ASSERT_EQ((*l)["descendants"].size(), 1u);
  EXPECT_EQ((*l)["descendants"][0]["document_id"], c1);
  EXPECT_EQ((*l)["descendants"][0]["collection_id"], "col_c");

  auto top = DocumentLineage(ctx, "texts", a1);
  ASSERT_TRUE(top.ok());
  EXPECT_EQ((*top)["ancestors"].size(), 0u);
  std::set<std::string> desc;
  for (const auto& d : (*top)["descendants"]) desc.insert(d["document_id"]);
  EXPECT_EQ(desc, (std::set<std::string>{b1, b2, c1}));
  auto leaf = DocumentLineage(ctx, "tier3", c1);
  ASSERT_TRUE(leaf.ok());
  ASSERT_EQ((*leaf)["ancestors"].size(), 2u);
  EXPECT_EQ((*leaf)["ancestors"][1]["document_id"], a1);
  EXPECT_EQ(DocumentLineage(ctx, "texts", b1).status().code(), StatusCode::kNotFound);  // b1 is not in col_text

  auto docs = DocumentsOfObject(ctx, "obj_1", {});
  ASSERT_TRUE(docs.ok());
  EXPECT_EQ((*docs)["total"], 5);
  EXPECT_EQ((*docs)["bucket_id"], "bkt_1");
  auto only = DocumentsOfObject(ctx, "obj_1", {"tier2", "col_c"});
  ASSERT_TRUE(only.ok());
  EXPECT_EQ((*only)["total"], 3);
  EXPECT_EQ(DocumentsOfObject(ctx, "obj_1", {"nope"}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(DocumentsOfObject(ctx, "obj_none", {}).status().code(), StatusCode::kNotFound);

  auto tree = DecompositionTree(ctx, "obj_1", true);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  const Json& t = (*tree)["tree"];
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0]["collection_id"], "col_text");
  EXPECT_EQ(t[0]["collection_name"], "texts");
  EXPECT_EQ(t[0]["tier"], 1);
  EXPECT_EQ(t[0]["document_count"], 2);
  EXPECT_EQ(t[0]["document_ids"], Json::array({a1, a2}));
  ASSERT_EQ(t[0]["children"].size(), 1u);
  EXPECT_EQ(t[0]["children"][0]["collection_id"], "col_b");
  EXPECT_EQ(t[0]["children"][0]["tier"], 2);
  EXPECT_EQ(t[0]["children"][0]["document_count"], 2);
  ASSERT_EQ(t[0]["children"][0]["children"].size(), 1u);
  EXPECT_EQ(t[0]["children"][0]["children"][0]["collection_id"], "col_c");
  EXPECT_EQ(t[0]["children"][0]["children"][0]["tier"], 3);
  auto no_ids = DecompositionTree(ctx, "obj_1", false);
  ASSERT_TRUE(no_ids.ok());
  EXPECT_FALSE((*no_ids)["tree"][0].contains("document_ids"));

  // The root object deleted: documents and lineage remain, root_object is null;
  // a deleted ancestor shows as such and ends the walk.
  ASSERT_TRUE(store_->Write([&](storage::Writer& w) { return w.Delete(Kind::kObject, a_, "obj_1"); }).ok());
  ASSERT_TRUE(DeleteDocument(ctx, "texts", a1).ok());
  auto after = DocumentLineage(ctx, "col_c", c1);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE((*after)["root_object"].is_null());
  ASSERT_EQ((*after)["ancestors"].size(), 2u);
  EXPECT_EQ((*after)["ancestors"][1]["exists"], false);
  auto orphan_tree = DecompositionTree(ctx, "obj_1", false);
  ASSERT_TRUE(orphan_tree.ok());
  EXPECT_EQ((*orphan_tree)["bucket_id"], "bkt_1");
  EXPECT_EQ((*orphan_tree)["total_documents"], 4);  // a2, b1, b2, c1
}

TEST_F(DocumentsTest, TenantsSeeOnlyTheirOwnDocuments) {
  Json d = Create({{"source_object_id", "obj_1"}, {"metadata", {{"chunk_text", "secret"}}}});
  const std::string id = d["document_id"];
  for (const Scope* s : {&a2_, &b_}) {
    auto ctx = Ctx(*s);
    // Another tenant's own "texts" collection shows none of a_'s documents.
    EXPECT_EQ(GetDocument(ctx, "texts", id, {}).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(UpdateDocument(ctx, "texts", id, {{"x", 1}}, false).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(DeleteDocument(ctx, "texts", id).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(DocumentLineage(ctx, "texts", id).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(DocumentsOfObject(ctx, "obj_1", {}).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(DecompositionTree(ctx, "obj_1", false).status().code(), StatusCode::kNotFound);
    auto list = ListDocuments(ctx, "texts", Json::object(), {});
    ASSERT_TRUE(list.ok());
    EXPECT_TRUE((*list)["results"].empty());
    auto del = BatchDeleteDocuments(ctx, "texts", {{"filters", Json::object()}});
    ASSERT_TRUE(del.ok());
    EXPECT_EQ((*del)["deleted_count"], 0);
    auto bulk = BulkUpdateDocuments(ctx, "texts", {{"update_data", {{"x", 1}}}});
    ASSERT_TRUE(bulk.ok());
    EXPECT_EQ((*bulk)["updated_count"], 0);
    // Lineage cannot point into another tenant.
    auto cross = CreateDocument(ctx, "texts", {{"source_document_id", id}});
    EXPECT_EQ(cross.status().code(), StatusCode::kValidation);
    auto ctx_obj = CreateDocument(ctx, "texts", {{"source_object_id", "obj_1"}});
    EXPECT_EQ(ctx_obj.status().code(), StatusCode::kValidation);
  }
  auto ctx = Ctx(a_);
  auto mine = GetDocument(ctx, "texts", id, {});
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ((*mine)["chunk_text"], "secret");
  EXPECT_FALSE(mine->contains("x"));
}

}  // namespace
}  // namespace strata::engine
