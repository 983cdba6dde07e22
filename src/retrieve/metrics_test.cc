#include "retrieve/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace strata::retrieve {
namespace {

constexpr double kEps = 1e-12;

// Query A, the running example (a pytrec_eval-style qrels/run pair):
//   ranking    d1 d2 d3 d4 d5
//   grades      0  3  -  1  -      plus d6 graded 2, never retrieved
// Relevant: d2, d4, d6, so R = 3; relevant ranks are 2 and 4.
const std::vector<std::string> kRankingA = {"d1", "d2", "d3", "d4", "d5"};
const Judgements kJudgementsA = {{"d1", 0}, {"d2", 3}, {"d4", 1}, {"d6", 2}};

void ExpectMetrics(const RankingMetrics& m, double p, double r, double f1, double ap, double ndcg, double rr) {
  EXPECT_NEAR(m.precision, p, kEps);
  EXPECT_NEAR(m.recall, r, kEps);
  EXPECT_NEAR(m.f1, f1, kEps);
  EXPECT_NEAR(m.average_precision, ap, kEps);
  EXPECT_NEAR(m.ndcg, ndcg, kEps);
  EXPECT_NEAR(m.reciprocal_rank, rr, kEps);
}

TEST(Metrics, HandComputedAtFive) {
  // What pytrec_eval reports for P_5, recall_5, map_cut_5, ndcg_cut_5 and
  // recip_rank on this pair:
  //   P@5    = 2 relevant in the top 5 / 5                       = 0.4
  //   R@5    = 2 / R = 2 / 3
  //   F1@5   = 2 · 0.4 · (2/3) / (0.4 + 2/3) = (8/15) / (16/15) = 0.5
  //   AP@5   = (P@2 + P@4) / R = (1/2 + 2/4) / 3                 = 1/3
  //   DCG@5  = 3 / log2(3) + 1 / log2(5)    (linear gain, rank 2 and 4)
  //          = 1.892789 + 0.430677                               = 2.323466
  //   IDCG@5 = 3 / log2(2) + 2 / log2(3) + 1 / log2(4)  (grades 3, 2, 1)
  //          = 3 + 1.261860 + 0.5                                = 4.761860
  //   nDCG@5 = 2.323466 / 4.761860                               = 0.487932
  //   RR     = 1 / 2 (d2, the first relevant, is at rank 2)
  RankingMetrics m = ComputeMetrics(kRankingA, kJudgementsA, 5);
  double ndcg = (3 / std::log2(3.0) + 1 / std::log2(5.0)) / (3 + 2 / std::log2(3.0) + 0.5);
  ExpectMetrics(m, 0.4, 2.0 / 3, 0.5, 1.0 / 3, ndcg, 0.5);
  EXPECT_NEAR(m.ndcg, 0.4879324590115489, 1e-12);
}

TEST(Metrics, HandComputedAtOtherCutoffs) {
  // k = 1: d1 is judged 0, so nothing relevant yet.
  ExpectMetrics(ComputeMetrics(kRankingA, kJudgementsA, 1), 0, 0, 0, 0, 0, 0);
  // k = 3: only d2 (rank 2). P = R = F1 = 1/3; AP = (1/2) / 3 = 1/6;
  // nDCG = (3 / log2 3) / IDCG@3, where IDCG@3 holds all three grades.
  ExpectMetrics(ComputeMetrics(kRankingA, kJudgementsA, 3), 1.0 / 3, 1.0 / 3, 1.0 / 3, 1.0 / 6,
                0.39748952229168844, 0.5);
  // k = 10 past the end of the ranking: precision still divides by 10
  // (trec_eval P_10), F1 = 2 · 0.2 · (2/3) / (0.2 + 2/3) = 4/13; AP and nDCG
  // as at 5 (the ideal ranking has only three relevant documents).
  ExpectMetrics(ComputeMetrics(kRankingA, kJudgementsA, 10), 0.2, 2.0 / 3, 4.0 / 13, 1.0 / 3,
                0.4879324590115489, 0.5);
  // k = 0: no cutoff; precision over the 5 retrieved (trec_eval set_P).
  ExpectMetrics(ComputeMetrics(kRankingA, kJudgementsA, 0), 0.4, 2.0 / 3, 0.5, 1.0 / 3, 0.4879324590115489, 0.5);
}

TEST(Metrics, SingleMetricFunctionsAgree) {
  EXPECT_NEAR(PrecisionAtK(kRankingA, kJudgementsA, 5), 0.4, kEps);
  EXPECT_NEAR(RecallAtK(kRankingA, kJudgementsA, 5), 2.0 / 3, kEps);
  EXPECT_NEAR(F1AtK(kRankingA, kJudgementsA, 5), 0.5, kEps);
  EXPECT_NEAR(AveragePrecisionAtK(kRankingA, kJudgementsA, 5), 1.0 / 3, kEps);
  EXPECT_NEAR(NdcgAtK(kRankingA, kJudgementsA, 5), 0.4879324590115489, kEps);
  EXPECT_NEAR(ReciprocalRankAtK(kRankingA, kJudgementsA, 5), 0.5, kEps);
  EXPECT_NEAR(ReciprocalRankAtK(kRankingA, kJudgementsA, 1), 0, kEps);  // cut before the first hit
}

TEST(Metrics, NdcgUsesLinearGain) {
  // Ranking g1 (grade 1) then g3 (grade 3).
  //   linear (trec_eval/BEIR): (1 + 3/log2 3) / (3 + 1/log2 3) = 0.796708
  //   exponential 2^rel - 1 would give (1 + 7/log2 3) / (7 + 1/log2 3) = 0.709...
  std::vector<std::string> ranked = {"g1", "g3"};
  Judgements j = {{"g1", 1}, {"g3", 3}};
  EXPECT_NEAR(NdcgAtK(ranked, j, 2), 0.7967075809905066, kEps);
  // A perfect ranking scores 1; fractional grades are fine.
  EXPECT_NEAR(NdcgAtK({"g3", "g1"}, j, 2), 1.0, kEps);
  EXPECT_NEAR(NdcgAtK({"h"}, {{"h", 0.5}}, 1), 1.0, kEps);
}

TEST(Metrics, ApIsNormalisedByAllRelevant) {
  // 4 relevant, k = 2, both top documents relevant: AP@2 = (1 + 1) / 4 = 0.5,
  // not 1 (which normalising by min(R, k) would give).
  Judgements j = {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}};
  EXPECT_NEAR(AveragePrecisionAtK({"a", "b", "c", "d"}, j, 2), 0.5, kEps);
  EXPECT_NEAR(AveragePrecisionAtK({"a", "b", "c", "d"}, j, 4), 1.0, kEps);
  // Classic example: relevant at ranks 1, 3, 6 of 3 relevant: (1 + 2/3 + 3/6) / 3.
  Judgements k = {{"r1", 1}, {"r3", 1}, {"r6", 1}};
  EXPECT_NEAR(AveragePrecisionAtK({"r1", "x", "r3", "y", "z", "r6"}, k, 10), (1 + 2.0 / 3 + 0.5) / 3, kEps);
}

TEST(Metrics, DuplicatesKeepTheirSlotButNeverCountTwice) {
  // a, a, b with a and b relevant: hits at ranks 1 and 3.
  //   P@3 = 2/3, R = 1, AP = (1/1 + 2/3) / 2 = 5/6,
  //   nDCG = (1 + 1/log2 4) / (1 + 1/log2 3) = 1.5 / 1.630930 = 0.919721
  RankingMetrics m = ComputeMetrics({"a", "a", "b"}, {{"a", 1}, {"b", 1}}, 3);
  ExpectMetrics(m, 2.0 / 3, 1.0, 0.8, 5.0 / 6, 0.9197207891481876, 1.0);
}

TEST(Metrics, EdgeCasesAreZeroNotNan) {
  // No relevant judgements: every metric 0 (trec_eval), even with hits on
  // judged-irrelevant or negative documents.
  ExpectMetrics(ComputeMetrics({"a", "b"}, {{"a", 0}, {"b", -1}}, 2), 0, 0, 0, 0, 0, 0);
  ExpectMetrics(ComputeMetrics({"a"}, {}, 1), 0, 0, 0, 0, 0, 0);
  // Empty ranking, with and without a cutoff.
  ExpectMetrics(ComputeMetrics({}, {{"a", 1}}, 5), 0, 0, 0, 0, 0, 0);
  ExpectMetrics(ComputeMetrics({}, {{"a", 1}}, 0), 0, 0, 0, 0, 0, 0);
  // Unjudged documents are not relevant.
  ExpectMetrics(ComputeMetrics({"x", "a"}, {{"a", 2}}, 2), 0.5, 1, 2.0 / 3, 0.5, 1 / std::log2(3.0), 0.5);
  for (double v : {ComputeMetrics({}, {}, 0).ndcg, MeanMetrics({}).precision}) EXPECT_FALSE(std::isnan(v));
}

TEST(Metrics, MeanOverQueries) {
  // Query B: ranking x, y; only y relevant. At 5: P = 1/5, R = 1,
  // F1 = 2 · 0.2 / 1.2 = 1/3, AP = (1/2) / 1, nDCG = (1/log2 3) / 1, RR = 1/2.
  RankingMetrics b = ComputeMetrics({"x", "y"}, {{"y", 1}}, 5);
  ExpectMetrics(b, 0.2, 1, 1.0 / 3, 0.5, 0.6309297535714575, 0.5);
  RankingMetrics a = ComputeMetrics(kRankingA, kJudgementsA, 5);
  std::vector<RankingMetrics> both = {a, b};
  // Means: P (0.4 + 0.2)/2, R (2/3 + 1)/2, F1 (1/2 + 1/3)/2, MAP (1/3 + 1/2)/2,
  // nDCG (0.487932 + 0.630930)/2, MRR (1/2 + 1/2)/2.
  ExpectMetrics(MeanMetrics(both), 0.3, 5.0 / 6, 5.0 / 12, 5.0 / 12, (0.4879324590115489 + 0.6309297535714575) / 2,
                0.5);
  ExpectMetrics(MeanMetrics({}), 0, 0, 0, 0, 0, 0);
}

TEST(Metrics, EvaluateRunHandlesMissingQueries) {
  std::map<std::string, std::vector<std::string>> run = {
      {"qa", kRankingA}, {"unjudged", {"d1"}}};  // "unjudged" is ignored
  std::map<std::string, Judgements> judgements = {{"qa", kJudgementsA}, {"qb", {{"y", 1}}}};

  RunEvaluation zero = EvaluateRun(run, judgements, 5);  // qb counts as an empty ranking
  ASSERT_EQ(zero.per_query.size(), 2u);
  EXPECT_EQ(zero.per_query.count("unjudged"), 0u);
  ExpectMetrics(zero.per_query.at("qb"), 0, 0, 0, 0, 0, 0);
  ExpectMetrics(zero.mean, 0.2, 1.0 / 3, 0.25, 1.0 / 6, 0.4879324590115489 / 2, 0.25);

  RunEvaluation skip = EvaluateRun(run, judgements, 5, MissingQueries::kSkip);  // BEIR-style
  ASSERT_EQ(skip.per_query.size(), 1u);
  ExpectMetrics(skip.mean, 0.4, 2.0 / 3, 0.5, 1.0 / 3, 0.4879324590115489, 0.5);
}

TEST(Metrics, DatasetJudgementsAndJson) {
  Judgements j = MakeJudgements({"a", "b"}, {{"b", 3}, {"c", 2}, {"d", 0}});
  EXPECT_EQ(j, (Judgements{{"a", 1}, {"b", 3}, {"c", 2}, {"d", 0}}));

  RankingMetrics m{0.1, 0.2, 0.3, 0.4, 0.5, 0.6};
  EXPECT_EQ(MetricsToJson(m), Json::parse(R"({"precision": 0.1, "recall": 0.2, "f1": 0.3,
                                              "map": 0.4, "ndcg": 0.5, "mrr": 0.6})"));
}

}  // namespace
}  // namespace strata::retrieve
