#include "engine/tasks.h"

#include "core/ids.h"
#include "core/time_util.h"

namespace strata::engine {

using storage::Kind;
using storage::Record;
using storage::Scope;

namespace {

Json PublicTask(Json doc) {
  doc.erase("_internal");
  return doc;
}

}  // namespace

bool IsTerminalStatus(const std::string& s) {
  return s == "COMPLETED" || s == "COMPLETED_WITH_ERRORS" || s == "FAILED" || s == "CANCELED";
}

Result<std::string> CreateTask(storage::Writer& w, int64_t org, const std::string& task_type,
                               const Json& additional_data) {
  const std::string id = NewId("tsk_");
  const std::string now = NowIso8601();
  Json doc = {{"task_id", id},       {"task_type", task_type}, {"status", "PENDING"},
              {"inputs", Json::array()}, {"outputs", Json::array()}, {"additional_data", additional_data},
              {"error", nullptr},    {"created_at", now},      {"updated_at", now}};
  RETURN_IF_ERROR(w.Insert(Kind::kTask, Scope{org, ""}, Record{id, "", std::nullopt, std::nullopt, std::nullopt, doc}));
  return id;
}

Status SetTaskStatus(storage::Writer& w, int64_t org, const std::string& task_id, const std::string& status,
                     const Json& error, const Json& outputs) {
  ASSIGN_OR_RETURN(Record rec, w.Get(Kind::kTask, Scope{org, ""}, task_id));
  if (rec.doc["status"] == status && error.is_null() && outputs.is_null()) return Status::Ok();
  rec.doc["status"] = status;
  if (!error.is_null()) rec.doc["error"] = error;
  if (!outputs.is_null()) rec.doc["outputs"] = outputs;
  rec.doc["updated_at"] = NowIso8601();
  return w.Update(Kind::kTask, Scope{org, ""}, rec);
}

Result<Json> GetTask(storage::MetadataStore& store, int64_t org, const std::string& task_id) {
  Json out;
  RETURN_IF_ERROR(store.Read([&](storage::Reader& r) -> Status {
    auto rec = r.Get(Kind::kTask, Scope{org, ""}, task_id);
    if (!rec.ok()) {
      return rec.status().code() == StatusCode::kNotFound ? Status::NotFound("task '" + task_id + "' not found")
                                                          : rec.status();
    }
    out = PublicTask(rec->doc);
    return Status::Ok();
  }));
  return out;
}

Result<Json> ListTasks(storage::MetadataStore& store, int64_t org, const std::string& ns, const Json& body,
                       const catalog::QueryParams& params) {
  // status and task_type are shorthand for filters on those fields.
  Json b = body.is_object() ? body : Json::object();
  Json conditions = Json::array();
  for (const char* key : {"status", "task_type"}) {
    if (b.contains(key) && !b[key].is_null()) {
      if (!b[key].is_string()) return Status::Invalid(std::string("body.") + key, "must be a string", "type_error");
      conditions.push_back({{"field", key}, {"operator", "eq"}, {"value", b[key]}});
    }
    b.erase(key);
  }
  if (!ns.empty()) conditions.push_back({{"field", "additional_data.namespace_id"}, {"operator", "eq"}, {"value", ns}});
  if (b.contains("filters") && !b["filters"].is_null()) conditions.push_back(b["filters"]);
  if (!conditions.empty()) b["filters"] = {{"AND", conditions}};
  ASSIGN_OR_RETURN(catalog::ListRequest req, catalog::ParseListRequest(b, params));
  if (req.query.sort.field.empty()) req.query.sort = {"created_at", true};
  return catalog::RunList(store,
                          {Kind::kTask, Scope{org, ""}, {"task_id"}, nullptr,
                           [](storage::Reader&, Json doc) -> Result<Json> { return PublicTask(std::move(doc)); }},
                          req);
}

}  // namespace strata::engine
