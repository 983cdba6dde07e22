// Batches (api.md §3): a set of a bucket's objects submitted together through
// the collection DAG, with per-tier progress, structured errors, cancel and
// retry; and the ways work starts without a batch request (collection
// trigger, objects created with auto_process).
#pragma once

#include <string>
#include <vector>

#include "catalog/list_request.h"
#include "core/json_util.h"
#include "engine/engine.h"

namespace strata::engine {

struct BatchContext {
  Engine& engine;
  storage::Scope scope;
};

Result<Json> CreateBatch(BatchContext& ctx, const std::string& bucket, const Json& body, bool skip_validation);
Result<Json> AddBatchObjects(BatchContext& ctx, const std::string& bucket, const std::string& batch_id,
                             const Json& body, bool skip_validation);
Result<Json> GetBatch(BatchContext& ctx, const std::string& bucket, const std::string& batch_id);
Result<Json> ListBatches(BatchContext& ctx, const std::string& bucket, const Json& body,
                         const catalog::QueryParams& params);
Result<Json> PatchBatch(BatchContext& ctx, const std::string& bucket, const std::string& batch_id, const Json& body);
Result<Json> DeleteBatch(BatchContext& ctx, const std::string& bucket, const std::string& batch_id);
// Returns the batch's TaskResponse.
Result<Json> SubmitBatch(BatchContext& ctx, const std::string& bucket, const std::string& batch_id, const Json& body);
Result<Json> CancelBatch(BatchContext& ctx, const std::string& bucket, const std::string& batch_id);
// {retry_mode: transient_only|all, tier_nums, max_retry_count}: re-runs the
// failed items from the earliest tier named.
Result<Json> RetryBatch(BatchContext& ctx, const std::string& bucket, const std::string& batch_id, const Json& body);
Result<Json> FailedDocuments(BatchContext& ctx, const std::string& bucket, const std::string& batch_id,
                             const catalog::QueryParams& params);

// POST /v1/collections/{c}/trigger: a COLLECTION batch over every object of
// the collection's root buckets, through the collection and what it feeds.
Result<Json> TriggerCollection(BatchContext& ctx, const std::string& collection, const Json& body);
// Creates and submits a batch of just-created objects (auto_process=true).
// Returns the task id ("" when no collection consumes the bucket).
Result<std::string> AutoProcess(BatchContext& ctx, const std::string& bucket_id,
                                const std::vector<std::string>& object_ids);
// DELETE /v1/tasks/{id}: cancels the batch the task runs.
Result<Json> KillTask(Engine& engine, int64_t org, const std::string& task_id);

}  // namespace strata::engine
