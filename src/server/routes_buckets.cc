// Buckets (namespaced).
#include "catalog/buckets.h"
#include "server/http_server.h"

namespace strata::server {

std::vector<Route> BucketRoutes() {
  const std::string one = "/v1/buckets/{bucket_identifier}";
  return {
      {"POST", "/v1/buckets", Access::kWrite, true,
       [](Context& c) { return catalog::CreateBucket(*c.svc.store, c.scope, c.body); }},
      {"POST", "/v1/buckets/list", Access::kRead, true,
       [](Context& c) { return catalog::ListBuckets(*c.svc.store, c.scope, c.body, c.Query()); }},
      {"GET", one, Access::kRead, true,
       [](Context& c) { return catalog::GetBucket(*c.svc.store, c.scope, c.Param(1)); }},
      {"PATCH", one, Access::kWrite, true,
       [](Context& c) { return catalog::UpdateBucket(*c.svc.store, c.scope, c.Param(1), c.body, false); }},
      {"PUT", one, Access::kWrite, true,
       [](Context& c) { return catalog::UpdateBucket(*c.svc.store, c.scope, c.Param(1), c.body, true); }},
      {"DELETE", one, Access::kDelete, true,
       [](Context& c) -> Result<Json> {
         auto lock = c.svc.blobs->Lock();
         ASSIGN_OR_RETURN(auto orphans, catalog::DeleteBucket(*c.svc.store, c.scope, c.Param(1)));
         c.svc.blobs->RemoveFiles(orphans);
         return Json{{"success", true}, {"message", "bucket " + c.Param(1) + " deleted"}};
       }},
  };
}

}  // namespace strata::server
