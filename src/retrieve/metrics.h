// Information-retrieval metrics for retriever evaluations (Mixpeek v0.81
// `evaluation_config.metrics`: precision, recall, f1, map, ndcg, mrr, each at
// the k values of `k_values`). The definitions are trec_eval's, as exposed by
// pytrec_eval and used by BEIR, so numbers are comparable with published
// results:
//
//   rel(d)       the grade of d in the judgements; d is relevant when
//                rel(d) > 0 (trec_eval's default relevance level 1 for the
//                usual integer grades). Unjudged documents are not relevant.
//   R            the number of relevant documents in the judgements (retrieved
//                or not).
//   precision@k  relevant documents in the top k / k. The denominator is k even
//                when fewer than k were retrieved (trec_eval P_k).
//   recall@k     relevant documents in the top k / R (trec_eval recall_k).
//   f1@k         2·P·R / (P + R), 0 when both are 0.
//   AP@k         Σ over relevant documents at rank r ≤ k of precision@r, / R
//                (trec_eval map_cut_k). Normalised by all of R, not by
//                min(R, k): a ranking cut at k cannot reach 1 when R > k,
//                which is what trec_eval and BEIR report.
//   nDCG@k       DCG@k / IDCG@k with linear gain rel(d) and discount
//                log2(rank + 1) (trec_eval ndcg_cut_k, BEIR's NDCG@k; not the
//                2^rel − 1 "exponential" gain). IDCG@k is the DCG@k of the
//                judged grades sorted descending. Grades ≤ 0 contribute no
//                gain (trec_eval would subtract negative ones).
//   RR@k         1 / rank of the first relevant document within the top k, 0
//                when none (trec_eval recip_rank, cut at k).
//   Every metric is 0 for a query with R = 0 (trec_eval's convention).
//
// k = 0 means no cutoff: the whole ranking counts and precision divides by its
// length (trec_eval's set_P, ndcg, map, recip_rank).
//
// The ranking is taken in the given order (trec_eval re-sorts by score; our
// callers hand over the order the retriever returned). A document id repeated
// in the ranking keeps its rank slot but is never relevant again, so duplicates
// cost precision instead of inflating it.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/json_util.h"

namespace strata::retrieve {

// Graded relevance judgements of one query: document id → grade.
using Judgements = std::unordered_map<std::string, double>;

// The metrics of one query at one k (or, after MeanMetrics, their means: then
// average_precision is MAP@k and reciprocal_rank is MRR@k).
struct RankingMetrics {
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  double average_precision = 0;
  double ndcg = 0;
  double reciprocal_rank = 0;
};

// All metrics at once (one pass over the top k).
RankingMetrics ComputeMetrics(const std::vector<std::string>& ranked, const Judgements& judgements, size_t k);

// Each metric alone, same definitions.
double PrecisionAtK(const std::vector<std::string>& ranked, const Judgements& judgements, size_t k);
double RecallAtK(const std::vector<std::string>& ranked, const Judgements& judgements, size_t k);
double F1AtK(const std::vector<std::string>& ranked, const Judgements& judgements, size_t k);
double AveragePrecisionAtK(const std::vector<std::string>& ranked, const Judgements& judgements, size_t k);
double NdcgAtK(const std::vector<std::string>& ranked, const Judgements& judgements, size_t k);
double ReciprocalRankAtK(const std::vector<std::string>& ranked, const Judgements& judgements, size_t k);

// The arithmetic mean of each metric; all zeros for no queries. (F1 is the
// mean of per-query F1, not the F1 of mean precision and mean recall, as in
// pytrec_eval-based tooling.)
RankingMetrics MeanMetrics(const std::vector<RankingMetrics>& per_query);

// {"precision", "recall", "f1", "map", "ndcg", "mrr"}: the API's metric names.
Json MetricsToJson(const RankingMetrics& m);

// The judgements of an evaluation dataset query (`relevant_documents`,
// optional `relevance_scores` 0–5): a listed document has grade 1 unless
// relevance_scores grades it; documents only in relevance_scores keep their
// grade (so a 0 there is an explicit "judged not relevant").
Judgements MakeJudgements(const std::vector<std::string>& relevant_documents, const Judgements& relevance_scores);

// How EvaluateRun treats a judged query that has no ranking in the run.
enum class MissingQueries {
  kCountAsZero,  // an empty ranking: all metrics 0 (trec_eval -c)
  kSkip,         // left out of the mean (pytrec_eval/BEIR, which evaluate
                 // only the queries present in the run)
};

struct RunEvaluation {
  std::map<std::string, RankingMetrics> per_query;  // the queries averaged
  RankingMetrics mean;
};

// Evaluates every query of `judgements` (query id → judgements) against `run`
// (query id → ranked document ids) at k and averages. Queries of the run
// without judgements are ignored, as in trec_eval.
RunEvaluation EvaluateRun(const std::map<std::string, std::vector<std::string>>& run,
                          const std::map<std::string, Judgements>& judgements, size_t k,
                          MissingQueries missing = MissingQueries::kCountAsZero);

}  // namespace strata::retrieve
