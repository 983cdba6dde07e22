// Retrievers: CRUD, execute (with the response cache, ETag and 304),
// ad-hoc execute, explain, executions, and the stage registry.
#include <httplib.h>

#include "engine/engine.h"
#include "retrieve/evaluations.h"
#include "retrieve/retrievers.h"
#include "server/http_server.h"

namespace strata::server {

namespace {

retrieve::RetrieveContext Retrieve(Context& c) {
  return retrieve::RetrieveContext{*c.svc.store, c.scope, *c.svc.extractors, *c.svc.vectors};
}

// Sends an execute answer with its cache headers; a 304 has no body.
Result<Json> Answer(Context& c, Result<retrieve::ExecuteAnswer> a) {
  if (!a.ok()) return a.status();
  c.res.set_header("ETag", a->etag);
  c.res.set_header("X-Cache", a->cache_hit ? "HIT" : "MISS");
  c.res.set_header("Cache-Control", "private, no-cache");
  if (a->not_modified) {
    c.raw_response = true;
    c.res.status = 304;
    return Json();
  }
  return std::move(a->body);
}

retrieve::ExecuteOptions Options(Context& c) {
  retrieve::ExecuteOptions o;
  o.if_none_match = c.req.get_header_value("If-None-Match");
  o.return_vectors = c.QueryFlag("return_vectors");
  return o;
}

}  // namespace

std::vector<Route> RetrieverRoutes() {
  const std::string one = "/v1/retrievers/{retriever_id}";
  auto with = [](auto fn) {
    return [fn](Context& c) -> Result<Json> {
      auto ctx = Retrieve(c);
      retrieve::RetrieverContext rc{ctx, *c.svc.retrieve_caches, c.principal.key_id};
      return fn(c, rc);
    };
  };
  return {
      {"GET", "/v1/retrievers/stages", Access::kRead, false,
       [](Context& c) -> Result<Json> {
         auto q = c.Query();
         return retrieve::StageRegistry(q.count("category") ? q["category"] : "");
       }},
      {"POST", "/v1/retrievers", Access::kWrite, true,
       with([](Context& c, retrieve::RetrieverContext& rc) { return retrieve::CreateRetriever(rc, c.body); })},
      {"POST", "/v1/retrievers/list", Access::kRead, true,
       with([](Context& c, retrieve::RetrieverContext& rc) { return retrieve::ListRetrievers(rc, c.body, c.Query()); })},
      {"POST", "/v1/retrievers/execute", Access::kRead, true,
       with([](Context& c, retrieve::RetrieverContext& rc) {
         return Answer(c, retrieve::ExecuteAdhoc(rc, c.body, Options(c)));
       })},
      {"GET", one, Access::kRead, true,
       with([](Context& c, retrieve::RetrieverContext& rc) { return retrieve::GetRetriever(rc, c.Param(1)); })},
      {"PATCH", one, Access::kWrite, true,
       with([](Context& c, retrieve::RetrieverContext& rc) { return retrieve::PatchRetriever(rc, c.Param(1), c.body); })},
      {"DELETE", one, Access::kDelete, true,
       with([](Context& c, retrieve::RetrieverContext& rc) { return retrieve::DeleteRetriever(rc, c.Param(1)); })},
      {"POST", one + "/clone", Access::kWrite, true,
       with([](Context& c, retrieve::RetrieverContext& rc) {
         c.status = 201;
         return retrieve::CloneRetriever(rc, c.Param(1), c.body);
       })},
      {"POST", one + "/execute", Access::kRead, true,
       with([](Context& c, retrieve::RetrieverContext& rc) {
         return Answer(c, retrieve::ExecuteRetriever(rc, c.Param(1), c.body, Options(c)));
       })},
      {"POST", one + "/execute/explain", Access::kRead, true,
       with([](Context& c, retrieve::RetrieverContext& rc) { return retrieve::ExplainRetriever(rc, c.Param(1), c.body); })},
      {"POST", one + "/executions/list", Access::kRead, true,
       with([](Context& c, retrieve::RetrieverContext& rc) {
         return retrieve::ListExecutions(rc, c.Param(1), c.body, c.Query());
       })},
      {"GET", one + "/executions/{execution_id}", Access::kRead, true,
       with([](Context& c, retrieve::RetrieverContext& rc) { return retrieve::GetExecution(rc, c.Param(1), c.Param(2)); })},
      {"POST", "/v1/retrievers/evaluations/datasets", Access::kWrite, true,
       with([](Context& c, retrieve::RetrieverContext& rc) {
         c.status = 201;
         return retrieve::CreateDataset(rc, c.body);
       })},
      {"GET", "/v1/retrievers/evaluations/datasets", Access::kRead, true,
       with([](Context& c, retrieve::RetrieverContext& rc) { return retrieve::ListDatasets(rc, c.Query()); })},
      {"GET", "/v1/retrievers/evaluations/datasets/{dataset_identifier}", Access::kRead, true,
       with([](Context& c, retrieve::RetrieverContext& rc) { return retrieve::GetDataset(rc, c.Param(1)); })},
      {"POST", one + "/evaluations", Access::kWrite, true,
       with([](Context& c, retrieve::RetrieverContext& rc) {
         c.status = 202;
         return retrieve::StartEvaluation(rc, *c.svc.engine, c.Param(1), c.body);
       })},
      {"GET", one + "/evaluations", Access::kRead, true,
       with([](Context& c, retrieve::RetrieverContext& rc) { return retrieve::ListEvaluations(rc, c.Param(1), c.Query()); })},
      {"GET", one + "/evaluations/{evaluation_id}", Access::kRead, true,
       with([](Context& c, retrieve::RetrieverContext& rc) {
         return retrieve::GetEvaluation(rc, c.Param(1), c.Param(2));
       })},
  };
}

}  // namespace strata::server
