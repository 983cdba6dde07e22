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

// rrf: sum of weight / (60 + rank), rank from 1; dbsf: each list's scores
// standardised ((s - mean) / stddev) then weighted and summed; weighted: sum of
// weight * score; max: the highest weighted score. Best first; ties by id.
Result<std::vector<VectorHit>> Fuse(const std::string& method, const std::vector<RankedList>& lists);

inline constexpr double kRrfK = 60.0;

}  // namespace strata::retrieve
