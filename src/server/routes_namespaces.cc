// Namespaces (organization level: no X-Namespace needed).
#include "catalog/namespaces.h"
#include "server/http_server.h"

namespace strata::server {

std::vector<Route> NamespaceRoutes() {
  const std::string one = "/v1/namespaces/{namespace_identifier}";
  return {
      {"POST", "/v1/namespaces", Access::kWrite, false,
       [](Context& c) { return catalog::CreateNamespace(*c.svc.store, c.principal, c.body); }},
      {"POST", "/v1/namespaces/list", Access::kRead, false,
       [](Context& c) { return catalog::ListNamespaces(*c.svc.store, c.principal, c.body, c.Query()); }},
      {"GET", one, Access::kRead, false,
       [](Context& c) { return catalog::GetNamespace(*c.svc.store, c.principal, c.Param(1)); }},
      {"PATCH", one, Access::kWrite, false,
       [](Context& c) { return catalog::UpdateNamespace(*c.svc.store, c.principal, c.Param(1), c.body, false); }},
      {"PUT", one, Access::kWrite, false,
       [](Context& c) { return catalog::UpdateNamespace(*c.svc.store, c.principal, c.Param(1), c.body, true); }},
      {"DELETE", one, Access::kDelete, false,
       [](Context& c) -> Result<Json> {
         auto lock = c.svc.blobs->Lock();
         ASSIGN_OR_RETURN(auto orphans, catalog::DeleteNamespace(*c.svc.store, c.principal, c.Param(1)));
         c.svc.blobs->RemoveFiles(orphans);
         return Json{{"success", true}, {"message", "namespace " + c.Param(1) + " deleted"}};
       }},
  };
}

}  // namespace strata::server
