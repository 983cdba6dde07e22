// Fusion of ranked lists (one per search of a feature_search stage) into one.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "retrieve/stage.h"

namespace strata::retrieve {

struct RankedList {
  std::vector<VectorHit> hits;  // best first
  double weight = 1.0;
};

inline constexpr double kRrfK = 60.0;

// rrf: sum of weight / (rrf_k + rank), rank from 1.
// dbsf (distribution-based score fusion, as Qdrant defines it): each list's
//   scores mapped to [0, 1] between mean - 3 sd and mean + 3 sd (clipped; a
//   list whose scores are all equal maps to 1), weighted and summed; a list
//   that did not return a document adds 0 for it, so it never helps a
//   document the list did not find.
// weighted: sum of weight * score. max: the highest weighted score.
// Best first; equal scores keep the order of first appearance.
Result<std::vector<VectorHit>> Fuse(const std::string& method, const std::vector<RankedList>& lists,
                                    double rrf_k = kRrfK);

}  // namespace strata::retrieve
