#include "retrieve/fusion.h"

#include <gtest/gtest.h>

namespace strata::retrieve {
namespace {

RankedList List(std::vector<std::pair<std::string, double>> hits, double weight = 1.0) {
  RankedList l;
  for (auto& [id, s] : hits) l.hits.push_back({id, s});
  l.weight = weight;
  return l;
}

std::vector<std::string> Ids(const std::vector<VectorHit>& hits) {
  std::vector<std::string> out;
  for (const auto& h : hits) out.push_back(h.doc_id);
  return out;
}

TEST(FusionTest, RrfSumsReciprocalRanksWithWeightsAndK) {
  auto fused = Fuse("rrf", {List({{"a", 9}, {"b", 8}}), List({{"b", 0.9}, {"c", 0.1}}, 2.0)}, 10);
  ASSERT_TRUE(fused.ok());
  EXPECT_EQ(Ids(*fused), (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_DOUBLE_EQ((*fused)[0].score, 1.0 / 12 + 2.0 / 11);
  EXPECT_DOUBLE_EQ((*fused)[1].score, 2.0 / 12);
  EXPECT_DOUBLE_EQ((*fused)[2].score, 1.0 / 11);
}

// A list that did not return a document must not lift it above documents the
// list did return, however low their scores (z-scores would give it the mean).
TEST(FusionTest, DbsfNeverCreditsADocumentAListMissed) {
  RankedList bm25 = List({{"a", 30}, {"b", 20}, {"c", 2}, {"d", 1}}, 4.0);
  RankedList dense = List({{"x", 0.9}, {"c", 0.5}, {"a", 0.4}});
  auto fused = Fuse("dbsf", {bm25, dense});
  ASSERT_TRUE(fused.ok());
  const auto ids = Ids(*fused);
  // x, found by dense only, stays below d, which BM25 found.
  EXPECT_LT(std::find(ids.begin(), ids.end(), "d") - ids.begin(), std::find(ids.begin(), ids.end(), "x") - ids.begin());
  EXPECT_EQ(ids.front(), "a");
  for (const auto& h : *fused) {
    EXPECT_GE(h.score, 0.0);
    EXPECT_LE(h.score, 5.0);  // each list adds at most its weight
  }
  // All-equal scores map to 1 rather than dividing by zero.
  auto flat = Fuse("dbsf", {List({{"a", 3}, {"b", 3}})});
  ASSERT_TRUE(flat.ok());
  EXPECT_DOUBLE_EQ((*flat)[0].score, 1.0);
  EXPECT_DOUBLE_EQ((*flat)[1].score, 1.0);
}

TEST(FusionTest, WeightedAndMax) {
  auto weighted = Fuse("weighted", {List({{"a", 0.5}, {"b", 0.4}}), List({{"b", 0.4}}, 0.5)});
  ASSERT_TRUE(weighted.ok());
  EXPECT_EQ(Ids(*weighted), (std::vector<std::string>{"b", "a"}));
  EXPECT_DOUBLE_EQ((*weighted)[0].score, 0.6);
  auto max = Fuse("max", {List({{"a", 0.5}, {"b", 0.4}}), List({{"b", 0.45}})});
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(Ids(*max), (std::vector<std::string>{"a", "b"}));
  EXPECT_DOUBLE_EQ((*max)[1].score, 0.45);
  auto unknown = Fuse("borda", {List({{"a", 1}})});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("borda"), std::string::npos);
}

}  // namespace
}  // namespace strata::retrieve
