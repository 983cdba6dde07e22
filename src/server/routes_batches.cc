// Batches of a bucket (namespaced) and tasks (organisation-level).
#include <httplib.h>

#include "catalog/namespaces.h"
#include "engine/batches.h"
#include "engine/tasks.h"
#include "server/http_server.h"

namespace strata::server {

std::vector<Route> BatchRoutes() {
  const std::string batches = "/v1/buckets/{bucket_identifier}/batches";
  const std::string one = batches + "/{batch_id}";
  auto ctx_of = [](Context& c) { return engine::BatchContext{*c.svc.engine, c.scope}; };
  return {
      {"POST", batches, Access::kWrite, true,
       [ctx_of](Context& c) {
         auto ctx = ctx_of(c);
         return engine::CreateBatch(ctx, c.Param(1), c.body, c.QueryFlag("skip_validation"));
       }},
      {"POST", batches + "/list", Access::kRead, true,
       [ctx_of](Context& c) {
         auto ctx = ctx_of(c);
         return engine::ListBatches(ctx, c.Param(1), c.body, c.Query());
       }},
      {"GET", one, Access::kRead, true,
       [ctx_of](Context& c) {
         auto ctx = ctx_of(c);
         return engine::GetBatch(ctx, c.Param(1), c.Param(2));
       }},
      {"PATCH", one, Access::kWrite, true,
       [ctx_of](Context& c) {
         auto ctx = ctx_of(c);
         return engine::PatchBatch(ctx, c.Param(1), c.Param(2), c.body);
       }},
      {"DELETE", one, Access::kDelete, true,
       [ctx_of](Context& c) {
         auto ctx = ctx_of(c);
         return engine::DeleteBatch(ctx, c.Param(1), c.Param(2));
       }},
      {"POST", one + "/objects", Access::kWrite, true,
       [ctx_of](Context& c) {
         auto ctx = ctx_of(c);
         return engine::AddBatchObjects(ctx, c.Param(1), c.Param(2), c.body, c.QueryFlag("skip_validation"));
       }},
      {"POST", one + "/submit", Access::kWrite, true,
       [ctx_of](Context& c) {
         auto ctx = ctx_of(c);
         return engine::SubmitBatch(ctx, c.Param(1), c.Param(2), c.body);
       }},
      {"POST", one + "/cancel", Access::kWrite, true,
       [ctx_of](Context& c) {
         auto ctx = ctx_of(c);
         return engine::CancelBatch(ctx, c.Param(1), c.Param(2));
       }},
      {"POST", one + "/retry", Access::kWrite, true,
       [ctx_of](Context& c) {
         auto ctx = ctx_of(c);
         return engine::RetryBatch(ctx, c.Param(1), c.Param(2), c.body);
       }},
      {"GET", one + "/failed-documents", Access::kRead, true,
       [ctx_of](Context& c) {
         auto ctx = ctx_of(c);
         return engine::FailedDocuments(ctx, c.Param(1), c.Param(2), c.Query());
       }},
  };
}

std::vector<Route> TaskRoutes() {
  return {
      {"GET", "/v1/tasks/{task_id}", Access::kRead, false,
       [](Context& c) { return engine::GetTask(*c.svc.store, c.principal.org, c.Param(1)); }},
      {"POST", "/v1/tasks/list", Access::kRead, false,
       [](Context& c) -> Result<Json> {
         // X-Namespace is optional here: when sent, it limits the list to that namespace.
         std::string ns;
         if (c.req.has_header("X-Namespace")) {
           ASSIGN_OR_RETURN(storage::Scope s, catalog::ResolveNamespace(*c.svc.store, c.principal,
                                                                        c.req.get_header_value("X-Namespace")));
           ns = s.ns;
         }
         return engine::ListTasks(*c.svc.store, c.principal.org, ns, c.body, c.Query());
       }},
      {"DELETE", "/v1/tasks/{task_id}", Access::kDelete, false,
       [](Context& c) { return engine::KillTask(*c.svc.engine, c.principal.org, c.Param(1)); }},
  };
}

}  // namespace strata::server
