#include "retrieve/retrievers.h"

#include "catalog/collections.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/time_util.h"
#include "retrieve/retriever_spec.h"

namespace strata::retrieve {

using storage::Kind;
using storage::Record;

namespace {

// Bodies of create and clone share these fields.
const std::vector<std::string> kCreateKeys = {"retriever_name", "description", "visibility", "marketplace_listing_id",
                                              "requires_subscription", "collection_identifiers", "stages",
                                              "input_schema", "budget_limits", "tags", "display_config"};

Result<Record> Load(storage::Reader& r, const storage::Scope& scope, const std::string& id_or_name) {
  auto rec = r.Get(Kind::kRetriever, scope, id_or_name);
  if (!rec.ok() && rec.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("retriever '" + id_or_name + "' not found");
  }
  return rec;
}

Json Public(Json doc) {
  doc.erase("_internal");
  return doc;
}

// Collection ids (or names) resolved to ids; an unknown one is a 422 at `loc`.
Result<std::vector<std::string>> ResolveCollections(storage::Reader& r, const storage::Scope& scope, const Json& ids,
                                                    const std::string& loc) {
  std::vector<std::string> out;
  if (ids.is_null()) return out;
  if (!ids.is_array()) return Status::Invalid(loc, "must be a list of collection ids or names", "type_error");
  ValidationErrors errs;
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string at = loc + "[" + std::to_string(i) + "]";
    if (!ids[i].is_string()) {
      errs.Add(at, "must be a collection id or name", "type_error");
      continue;
    }
    auto col = catalog::LoadCollection(r, scope, ids[i].get<std::string>());
    if (!col.ok()) {
      errs.Add(at, "collection '" + ids[i].get<std::string>() + "' not found", "not_found");
      continue;
    }
    out.push_back(col->id);
  }
  RETURN_IF_ERROR(errs.ToStatus());
  return out;
}

// Searches naming a literal feature URI must find it in one of the collections.
Status CheckFeatures(storage::Reader& r, const storage::Scope& scope, const std::vector<std::string>& collections,
                     const Json& stages) {
  std::vector<Json> cols;
  for (const auto& id : collections) {
    ASSIGN_OR_RETURN(Record c, catalog::LoadCollection(r, scope, id));
    cols.push_back(c.doc);
  }
  for (size_t i = 0; i < stages.size(); ++i) {
    const Json& p = stages[i]["config"]["parameters"];
    if (!p.contains("searches") || !p["searches"].is_array()) continue;
    if (p.contains("collection_identifiers") && !p["collection_identifiers"].is_null()) continue;  // checked at run
    for (size_t j = 0; j < p["searches"].size(); ++j) {
      const Json& s = p["searches"][j];
      const std::string loc = "body.stages[" + std::to_string(i) + "].config.parameters.searches[" + std::to_string(j) + "]";
      if (!s.is_object() || !s.contains("feature_uri") || !s["feature_uri"].is_string()) {
        return Status::Invalid(loc + ".feature_uri", "each search needs a feature_uri", "missing");
      }
      const std::string uri = s["feature_uri"];
      if (uri.find("{{") != std::string::npos || cols.empty()) continue;
      bool found = false;
      std::string known;
      for (const auto& c : cols) {
        for (const auto& v : c.value("vector_indexes", Json::array())) {
          found = found || v.value("feature_uri", "") == uri || v.value("name", "") == uri;
          known += (known.empty() ? "" : ", ") + v.value("feature_uri", "");
        }
      }
      if (!found) {
        return Status::Invalid(loc + ".feature_uri", "no collection of this retriever has the feature '" + uri +
                                                         "' (known: " + (known.empty() ? "none" : known) + ")",
                               "not_found");
      }
    }
  }
  return Status::Ok();
}

// A checked retriever document from a create (or clone) body.
Result<Json> BuildRetriever(storage::Reader& r, const storage::Scope& scope, const Json& body,
                            const std::string& principal) {
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(body, kCreateKeys, "body");
  const Json name = body.value("retriever_name", Json());
  if (!name.is_string() || name.get<std::string>().empty() || name.get<std::string>().size() > 200) {
    errs.Add("body.retriever_name", "field required: a name of 1 to 200 characters",
             name.is_null() ? "missing" : "value_error");
  }
  for (const char* k : {"tags"}) {
    if (body.contains(k) && !body[k].is_null() && !body[k].is_array()) errs.Add(std::string("body.") + k, "must be a list", "type_error");
  }
  if (body.contains("budget_limits") && !body["budget_limits"].is_null()) {
    const Json& b = body["budget_limits"];
    if (!b.is_object()) {
      errs.Add("body.budget_limits", "must be {max_credits, max_time_ms}", "type_error");
    } else if (b.contains("max_time_ms") && !b["max_time_ms"].is_null() &&
               (!b["max_time_ms"].is_number_integer() || b["max_time_ms"].get<int64_t>() <= 0)) {
      errs.Add("body.budget_limits.max_time_ms", "must be a positive integer", "value_error");
    }
  }
  RETURN_IF_ERROR(errs.ToStatus());
  ASSIGN_OR_RETURN(Json stages, NormalizeStages(body.value("stages", Json()), "body.stages"));
  ASSIGN_OR_RETURN(Json input_schema, NormalizeInputSchema(body.value("input_schema", Json()), "body.input_schema"));
  ASSIGN_OR_RETURN(auto collections,
                   ResolveCollections(r, scope, body.value("collection_identifiers", Json()), "body.collection_identifiers"));
  RETURN_IF_ERROR(CheckFeatures(r, scope, collections, stages));
  const std::string now = NowIso8601();
  return Json{{"retriever_id", NewId("ret_")},
              {"retriever_name", name},
              {"description", body.value("description", Json())},
              {"collection_ids", collections},
              {"stages", stages},
              {"input_schema", input_schema},
              {"budget_limits", body.value("budget_limits", Json::object()).is_null() ? Json::object()
                                                                                      : body.value("budget_limits", Json::object())},
              {"feature_dependencies", FeatureDependencies(stages)},
              {"tags", body.value("tags", Json::array()).is_null() ? Json::array() : body.value("tags", Json::array())},
              {"display_config", body.value("display_config", Json())},
              {"visibility", body.value("visibility", Json("private"))},
              {"version", 1},
              {"created_at", now},
              {"updated_at", now},
              {"created_by", principal},
              {"updated_by", principal},
              {"is_published", false},
              {"marketplace_listing_id", body.value("marketplace_listing_id", Json())}};
}

ExecuteRequest RequestFor(const Json& retriever, const Json& body, RetrieveCaches& caches) {
  ExecuteRequest req;
  req.stages = retriever["stages"];
  req.input_schema = retriever.value("input_schema", Json::object());
  req.inputs = body.value("inputs", Json::object());
  req.collection_ids = retriever.value("collection_ids", std::vector<std::string>{});
  req.budget_limits = retriever.value("budget_limits", Json::object());
  req.pagination = body.value("pagination", Json());
  req.retriever_id = retriever.value("retriever_id", "");
  req.version = retriever.value("version", 0);
  req.stage_cache = &caches.stages;
  return req;
}

Status CheckExecuteBody(const Json& body, const std::vector<std::string>& extra) {
  if (!body.is_null() && !body.is_object()) return Status::Invalid("body", "expected {inputs, pagination}", "type_error");
  if (body.is_null()) return Status::Ok();
  ValidationErrors errs;
  std::vector<std::string> keys = {"inputs", "pagination", "stream", "session_id", "return_urls"};
  keys.insert(keys.end(), extra.begin(), extra.end());
  errs.RejectUnknownKeys(body, keys, "body");
  if (body.contains("inputs") && !body["inputs"].is_null() && !body["inputs"].is_object()) {
    errs.Add("body.inputs", "must be an object", "type_error");
  }
  if (body.contains("pagination") && !body["pagination"].is_null() && !body["pagination"].is_object()) {
    errs.Add("body.pagination", "must be {method, limit, cursor} (or offset/keyset fields)", "type_error");
  }
  if (body.value("stream", false) == true) {
    errs.Add("body.stream", "streamed (SSE) execution is not served; send stream=false", "value_error");
  }
  return errs.ToStatus();
}

// Runs `req` through the response cache: a hit answers without executing; an
// If-None-Match equal to the answer's ETag answers 304.
Result<ExecuteAnswer> Cached(RetrieverContext& rc, ExecuteRequest& req, const ExecuteOptions& options) {
  std::vector<std::string> read = req.collection_ids;
  ASSIGN_OR_RETURN(std::string signature, CollectionsSignature(rc.ctx, read));
  const std::string key = ResponseKey(req, signature) + (options.return_vectors ? ":v" : "");
  ExecuteAnswer a;
  a.etag = "\"" + key.substr(0, 32) + "\"";
  if (!options.if_none_match.empty() && options.if_none_match == a.etag) {
    if (rc.caches.responses.Get(key)) {
      a.not_modified = true;
      a.cache_hit = true;
      return a;
    }
  }
  if (auto hit = rc.caches.responses.Get(key)) {
    a.body = std::move(*hit);
    a.cache_hit = true;
    return a;
  }
  ASSIGN_OR_RETURN(a.body, Execute(rc.ctx, req));
  if (options.return_vectors) {
    RETURN_IF_ERROR(rc.ctx.store.Read([&](storage::Reader& r) -> Status {
      for (auto& d : a.body["documents"]) {
        if (!d.contains("document_id") || !d["document_id"].is_string()) continue;
        ASSIGN_OR_RETURN(auto vectors, r.GetVectors(d["document_id"].get<std::string>()));
        for (auto& [name, v] : vectors) d[name] = std::move(v);
      }
      return Status::Ok();
    }));
  }
  rc.caches.responses.Put(key, a.body, 0);
  if (!options.if_none_match.empty() && options.if_none_match == a.etag) a.not_modified = true;
  return a;
}

// The RetrieverExecutionSummary fields executions/list reports.
void AddExecutionSummary(Json& rec, const Json& response, const Json& inputs) {
  const Json& stats = response["stage_statistics"];
  int64_t processed = 0;
  size_t hits = 0, stages = 0;
  const Json per_stage = stats.value("stages", Json::object());
  for (const auto& [name, st] : per_stage.items()) {
    processed += st.value("input_count", int64_t{0});
    hits += st.value("cache_hit", false) ? 1 : 0;
    ++stages;
  }
  rec["duration_ms"] = stats.value("total_time_ms", 0.0);
  rec["credits_used"] = stats.value("credits_used", 0.0);
  rec["total_processed"] = processed;
  rec["total_returned"] = response["documents"].size();
  rec["cache_hit_rate"] = stages == 0 ? Json(nullptr) : Json(static_cast<double>(hits) / static_cast<double>(stages));
  rec["inputs_hash"] = Sha256Hex(inputs.dump()).substr(0, 16);
  std::string summary = inputs.is_object() && inputs.contains("query") && inputs["query"].is_string()
                            ? inputs["query"].get<std::string>()
                            : inputs.dump();
  if (summary.size() > 120) {
    size_t cut = 117;
    while (cut > 0 && (static_cast<unsigned char>(summary[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
    summary = summary.substr(0, cut) + "...";
  }
  rec["query_summary"] = summary;
}

}  // namespace

Result<Json> CreateRetriever(RetrieverContext& rc, const Json& body) {
  Json doc;
  RETURN_IF_ERROR(rc.ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(doc, BuildRetriever(w, rc.ctx.scope, body, rc.principal));
    Status st = w.Insert(Kind::kRetriever, rc.ctx.scope,
                         Record{doc["retriever_id"], "", doc["retriever_name"].get<std::string>(), std::nullopt,
                                std::nullopt, doc});
    if (st.code() == StatusCode::kAlreadyExists) {
      return Status::AlreadyExists("a retriever named '" + doc["retriever_name"].get<std::string>() +
                                   "' already exists in this namespace");
    }
    return st;
  }));
  return Json{{"retriever", Public(doc)}};
}

Result<Json> GetRetriever(RetrieverContext& rc, const std::string& id_or_name) {
  Json out;
  RETURN_IF_ERROR(rc.ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record rec, Load(r, rc.ctx.scope, id_or_name));
    out = Public(rec.doc);
    return Status::Ok();
  }));
  return out;
}

Result<Json> ListRetrievers(RetrieverContext& rc, const Json& body, const catalog::QueryParams& params) {
  ASSIGN_OR_RETURN(catalog::ListRequest req, catalog::ParseListRequest(body, params));
  req.query.include_total = true;
  ASSIGN_OR_RETURN(Json out, catalog::RunList(rc.ctx.store,
                                              {Kind::kRetriever, rc.ctx.scope, {"retriever_id"}, nullptr,
                                               [](storage::Reader&, Json doc) -> Result<Json> { return Public(std::move(doc)); }},
                                              req));
  out["total"] = out["pagination"].value("total", Json(out["results"].size()));
  return out;
}

Result<Json> PatchRetriever(RetrieverContext& rc, const std::string& id_or_name, const Json& body) {
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(body, {"retriever_name", "description", "visibility", "marketplace_listing_id",
                                "requires_subscription", "tags", "display_config"}, "body");
  if (body.contains("retriever_name") && !body["retriever_name"].is_null() &&
      (!body["retriever_name"].is_string() || body["retriever_name"].get<std::string>().empty())) {
    errs.Add("body.retriever_name", "must be a non-empty string", "value_error");
  }
  if (body.contains("tags") && !body["tags"].is_null() && !body["tags"].is_array()) errs.Add("body.tags", "must be a list", "type_error");
  RETURN_IF_ERROR(errs.ToStatus());
  Json out;
  RETURN_IF_ERROR(rc.ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record rec, Load(w, rc.ctx.scope, id_or_name));
    for (auto it = body.begin(); it != body.end(); ++it) {
      if (!it.value().is_null()) rec.doc[it.key()] = it.value();
    }
    rec.name = rec.doc["retriever_name"].get<std::string>();
    rec.doc["version"] = rec.doc.value("version", 1) + 1;
    rec.doc["updated_at"] = NowIso8601();
    rec.doc["updated_by"] = rc.principal;
    Status st = w.Update(Kind::kRetriever, rc.ctx.scope, rec);
    if (st.code() == StatusCode::kAlreadyExists) {
      return Status::AlreadyExists("a retriever named '" + *rec.name + "' already exists in this namespace");
    }
    RETURN_IF_ERROR(st);
    out = Public(rec.doc);
    return Status::Ok();
  }));
  return Json{{"retriever", out}};
}

Result<Json> DeleteRetriever(RetrieverContext& rc, const std::string& id_or_name) {
  std::string id;
  RETURN_IF_ERROR(rc.ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record rec, Load(w, rc.ctx.scope, id_or_name));
    id = rec.id;
    RETURN_IF_ERROR(w.DeleteAll(Kind::kExecution, rc.ctx.scope, rec.id).status());
    return w.Delete(Kind::kRetriever, rc.ctx.scope, rec.id);
  }));
  return Json{{"success", true}, {"message", "retriever " + id + " deleted"}, {"retriever_id", id}};
}

Result<Json> CloneRetriever(RetrieverContext& rc, const std::string& id_or_name, const Json& body) {
  if (!body.is_object()) return Status::Invalid("body", "expected {retriever_name, ...}", "type_error");
  Json doc, source_id;
  RETURN_IF_ERROR(rc.ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record src, Load(w, rc.ctx.scope, id_or_name));
    source_id = src.id;
    Json merged = {{"description", src.doc.value("description", Json())},
                   {"collection_identifiers", src.doc["collection_ids"]},
                   {"stages", src.doc["stages"]},
                   {"input_schema", src.doc["input_schema"]},
                   {"budget_limits", src.doc.value("budget_limits", Json::object())},
                   {"tags", src.doc.value("tags", Json::array())},
                   {"display_config", src.doc.value("display_config", Json())}};
    for (auto it = body.begin(); it != body.end(); ++it) {
      if (!it.value().is_null()) merged[it.key()] = it.value();
    }
    ASSIGN_OR_RETURN(doc, BuildRetriever(w, rc.ctx.scope, merged, rc.principal));
    Status st = w.Insert(Kind::kRetriever, rc.ctx.scope,
                         Record{doc["retriever_id"], "", doc["retriever_name"].get<std::string>(), std::nullopt,
                                std::nullopt, doc});
    if (st.code() == StatusCode::kAlreadyExists) {
      return Status::AlreadyExists("a retriever named '" + doc["retriever_name"].get<std::string>() + "' already exists");
    }
    return st;
  }));
  return Json{{"retriever", Public(doc)}, {"source_retriever_id", source_id}};
}

Result<ExecuteAnswer> ExecuteRetriever(RetrieverContext& rc, const std::string& id_or_name, const Json& body,
                                       const ExecuteOptions& options) {
  RETURN_IF_ERROR(CheckExecuteBody(body, {}));
  Json retriever;
  RETURN_IF_ERROR(rc.ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record rec, Load(r, rc.ctx.scope, id_or_name));
    retriever = std::move(rec.doc);
    return Status::Ok();
  }));
  const Json b = body.is_object() ? body : Json::object();
  ExecuteRequest req = RequestFor(retriever, b, rc.caches);
  ASSIGN_OR_RETURN(ExecuteAnswer a, Cached(rc, req, options));
  if (a.not_modified || a.cache_hit) return a;
  // A record of the execution (without its documents) for executions/list.
  Json rec = a.body;
  rec.erase("documents");
  rec["document_count"] = a.body["documents"].size();
  rec["inputs"] = req.inputs;
  AddExecutionSummary(rec, a.body, req.inputs);
  Status st = rc.ctx.store.Write([&](storage::Writer& w) {
    return w.Insert(Kind::kExecution, rc.ctx.scope,
                    Record{rec["execution_id"], req.retriever_id, std::nullopt, std::nullopt, std::nullopt, rec});
  });
  if (!st.ok()) return st;
  return a;
}

Result<ExecuteAnswer> ExecuteAdhoc(RetrieverContext& rc, const Json& body, const ExecuteOptions& options) {
  RETURN_IF_ERROR(CheckExecuteBody(body, {"collection_identifiers", "input_schema", "stages", "budget_limits"}));
  if (body.is_null()) return Status::Invalid("body", "expected {collection_identifiers, input_schema, stages, inputs}", "missing");
  ValidationErrors errs;
  for (const char* k : {"stages", "inputs"}) {
    if (!body.contains(k)) errs.Add(std::string("body.") + k, "field required", "missing");
  }
  RETURN_IF_ERROR(errs.ToStatus());
  Json retriever;
  RETURN_IF_ERROR(rc.ctx.store.Read([&](storage::Reader& r) -> Status {
    Json b = {{"retriever_name", "adhoc"},
              {"stages", body["stages"]},
              {"input_schema", body.value("input_schema", Json::object())},
              {"collection_identifiers", body.value("collection_identifiers", Json::array())},
              {"budget_limits", body.value("budget_limits", Json())}};
    ASSIGN_OR_RETURN(retriever, BuildRetriever(r, rc.ctx.scope, b, rc.principal));
    return Status::Ok();
  }));
  retriever["retriever_id"] = "";
  ExecuteRequest req = RequestFor(retriever, body, rc.caches);
  return Cached(rc, req, options);
}

Result<Json> ExplainRetriever(RetrieverContext& rc, const std::string& id_or_name, const Json& body) {
  if (!body.is_null() && !body.is_object()) return Status::Invalid("body", "expected {inputs}", "type_error");
  Json retriever;
  RETURN_IF_ERROR(rc.ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record rec, Load(r, rc.ctx.scope, id_or_name));
    retriever = std::move(rec.doc);
    return Status::Ok();
  }));
  ExecuteRequest req = RequestFor(retriever, body.is_object() ? body : Json::object(), rc.caches);
  ASSIGN_OR_RETURN(Json plan, Explain(rc.ctx, req));
  plan["retriever_name"] = retriever["retriever_name"];
  plan["total_estimated_stages"] = plan["execution_plan"].size();
  plan["optimization_level"] = "mvp";
  return plan;
}

Result<Json> ListExecutions(RetrieverContext& rc, const std::string& id_or_name, const Json& body,
                            const catalog::QueryParams& params) {
  Json b = body.is_object() ? body : Json::object();
  if (b.contains("status")) {
    if (b["status"].is_string()) b["filters"] = {{"field", "status"}, {"operator", "eq"}, {"value", b["status"]}};
    b.erase("status");
  }
  b.erase("sorts");
  ASSIGN_OR_RETURN(catalog::ListRequest req, catalog::ParseListRequest(b, params));
  req.query.include_total = true;
  std::string id;
  RETURN_IF_ERROR(rc.ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record rec, Load(r, rc.ctx.scope, id_or_name));
    id = rec.id;
    return Status::Ok();
  }));
  req.query.parent = id;
  ASSIGN_OR_RETURN(Json out, catalog::RunList(rc.ctx.store, {Kind::kExecution, rc.ctx.scope, {"execution_id"}, nullptr, nullptr},
                                              req));
  const Json& pg = out["pagination"];
  out["pagination"] = {{"total", pg.value("total", Json(out["results"].size()))},
                       {"limit", req.query.limit},
                       {"offset", req.query.offset},
                       {"has_next", pg.value("has_more", Json(false))}};
  return out;
}

Result<Json> GetExecution(RetrieverContext& rc, const std::string& id_or_name, const std::string& execution_id) {
  Json out;
  RETURN_IF_ERROR(rc.ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record ret, Load(r, rc.ctx.scope, id_or_name));
    auto rec = r.Get(Kind::kExecution, rc.ctx.scope, execution_id, ret.id);
    if (!rec.ok()) {
      return rec.status().code() == StatusCode::kNotFound
                 ? Status::NotFound("execution '" + execution_id + "' not found for this retriever")
                 : rec.status();
    }
    out = std::move(rec->doc);
    if (!out.contains("documents")) out["documents"] = Json::array();
    return Status::Ok();
  }));
  return out;
}

Result<Json> StageRegistry(const std::string& category) {
  static const std::vector<std::string> kCategories = {"filter", "sort", "reduce", "apply", "enrich"};
  if (!category.empty() && std::find(kCategories.begin(), kCategories.end(), category) == kCategories.end()) {
    return Status::Invalid("query.category", "must be one of filter, sort, reduce, apply, enrich", "enum");
  }
  Json out = Json::array();
  for (const auto& s : AllStages()) {
    if (!category.empty() && s.category != category) continue;
    out.push_back({{"stage_id", s.id},
                   {"description", s.description},
                   {"category", s.category},
                   {"icon", s.icon},
                   {"parameter_schema", s.parameter_schema}});
  }
  return out;
}

}  // namespace strata::retrieve
