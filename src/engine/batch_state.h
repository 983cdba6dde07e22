// The state machine of a batch, shared by the API (submit, cancel, retry) and
// the workers (a job's outcome, a tier's end). Every function here runs inside
// the caller's write transaction and edits the batch document in place; the
// caller stores it.
//
// Status flow: DRAFT → PENDING (submitted, queued) → IN_PROGRESS (a worker
// started) → COMPLETED | COMPLETED_WITH_ERRORS | FAILED, or CANCELED.
#pragma once

#include <string>
#include <vector>

#include "core/json_util.h"
#include "engine/dag.h"
#include "storage/metadata_store.h"

namespace strata::engine {

inline constexpr const char* kExtractJob = "extract";

// The id lists (storage::Writer::PutIdList) beside a batch: its objects, and
// the objects its latest retry runs again.
inline constexpr const char* kBatchObjects = "objects";
inline constexpr const char* kRetryObjects = "retry_objects";

// The queue group of a tier's jobs: the last job of the group ends the tier.
std::string TierGroup(const std::string& batch_id, int tier);

// Fills dag_tiers, tier_tasks (one task record per tier) and collection_ids.
Status PlanTiers(storage::Writer& w, const storage::Scope& scope, Json& batch, const Tiers& tiers);

// Queues tier `tier` for `object_ids` (every collection of the tier, in jobs
// of `per_job` objects) under `run_id`.
Status EnqueueTier(storage::Writer& w, const storage::Scope& scope, Json& batch, int tier,
                   const std::vector<std::string>& object_ids, const std::string& run_id, int per_job);

// What one job did, merged into its tier.
struct JobOutcome {
  int tier = 0;
  std::string collection_id;
  std::string extractor_type;
  int64_t fetched = 0, after_filter = 0, missing_inputs = 0, submitted = 0, written = 0;
  std::vector<Json> errors;  // BatchErrorDetail
  bool job_failed = false;   // the job could not run at all (dependency, runtime)
};
Status RecordOutcome(Json& batch, const JobOutcome& outcome);

// A worker started a job of `tier`: the batch, the tier and their tasks go
// from PENDING to IN_PROGRESS. Returns whether `batch` changed.
Result<bool> MarkRunning(storage::Writer& w, const storage::Scope& scope, Json& batch, int tier);

// Called by the last job of a tier: closes it, then queues the next tier or
// closes the batch (and its task).
Status FinishTier(storage::Writer& w, const storage::Scope& scope, Json& batch, int tier, int per_job);

// BatchErrorDetail for an item that failed.
Json ErrorDetail(const Status& status, const std::string& component, const std::string& source_id,
                 const std::string& root_object_id, const std::string& collection_id, int tier);
// Errors a retry in transient_only mode re-runs.
bool IsTransientError(const std::string& error_type);

// The API's view of a stored batch, its object lists filled in.
Result<Json> PublicBatch(storage::Reader& r, Json doc);

}  // namespace strata::engine
