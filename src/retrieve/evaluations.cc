#include "retrieve/evaluations.h"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <tuple>

#include "core/ids.h"
#include "core/time_util.h"
#include "engine/tasks.h"
#include "retrieve/metrics.h"

namespace strata::retrieve {

using storage::Kind;
using storage::Record;

namespace {

const std::vector<std::string> kMetrics = {"precision", "recall", "f1", "map", "ndcg", "mrr"};

Result<Record> LoadDataset(storage::Reader& r, const storage::Scope& scope, const std::string& id_or_name) {
  auto rec = r.Get(Kind::kEvalDataset, scope, id_or_name);
  if (!rec.ok() && rec.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("evaluation dataset '" + id_or_name + "' not found");
  }
  return rec;
}

Result<Record> LoadRetriever(storage::Reader& r, const storage::Scope& scope, const std::string& id_or_name) {
  auto rec = r.Get(Kind::kRetriever, scope, id_or_name);
  if (!rec.ok() && rec.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("retriever '" + id_or_name + "' not found");
  }
  return rec;
}

Result<Json> CheckQueries(const Json& queries) {
  if (!queries.is_array() || queries.empty()) {
    return Status::Invalid("body.queries", "field required: a non-empty list of {query_id, query_input, relevant_documents}",
                           queries.is_null() ? "missing" : "type_error");
  }
  ValidationErrors errs;
  std::set<std::string> ids;
  for (size_t i = 0; i < queries.size(); ++i) {
    const std::string at = "body.queries[" + std::to_string(i) + "]";
    const Json& q = queries[i];
    if (!q.is_object()) {
      errs.Add(at, "must be {query_id, query_input, relevant_documents, relevance_scores}", "type_error");
      continue;
    }
    if (!q.contains("query_id") || !q["query_id"].is_string() || q["query_id"].get<std::string>().empty()) {
      errs.Add(at + ".query_id", "field required", "missing");
    } else if (!ids.insert(q["query_id"]).second) {
      errs.Add(at + ".query_id", "query '" + q["query_id"].get<std::string>() + "' appears twice", "value_error");
    }
    if (!q.contains("query_input") || !q["query_input"].is_object()) {
      errs.Add(at + ".query_input", "field required: the retriever's inputs for this query", "missing");
    }
    if (!q.contains("relevant_documents") || !q["relevant_documents"].is_array()) {
      errs.Add(at + ".relevant_documents", "field required: a list of document ids", "missing");
    }
    if (q.contains("relevance_scores") && !q["relevance_scores"].is_null()) {
      if (!q["relevance_scores"].is_object()) {
        errs.Add(at + ".relevance_scores", "must be {document_id: grade}", "type_error");
      } else {
        for (auto it = q["relevance_scores"].begin(); it != q["relevance_scores"].end(); ++it) {
          if (!it.value().is_number()) errs.Add(at + ".relevance_scores." + it.key(), "must be a number", "type_error");
        }
      }
    }
  }
  RETURN_IF_ERROR(errs.ToStatus());
  return queries;
}

Json Config(const Json& given) {
  Json c = given.is_object() ? given : Json::object();
  if (!c.contains("k_values") || !c["k_values"].is_array()) c["k_values"] = {1, 5, 10, 20};
  if (!c.contains("metrics") || !c["metrics"].is_array()) c["metrics"] = kMetrics;
  return c;
}

// The evaluation lists page by `page` (from 1) and `page_size` (1..1000,
// default 20) and answer {<items_key>: [...], total, page, page_size}.
Result<Json> PagedList(RetrieverContext& rc, Kind kind, const std::string& id_field, const std::string& parent,
                       const catalog::QueryParams& params, const Json& filters, const char* items_key) {
  int64_t page = 1, page_size = 20;
  for (auto [name, out, hi] : {std::tuple{"page", &page, int64_t{1000000}}, std::tuple{"page_size", &page_size, int64_t{1000}}}) {
    auto it = params.find(name);
    if (it == params.end()) continue;
    char* end = nullptr;
    const long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || v < 1 || v > hi) {
      return Status::Invalid(std::string("query.") + name, "must be an integer from 1 to " + std::to_string(hi),
                             "value_error");
    }
    *out = v;
  }
  catalog::QueryParams paging = {{"limit", std::to_string(page_size)}, {"offset", std::to_string((page - 1) * page_size)}};
  Json body = filters.is_null() ? Json::object() : Json{{"filters", filters}};
  ASSIGN_OR_RETURN(catalog::ListRequest req, catalog::ParseListRequest(body, paging));
  req.query.include_total = true;
  req.query.parent = parent;
  ASSIGN_OR_RETURN(Json out, catalog::RunList(rc.ctx.store, {kind, rc.ctx.scope, {id_field}, nullptr, nullptr}, req));
  return Json{{items_key, std::move(out["results"])},
              {"total", out["pagination"].value("total", Json(0))},
              {"page", page},
              {"page_size", page_size}};
}

}  // namespace

Result<Json> CreateDataset(RetrieverContext& rc, const Json& body) {
  if (!body.is_object()) return Status::Invalid("body", "expected {dataset_name, queries}", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(body, {"dataset_name", "description", "queries", "metadata"}, "body");
  const Json name = body.value("dataset_name", Json());
  if (!name.is_string() || name.get<std::string>().empty()) errs.Add("body.dataset_name", "field required", "missing");
  RETURN_IF_ERROR(errs.ToStatus());
  ASSIGN_OR_RETURN(Json queries, CheckQueries(body.value("queries", Json())));
  const std::string now = NowIso8601();
  const std::string id = NewId("eds_");
  Json doc = {{"dataset_id", id}, {"dataset_name", name}, {"description", body.value("description", Json())},
              {"queries", queries}, {"created_at", now}, {"updated_at", now}, {"namespace_id", rc.ctx.scope.ns},
              {"internal_id", id}, {"query_count", queries.size()}, {"metadata", body.value("metadata", Json())}};
  RETURN_IF_ERROR(rc.ctx.store.Write([&](storage::Writer& w) -> Status {
    Status st = w.Insert(Kind::kEvalDataset, rc.ctx.scope,
                         Record{id, "", name.get<std::string>(), std::nullopt, std::nullopt, doc});
    if (st.code() == StatusCode::kAlreadyExists) {
      return Status::AlreadyExists("an evaluation dataset named '" + name.get<std::string>() + "' already exists");
    }
    return st;
  }));
  return doc;
}

Result<Json> GetDataset(RetrieverContext& rc, const std::string& id_or_name) {
  Json out;
  RETURN_IF_ERROR(rc.ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record rec, LoadDataset(r, rc.ctx.scope, id_or_name));
    out = std::move(rec.doc);
    return Status::Ok();
  }));
  return out;
}

Result<Json> ListDatasets(RetrieverContext& rc, const catalog::QueryParams& params) {
  return PagedList(rc, Kind::kEvalDataset, "dataset_id", "", params, Json(), "datasets");
}

Result<Json> StartEvaluation(RetrieverContext& rc, engine::Engine& engine, const std::string& retriever,
                             const Json& body) {
  if (!body.is_object()) return Status::Invalid("body", "expected {dataset_name, evaluation_config}", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(body, {"dataset_name", "evaluation_config"}, "body");
  if (!body.contains("dataset_name") || !body["dataset_name"].is_string()) {
    errs.Add("body.dataset_name", "field required", "missing");
  }
  const Json config = Config(body.value("evaluation_config", Json()));
  for (const auto& k : config["k_values"]) {
    if (!k.is_number_integer() || k.get<int64_t>() < 1 || k.get<int64_t>() > 1000) {
      errs.Add("body.evaluation_config.k_values", "each k is an integer from 1 to 1000", "value_error");
    }
  }
  for (const auto& m : config["metrics"]) {
    if (!m.is_string() || std::find(kMetrics.begin(), kMetrics.end(), m.get<std::string>()) == kMetrics.end()) {
      errs.Add("body.evaluation_config.metrics", "available: precision, recall, f1, map, ndcg, mrr", "enum");
    }
  }
  RETURN_IF_ERROR(errs.ToStatus());
  Json out;
  RETURN_IF_ERROR(rc.ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record ret, LoadRetriever(w, rc.ctx.scope, retriever));
    ASSIGN_OR_RETURN(Record ds, LoadDataset(w, rc.ctx.scope, body["dataset_name"]));
    const std::string now = NowIso8601();
    const std::string id = NewId("eval_");
    ASSIGN_OR_RETURN(std::string task_id,
                     engine::CreateTask(w, rc.ctx.scope.org, "api_evaluations_run",
                                        {{"evaluation_id", id}, {"retriever_id", ret.id}, {"namespace_id", rc.ctx.scope.ns}}));
    Json doc = {{"evaluation_id", id},        {"retriever_id", ret.id},
                {"dataset_id", ds.id},        {"dataset_name", ds.doc["dataset_name"]},
                {"config", config},           {"status", "pending"},
                {"created_at", now},          {"updated_at", now},
                {"completed_at", nullptr},    {"namespace_id", rc.ctx.scope.ns},
                {"internal_id", id},          {"query_count", ds.doc["query_count"]},
                {"overall_metrics", nullptr}, {"metrics_by_k", nullptr},
                {"error_message", nullptr},   {"task_id", task_id}};
    RETURN_IF_ERROR(w.Insert(Kind::kEvaluation, rc.ctx.scope, Record{id, ret.id, std::nullopt, std::nullopt, std::nullopt, doc}));
    RETURN_IF_ERROR(w.EnqueueJob(storage::Job{NewId("job_"), rc.ctx.scope.org, rc.ctx.scope.ns, kEvaluationJob, id, 0,
                                              {{"evaluation_id", id}, {"retriever_id", ret.id}}}));
    out = {{"task_id", task_id}, {"evaluation_id", id}, {"task_type", "api_evaluations_run"}, {"status", "pending"},
           {"created_at", now}};
    return Status::Ok();
  }));
  engine.Wake();
  return out;
}

Result<Json> GetEvaluation(RetrieverContext& rc, const std::string& retriever, const std::string& evaluation_id) {
  Json out;
  RETURN_IF_ERROR(rc.ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record ret, LoadRetriever(r, rc.ctx.scope, retriever));
    auto rec = r.Get(Kind::kEvaluation, rc.ctx.scope, evaluation_id, ret.id);
    if (!rec.ok()) {
      return rec.status().code() == StatusCode::kNotFound
                 ? Status::NotFound("evaluation '" + evaluation_id + "' not found for this retriever")
                 : rec.status();
    }
    out = std::move(rec->doc);
    return Status::Ok();
  }));
  return out;
}

Result<Json> ListEvaluations(RetrieverContext& rc, const std::string& retriever, const catalog::QueryParams& params) {
  std::string id;
  RETURN_IF_ERROR(rc.ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record ret, LoadRetriever(r, rc.ctx.scope, retriever));
    id = ret.id;
    return Status::Ok();
  }));
  Json conditions = Json::array();
  for (const char* field : {"status", "dataset_name"}) {
    if (auto it = params.find(field); it != params.end() && !it->second.empty()) {
      conditions.push_back({{"field", field}, {"operator", "eq"}, {"value", it->second}});
    }
  }
  Json filters = conditions.empty() ? Json() : Json{{"AND", conditions}};
  return PagedList(rc, Kind::kEvaluation, "evaluation_id", id, params, filters, "evaluations");
}

Status RunEvaluationJob(RetrieverContext& rc, engine::Engine& engine, const storage::Job& job) {
  const std::string eval_id = job.payload.value("evaluation_id", "");
  Json eval, dataset, retriever;
  Status loaded = rc.ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record e, r.Get(Kind::kEvaluation, rc.ctx.scope, eval_id));
    eval = std::move(e.doc);
    ASSIGN_OR_RETURN(Record d, r.Get(Kind::kEvalDataset, rc.ctx.scope, eval["dataset_id"].get<std::string>()));
    dataset = std::move(d.doc);
    ASSIGN_OR_RETURN(Record ret, r.Get(Kind::kRetriever, rc.ctx.scope, eval["retriever_id"].get<std::string>()));
    retriever = std::move(ret.doc);
    return Status::Ok();
  });
  auto finish = [&](const std::string& status, const Json& error) -> Status {
    return rc.ctx.store.Write([&](storage::Writer& w) -> Status {
      RETURN_IF_ERROR(w.FinishJob(job.id));
      auto rec = w.Get(Kind::kEvaluation, rc.ctx.scope, eval_id);
      if (!rec.ok()) return rec.status().code() == StatusCode::kNotFound ? Status::Ok() : rec.status();
      rec->doc = eval.is_object() ? eval : rec->doc;
      rec->doc["status"] = status;
      rec->doc["error_message"] = error;
      rec->doc["updated_at"] = NowIso8601();
      rec->doc["completed_at"] = rec->doc["updated_at"];
      RETURN_IF_ERROR(w.Update(Kind::kEvaluation, rc.ctx.scope, *rec));
      const std::string task_status = status == "completed" ? "COMPLETED" : "FAILED";
      return engine::SetTaskStatus(w, rc.ctx.scope.org, rec->doc["task_id"], task_status, error,
                                   Json::array({{{"evaluation_id", eval_id}}}));
    });
  };
  if (!loaded.ok()) {
    if (eval.is_null()) return rc.ctx.store.Write([&](storage::Writer& w) { return w.FinishJob(job.id); });
    return finish("failed", loaded.message());
  }
  std::vector<size_t> ks;
  size_t max_k = 1;
  for (const auto& k : eval["config"]["k_values"]) {
    ks.push_back(k.get<size_t>());
    max_k = std::max(max_k, ks.back());
  }
  std::map<std::string, std::vector<std::string>> run;
  std::map<std::string, Judgements> judgements;
  for (const auto& q : dataset["queries"]) {
    if (engine.stopping()) return Status::Ok();  // left running: re-run at the next start
    ExecuteRequest req;
    req.stages = retriever["stages"];
    req.input_schema = retriever.value("input_schema", Json::object());
    req.inputs = q["query_input"];
    req.collection_ids = retriever.value("collection_ids", std::vector<std::string>{});
    req.budget_limits = retriever.value("budget_limits", Json::object());
    req.pagination = {{"method", "offset"}, {"page_size", max_k}, {"page_number", 1}};
    req.retriever_id = retriever["retriever_id"];
    auto out = Execute(rc.ctx, req);
    if (!out.ok()) {
      return finish("failed", "query '" + q["query_id"].get<std::string>() + "': " + out.status().message());
    }
    std::vector<std::string> ids;
    for (const auto& d : (*out)["documents"]) ids.push_back(d.value("document_id", ""));
    run[q["query_id"]] = std::move(ids);
    Judgements scores;
    if (q.contains("relevance_scores") && q["relevance_scores"].is_object()) {
      for (auto it = q["relevance_scores"].begin(); it != q["relevance_scores"].end(); ++it) {
        scores[it.key()] = it.value().get<double>();
      }
    }
    judgements[q["query_id"]] = MakeJudgements(q["relevant_documents"].get<std::vector<std::string>>(), scores);
  }
  Json by_k = Json::object();
  for (size_t k : ks) {
    RunEvaluation ev = EvaluateRun(run, judgements, k);
    Json all = MetricsToJson(ev.mean);
    Json kept = Json::object();
    for (const auto& m : eval["config"]["metrics"]) {
      if (all.contains(m.get<std::string>())) kept[m.get<std::string>()] = all[m.get<std::string>()];
    }
    by_k[std::to_string(k)] = kept;
  }
  eval["metrics_by_k"] = by_k;
  // The headline numbers: each metric at the largest k (nDCG and MRR too).
  eval["overall_metrics"] = by_k[std::to_string(max_k)];
  return finish("completed", Json());
}

}  // namespace strata::retrieve
