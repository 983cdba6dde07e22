#include "index/index_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "core/crypto.h"

namespace strata::index {
namespace {

using storage::Kind;
using storage::Record;
using storage::Scope;

class IndexManagerTest : public ::testing::Test {
 protected:
  static constexpr size_t kDims = 8;

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("strata-ixm-" + RandomAlnum(8));
    std::filesystem::create_directories(dir_);
    auto s = storage::OpenSqliteMetadataStore((dir_ / "strata.db").string());
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s).value();
    auto f = storage::IndexFiles::Open(dir_.string());
    ASSERT_TRUE(f.ok());
    files_ = std::move(f).value();
    ASSERT_TRUE(store_->Write([&](storage::Writer& w) -> Status {
      ASSIGN_OR_RETURN(auto a, w.CreateOrganization("org_a", Json::object()));
      scope_ = Scope{a.internal_id, "ns_a"};
      return w.Insert(Kind::kNamespace, Scope{scope_.org, ""}, Record{"ns_a", "", "a", {}, {}, Json::object()});
    }).ok());
    NewManager();
  }
  void TearDown() override {
    manager_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // A manager as a restarted process would have it.
  void NewManager() {
    IndexManagerOptions o;
    o.index.exact_min = 0;  // walk the graph even on these small sets
    o.index.exact_factor = 0;
    manager_ = std::make_unique<IndexManager>(*store_, *files_, o);
  }

  static std::vector<float> Vec(size_t i) {
    std::mt19937 rng(static_cast<uint32_t>(i) + 1);
    std::normal_distribution<float> normal;
    std::vector<float> v(kDims);
    for (auto& x : v) x = normal(rng);
    return v;
  }
  static std::string Id(size_t i) { return "doc_" + std::to_string(i); }

  Status Put(const std::string& col, size_t i, std::vector<float> v = {}) {
    if (v.empty()) v = Vec(i);
    return store_->Write([&](storage::Writer& w) -> Status {
      RETURN_IF_ERROR(w.Upsert(Kind::kDocument, scope_, Record{Id(i), col, {}, {}, {}, Json::object()}));
      return w.PutFeatures(scope_, col, Id(i), {{{"emb", v}}, ""});
    });
  }
  Status PutMany(const std::string& col, size_t from, size_t to) {
    return store_->Write([&](storage::Writer& w) -> Status {
      for (size_t i = from; i < to; ++i) {
        RETURN_IF_ERROR(w.Upsert(Kind::kDocument, scope_, Record{Id(i), col, {}, {}, {}, Json::object()}));
        RETURN_IF_ERROR(w.PutFeatures(scope_, col, Id(i), {{{"emb", Vec(i)}}, ""}));
      }
      return Status::Ok();
    });
  }
  Status Delete(size_t i) {
    return store_->Write([&](storage::Writer& w) { return w.Delete(Kind::kDocument, scope_, Id(i)); });
  }
  std::string Top(const std::string& col, const std::vector<float>& q) {
    auto hits = manager_->Search(col, "emb", Metric::kEuclidean, q, 1);
    EXPECT_TRUE(hits.ok()) << hits.status().message();
    return hits.ok() && !hits->empty() ? (*hits)[0].doc_id : "";
  }
  size_t Size(const std::string& col) {
    auto index = manager_->Acquire(col, "emb", Metric::kEuclidean, kDims);
    EXPECT_TRUE(index.ok());
    return index.ok() ? (*index)->size() : 0;
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::MetadataStore> store_;
  std::unique_ptr<storage::IndexFiles> files_;
  std::unique_ptr<IndexManager> manager_;
  Scope scope_;
};

TEST_F(IndexManagerTest, BuildsFromTheStoreWhenThereIsNoFile) {
  ASSERT_TRUE(PutMany("col_1", 0, 500).ok());
  ASSERT_TRUE(PutMany("col_2", 500, 600).ok());
  EXPECT_EQ(Top("col_1", Vec(42)), Id(42));
  EXPECT_EQ(Size("col_1"), 500u);
  EXPECT_EQ(Size("col_2"), 100u);
  EXPECT_EQ(manager_->stats().rebuilds, 2);
  EXPECT_EQ(manager_->stats().loads, 0);
}

TEST_F(IndexManagerTest, EverySearchSeesTheWritesCommittedBeforeIt) {
  ASSERT_TRUE(PutMany("col_1", 0, 300).ok());
  EXPECT_EQ(Size("col_1"), 300u);
  // New documents.
  ASSERT_TRUE(Put("col_1", 1000).ok());
  EXPECT_EQ(Top("col_1", Vec(1000)), Id(1000));
  // A replaced vector.
  std::vector<float> far(kDims, 40.0f);
  ASSERT_TRUE(Put("col_1", 7, far).ok());
  EXPECT_EQ(Top("col_1", far), Id(7));
  EXPECT_NE(Top("col_1", Vec(7)), Id(7));
  // Deletes: one document, then documents of an older run of a source, then all.
  ASSERT_TRUE(Delete(1000).ok());
  EXPECT_NE(Top("col_1", Vec(1000)), Id(1000));
  EXPECT_EQ(Size("col_1"), 300u);
  ASSERT_TRUE(store_->Write([&](storage::Writer& w) -> Status {
    return w.DeleteAll(Kind::kDocument, scope_, std::string("col_1")).status();
  }).ok());
  EXPECT_EQ(Size("col_1"), 0u);
  auto stats = manager_->stats();
  EXPECT_EQ(stats.rebuilds, 1);  // the first build only: the rest came from the feed
  EXPECT_GE(stats.changes_applied, 300);
}

TEST_F(IndexManagerTest, PersistedIndexesLoadAndCatchUp) {
  ASSERT_TRUE(PutMany("col_1", 0, 400).ok());
  EXPECT_EQ(Size("col_1"), 400u);
  ASSERT_TRUE(manager_->Persist().ok());
  EXPECT_EQ(manager_->stats().saves, 1);
  ASSERT_TRUE(manager_->Persist().ok());  // nothing changed: nothing written
  EXPECT_EQ(manager_->stats().saves, 1);
  ASSERT_TRUE(files_->OpenReader(IndexManager::FileName("col_1", "emb", Metric::kEuclidean)).ok());

  // Changes after the save, then a restart.
  ASSERT_TRUE(Put("col_1", 2000).ok());
  ASSERT_TRUE(Delete(3).ok());
  NewManager();
  EXPECT_EQ(Top("col_1", Vec(2000)), Id(2000));
  EXPECT_NE(Top("col_1", Vec(3)), Id(3));
  EXPECT_EQ(Size("col_1"), 400u);
  auto stats = manager_->stats();
  EXPECT_EQ(stats.loads, 1);
  EXPECT_EQ(stats.rebuilds, 0);
  EXPECT_GE(stats.changes_applied, 2);
}

TEST_F(IndexManagerTest, ADamagedFileIsRebuiltFromTheStore) {
  ASSERT_TRUE(PutMany("col_1", 0, 300).ok());
  EXPECT_EQ(Size("col_1"), 300u);
  ASSERT_TRUE(manager_->Persist().ok());
  const std::string file = IndexManager::FileName("col_1", "emb", Metric::kEuclidean);
  auto bytes = files_->ReadAll(file);
  ASSERT_TRUE(bytes.ok());
  (*bytes)[bytes->size() / 2] ^= 0x01;
  ASSERT_TRUE(files_->WriteAll(file, *bytes).ok());
  NewManager();
  EXPECT_EQ(Top("col_1", Vec(17)), Id(17));
  EXPECT_EQ(Size("col_1"), 300u);
  EXPECT_EQ(manager_->stats().loads, 0);
  EXPECT_EQ(manager_->stats().rebuilds, 1);
  // Garbage, and an empty file, too.
  ASSERT_TRUE(files_->WriteAll(file, "not an index").ok());
  NewManager();
  EXPECT_EQ(Size("col_1"), 300u);
  EXPECT_EQ(manager_->stats().rebuilds, 1);
}

TEST_F(IndexManagerTest, AFileOlderThanTheFeedReachesIsRebuilt) {
  ASSERT_TRUE(PutMany("col_1", 0, 200).ok());
  EXPECT_EQ(Size("col_1"), 200u);
  ASSERT_TRUE(manager_->Persist().ok());
  ASSERT_TRUE(Put("col_1", 5000).ok());
  // Some other process pruned past what the file has applied.
  int64_t last = 0;
  ASSERT_TRUE(store_->Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto state, r.LastVectorChange("col_1", "emb"));
    last = state.last_change;
    return Status::Ok();
  }).ok());
  ASSERT_TRUE(store_->Write([&](storage::Writer& w) { return w.PruneVectorChanges(last); }).ok());
  NewManager();
  EXPECT_EQ(Top("col_1", Vec(5000)), Id(5000));
  EXPECT_EQ(Size("col_1"), 201u);
  EXPECT_EQ(manager_->stats().loads, 1);
  EXPECT_EQ(manager_->stats().rebuilds, 1);
}

TEST_F(IndexManagerTest, PersistPrunesWhatEveryIndexHasApplied) {
  ASSERT_TRUE(PutMany("col_1", 0, 50).ok());
  ASSERT_TRUE(PutMany("col_2", 50, 100).ok());
  EXPECT_EQ(Size("col_1"), 50u);
  ASSERT_TRUE(manager_->Persist().ok());
  // col_2 has no index yet: pruning does not wait for it (it will scan).
  auto truncated = [&](const std::string& col) {
    bool t = false;
    EXPECT_TRUE(store_->Read([&](storage::Reader& r) -> Status {
      ASSIGN_OR_RETURN(auto page, r.VectorChangesSince(col, "emb", 0, 10));
      t = page.truncated;
      return Status::Ok();
    }).ok());
    return t;
  };
  EXPECT_TRUE(truncated("col_1"));
  EXPECT_EQ(Size("col_2"), 50u);  // built from a scan all the same
  // A later change is still in the feed for the persisted index.
  ASSERT_TRUE(Put("col_1", 777).ok());
  NewManager();
  EXPECT_EQ(Top("col_1", Vec(777)), Id(777));
  EXPECT_EQ(manager_->stats().loads, 1);
  EXPECT_EQ(manager_->stats().rebuilds, 0);
}

TEST_F(IndexManagerTest, DropForgetsTheCollectionAndItsFiles) {
  ASSERT_TRUE(PutMany("col_1", 0, 50).ok());
  ASSERT_TRUE(PutMany("col_10", 50, 60).ok());
  EXPECT_EQ(Size("col_1"), 50u);
  EXPECT_EQ(Size("col_10"), 10u);
  ASSERT_TRUE(manager_->Persist().ok());
  ASSERT_TRUE(manager_->Drop("col_1").ok());
  EXPECT_EQ(files_->OpenReader(IndexManager::FileName("col_1", "emb", Metric::kEuclidean)).status().code(),
            StatusCode::kNotFound);
  // Another collection whose id starts the same is untouched.
  EXPECT_TRUE(files_->OpenReader(IndexManager::FileName("col_10", "emb", Metric::kEuclidean)).ok());
  EXPECT_EQ(Size("col_10"), 10u);
}

TEST_F(IndexManagerTest, ExactSearchReadsTheStoreAndAgreesWithTheIndex) {
  ASSERT_TRUE(PutMany("col_1", 0, 300).ok());
  std::vector<std::string> allowed = {Id(3), Id(30), Id(300), Id(299)};
  SearchFilter filter{.ids = &allowed};
  for (Metric metric : {Metric::kEuclidean, Metric::kCosine, Metric::kDot}) {
    auto q = Vec(9999);
    auto exact = manager_->ExactSearch("col_1", "emb", metric, q, 10);
    ASSERT_TRUE(exact.ok());
    auto index = manager_->Acquire("col_1", "emb", metric, kDims);
    ASSERT_TRUE(index.ok());
    auto want = (*index)->ExactSearch(q, 10);
    ASSERT_EQ(exact->size(), want->size());
    for (size_t i = 0; i < exact->size(); ++i) {
      EXPECT_EQ((*exact)[i].doc_id, (*want)[i].doc_id);
      EXPECT_NEAR((*exact)[i].score, (*want)[i].score, 1e-4);
    }
    auto filtered = manager_->ExactSearch("col_1", "emb", metric, q, 10, &filter);
    ASSERT_TRUE(filtered.ok());
    EXPECT_EQ(filtered->size(), 3u);  // doc_300 does not exist
  }
}

TEST_F(IndexManagerTest, BadVectorsInTheStoreAreSkippedNotFatal) {
  ASSERT_TRUE(PutMany("col_1", 0, 20).ok());
  ASSERT_TRUE(Put("col_1", 20, std::vector<float>{1, 2, 3}).ok());  // wrong dimensions
  EXPECT_EQ(Size("col_1"), 20u);
  ASSERT_TRUE(Put("col_1", 21, std::vector<float>{1, 2}).ok());
  EXPECT_EQ(Size("col_1"), 20u);
  EXPECT_EQ(manager_->stats().skipped, 2);
  EXPECT_EQ(manager_->Acquire("col_1", "emb", Metric::kEuclidean, 3).status().code(), StatusCode::kBadRequest);
}

// Searches through the manager on several threads while documents are
// written and deleted: every search succeeds, and the end state is the store's.
TEST_F(IndexManagerTest, SearchesRunWhileTheStoreChanges) {
  ASSERT_TRUE(PutMany("col_1", 0, 500).ok());
  EXPECT_EQ(Size("col_1"), 500u);
  std::atomic<bool> done{false};
  std::atomic<int> failures{0}, searches{0};
  auto reader = [&](size_t seed) {
    for (size_t i = 0; !done || i < 20; ++i) {
      auto hits = manager_->Search("col_1", "emb", Metric::kEuclidean, Vec(seed + i), 5);
      ++searches;
      if (!hits.ok() || hits->size() > 5) ++failures;
    }
  };
  std::vector<std::thread> readers;
  for (size_t t = 0; t < 3; ++t) readers.emplace_back(reader, 10000 * (t + 1));
  std::set<size_t> live;
  for (size_t i = 0; i < 500; ++i) live.insert(i);
  for (size_t i = 500; i < 800; ++i) {
    ASSERT_TRUE(Put("col_1", i).ok());
    live.insert(i);
    if (i % 3 == 0) {
      ASSERT_TRUE(Delete(i - 400).ok());
      live.erase(i - 400);
    }
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(searches.load(), 0);
  EXPECT_EQ(Size("col_1"), live.size());
}

}  // namespace
}  // namespace strata::index
