// The vector change feed: every way a document's vectors come and go lands in
// vector_changes, in the writer's transaction; readers page through it, scan
// for a rebuild, and learn when pruning has cut the feed short.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "core/crypto.h"
#include "storage/metadata_store.h"

namespace strata::storage {
namespace {

using Op = VectorChange::Op;

class VectorFeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("strata-feed-" + RandomAlnum(8));
    std::filesystem::create_directories(dir_);
    auto s = OpenSqliteMetadataStore((dir_ / "t.db").string());
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
    ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
      ASSIGN_OR_RETURN(auto a, w.CreateOrganization("org_a", Json::object()));
      scope_ = Scope{a.internal_id, "ns_a"};
      return w.Insert(Kind::kNamespace, Scope{scope_.org, ""}, Record{"ns_a", "", "a", {}, {}, Json::object()});
    }).ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Status Put(const std::string& id, const std::string& col, const std::string& source, DocumentFeatures f,
             const std::string& run = "run_1") {
    return store_->Write([&](Writer& w) -> Status {
      Json doc = {{"_internal", {{"lineage", {{"root_object_id", source}, {"source_id", source}}},
                                 {"metadata", {{"run_id", run}}}}}};
      RETURN_IF_ERROR(w.Upsert(Kind::kDocument, scope_, Record{id, col, {}, {}, {}, doc}));
      return w.PutFeatures(scope_, col, id, f);
    });
  }
  VectorChangePage Since(const std::string& col, const std::string& name, int64_t after, int64_t limit = 100) {
    VectorChangePage page;
    EXPECT_TRUE(store_->Read([&](Reader& r) -> Status {
      ASSIGN_OR_RETURN(page, r.VectorChangesSince(col, name, after, limit));
      return Status::Ok();
    }).ok());
    return page;
  }
  VectorFeedState State(const std::string& col, const std::string& name) {
    VectorFeedState state;
    EXPECT_TRUE(store_->Read([&](Reader& r) -> Status {
      ASSIGN_OR_RETURN(state, r.LastVectorChange(col, name));
      return Status::Ok();
    }).ok());
    return state;
  }
  int64_t Last(const std::string& col, const std::string& name) { return State(col, name).last_change; }
  std::pair<int64_t, std::map<std::string, std::vector<float>>> Scan(const std::string& col, const std::string& name) {
    std::map<std::string, std::vector<float>> seen;
    int64_t seq = -1;
    EXPECT_TRUE(store_->Read([&](Reader& r) -> Status {
      ASSIGN_OR_RETURN(seq, r.ScanVectors(col, name, [&](const std::string& id, const float* v, size_t n) {
        seen[id] = std::vector<float>(v, v + n);
        return Status::Ok();
      }));
      return Status::Ok();
    }).ok());
    return {seq, seen};
  }
  // (doc id, op) of every change, for compact expectations.
  static std::vector<std::pair<std::string, Op>> Ops(const VectorChangePage& page) {
    std::vector<std::pair<std::string, Op>> out;
    for (const auto& c : page.changes) out.emplace_back(c.doc_id, c.op);
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<MetadataStore> store_;
  Scope scope_;
};

TEST_F(VectorFeedTest, PutsAndReplacementsAppearInOrderWithTheCurrentVector) {
  EXPECT_EQ(Last("col_1", "emb"), 0);
  ASSERT_TRUE(Put("doc_1", "col_1", "obj_1", {{{"emb", {1, 2}}, {"other", {9}}}, ""}).ok());
  ASSERT_TRUE(Put("doc_2", "col_1", "obj_2", {{{"emb", {3, 4}}}, ""}).ok());
  auto page = Since("col_1", "emb", 0);
  EXPECT_FALSE(page.truncated);
  ASSERT_EQ(Ops(page), (std::vector<std::pair<std::string, Op>>{{"doc_1", Op::kPut}, {"doc_2", Op::kPut}}));
  EXPECT_LT(page.changes[0].seq, page.changes[1].seq);
  EXPECT_EQ(page.changes[0].vec, (std::vector<float>{1, 2}));
  EXPECT_EQ(Last("col_1", "emb"), page.changes[1].seq);
  // Another vector name and another collection have feeds of their own.
  EXPECT_EQ(Since("col_1", "other", 0).changes.size(), 1u);
  EXPECT_TRUE(Since("col_2", "emb", 0).changes.empty());

  // Replacing: the old row goes, the new one comes. The earlier put now
  // carries the current vector, which the later changes explain.
  const int64_t before = page.changes[1].seq;
  ASSERT_TRUE(Put("doc_1", "col_1", "obj_1", {{{"emb", {5, 6}}}, ""}).ok());
  auto after = Since("col_1", "emb", before);
  ASSERT_EQ(Ops(after), (std::vector<std::pair<std::string, Op>>{{"doc_1", Op::kDelete}, {"doc_1", Op::kPut}}));
  EXPECT_FALSE(after.changes[0].vec.has_value());
  EXPECT_EQ(after.changes[1].vec, (std::vector<float>{5, 6}));
  EXPECT_EQ(Since("col_1", "emb", 0).changes[0].vec, (std::vector<float>{5, 6}));
  // "other" was dropped from doc_1 by the replacement.
  EXPECT_EQ(Ops(Since("col_1", "other", 0)),
            (std::vector<std::pair<std::string, Op>>{{"doc_1", Op::kPut}, {"doc_1", Op::kDelete}}));
  EXPECT_FALSE(Since("col_1", "other", 0).changes[0].vec.has_value());  // the row is gone

  // Paging.
  auto first = Since("col_1", "emb", 0, 2);
  ASSERT_EQ(first.changes.size(), 2u);
  auto rest = Since("col_1", "emb", first.changes.back().seq, 100);
  EXPECT_EQ(rest.changes.size(), 2u);
}

TEST_F(VectorFeedTest, EveryDeletePathIsFed) {
  ASSERT_TRUE(Put("doc_1", "col_1", "obj_1", {{{"emb", {1}}}, ""}).ok());
  ASSERT_TRUE(Put("doc_2", "col_1", "obj_2", {{{"emb", {2}}}, ""}).ok());
  ASSERT_TRUE(Put("doc_3", "col_1", "obj_3", {{{"emb", {3}}}, ""}).ok());
  ASSERT_TRUE(Put("doc_4", "col_1", "obj_4", {{{"emb", {4}}}, ""}, "run_old").ok());
  int64_t mark = Last("col_1", "emb");

  ASSERT_TRUE(store_->Write([&](Writer& w) { return w.Delete(Kind::kDocument, scope_, "doc_1"); }).ok());
  EXPECT_EQ(Ops(Since("col_1", "emb", mark)), (std::vector<std::pair<std::string, Op>>{{"doc_1", Op::kDelete}}));
  mark = Last("col_1", "emb");

  ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
    return w.DeleteSourceDocuments(scope_, "col_1", "obj_4", "run_new", Writer::RunMatch::kOtherRuns).status();
  }).ok());
  EXPECT_EQ(Ops(Since("col_1", "emb", mark)), (std::vector<std::pair<std::string, Op>>{{"doc_4", Op::kDelete}}));
  mark = Last("col_1", "emb");

  ASSERT_TRUE(store_->Write([&](Writer& w) -> Status {
    return w.DeleteAll(Kind::kDocument, scope_, std::string("col_1")).status();
  }).ok());
  auto page = Since("col_1", "emb", mark);
  ASSERT_EQ(page.changes.size(), 2u);
  EXPECT_EQ(page.changes[0].op, Op::kDelete);
  EXPECT_EQ(page.changes[1].op, Op::kDelete);
  EXPECT_TRUE(Scan("col_1", "emb").second.empty());
}

TEST_F(VectorFeedTest, ARolledBackWriteLeavesNoChange) {
  ASSERT_TRUE(Put("doc_1", "col_1", "obj_1", {{{"emb", {1}}}, ""}).ok());
  const int64_t mark = Last("col_1", "emb");
  Status st = store_->Write([&](Writer& w) -> Status {
    RETURN_IF_ERROR(w.PutFeatures(scope_, "col_1", "doc_1", {{{"emb", {7}}}, ""}));
    return Status::Internal("changed my mind");
  });
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(Since("col_1", "emb", mark).changes.empty());
  EXPECT_EQ(Last("col_1", "emb"), mark);
}

TEST_F(VectorFeedTest, ScanSeesEveryVectorAndASeqNoOlderThanThem) {
  ASSERT_TRUE(Put("doc_1", "col_1", "obj_1", {{{"emb", {1, 1}}}, ""}).ok());
  ASSERT_TRUE(Put("doc_2", "col_1", "obj_2", {{{"emb", {2, 2}}}, ""}).ok());
  ASSERT_TRUE(Put("doc_3", "col_2", "obj_3", {{{"emb", {3, 3}}}, ""}).ok());
  auto [seq, seen] = Scan("col_1", "emb");
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen["doc_2"], (std::vector<float>{2, 2}));
  EXPECT_GE(seq, Last("col_1", "emb"));
  EXPECT_GE(seq, Last("col_2", "emb"));  // one seq line for all collections
  EXPECT_EQ(seq, State("col_1", "emb").head);
  // A visitor's error stops the scan and comes back.
  Status st = store_->Read([&](Reader& r) -> Status {
    return r.ScanVectors("col_1", "emb", [](const std::string&, const float*, size_t) {
      return Status::Internal("stop");
    }).status();
  });
  EXPECT_EQ(st.message(), "stop");
}

TEST_F(VectorFeedTest, PruningReportsTruncationAndNeverReusesSeqs) {
  ASSERT_TRUE(Put("doc_1", "col_1", "obj_1", {{{"emb", {1}}}, ""}).ok());
  ASSERT_TRUE(Put("doc_2", "col_1", "obj_2", {{{"emb", {2}}}, ""}).ok());
  const int64_t last = Last("col_1", "emb");
  EXPECT_EQ(State("col_1", "emb").pruned_through, 0);
  ASSERT_TRUE(store_->Write([&](Writer& w) { return w.PruneVectorChanges(last); }).ok());
  auto state = State("col_1", "emb");
  EXPECT_EQ(state.last_change, 0);  // nothing left in the feed...
  EXPECT_EQ(state.pruned_through, last);  // ...and the state says why
  EXPECT_EQ(state.head, last);
  EXPECT_TRUE(Since("col_1", "emb", 0).truncated);  // an index at 0 cannot catch up
  EXPECT_FALSE(Since("col_1", "emb", last).truncated);
  // Pruning through an older seq does not lower the mark.
  ASSERT_TRUE(store_->Write([&](Writer& w) { return w.PruneVectorChanges(1); }).ok());
  EXPECT_TRUE(Since("col_1", "emb", last - 1).truncated);

  ASSERT_TRUE(Put("doc_3", "col_1", "obj_3", {{{"emb", {3}}}, ""}).ok());
  auto page = Since("col_1", "emb", last);
  ASSERT_EQ(page.changes.size(), 1u);
  EXPECT_GT(page.changes[0].seq, last);
  EXPECT_GE(Scan("col_1", "emb").first, page.changes[0].seq);
}

}  // namespace
}  // namespace strata::storage
