#include "engine/batch_state.h"

#include <algorithm>

#include "core/ids.h"
#include "core/time_util.h"
#include "engine/tasks.h"

namespace strata::engine {

using storage::Kind;
using storage::Scope;

namespace {

constexpr size_t kMaxStoredErrors = 1000;  // per tier; error_summary counts them all

const char* ErrorTypeOf(StatusCode code) {
  switch (code) {
    case StatusCode::kValidation:
    case StatusCode::kBadRequest:
    case StatusCode::kNotFound:
    case StatusCode::kAlreadyExists:
      return "validation";
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
      return "authentication";
    case StatusCode::kUnavailable:
      return "network";
    case StatusCode::kPayloadTooLarge:
    case StatusCode::kTooManyRequests:
      return "resource";
    default:
      return "runtime";
  }
}

const char* Suggestion(const std::string& type) {
  if (type == "validation") {
    return "Fix the source item (or the collection's input_mappings) and submit it again in a new batch.";
  }
  if (type == "dependency") return "Install or configure the model the extractor needs, then retry with retry_mode 'all'.";
  if (type == "network") return "The model provider did not answer; retry the batch (retry_mode 'transient_only').";
  if (type == "resource") return "The item exceeds a limit; split it or raise the limit, then retry.";
  if (type == "authentication") return "Check the credentials of the model provider, then retry with retry_mode 'all'.";
  return "Retry the batch (retry_mode 'transient_only'); if it fails again, report the message.";
}

Json& TierOf(Json& batch, int tier) { return batch["tier_tasks"][static_cast<size_t>(tier)]; }

std::string TierStatus(const Json& t) {
  const int64_t errors = t.value("error_count", int64_t{0});
  if (t.value("job_failed", false) && t.value("documents_written", int64_t{0}) == 0) return "FAILED";
  return errors > 0 ? "COMPLETED_WITH_ERRORS" : "COMPLETED";
}

double MillisBetween(const std::string& from, const std::string& to) {
  auto a = ParseIso8601(from), b = ParseIso8601(to);
  return a && b ? static_cast<double>(*b - *a) : 0.0;
}

}  // namespace

std::string TierGroup(const std::string& batch_id, int tier) { return batch_id + "/" + std::to_string(tier); }

bool IsTransientError(const std::string& t) { return t == "network" || t == "resource" || t == "runtime"; }

Json ErrorDetail(const Status& status, const std::string& component, const std::string& source_id,
                 const std::string& root_object_id, const std::string& collection_id, int tier) {
  std::string type = ErrorTypeOf(status.code());
  if (status.code() == StatusCode::kUnavailable && component == "model") type = "dependency";
  return {{"error_type", type},
          {"message", status.message()},
          {"component", component},
          {"stage", "extract"},
          {"traceback", nullptr},
          {"timestamp", NowIso8601()},
          {"affected_document_ids", Json::array({source_id})},
          {"affected_count", 1},
          {"recovery_suggestion", Suggestion(type)},
          {"metadata", {{"root_object_id", root_object_id}, {"collection_id", collection_id}, {"tier_num", tier}}}};
}

Status PlanTiers(storage::Writer& w, const Scope& scope, Json& batch, const Tiers& tiers) {
  Json dag = Json::array(), tier_tasks = Json::array(), all = Json::array();
  for (size_t t = 0; t < tiers.size(); ++t) {
    Json ids = Json::array(), jobs = Json::array(), sources = Json::array();
    bool from_bucket = false;
    for (const auto& c : tiers[t]) {
      ids.push_back(c.id);
      all.push_back(c.id);
      const Json& src = c.doc["source"];
      from_bucket = from_bucket || src.value("type", "") == "bucket";
      for (const auto& s : src.value("collection_ids", Json::array())) {
        if (std::find(sources.begin(), sources.end(), s) == sources.end()) sources.push_back(s);
      }
      jobs.push_back({{"extractor_type", c.doc["feature_extractor"]["feature_extractor_id"]},
                      {"collection_ids", Json::array({c.id})},
                      {"ray_job_id", nullptr},
                      {"status", "PENDING"},
                      {"documents_written", 0},
                      {"errors", Json::array()}});
    }
    ASSIGN_OR_RETURN(std::string task_id,
                     CreateTask(w, scope.org, "engine_feature_extractor_run",
                                {{"batch_id", batch["batch_id"]}, {"tier_num", t}, {"namespace_id", scope.ns},
                                 {"parent_task_id", batch["task_id"]}, {"collection_ids", ids}}));
    dag.push_back(ids);
    tier_tasks.push_back({{"tier_num", t},
                          {"task_id", task_id},
                          {"status", "PENDING"},
                          {"collection_ids", ids},
                          {"extractor_jobs", jobs},
                          {"source_type", from_bucket ? "bucket" : "collection"},
                          {"source_collection_ids", from_bucket ? Json(nullptr) : sources},
                          {"parent_task_id", batch["task_id"]},
                          {"started_at", nullptr},
                          {"completed_at", nullptr},
                          {"duration_ms", nullptr},
                          {"errors", Json::array()},
                          {"error_summary", Json::object()},
                          {"error_count", 0},
                          {"source_documents_fetched", 0},
                          {"documents_after_source_filter", 0},
                          {"documents_missing_input_fields", 0},
                          {"documents_submitted_to_engine", 0},
                          {"documents_written", 0}});
  }
  batch["dag_tiers"] = dag;
  batch["tier_tasks"] = tier_tasks;
  batch["total_tiers"] = std::max(1, static_cast<int>(tiers.size()));  // the schema's minimum is 1
  batch["collection_ids"] = all;
  batch["current_tier"] = tiers.empty() ? Json(nullptr) : Json(0);
  return Status::Ok();
}

Status EnqueueTier(storage::Writer& w, const Scope& scope, Json& batch, int tier,
                   const std::vector<std::string>& object_ids, const std::string& run_id, int per_job) {
  Json& t = TierOf(batch, tier);
  const std::string batch_id = batch["batch_id"];
  const size_t step = static_cast<size_t>(std::max(1, per_job));
  for (const auto& col : t["collection_ids"]) {
    for (size_t i = 0; i < object_ids.size(); i += step) {
      Json chunk(std::vector<std::string>(object_ids.begin() + static_cast<std::ptrdiff_t>(i),
                                          object_ids.begin() + static_cast<std::ptrdiff_t>(std::min(object_ids.size(), i + step))));
      storage::Job job{NewId("job_"), scope.org, scope.ns, kExtractJob, TierGroup(batch_id, tier), 0,
                       {{"batch_id", batch_id}, {"bucket_id", batch["bucket_id"]}, {"tier", tier},
                        {"collection_id", col}, {"object_ids", chunk}, {"run_id", run_id}}};
      RETURN_IF_ERROR(w.EnqueueJob(job));
    }
  }
  if (t["status"] == "PENDING" || IsTerminalStatus(t["status"])) t["status"] = "PENDING";
  t["started_at"] = NowIso8601();
  t["completed_at"] = nullptr;
  t["duration_ms"] = nullptr;
  for (auto& j : t["extractor_jobs"]) j["status"] = "PENDING";
  batch["current_tier"] = tier;
  if (object_ids.empty()) return FinishTier(w, scope, batch, tier, per_job);  // nothing to wait for
  return Status::Ok();
}

Result<bool> MarkRunning(storage::Writer& w, const storage::Scope& scope, Json& batch, int tier) {
  bool changed = false;
  if (batch["status"] == "PENDING") {
    batch["status"] = "IN_PROGRESS";
    RETURN_IF_ERROR(SetTaskStatus(w, scope.org, batch["task_id"], "IN_PROGRESS"));
    changed = true;
  }
  Json& t = TierOf(batch, tier);
  if (t["status"] == "PENDING") {
    t["status"] = "IN_PROGRESS";
    RETURN_IF_ERROR(SetTaskStatus(w, scope.org, t["task_id"], "IN_PROGRESS"));
    changed = true;
  }
  return changed;
}

Status RecordOutcome(Json& batch, const JobOutcome& o) {
  Json& t = TierOf(batch, o.tier);
  auto add = [&](const char* key, int64_t n) { t[key] = t.value(key, int64_t{0}) + n; };
  add("source_documents_fetched", o.fetched);
  add("documents_after_source_filter", o.after_filter);
  add("documents_missing_input_fields", o.missing_inputs);
  add("documents_submitted_to_engine", o.submitted);
  add("documents_written", o.written);
  add("error_count", static_cast<int64_t>(o.errors.size()));
  if (o.job_failed) t["job_failed"] = true;
  if (t["status"] == "PENDING") t["status"] = "IN_PROGRESS";
  if (batch["status"] == "PENDING") batch["status"] = "IN_PROGRESS";
  Json& summary = t["error_summary"];
  for (const auto& e : o.errors) {
    const std::string type = e["error_type"];
    summary[type] = summary.value(type, 0) + 1;
    if (t["errors"].size() < kMaxStoredErrors) t["errors"].push_back(e);
  }
  for (auto& j : t["extractor_jobs"]) {
    if (j["collection_ids"][0] != o.collection_id) continue;
    j["status"] = "IN_PROGRESS";
    j["documents_written"] = j.value("documents_written", int64_t{0}) + o.written;
    for (const auto& e : o.errors) {
      if (j["errors"].size() < kMaxStoredErrors) j["errors"].push_back(e);
    }
  }
  return Status::Ok();
}

Status FinishTier(storage::Writer& w, const Scope& scope, Json& batch, int tier, int per_job) {
  Json& t = TierOf(batch, tier);
  const std::string now = NowIso8601();
  t["status"] = TierStatus(t);
  t["completed_at"] = now;
  t["duration_ms"] = t["started_at"].is_string() ? MillisBetween(t["started_at"], now) : 0.0;
  for (auto& j : t["extractor_jobs"]) {
    j["status"] = j["errors"].empty() ? "COMPLETED" : "COMPLETED_WITH_ERRORS";
  }
  RETURN_IF_ERROR(SetTaskStatus(w, scope.org, t["task_id"], t["status"], Json(),
                                Json::array({{{"documents_written", t["documents_written"]},
                                              {"error_count", t["error_count"]}}})));
  const int next = tier + 1;
  if (next < static_cast<int>(batch["tier_tasks"].size())) {
    const Json& in = batch["_internal"];
    const bool retry = in.value("retry_count", 0) > 0;
    ASSIGN_OR_RETURN(auto objects, w.GetIdList(batch["batch_id"], retry ? kRetryObjects : kBatchObjects));
    return EnqueueTier(w, scope, batch, next, objects, in.value("run_id", ""), per_job);
  }
  // The last tier: the batch ends, with errors summed over its tiers.
  Json summary = Json::object();
  int64_t written = 0;
  bool any_errors = false, all_failed = !batch["tier_tasks"].empty();
  for (const auto& tt : batch["tier_tasks"]) {
    for (auto it = tt["error_summary"].begin(); it != tt["error_summary"].end(); ++it) {
      summary[it.key()] = summary.value(it.key(), 0) + it.value().get<int>();
    }
    written += tt.value("documents_written", int64_t{0});
    any_errors = any_errors || tt.value("error_count", 0) > 0;
    all_failed = all_failed && tt["status"] == "FAILED";
  }
  const std::string status = all_failed ? "FAILED" : any_errors ? "COMPLETED_WITH_ERRORS" : "COMPLETED";
  batch["status"] = status;
  batch["error_summary"] = summary.empty() ? Json(nullptr) : summary;
  batch["error"] = any_errors ? Json(std::to_string(summary.size()) + " error type(s); see failed-documents") : Json(nullptr);
  batch["current_tier"] = nullptr;
  Json error = any_errors ? Json(batch["error"]) : Json();
  return SetTaskStatus(w, scope.org, batch["task_id"], status, error,
                       Json::array({{{"documents_written", written}, {"error_summary", summary}}}));
}

Result<Json> PublicBatch(storage::Reader& r, Json doc) {
  ASSIGN_OR_RETURN(auto objects, r.GetIdList(doc["batch_id"], kBatchObjects));
  doc["object_ids"] = objects;
  doc["loaded_object_ids"] = std::move(objects);
  doc.erase("_internal");
  for (auto& t : doc["tier_tasks"]) {
    t.erase("error_count");
    t.erase("job_failed");
  }
  return doc;
}

}  // namespace strata::engine
