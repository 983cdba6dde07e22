// Health, the organization, and API keys.
#include "catalog/api_keys.h"
#include "server/http_server.h"

namespace strata::server {

std::vector<Route> AdminRoutes() {
  auto health = [](Context& ctx) -> Result<Json> {
    bool metadata_ok = ctx.svc.store->Read([](storage::Reader& r) -> Status {
      return r.GetSetting("presign_hmac_key").status();
    }).ok();
    Json data = {{"cache", true}, {"metadata", metadata_ok}, {"vector_store", true},
                 {"object_storage", true}, {"task_queue", true}, {"inference", true}};
    return Json{{"status", metadata_ok ? "OK" : "DEGRADED"}, {"data", data}, {"errors", nullptr},
                {"meta", {{"service", "strata"}, {"version", "0.1.0"}}}};
  };
  const std::string keys = "/v1/organizations/users/{user_email}/api-keys";
  return {
      {"GET", "/v1/health", Access::kPublic, false, health},
      {"GET", "/v1/health/liveness", Access::kPublic, false,
       [](Context&) -> Result<Json> { return Json{{"status", "alive"}}; }},
      {"GET", "/v1/organizations", Access::kRead, false,
       [](Context& c) { return catalog::GetOrganization(*c.svc.store, c.principal); }},
      {"PATCH", "/v1/organizations", Access::kAdmin, false,
       [](Context& c) { return catalog::PatchOrganization(*c.svc.store, c.principal, c.body); }},
      {"POST", "/v1/private/organizations", Access::kAdmin, false,
       [](Context& c) { return catalog::CreateOrganization(*c.svc.store, c.principal, c.body); }},
      {"POST", "/v1/private/organizations/{organization_id}/users/{user_email}/bootstrap-key", Access::kAdmin, false,
       [](Context& c) {
         return catalog::CreateOrganizationAdminKey(*c.svc.store, c.principal, c.Param(1), c.Param(2));
       }},
      {"POST", keys, Access::kAdmin, false,
       [](Context& c) { return catalog::CreateApiKey(*c.svc.store, c.principal, c.Param(1), c.body); }},
      {"GET", keys, Access::kAdmin, false,
       [](Context& c) {
         return catalog::ListApiKeys(*c.svc.store, c.principal, c.Param(1), c.QueryFlag("include_revoked"));
       }},
      {"PATCH", keys + "/{key_name}", Access::kAdmin, false,
       [](Context& c) { return catalog::UpdateApiKey(*c.svc.store, c.principal, c.Param(1), c.Param(2), c.body); }},
      {"DELETE", keys + "/{key_name}", Access::kAdmin, false,
       [](Context& c) { return catalog::RevokeApiKey(*c.svc.store, c.principal, c.Param(1), c.Param(2)); }},
      {"POST", keys + "/{key_name}/rotate", Access::kAdmin, false,
       [](Context& c) { return catalog::RotateApiKey(*c.svc.store, c.principal, c.Param(1), c.Param(2)); }},
  };
}

}  // namespace strata::server
