#include "retrieve/fusion.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace strata::retrieve {

Result<std::vector<VectorHit>> Fuse(const std::string& method, const std::vector<RankedList>& lists, double rrf_k) {
  std::unordered_map<std::string, double> total;
  std::vector<std::string> order;  // first appearance, for a stable answer
  auto add = [&](const std::string& id, double v, bool take_max) {
    auto [it, fresh] = total.try_emplace(id, v);
    if (fresh) {
      order.push_back(id);
    } else {
      it->second = take_max ? std::max(it->second, v) : it->second + v;
    }
  };
  for (const auto& list : lists) {
    if (method == "rrf") {
      for (size_t i = 0; i < list.hits.size(); ++i) {
        add(list.hits[i].doc_id, list.weight / (rrf_k + static_cast<double>(i + 1)), false);
      }
    } else if (method == "dbsf") {
      double mean = 0, sq = 0;
      for (const auto& h : list.hits) mean += h.score;
      mean /= static_cast<double>(std::max<size_t>(1, list.hits.size()));
      for (const auto& h : list.hits) sq += (h.score - mean) * (h.score - mean);
      const double sd = std::sqrt(sq / static_cast<double>(std::max<size_t>(1, list.hits.size())));
      const double lo = mean - 3 * sd, span = 6 * sd;
      for (const auto& h : list.hits) {
        const double unit = span > 0 ? std::clamp((h.score - lo) / span, 0.0, 1.0) : 1.0;
        add(h.doc_id, list.weight * unit, false);
      }
    } else if (method == "weighted") {
      for (const auto& h : list.hits) add(h.doc_id, list.weight * h.score, false);
    } else if (method == "max") {
      for (const auto& h : list.hits) add(h.doc_id, list.weight * h.score, true);
    } else {
      return Status::Invalid("fusion", "unknown fusion '" + method + "' (rrf, dbsf, weighted, max)", "enum");
    }
  }
  std::vector<VectorHit> out;
  out.reserve(order.size());
  for (const auto& id : order) out.push_back({id, total[id]});
  std::stable_sort(out.begin(), out.end(), [](const VectorHit& a, const VectorHit& b) { return a.score > b.score; });
  return out;
}

}  // namespace strata::retrieve
