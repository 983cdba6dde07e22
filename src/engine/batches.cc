#include "engine/batches.h"

#include <algorithm>
#include <set>

#include "catalog/buckets.h"
#include "catalog/collections.h"
#include "core/ids.h"
#include "core/time_util.h"
#include "engine/batch_state.h"
#include "engine/dag.h"
#include "engine/tasks.h"

namespace strata::engine {

using storage::Kind;
using storage::Record;
using storage::Scope;

namespace {

constexpr size_t kMaxBatchObjects = 100000;

Result<Record> LoadBatch(storage::Reader& r, const Scope& scope, const std::string& bucket_id,
                         const std::string& batch_id) {
  auto rec = r.Get(Kind::kBatch, scope, batch_id, bucket_id);
  if (!rec.ok() && rec.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("batch '" + batch_id + "' not found in this bucket");
  }
  return rec;
}

// object_ids of a create/add request, checked against the bucket unless skipped.
Result<std::vector<std::string>> ParseObjectIds(storage::Reader& r, const Scope& scope, const std::string& bucket_id,
                                                const Json& body, bool skip_validation,
                                                const std::vector<std::string>& extra_keys) {
  if (!body.is_object()) return Status::Invalid("body", "expected {\"object_ids\": [...]}", "type_error");
  ValidationErrors errs;
  std::vector<std::string> allowed = {"object_ids"};
  allowed.insert(allowed.end(), extra_keys.begin(), extra_keys.end());
  errs.RejectUnknownKeys(body, allowed, "body");
  const Json ids = body.value("object_ids", Json());
  std::vector<std::string> out;
  if (!ids.is_array()) {
    errs.Add("body.object_ids", "field required: a list of object ids", ids.is_null() ? "missing" : "type_error");
  } else if (ids.size() > kMaxBatchObjects) {
    errs.Add("body.object_ids", "at most " + std::to_string(kMaxBatchObjects) + " objects per batch", "too_long");
  } else {
    std::set<std::string> seen;
    int reported = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      const std::string loc = "body.object_ids[" + std::to_string(i) + "]";
      if (!ids[i].is_string()) {
        errs.Add(loc, "must be an object id", "type_error");
        continue;
      }
      const std::string id = ids[i];
      if (!seen.insert(id).second) continue;  // listed twice: once is enough
      if (!skip_validation) {
        auto obj = r.Get(Kind::kObject, scope, id, bucket_id);
        if (!obj.ok()) {
          if (obj.status().code() != StatusCode::kNotFound) return obj.status();
          if (reported++ < 20) errs.Add(loc, "object '" + id + "' not found in this bucket", "not_found");
          continue;
        }
        out.push_back(obj->id);
      } else {
        out.push_back(id);
      }
    }
  }
  RETURN_IF_ERROR(errs.ToStatus());
  return out;
}

// A new DRAFT batch; its objects go to an id list beside it (InsertBatch).
Record NewBatch(const std::string& bucket_id, const std::string& type) {
  const std::string now = NowIso8601();
  Json doc = {{"batch_id", NewId("btch_")},  {"bucket_id", bucket_id},     {"status", "DRAFT"},
              {"collection_ids", nullptr},  {"error", nullptr},           {"error_summary", nullptr},
              {"type", type},               {"manifest_key", nullptr},    {"task_id", nullptr},
              {"internal_metadata", nullptr}, {"metadata", Json::object()}, {"tier_tasks", Json::array()},
              {"current_tier", nullptr},    {"total_tiers", 1},           {"dag_tiers", nullptr},
              {"created_at", now},          {"updated_at", now},          {"_internal", Json::object()}};
  return Record{doc["batch_id"], bucket_id, std::nullopt, std::nullopt, std::nullopt, std::move(doc)};
}

Status InsertBatch(storage::Writer& w, const Scope& scope, const Record& rec, const std::vector<std::string>& objects) {
  RETURN_IF_ERROR(w.Insert(Kind::kBatch, scope, rec));
  return w.PutIdList(rec.id, kBatchObjects, objects);
}

// Keeps only the collections a batch asked for (collection_ids), dropping emptied tiers.
Tiers Restrict(Tiers tiers, const Json& only) {
  if (!only.is_array() || only.empty()) return tiers;
  Tiers out;
  for (auto& tier : tiers) {
    std::vector<Record> kept;
    for (auto& c : tier) {
      if (std::find(only.begin(), only.end(), Json(c.id)) != only.end()) kept.push_back(std::move(c));
    }
    if (!kept.empty()) out.push_back(std::move(kept));
  }
  return out;
}

// Plans and queues a DRAFT batch of `objects` inside `w`; returns its task id.
Result<std::string> Launch(storage::Writer& w, Engine& engine, const Scope& scope, Record& rec, const Tiers& tiers,
                           const std::string& task_type, const std::vector<std::string>& objects) {
  Json& batch = rec.doc;
  ASSIGN_OR_RETURN(std::string task_id,
                   CreateTask(w, scope.org, task_type,
                              {{"batch_id", batch["batch_id"]}, {"bucket_id", batch["bucket_id"]},
                               {"namespace_id", scope.ns}, {"object_count", objects.size()}}));
  batch["task_id"] = task_id;
  RETURN_IF_ERROR(PlanTiers(w, scope, batch, tiers));
  const std::string run_id = NewId("run_");
  batch["_internal"] = {{"run_id", run_id}, {"retry_count", 0}};
  if (tiers.empty()) {
    batch["status"] = "COMPLETED";
    RETURN_IF_ERROR(SetTaskStatus(w, scope.org, task_id, "COMPLETED", Json(),
                                  Json::array({{{"message", "no collection consumes this bucket"}}})));
  } else {
    batch["status"] = "PENDING";
    RETURN_IF_ERROR(EnqueueTier(w, scope, batch, 0, objects, run_id, engine.options().objects_per_job));
  }
  batch["updated_at"] = NowIso8601();
  RETURN_IF_ERROR(w.Update(Kind::kBatch, scope, rec));
  return task_id;
}

Result<std::string> BucketId(storage::MetadataStore& store, const Scope& scope, const std::string& bucket) {
  std::string id;
  RETURN_IF_ERROR(store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(r, scope, bucket));
    id = b.id;
    return Status::Ok();
  }));
  return id;
}

}  // namespace

Result<Json> CreateBatch(BatchContext& ctx, const std::string& bucket, const Json& body, bool skip_validation) {
  Json out;
  RETURN_IF_ERROR(ctx.engine.store().Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(w, ctx.scope, bucket));
    ASSIGN_OR_RETURN(auto ids, ParseObjectIds(w, ctx.scope, b.id, body, skip_validation,
                                              {"batch_name", "collection_ids", "metadata"}));
    Record rec = NewBatch(b.id, "BUCKET");
    Json& doc = rec.doc;
    if (body.contains("collection_ids") && !body["collection_ids"].is_null()) {
      if (!body["collection_ids"].is_array()) return Status::Invalid("body.collection_ids", "must be a list", "type_error");
      doc["_internal"]["only_collections"] = body["collection_ids"];
    }
    if (body.contains("metadata") && body["metadata"].is_object()) doc["metadata"] = body["metadata"];
    if (body.contains("batch_name") && body["batch_name"].is_string()) doc["metadata"]["batch_name"] = body["batch_name"];
    RETURN_IF_ERROR(InsertBatch(w, ctx.scope, rec, ids));
    ASSIGN_OR_RETURN(out, PublicBatch(w, rec.doc));
    return Status::Ok();
  }));
  return out;
}

Result<Json> AddBatchObjects(BatchContext& ctx, const std::string& bucket, const std::string& batch_id,
                             const Json& body, bool skip_validation) {
  Json out;
  RETURN_IF_ERROR(ctx.engine.store().Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(w, ctx.scope, bucket));
    ASSIGN_OR_RETURN(Record rec, LoadBatch(w, ctx.scope, b.id, batch_id));
    if (rec.doc["status"] != "DRAFT") {
      return Status::AlreadyExists("batch " + rec.id + " was already submitted; create a new batch for more objects");
    }
    ASSIGN_OR_RETURN(auto ids, ParseObjectIds(w, ctx.scope, b.id, body, skip_validation, {}));
    ASSIGN_OR_RETURN(auto list, w.GetIdList(rec.id, kBatchObjects));
    std::set<std::string> have(list.begin(), list.end());
    for (const auto& id : ids) {
      if (have.insert(id).second) list.push_back(id);
    }
    if (list.size() > kMaxBatchObjects) {
      return Status::Invalid("body.object_ids", "a batch holds at most " + std::to_string(kMaxBatchObjects) + " objects",
                             "too_long");
    }
    RETURN_IF_ERROR(w.PutIdList(rec.id, kBatchObjects, list));
    rec.doc["updated_at"] = NowIso8601();
    RETURN_IF_ERROR(w.Update(Kind::kBatch, ctx.scope, rec));
    ASSIGN_OR_RETURN(out, PublicBatch(w, rec.doc));
    return Status::Ok();
  }));
  return out;
}

Result<Json> GetBatch(BatchContext& ctx, const std::string& bucket, const std::string& batch_id) {
  Json out;
  RETURN_IF_ERROR(ctx.engine.store().Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(r, ctx.scope, bucket));
    ASSIGN_OR_RETURN(Record rec, LoadBatch(r, ctx.scope, b.id, batch_id));
    ASSIGN_OR_RETURN(out, PublicBatch(r, rec.doc));
    return Status::Ok();
  }));
  return out;
}

Result<Json> ListBatches(BatchContext& ctx, const std::string& bucket, const Json& body,
                         const catalog::QueryParams& params) {
  Json b = body.is_object() ? body : Json::object();
  catalog::QueryParams q = params;
  // The request body may carry offset/limit (ListBatchesRequest) and a status.
  for (const char* key : {"offset", "limit"}) {
    if (b.contains(key)) {
      if (!b[key].is_number_integer()) return Status::Invalid(std::string("body.") + key, "must be an integer", "type_error");
      q[key] = std::to_string(b[key].get<int64_t>());
      b.erase(key);
    }
  }
  if (b.contains("status")) {
    if (!b["status"].is_null()) {
      if (!b["status"].is_string()) return Status::Invalid("body.status", "must be a TaskStatusEnum value", "type_error");
      b["filters"] = {{"field", "status"}, {"operator", "eq"}, {"value", b["status"]}};
    }
    b.erase("status");
  }
  ASSIGN_OR_RETURN(catalog::ListRequest req, catalog::ParseListRequest(b, q));
  req.query.include_total = true;
  ASSIGN_OR_RETURN(std::string bucket_id, BucketId(ctx.engine.store(), ctx.scope, bucket));
  req.query.parent = bucket_id;
  ASSIGN_OR_RETURN(Json out, catalog::RunList(ctx.engine.store(),
                                              {Kind::kBatch, ctx.scope, {"batch_id"}, nullptr,
                                               [](storage::Reader& r, Json doc) { return PublicBatch(r, std::move(doc)); }},
                                              req));
  out["total_count"] = out["pagination"].value("total", Json(0));
  return out;
}

Result<Json> PatchBatch(BatchContext& ctx, const std::string& bucket, const std::string& batch_id, const Json& body) {
  if (!body.is_object()) return Status::Invalid("body", "expected {\"metadata\": {...}}", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(body, {"metadata"}, "body");
  if (body.contains("metadata") && !body["metadata"].is_object() && !body["metadata"].is_null()) {
    errs.Add("body.metadata", "must be an object", "type_error");
  }
  RETURN_IF_ERROR(errs.ToStatus());
  Json out;
  RETURN_IF_ERROR(ctx.engine.store().Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(w, ctx.scope, bucket));
    ASSIGN_OR_RETURN(Record rec, LoadBatch(w, ctx.scope, b.id, batch_id));
    if (body.contains("metadata") && body["metadata"].is_object()) rec.doc["metadata"].update(body["metadata"]);
    rec.doc["updated_at"] = NowIso8601();
    RETURN_IF_ERROR(w.Update(Kind::kBatch, ctx.scope, rec));
    ASSIGN_OR_RETURN(out, PublicBatch(w, rec.doc));
    return Status::Ok();
  }));
  return out;
}

Result<Json> DeleteBatch(BatchContext& ctx, const std::string& bucket, const std::string& batch_id) {
  RETURN_IF_ERROR(ctx.engine.store().Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(w, ctx.scope, bucket));
    ASSIGN_OR_RETURN(Record rec, LoadBatch(w, ctx.scope, b.id, batch_id));
    const std::string status = rec.doc["status"];
    if (status == "PENDING" || status == "IN_PROGRESS") {
      return Status::AlreadyExists("batch " + rec.id + " is running; cancel it first");
    }
    return w.Delete(Kind::kBatch, ctx.scope, rec.id);
  }));
  return Json{{"success", true}, {"message", "Successfully deleted"}};
}

Result<Json> SubmitBatch(BatchContext& ctx, const std::string& bucket, const std::string& batch_id, const Json& body) {
  if (!body.is_null()) {
    if (!body.is_object()) return Status::Invalid("body", "expected {\"include_processing_history\": true}", "type_error");
    ValidationErrors errs;
    errs.RejectUnknownKeys(body, {"include_processing_history"}, "body");
    if (body.contains("include_processing_history") && !body["include_processing_history"].is_boolean()) {
      errs.Add("body.include_processing_history", "must be a boolean", "type_error");
    }
    RETURN_IF_ERROR(errs.ToStatus());
  }
  std::string task_id;
  RETURN_IF_ERROR(ctx.engine.store().Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(w, ctx.scope, bucket));
    ASSIGN_OR_RETURN(Record rec, LoadBatch(w, ctx.scope, b.id, batch_id));
    if (rec.doc["status"] != "DRAFT") {
      return Status::AlreadyExists("batch " + rec.id + " was already submitted (status " +
                                   rec.doc["status"].get<std::string>() + "); use retry to run failed items again");
    }
    ASSIGN_OR_RETURN(auto objects, w.GetIdList(rec.id, kBatchObjects));
    if (objects.empty()) {
      return Status::Invalid("body", "the batch has no objects; add some with POST …/batches/{id}/objects", "value_error");
    }
    ASSIGN_OR_RETURN(Tiers tiers, TiersForBucket(w, ctx.scope, b.id));
    tiers = Restrict(std::move(tiers), rec.doc["_internal"].value("only_collections", Json()));
    ASSIGN_OR_RETURN(task_id, Launch(w, ctx.engine, ctx.scope, rec, tiers, "api_buckets_batches_process", objects));
    return Status::Ok();
  }));
  ctx.engine.Wake();
  return GetTask(ctx.engine.store(), ctx.scope.org, task_id);
}

Result<Json> CancelBatch(BatchContext& ctx, const std::string& bucket, const std::string& batch_id) {
  std::string task_id;
  RETURN_IF_ERROR(ctx.engine.store().Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(w, ctx.scope, bucket));
    ASSIGN_OR_RETURN(Record rec, LoadBatch(w, ctx.scope, b.id, batch_id));
    Json& batch = rec.doc;
    const std::string status = batch["status"];
    if (IsTerminalStatus(status)) {
      return Status::AlreadyExists("batch " + rec.id + " already ended (" + status + "); nothing to cancel");
    }
    if (batch["task_id"].is_null()) {
      ASSIGN_OR_RETURN(std::string id, CreateTask(w, ctx.scope.org, "api_buckets_batches_process",
                                                  {{"batch_id", rec.id}, {"bucket_id", b.id}, {"namespace_id", ctx.scope.ns}}));
      batch["task_id"] = id;
    }
    for (auto& t : batch["tier_tasks"]) {
      RETURN_IF_ERROR(w.DropJobs(TierGroup(rec.id, t["tier_num"])).status());
      if (!IsTerminalStatus(t["status"])) {
        t["status"] = "CANCELED";
        RETURN_IF_ERROR(SetTaskStatus(w, ctx.scope.org, t["task_id"], "CANCELED"));
      }
    }
    batch["status"] = "CANCELED";
    batch["current_tier"] = nullptr;
    batch["updated_at"] = NowIso8601();
    task_id = batch["task_id"];
    RETURN_IF_ERROR(SetTaskStatus(w, ctx.scope.org, task_id, "CANCELED", Json("canceled by request")));
    return w.Update(Kind::kBatch, ctx.scope, rec);
  }));
  return GetTask(ctx.engine.store(), ctx.scope.org, task_id);
}

Result<Json> RetryBatch(BatchContext& ctx, const std::string& bucket, const std::string& batch_id, const Json& body) {
  Json b = body.is_null() ? Json::object() : body;
  if (!b.is_object()) return Status::Invalid("body", "expected {retry_mode, tier_nums, max_retry_count}", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(b, {"retry_mode", "tier_nums", "max_retry_count"}, "body");
  const Json mode_v = b.value("retry_mode", Json("transient_only"));
  if (mode_v != "transient_only" && mode_v != "all") errs.Add("body.retry_mode", "must be 'transient_only' or 'all'", "enum");
  const Json tiers_v = b.value("tier_nums", Json());
  if (!tiers_v.is_null() && (!tiers_v.is_array() || !std::all_of(tiers_v.begin(), tiers_v.end(),
                                                                    [](const Json& x) { return x.is_number_integer(); }))) {
    errs.Add("body.tier_nums", "must be a list of tier numbers", "type_error");
  }
  const Json max_v = b.value("max_retry_count", Json(3));
  if (!max_v.is_number_integer() || max_v.get<int64_t>() < 0) errs.Add("body.max_retry_count", "must be a non-negative integer", "type_error");
  RETURN_IF_ERROR(errs.ToStatus());
  const bool all = mode_v == "all";
  Json out;
  RETURN_IF_ERROR(ctx.engine.store().Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record bk, catalog::LoadBucket(w, ctx.scope, bucket));
    ASSIGN_OR_RETURN(Record rec, LoadBatch(w, ctx.scope, bk.id, batch_id));
    Json& batch = rec.doc;
    const std::string status = batch["status"];
    if (status != "COMPLETED_WITH_ERRORS" && status != "FAILED" && status != "COMPLETED") {
      return Status::AlreadyExists("batch " + rec.id + " is " + status + "; only a finished batch can be retried");
    }
    const int retries = batch["_internal"].value("retry_count", 0);
    if (retries >= max_v.get<int>()) {
      return Status::Invalid("body.max_retry_count", "the batch was already retried " + std::to_string(retries) +
                                                         " time(s); raise max_retry_count to retry again", "value_error");
    }
    // The failed items to run again, and the first tier they failed in.
    std::set<std::string> objects;
    int start = -1;
    int64_t retried_errors = 0;
    for (auto& t : batch["tier_tasks"]) {
      const int n = t["tier_num"];
      if (tiers_v.is_array() && std::find(tiers_v.begin(), tiers_v.end(), Json(n)) == tiers_v.end()) continue;
      Json kept = Json::array();
      for (const auto& e : t["errors"]) {
        if (all || IsTransientError(e["error_type"])) {
          objects.insert(e["metadata"].value("root_object_id", ""));
          ++retried_errors;
          if (start < 0 || n < start) start = n;
          Json& summary = t["error_summary"];
          const std::string type = e["error_type"];
          summary[type] = summary.value(type, 0) - 1;
          if (summary[type] == 0) summary.erase(type);
          t["error_count"] = t.value("error_count", 0) - 1;
        } else {
          kept.push_back(e);
        }
      }
      t["errors"] = kept;
      for (auto& j : t["extractor_jobs"]) {
        Json jk = Json::array();
        for (const auto& e : j["errors"]) {
          if (!(all || IsTransientError(e["error_type"]))) jk.push_back(e);
        }
        j["errors"] = jk;
      }
    }
    objects.erase("");
    out = {{"batch_id", rec.id}, {"task_id", batch["task_id"]}, {"retry_mode", mode_v},
           {"retried_errors", retried_errors}, {"retried_object_count", objects.size()}};
    if (objects.empty()) {
      out["status"] = status;
      out["message"] = all ? "no failed items to retry" : "no transient failures to retry (use retry_mode 'all')";
      return Status::Ok();
    }
    const std::string run_id = NewId("run_");
    batch["_internal"]["run_id"] = run_id;
    batch["_internal"]["retry_count"] = retries + 1;
    RETURN_IF_ERROR(w.PutIdList(rec.id, kRetryObjects, std::vector<std::string>(objects.begin(), objects.end())));
    batch["status"] = "PENDING";
    batch["error"] = nullptr;
    for (auto& t : batch["tier_tasks"]) {
      if (t["tier_num"].get<int>() >= start) {
        t["status"] = "PENDING";
        t.erase("job_failed");
      }
    }
    RETURN_IF_ERROR(SetTaskStatus(w, ctx.scope.org, batch["task_id"], "PENDING"));
    RETURN_IF_ERROR(EnqueueTier(w, ctx.scope, batch, start, std::vector<std::string>(objects.begin(), objects.end()),
                                run_id, ctx.engine.options().objects_per_job));
    batch["updated_at"] = NowIso8601();
    out["status"] = batch["status"];
    out["start_tier"] = start;
    out["message"] = "retrying " + std::to_string(objects.size()) + " object(s) from tier " + std::to_string(start);
    return w.Update(Kind::kBatch, ctx.scope, rec);
  }));
  ctx.engine.Wake();
  return out;
}

Result<Json> FailedDocuments(BatchContext& ctx, const std::string& bucket, const std::string& batch_id,
                             const catalog::QueryParams& params) {
  auto int_param = [&](const char* key, int64_t fallback, int64_t lo, int64_t hi) -> Result<int64_t> {
    auto it = params.find(key);
    if (it == params.end()) return fallback;
    char* end = nullptr;
    long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || v < lo || v > hi) {
      return Status::Invalid(std::string("query.") + key, "must be an integer from " + std::to_string(lo) + " to " +
                                                              std::to_string(hi), "value_error");
    }
    return static_cast<int64_t>(v);
  };
  ASSIGN_OR_RETURN(int64_t limit, int_param("limit", 100, 1, 1000));
  ASSIGN_OR_RETURN(int64_t offset, int_param("offset", 0, 0, 1 << 30));
  ASSIGN_OR_RETURN(int64_t tier_num, int_param("tier_num", -1, 0, 1000));
  const std::string collection = params.count("collection_id") ? params.at("collection_id") : "";
  ASSIGN_OR_RETURN(Json batch, GetBatch(ctx, bucket, batch_id));
  Json all = Json::array();
  for (const auto& t : batch["tier_tasks"]) {
    if (tier_num >= 0 && t["tier_num"] != tier_num) continue;
    for (const auto& e : t["errors"]) {
      const Json& m = e["metadata"];
      if (!collection.empty() && m.value("collection_id", "") != collection) continue;
      Json item = e;
      item["document_id"] = e["affected_document_ids"].empty() ? Json(nullptr) : e["affected_document_ids"][0];
      item["object_id"] = m.value("root_object_id", "");
      item["collection_id"] = m.value("collection_id", "");
      item["tier_num"] = t["tier_num"];
      all.push_back(item);
    }
  }
  Json page = Json::array();
  for (int64_t i = offset; i < static_cast<int64_t>(all.size()) && static_cast<int64_t>(page.size()) < limit; ++i) {
    page.push_back(all[static_cast<size_t>(i)]);
  }
  return Json{{"batch_id", batch["batch_id"]}, {"status", batch["status"]}, {"failed_documents", page},
              {"total", all.size()},           {"limit", limit},            {"offset", offset},
              {"error_summary", batch["error_summary"]}};
}

Result<Json> TriggerCollection(BatchContext& ctx, const std::string& collection, const Json& body) {
  Json b = body.is_null() ? Json::object() : body;
  if (!b.is_object()) return Status::Invalid("body", "expected {include_buckets, include_collections, source_filters}", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(b, {"include_buckets", "include_collections", "source_filters"}, "body");
  for (const char* key : {"include_buckets", "include_collections"}) {
    if (b.contains(key) && !b[key].is_null() && !b[key].is_array()) errs.Add(std::string("body.") + key, "must be a list", "type_error");
  }
  RETURN_IF_ERROR(errs.ToStatus());
  std::optional<filter::Node> source_filter;
  if (b.contains("source_filters") && !b["source_filters"].is_null()) {
    ASSIGN_OR_RETURN(source_filter, filter::Parse(b["source_filters"], "body.source_filters"));
  }
  Json out;
  RETURN_IF_ERROR(ctx.engine.store().Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record col, catalog::LoadCollection(w, ctx.scope, collection));
    std::vector<std::string> buckets = col.doc["source"].value("inherited_bucket_ids", std::vector<std::string>{});
    if (b.contains("include_buckets") && b["include_buckets"].is_array()) {
      std::vector<std::string> keep;
      for (const auto& id : buckets) {
        if (std::find(b["include_buckets"].begin(), b["include_buckets"].end(), Json(id)) != b["include_buckets"].end()) keep.push_back(id);
      }
      buckets = keep;
    }
    if (buckets.empty()) return Status::Invalid("body.include_buckets", "no source bucket left to process", "value_error");
    std::vector<std::string> objects;
    for (const auto& bid : buckets) {
      storage::ListQuery q;
      q.parent = bid;
      q.limit = 1000;
      if (source_filter) q.filter = &*source_filter;
      while (true) {
        ASSIGN_OR_RETURN(auto page, w.List(Kind::kObject, ctx.scope, q));
        for (const auto& o : page.records) objects.push_back(o.id);
        if (page.next_cursor.empty()) break;
        q.cursor = page.next_cursor;
      }
    }
    if (objects.size() > kMaxBatchObjects) {
      return Status::Invalid("body.source_filters", "the trigger would process " + std::to_string(objects.size()) +
                                                        " objects (at most " + std::to_string(kMaxBatchObjects) +
                                                        "); narrow it with source_filters", "too_long");
    }
    ASSIGN_OR_RETURN(Tiers tiers, TiersFromCollection(w, ctx.scope, col));
    if (b.contains("include_collections") && b["include_collections"].is_array() && !b["include_collections"].empty()) {
      Json only = b["include_collections"];
      only.push_back(col.id);
      tiers = Restrict(std::move(tiers), only);
    }
    Record rec = NewBatch(buckets.front(), "COLLECTION");
    RETURN_IF_ERROR(InsertBatch(w, ctx.scope, rec, objects));
    ASSIGN_OR_RETURN(std::string task_id,
                     Launch(w, ctx.engine, ctx.scope, rec, tiers, "api_collections_trigger", objects));
    Json source_collections = col.doc["source"].value("collection_ids", Json());
    ASSIGN_OR_RETURN(int64_t docs, w.Count(Kind::kDocument, ctx.scope, col.id));
    out = {{"batch_id", rec.id},
           {"task_id", task_id},
           {"collection_id", col.id},
           {"source_bucket_ids", buckets},
           {"source_collection_ids", source_collections},
           {"object_count", objects.size()},
           {"document_count", docs},
           {"total_tiers", tiers.size()},
           {"message", "processing " + std::to_string(objects.size()) + " object(s) through " +
                           std::to_string(tiers.size()) + " tier(s)"}};
    return Status::Ok();
  }));
  ctx.engine.Wake();
  return out;
}

Result<std::string> AutoProcess(BatchContext& ctx, const std::string& bucket_id, const std::vector<std::string>& object_ids) {
  if (object_ids.empty()) return std::string();
  std::string task_id;
  RETURN_IF_ERROR(ctx.engine.store().Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Tiers tiers, TiersForBucket(w, ctx.scope, bucket_id));
    if (tiers.empty()) return Status::Ok();
    Record rec = NewBatch(bucket_id, "BUCKET");
    rec.doc["metadata"]["auto_process"] = true;
    RETURN_IF_ERROR(InsertBatch(w, ctx.scope, rec, object_ids));
    ASSIGN_OR_RETURN(task_id, Launch(w, ctx.engine, ctx.scope, rec, tiers, "api_buckets_batches_process", object_ids));
    return Status::Ok();
  }));
  ctx.engine.Wake();
  return task_id;
}

Result<Json> KillTask(Engine& engine, int64_t org, const std::string& task_id) {
  ASSIGN_OR_RETURN(Json task, GetTask(engine.store(), org, task_id));
  const Json& data = task.value("additional_data", Json::object());
  if (IsTerminalStatus(task["status"])) {
    return Status::AlreadyExists("task " + task_id + " already ended (" + task["status"].get<std::string>() + ")");
  }
  if (!data.is_object() || !data.contains("batch_id") || !data.contains("namespace_id")) {
    return Status::Invalid("task_id", "task " + task_id + " cannot be killed", "value_error");
  }
  std::string bucket;
  RETURN_IF_ERROR(engine.store().Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record rec, r.Get(Kind::kBatch, Scope{org, data["namespace_id"]}, data["batch_id"]));
    bucket = rec.parent;
    return Status::Ok();
  }));
  BatchContext ctx{engine, Scope{org, data["namespace_id"]}};
  RETURN_IF_ERROR(CancelBatch(ctx, bucket, data["batch_id"]).status());
  return Json{{"success", true}, {"message", "task " + task_id + " killed; its batch is canceled"}};
}

}  // namespace strata::engine
