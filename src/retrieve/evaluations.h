// Evaluation of retrievers: datasets of queries with graded relevant
// documents, and evaluation runs that execute a retriever on each query and
// report precision, recall, f1, MAP, nDCG and MRR at several k (metrics.h).
//
// A run is long work: it goes through the engine's queue as a job of type
// kEvaluationJob, reports a task, and records its results on the evaluation.
#pragma once

#include <string>

#include "catalog/list_request.h"
#include "engine/engine.h"
#include "retrieve/retrievers.h"

namespace strata::retrieve {

inline constexpr const char* kEvaluationJob = "retriever_evaluation";

Result<Json> CreateDataset(RetrieverContext& rc, const Json& body);
Result<Json> GetDataset(RetrieverContext& rc, const std::string& id_or_name);
Result<Json> ListDatasets(RetrieverContext& rc, const catalog::QueryParams& params);

// Queues an evaluation of a retriever on a dataset; answers StartEvaluationResponse.
Result<Json> StartEvaluation(RetrieverContext& rc, engine::Engine& engine, const std::string& retriever,
                             const Json& body);
Result<Json> GetEvaluation(RetrieverContext& rc, const std::string& retriever, const std::string& evaluation_id);
Result<Json> ListEvaluations(RetrieverContext& rc, const std::string& retriever, const catalog::QueryParams& params);

// The job handler: runs the evaluation a job names. `context_for` gives the
// retrieve context of the job's namespace.
Status RunEvaluationJob(RetrieverContext& rc, engine::Engine& engine, const storage::Job& job);

}  // namespace strata::retrieve
