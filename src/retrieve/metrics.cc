#include "retrieve/metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <unordered_set>

namespace strata::retrieve {

RankingMetrics ComputeMetrics(const std::vector<std::string>& ranked, const Judgements& judgements, size_t k) {
  RankingMetrics m;
  size_t num_relevant = 0;
  std::vector<double> ideal;  // positive grades, for IDCG
  for (const auto& [id, grade] : judgements) {
    if (grade > 0) {
      ++num_relevant;
      ideal.push_back(grade);
    }
  }
  size_t cutoff = k == 0 ? ranked.size() : k;
  size_t depth = std::min(cutoff, ranked.size());

  std::unordered_set<std::string_view> seen;
  size_t relevant_retrieved = 0;
  double precision_sum = 0, dcg = 0;
  for (size_t i = 0; i < depth; ++i) {
    if (!seen.insert(ranked[i]).second) continue;  // a repeat: keeps its slot, gains nothing
    auto it = judgements.find(ranked[i]);
    if (it == judgements.end() || !(it->second > 0)) continue;
    double rank = static_cast<double>(i + 1);
    ++relevant_retrieved;
    precision_sum += static_cast<double>(relevant_retrieved) / rank;
    dcg += it->second / std::log2(rank + 1);
    if (m.reciprocal_rank == 0) m.reciprocal_rank = 1 / rank;
  }
  if (num_relevant == 0) return RankingMetrics{};

  double found = static_cast<double>(relevant_retrieved);
  m.precision = cutoff == 0 ? 0 : found / static_cast<double>(cutoff);
  m.recall = found / static_cast<double>(num_relevant);
  m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
  m.average_precision = precision_sum / static_cast<double>(num_relevant);

  // Without a cutoff the ideal ranking lists every relevant document.
  size_t ideal_depth = k == 0 ? ideal.size() : std::min(k, ideal.size());
  std::partial_sort(ideal.begin(), ideal.begin() + static_cast<std::ptrdiff_t>(ideal_depth), ideal.end(),
                    std::greater<>());
  double idcg = 0;
  for (size_t i = 0; i < ideal_depth; ++i) idcg += ideal[i] / std::log2(static_cast<double>(i) + 2);
  m.ndcg = idcg > 0 ? dcg / idcg : 0;
  return m;
}

double PrecisionAtK(const std::vector<std::string>& ranked, const Judgements& judgements, size_t k) {
  return ComputeMetrics(ranked, judgements, k).precision;
}
double RecallAtK(const std::vector<std::string>& ranked, const Judgements& judgements, size_t k) {
  return ComputeMetrics(ranked, judgements, k).recall;
}
double F1AtK(const std::vector<std::string>& ranked, const Judgements& judgements, size_t k) {
  return ComputeMetrics(ranked, judgements, k).f1;
}
double AveragePrecisionAtK(const std::vector<std::string>& ranked, const Judgements& judgements, size_t k) {
  return ComputeMetrics(ranked, judgements, k).average_precision;
}
double NdcgAtK(const std::vector<std::string>& ranked, const Judgements& judgements, size_t k) {
  return ComputeMetrics(ranked, judgements, k).ndcg;
}
double ReciprocalRankAtK(const std::vector<std::string>& ranked, const Judgements& judgements, size_t k) {
  return ComputeMetrics(ranked, judgements, k).reciprocal_rank;
}

RankingMetrics MeanMetrics(const std::vector<RankingMetrics>& per_query) {
  RankingMetrics mean;
  if (per_query.empty()) return mean;
  for (const RankingMetrics& m : per_query) {
    mean.precision += m.precision;
    mean.recall += m.recall;
    mean.f1 += m.f1;
    mean.average_precision += m.average_precision;
    mean.ndcg += m.ndcg;
    mean.reciprocal_rank += m.reciprocal_rank;
  }
  double n = static_cast<double>(per_query.size());
  mean.precision /= n;
  mean.recall /= n;
  mean.f1 /= n;
  mean.average_precision /= n;
  mean.ndcg /= n;
  mean.reciprocal_rank /= n;
  return mean;
}

Json MetricsToJson(const RankingMetrics& m) {
  return {{"precision", m.precision}, {"recall", m.recall}, {"f1", m.f1},
          {"map", m.average_precision}, {"ndcg", m.ndcg}, {"mrr", m.reciprocal_rank}};
}

Judgements MakeJudgements(const std::vector<std::string>& relevant_documents, const Judgements& relevance_scores) {
  Judgements out = relevance_scores;
  for (const std::string& id : relevant_documents) out.emplace(id, 1.0);  // keeps an explicit grade
  return out;
}

RunEvaluation EvaluateRun(const std::map<std::string, std::vector<std::string>>& run,
                          const std::map<std::string, Judgements>& judgements, size_t k, MissingQueries missing) {
  RunEvaluation out;
  std::vector<RankingMetrics> all;
  for (const auto& [query, judged] : judgements) {
    auto it = run.find(query);
    if (it == run.end() && missing == MissingQueries::kSkip) continue;
    RankingMetrics m = it == run.end() ? ComputeMetrics({}, judged, k) : ComputeMetrics(it->second, judged, k);
    out.per_query.emplace(query, m);
    all.push_back(m);
  }
  out.mean = MeanMetrics(all);
  return out;
}

}  // namespace strata::retrieve
