#include "index/vector_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "core/crypto.h"

namespace strata::index {
namespace {

std::vector<std::vector<float>> RandomVectors(size_t n, size_t dims, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::vector<float>> out(n, std::vector<float>(dims));
  for (auto& v : out) {
    for (auto& x : v) x = normal(rng);
  }
  return out;
}

std::string Id(size_t i) { return "doc_" + std::to_string(i); }

std::unique_ptr<VectorIndex> MakeIndex(IndexOptions o) {
  auto r = VectorIndex::Create(o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return std::move(r).value();
}

// Options that make every search walk the graph (no exact shortcut).
IndexOptions GraphOnly(Metric metric, size_t dims) {
  IndexOptions o;
  o.metric = metric;
  o.dims = dims;
  o.exact_min = 0;
  o.exact_factor = 0;
  return o;
}

std::vector<std::string> Ids(const std::vector<SearchHit>& hits) {
  std::vector<std::string> ids;
  for (const auto& h : hits) ids.push_back(h.doc_id);
  return ids;
}

// The true k nearest by brute force in the test itself, independent of the
// index's own code: squared L2 over the raw vectors.
std::vector<std::string> BruteForceL2(const std::vector<std::vector<float>>& base, const std::vector<float>& q,
                                      size_t k, const std::set<size_t>* allowed = nullptr) {
  std::vector<std::pair<double, size_t>> all;
  for (size_t i = 0; i < base.size(); ++i) {
    if (allowed && !allowed->count(i)) continue;
    double d = 0;
    for (size_t j = 0; j < q.size(); ++j) d += (double(base[i][j]) - q[j]) * (double(base[i][j]) - q[j]);
    all.emplace_back(d, i);
  }
  std::sort(all.begin(), all.end());
  std::vector<std::string> ids;
  for (size_t i = 0; i < std::min(k, all.size()); ++i) ids.push_back(Id(all[i].second));
  return ids;
}

double Recall(const std::vector<std::string>& got, const std::vector<std::string>& want) {
  std::set<std::string> w(want.begin(), want.end());
  size_t hit = 0;
  for (const auto& g : got) hit += w.count(g);
  return want.empty() ? 1.0 : double(hit) / double(want.size());
}

TEST(VectorIndexTest, GraphRecallMatchesBruteForceForEveryMetric) {
  const size_t n = 3000, dims = 32, k = 10;
  auto base = RandomVectors(n, dims, 1);
  auto queries = RandomVectors(50, dims, 2);
  for (Metric metric : {Metric::kEuclidean, Metric::kCosine, Metric::kDot}) {
    auto index = MakeIndex(GraphOnly(metric, dims));
    for (size_t i = 0; i < n; ++i) ASSERT_TRUE(index->Upsert(Id(i), base[i]).ok());
    double recall = 0;
    for (const auto& q : queries) {
      SearchInfo info;
      auto got = index->Search(q, k, nullptr, 100, &info);
      ASSERT_TRUE(got.ok());
      EXPECT_FALSE(info.exact);
      auto want = index->ExactSearch(q, k);
      ASSERT_TRUE(want.ok());
      ASSERT_EQ(got->size(), k);
      // Best first.
      for (size_t i = 1; i < got->size(); ++i) EXPECT_GE((*got)[i - 1].score, (*got)[i].score);
      recall += Recall(Ids(*got), Ids(*want));
    }
    EXPECT_GE(recall / queries.size(), 0.95) << MetricName(metric);
  }
}

TEST(VectorIndexTest, ExactSearchAgreesWithIndependentBruteForce) {
  const size_t n = 500, dims = 8;
  auto base = RandomVectors(n, dims, 3);
  auto index = MakeIndex(GraphOnly(Metric::kEuclidean, dims));
  for (size_t i = 0; i < n; ++i) ASSERT_TRUE(index->Upsert(Id(i), base[i]).ok());
  auto q = RandomVectors(1, dims, 4)[0];
  auto got = index->ExactSearch(q, 7);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Ids(*got), BruteForceL2(base, q, 7));
}

TEST(VectorIndexTest, ScoresAreSimilaritiesHigherIsBetter) {
  std::vector<float> a = {3, 4}, b = {4, -3};
  {
    auto index = MakeIndex(GraphOnly(Metric::kCosine, 2));
    ASSERT_TRUE(index->Upsert("a", a).ok());
    ASSERT_TRUE(index->Upsert("b", b).ok());
    auto hits = index->Search(std::vector<float>{6, 8}, 2);
    ASSERT_TRUE(hits.ok());
    ASSERT_EQ(hits->size(), 2u);
    EXPECT_EQ((*hits)[0].doc_id, "a");
    EXPECT_NEAR((*hits)[0].score, 1.0, 1e-6);  // same direction
    EXPECT_NEAR((*hits)[1].score, 0.0, 1e-6);  // orthogonal
  }
  {
    auto index = MakeIndex(GraphOnly(Metric::kDot, 2));
    ASSERT_TRUE(index->Upsert("a", a).ok());
    auto hits = index->Search(std::vector<float>{1, 1}, 1);
    ASSERT_TRUE(hits.ok());
    EXPECT_NEAR((*hits)[0].score, 7.0, 1e-5);
  }
  {
    auto index = MakeIndex(GraphOnly(Metric::kEuclidean, 2));
    ASSERT_TRUE(index->Upsert("a", a).ok());
    auto same = index->Search(a, 1);
    ASSERT_TRUE(same.ok());
    EXPECT_NEAR((*same)[0].score, 1.0, 1e-6);
    auto far = index->Search(std::vector<float>{0, 0}, 1);  // distance 5
    EXPECT_NEAR((*far)[0].score, 1.0 / 6.0, 1e-6);
  }
}

TEST(VectorIndexTest, UpsertReplacesTheVector) {
  const size_t dims = 16;
  auto base = RandomVectors(200, dims, 5);
  auto index = MakeIndex(GraphOnly(Metric::kEuclidean, dims));
  for (size_t i = 0; i < base.size(); ++i) ASSERT_TRUE(index->Upsert(Id(i), base[i]).ok());
  std::vector<float> target(dims, 50.0f);
  ASSERT_TRUE(index->Upsert(Id(7), target).ok());
  EXPECT_EQ(index->size(), base.size());
  auto hits = index->Search(target, 1);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ((*hits)[0].doc_id, Id(7));
  EXPECT_NEAR((*hits)[0].score, 1.0, 1e-6);
  // The old position no longer finds it first.
  auto old = index->Search(base[7], 1);
  EXPECT_NE((*old)[0].doc_id, Id(7));
  // The same vector again changes nothing.
  ASSERT_TRUE(index->Upsert(Id(7), target).ok());
  EXPECT_EQ(index->size(), base.size());
}

TEST(VectorIndexTest, RemoveHidesAndItsSlotIsReused) {
  const size_t dims = 16;
  auto base = RandomVectors(300, dims, 6);
  auto index = MakeIndex(GraphOnly(Metric::kEuclidean, dims));
  for (size_t i = 0; i < base.size(); ++i) ASSERT_TRUE(index->Upsert(Id(i), base[i]).ok());
  ASSERT_TRUE(index->Remove(Id(42)).ok());
  ASSERT_TRUE(index->Remove("never-there").ok());
  EXPECT_EQ(index->size(), base.size() - 1);
  EXPECT_FALSE(index->Contains(Id(42)));
  EXPECT_EQ(index->free_slots(), 1u);
  {
    auto hits = index->Search(base[42], 20);
    ASSERT_TRUE(hits.ok());
    for (const auto& h : *hits) EXPECT_NE(h.doc_id, Id(42));
    auto ex = index->ExactSearch(base[42], 20);
    for (const auto& h : *ex) EXPECT_NE(h.doc_id, Id(42));
  }
  // A new document takes the freed node.
  ASSERT_TRUE(index->Upsert("new", base[42]).ok());
  EXPECT_EQ(index->free_slots(), 0u);
  auto hits = index->Search(base[42], 1);
  EXPECT_EQ((*hits)[0].doc_id, "new");
  // And a removed document can come back.
  ASSERT_TRUE(index->Remove(Id(3)).ok());
  ASSERT_TRUE(index->Upsert(Id(3), base[3]).ok());
  EXPECT_EQ((*index->Search(base[3], 1))[0].doc_id, Id(3));
}

TEST(VectorIndexTest, FilteredSearchAtOneInAThousandReturnsExactlyTheAllowedNearest) {
  const size_t n = 20000, dims = 16, k = 10;
  auto base = RandomVectors(n, dims, 7);
  auto index = MakeIndex(IndexOptions{.metric = Metric::kEuclidean, .dims = dims});
  std::vector<std::pair<std::string, std::vector<float>>> items;
  for (size_t i = 0; i < n; ++i) items.emplace_back(Id(i), base[i]);
  ASSERT_TRUE(index->Build(items, 2).ok());

  std::mt19937 rng(8);
  std::set<size_t> allowed;
  while (allowed.size() < n / 1000) allowed.insert(rng() % n);
  std::vector<std::string> ids;
  for (size_t i : allowed) ids.push_back(Id(i));
  ids.push_back("not-in-index");
  SearchFilter filter{.ids = &ids};
  for (const auto& q : RandomVectors(20, dims, 9)) {
    SearchInfo info;
    auto got = index->Search(q, k, &filter, 0, &info);
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(info.exact);
    EXPECT_EQ(info.candidates, allowed.size());
    EXPECT_EQ(Ids(*got), BruteForceL2(base, q, k, &allowed));
  }
  // The same through a predicate.
  SearchFilter pred{.allow = [&](const std::string& id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }};
  auto q = RandomVectors(1, dims, 10)[0];
  auto got = index->Search(q, k, &pred);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Ids(*got), BruteForceL2(base, q, k, &allowed));
}

TEST(VectorIndexTest, LooselyFilteredSearchWalksTheGraphAndReturnsOnlyAllowed) {
  const size_t n = 20000, dims = 16, k = 10;
  auto base = RandomVectors(n, dims, 11);
  auto index = MakeIndex(IndexOptions{.metric = Metric::kEuclidean, .dims = dims});
  std::vector<std::pair<std::string, std::vector<float>>> items;
  for (size_t i = 0; i < n; ++i) items.emplace_back(Id(i), base[i]);
  ASSERT_TRUE(index->Build(items, 2).ok());
  std::set<size_t> allowed;
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; i += 3) {
    allowed.insert(i);
    ids.push_back(Id(i));
  }
  SearchFilter filter{.ids = &ids};
  double recall = 0;
  const auto queries = RandomVectors(30, dims, 12);
  for (const auto& q : queries) {
    SearchInfo info;
    auto got = index->Search(q, k, &filter, 64, &info);
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(info.exact);
    ASSERT_EQ(got->size(), k);
    for (const auto& h : *got) EXPECT_TRUE(allowed.count(std::stoul(h.doc_id.substr(4)))) << h.doc_id;
    recall += Recall(Ids(*got), BruteForceL2(base, q, k, &allowed));
  }
  EXPECT_GE(recall / queries.size(), 0.95);
}

TEST(VectorIndexTest, BuildWithThreadsKeepsIdsAndVectorsTogether) {
  const size_t n = 4000, dims = 8;
  auto base = RandomVectors(n, dims, 13);
  auto index = MakeIndex(GraphOnly(Metric::kEuclidean, dims));
  std::vector<std::pair<std::string, std::vector<float>>> items;
  for (size_t i = 0; i < n; ++i) items.emplace_back(Id(i), base[i]);
  ASSERT_TRUE(index->Build(items, 4).ok());
  EXPECT_EQ(index->size(), n);
  for (size_t i = 0; i < n; i += 97) {
    auto hits = index->Search(base[i], 1);
    ASSERT_TRUE(hits.ok());
    EXPECT_EQ((*hits)[0].doc_id, Id(i));
    EXPECT_NEAR((*hits)[0].score, 1.0, 1e-6);
  }
}

TEST(VectorIndexTest, Int8WithRescoringKeepsRecall) {
  // Random Gaussian vectors are the hard case for any graph (no clusters):
  // int8 is held to 0.9 and to the float graph's recall on the same data.
  const size_t n = 5000, dims = 64, k = 10, ef = 128;
  auto base = RandomVectors(n, dims, 14);
  const auto queries = RandomVectors(40, dims, 15);
  for (Metric metric : {Metric::kEuclidean, Metric::kCosine, Metric::kDot}) {
    double recall[2] = {0, 0};
    for (Quantization quant : {Quantization::kNone, Quantization::kInt8}) {
      IndexOptions o = GraphOnly(metric, dims);
      o.quantization = quant;
      auto index = MakeIndex(o);
      // One at a time: an int8 index is exact while training, a graph from the 1024th on.
      for (size_t i = 0; i < n; ++i) ASSERT_TRUE(index->Upsert(Id(i), base[i]).ok());
      for (const auto& q : queries) {
        SearchInfo info;
        auto got = index->Search(q, k, nullptr, ef, &info);
        ASSERT_TRUE(got.ok());
        EXPECT_FALSE(info.exact);
        auto want = index->ExactSearch(q, k);
        recall[int(quant)] += Recall(Ids(*got), Ids(*want)) / queries.size();
        // Rescored: the scores are the exact ones.
        if (!got->empty() && (*got)[0].doc_id == (*want)[0].doc_id) {
          EXPECT_FLOAT_EQ((*got)[0].score, (*want)[0].score);
        }
      }
    }
    EXPECT_GE(recall[1], 0.9) << MetricName(metric);
    EXPECT_GE(recall[1], recall[0] - 0.03) << MetricName(metric);
  }
}

TEST(VectorIndexTest, Int8BelowItsTrainingSizeSearchesExactly) {
  const size_t dims = 8;
  auto base = RandomVectors(100, dims, 16);
  IndexOptions o = GraphOnly(Metric::kEuclidean, dims);
  o.quantization = Quantization::kInt8;
  auto index = MakeIndex(o);
  for (size_t i = 0; i < base.size(); ++i) ASSERT_TRUE(index->Upsert(Id(i), base[i]).ok());
  ASSERT_TRUE(index->Remove(Id(5)).ok());
  SearchInfo info;
  auto got = index->Search(base[9], 3, nullptr, 0, &info);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(info.exact);
  EXPECT_EQ((*got)[0].doc_id, Id(9));
}

TEST(VectorIndexTest, RejectsBadInput) {
  EXPECT_FALSE(VectorIndex::Create(IndexOptions{.dims = 0}).ok());
  auto index = MakeIndex(IndexOptions{.dims = 3});
  EXPECT_FALSE(index->Upsert("a", std::vector<float>{1, 2}).ok());
  EXPECT_FALSE(index->Upsert("a", std::vector<float>{1, 2, std::nanf("")}).ok());
  EXPECT_FALSE(index->Upsert("", std::vector<float>{1, 2, 3}).ok());
  EXPECT_FALSE(index->Search(std::vector<float>{1, 2}, 3).ok());
  auto empty = index->Search(std::vector<float>{1, 2, 3}, 3);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(ParseMetric("manhattan").ok());
  EXPECT_EQ(*ParseMetric("l2"), Metric::kEuclidean);
}

class VectorIndexFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("strata-vidx-" + RandomAlnum(8));
    auto f = storage::IndexFiles::Open(dir_.string());
    ASSERT_TRUE(f.ok());
    files_ = std::move(f).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Status Save(const VectorIndex& index, const std::string& name) {
    ASSIGN_OR_RETURN(auto w, files_->NewWriter(name));
    RETURN_IF_ERROR(index.Save(*w));
    return w->Commit();
  }
  Result<std::unique_ptr<VectorIndex>> Load(const std::string& name, const IndexOptions& o) {
    ASSIGN_OR_RETURN(auto r, files_->OpenReader(name));
    return VectorIndex::Load(*r, o);
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::IndexFiles> files_;
};

TEST_F(VectorIndexFileTest, SaveAndLoadRoundTrip) {
  const size_t n = 3000, dims = 24;
  auto base = RandomVectors(n, dims, 17);
  for (Quantization quant : {Quantization::kNone, Quantization::kInt8}) {
    IndexOptions o = GraphOnly(Metric::kCosine, dims);
    o.quantization = quant;
    auto index = MakeIndex(o);
    for (size_t i = 0; i < n; ++i) ASSERT_TRUE(index->Upsert(Id(i), base[i]).ok());
    for (size_t i = 0; i < n; i += 10) ASSERT_TRUE(index->Remove(Id(i)).ok());
    index->set_applied_seq(1234);
    ASSERT_TRUE(Save(*index, "a.vidx").ok());

    auto loaded = Load("a.vidx", o);
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    EXPECT_EQ((*loaded)->applied_seq(), 1234);
    EXPECT_EQ((*loaded)->size(), index->size());
    EXPECT_EQ((*loaded)->free_slots(), index->free_slots());
    for (const auto& q : RandomVectors(10, dims, 18)) {
      auto a = index->Search(q, 10);
      auto b = (*loaded)->Search(q, 10);
      ASSERT_TRUE(a.ok() && b.ok());
      EXPECT_EQ(Ids(*a), Ids(*b));
    }
    // The loaded index takes changes like the original.
    ASSERT_TRUE((*loaded)->Upsert("fresh", base[0]).ok());
    EXPECT_EQ((*(*loaded)->Search(base[0], 1))[0].doc_id, "fresh");
  }
}

TEST_F(VectorIndexFileTest, DamagedOrMismatchedFilesAreRefused) {
  const size_t dims = 8;
  auto base = RandomVectors(200, dims, 19);
  IndexOptions o{.metric = Metric::kEuclidean, .dims = dims};
  auto index = MakeIndex(o);
  for (size_t i = 0; i < base.size(); ++i) ASSERT_TRUE(index->Upsert(Id(i), base[i]).ok());
  ASSERT_TRUE(Save(*index, "a.vidx").ok());
  auto bytes = files_->ReadAll("a.vidx");
  ASSERT_TRUE(bytes.ok());

  IndexOptions other = o;
  other.metric = Metric::kCosine;
  EXPECT_EQ(Load("a.vidx", other).status().code(), StatusCode::kStorage);
  other = o;
  other.dims = 9;
  EXPECT_FALSE(Load("a.vidx", other).ok());

  for (size_t at : {size_t{3}, size_t{60}, bytes->size() / 2, bytes->size() - 70, bytes->size() - 1}) {
    std::string damaged = *bytes;
    damaged[at] ^= 0x5a;
    ASSERT_TRUE(files_->WriteAll("b.vidx", damaged).ok());
    EXPECT_EQ(Load("b.vidx", o).status().code(), StatusCode::kStorage) << "byte " << at;
  }
  ASSERT_TRUE(files_->WriteAll("c.vidx", bytes->substr(0, bytes->size() / 3)).ok());
  EXPECT_EQ(Load("c.vidx", o).status().code(), StatusCode::kStorage);
}

// Readers search while one writer upserts and removes: no search fails,
// every hit is a document that was written, hits are best first, and the
// index ends in the state the writer left. Run under ASan/UBSan too.
TEST(VectorIndexConcurrencyTest, ReadersSearchWhileAWriterChangesTheIndex) {
  for (Quantization quant : {Quantization::kNone, Quantization::kInt8}) {
    const size_t dims = 16, initial = 1500, changes = 1500;
    auto base = RandomVectors(initial + changes, dims, 20);
    IndexOptions o{.metric = Metric::kCosine, .dims = dims, .quantization = quant};
    o.exact_min = 64;  // mostly graph walks, some exact scans through filters
    o.exact_factor = 0;
    auto index = MakeIndex(o);
    std::vector<std::pair<std::string, std::vector<float>>> items;
    for (size_t i = 0; i < initial; ++i) items.emplace_back(Id(i), base[i]);
    ASSERT_TRUE(index->Build(items, 2).ok());

    std::atomic<bool> done{false};
    std::atomic<size_t> searches{0}, failures{0};
    std::vector<std::string> some_ids;
    for (size_t i = 0; i < initial + changes; i += 7) some_ids.push_back(Id(i));
    auto reader = [&](uint32_t seed) {
      auto queries = RandomVectors(50, dims, seed);
      SearchFilter filter{.ids = &some_ids};
      for (size_t i = 0; !done || i < 50; ++i) {
        const bool filtered = i % 3 == 0;
        auto hits = index->Search(queries[i % queries.size()], 10, filtered ? &filter : nullptr);
        ++searches;
        if (!hits.ok()) {
          ++failures;
          continue;
        }
        for (size_t j = 0; j < hits->size(); ++j) {
          const auto& h = (*hits)[j];
          if (h.doc_id.rfind("doc_", 0) != 0 || std::stoul(h.doc_id.substr(4)) >= initial + changes) ++failures;
          if (j > 0 && (*hits)[j - 1].score < h.score) ++failures;
          if (filtered && std::stoul(h.doc_id.substr(4)) % 7 != 0) ++failures;
        }
      }
    };
    std::vector<std::thread> readers;
    for (uint32_t t = 0; t < 3; ++t) readers.emplace_back(reader, 100 + t);
    std::set<size_t> live;
    for (size_t i = 0; i < initial; ++i) live.insert(i);
    for (size_t c = 0; c < changes; ++c) {
      const size_t id = initial + c;
      ASSERT_TRUE(index->Upsert(Id(id), base[id]).ok());
      live.insert(id);
      if (c % 2 == 0) {  // remove an older one
        const size_t victim = (c * 7919) % id;
        ASSERT_TRUE(index->Remove(Id(victim)).ok());
        live.erase(victim);
      }
      if (c % 5 == 0) {  // replace or revive
        ASSERT_TRUE(index->Upsert(Id(c), base[id]).ok());
        live.insert(c);
      }
      index->set_applied_seq(static_cast<int64_t>(c));
    }
    done = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(failures.load(), 0u);
    EXPECT_GT(searches.load(), 0u);
    EXPECT_EQ(index->size(), live.size());
    for (size_t i = 0; i < initial + changes; i += 37) EXPECT_EQ(index->Contains(Id(i)), live.count(i) > 0) << i;
  }
}

}  // namespace
}  // namespace strata::index
