// Collections and the feature-extractor registry (namespaced, except the
// registry, which describes this server).
#include "catalog/collections.h"
#include "engine/batches.h"
#include "extract/registry.h"
#include "index/index_manager.h"
#include "server/http_server.h"

namespace strata::server {

std::vector<Route> CollectionRoutes() {
  const std::string one = "/v1/collections/{collection_identifier}";
  return {
      {"GET", "/v1/collections/features/extractors", Access::kRead, false,
       [](Context& c) -> Result<Json> {
         Json out = Json::array();
         for (const auto& e : c.svc.extractors->all()) out.push_back(c.svc.extractors->Describe(*e));
         return out;
       }},
      {"GET", "/v1/collections/features/extractors/{feature_extractor_id}", Access::kRead, false,
       [](Context& c) -> Result<Json> {
         const extract::Extractor* e = c.svc.extractors->FindById(c.Param(1));
         if (e == nullptr) {
           // Also accept name@version and the bare name of a one-version extractor.
           std::string id = c.Param(1);
           auto at = id.find('@');
           e = at == std::string::npos ? c.svc.extractors->Find(id, "v1")
                                       : c.svc.extractors->Find(id.substr(0, at), id.substr(at + 1));
         }
         if (e == nullptr) return Status::NotFound("feature extractor '" + c.Param(1) + "' not found");
         return c.svc.extractors->Describe(*e);
       }},
      {"POST", "/v1/collections", Access::kWrite, true,
       [](Context& c) {
         auto ctx = c.Collections();
         return catalog::CreateCollection(ctx, c.body);
       }},
      {"POST", "/v1/collections/list", Access::kRead, true,
       [](Context& c) {
         auto ctx = c.Collections();
         return catalog::ListCollections(ctx, c.body, c.Query());
       }},
      {"GET", one, Access::kRead, true,
       [](Context& c) {
         auto ctx = c.Collections();
         return catalog::GetCollection(ctx, c.Param(1));
       }},
      {"PATCH", one, Access::kWrite, true,
       [](Context& c) {
         auto ctx = c.Collections();
         return catalog::UpdateCollection(ctx, c.Param(1), c.body);
       }},
      {"DELETE", one, Access::kDelete, true,
       [](Context& c) -> Result<Json> {
         auto ctx = c.Collections();
         ASSIGN_OR_RETURN(Json out, catalog::DeleteCollection(ctx, c.Param(1)));
         // The feed has removed its vectors; the index files go too.
         RETURN_IF_ERROR(c.svc.indexes->Drop(out["collection_id"].get<std::string>()));
         return out;
       }},
      {"GET", one + "/features", Access::kRead, true,
       [](Context& c) {
         auto ctx = c.Collections();
         return catalog::DescribeFeatures(ctx, c.Param(1));
       }},
      {"POST", one + "/trigger", Access::kWrite, true,
       [](Context& c) {
         engine::BatchContext ctx{*c.svc.engine, c.scope};
         c.status = 202;
         return engine::TriggerCollection(ctx, c.Param(1), c.body);
       }},
  };
}

}  // namespace strata::server
