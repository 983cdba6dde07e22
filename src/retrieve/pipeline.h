// The pipeline runner: executes a retriever's stages over its collections and
// answers with ranked documents, pagination, per-stage statistics and the
// budget it used; also the explain plan of the same pipeline.
#pragma once

#include <string>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"
#include "retrieve/result_cache.h"
#include "retrieve/stage.h"

namespace strata::retrieve {

struct ExecuteRequest {
  Json stages;        // canonical (NormalizeStages)
  Json input_schema;  // normalised (NormalizeInputSchema)
  Json inputs;
  std::vector<std::string> collection_ids;
  Json budget_limits;  // {max_time_ms, max_credits}
  Json pagination;     // the request's pagination object (null: cursor, 10)
  std::string retriever_id;  // "" for an ad-hoc pipeline
  int64_t version = 0;       // the retriever's version
  ResultCache* stage_cache = nullptr;  // feature_search outputs (may be null)
};

// Runs the pipeline. The answer's shape is the API's execute response:
// {execution_id, status, documents, pagination, stage_statistics, budget,
//  optimization_applied, optimization_summary, ...}.
Result<Json> Execute(RetrieveContext& ctx, const ExecuteRequest& req);

// The explain plan: stages with estimated input/output counts (from the
// collections' sizes) and the optimizer's rewrites, without running anything.
Result<Json> Explain(RetrieveContext& ctx, const ExecuteRequest& req);

// A signature of what the pipeline's answers depend on in the store: the
// collections' configuration and versions. Changes whenever a document of one
// of them is written.
Result<std::string> CollectionsSignature(RetrieveContext& ctx, const std::vector<std::string>& collection_ids);

// The key of a response in the response cache.
std::string ResponseKey(const ExecuteRequest& req, const std::string& signature);

}  // namespace strata::retrieve
