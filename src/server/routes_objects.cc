// Objects of a bucket (namespaced).
#include <httplib.h>

#include "ingest/objects.h"
#include "ingest/uploads.h"
#include "server/http_server.h"

namespace strata::server {

namespace {


Result<ingest::CreateOptions> CreateOptionsOf(Context& c) {
  ingest::CreateOptions o;
  if (c.req.has_param("policy")) {
    std::string p = c.req.get_param_value("policy");
    if (p != "insert" && p != "update" && p != "upsert") {
      return Status::Invalid("query.policy", "must be insert, update or upsert", "enum");
    }
    o.policy = p;
  }
  if (c.QueryFlag("auto_process")) {
    return Status::Invalid("query.auto_process",
                           "auto_process needs collections and batches, which this server does not have yet",
                           "not_enabled");
  }
  return o;
}

}  // namespace

std::vector<Route> ObjectRoutes() {
  const std::string objects = "/v1/buckets/{bucket_identifier}/objects";
  const std::string one = objects + "/{object_identifier}";
  return {
      {"POST", objects, Access::kWrite, true,
       [](Context& c) -> Result<Json> {
         ASSIGN_OR_RETURN(auto opts, CreateOptionsOf(c));
         auto ctx = c.Objects();
         return ingest::CreateObject(ctx, c.Param(1), c.body, opts);
       }},
      {"POST", objects + "/batch", Access::kWrite, true,
       [](Context& c) -> Result<Json> {
         ASSIGN_OR_RETURN(auto opts, CreateOptionsOf(c));
         auto ctx = c.Objects();
         return ingest::CreateObjectsBatch(ctx, c.Param(1), c.body, opts, c.svc.config.max_batch_objects);
       }},
      {"POST", objects + "/list", Access::kRead, true,
       [](Context& c) {
         auto ctx = c.Objects();
         return ingest::ListObjects(ctx, c.Param(1), c.body, c.Query());
       }},
      {"POST", objects + "/aggregate", Access::kRead, true,
       [](Context& c) {
         auto ctx = c.Objects();
         return ingest::AggregateObjects(ctx, c.Param(1), c.body);
       }},
      {"GET", one, Access::kRead, true,
       [](Context& c) -> Result<Json> {
         auto ctx = c.Objects();
         ASSIGN_OR_RETURN(Json obj, ingest::GetObject(ctx, c.Param(1), c.Param(2)));
         if (c.QueryFlag("return_url") || c.QueryFlag("return_presigned_urls")) {
           ingest::AddBlobUrls(obj, c.svc.signing_key, c.svc.public_url, c.svc.config.presign_ttl_seconds);
         }
         return obj;
       }},
      {"PUT", one, Access::kWrite, true,
       [](Context& c) {
         auto ctx = c.Objects();
         return ingest::UpdateObject(ctx, c.Param(1), c.Param(2), c.body, true);
       }},
      {"PATCH", one, Access::kWrite, true,
       [](Context& c) {
         auto ctx = c.Objects();
         return ingest::UpdateObject(ctx, c.Param(1), c.Param(2), c.body, false);
       }},
      {"DELETE", one, Access::kDelete, true,
       [](Context& c) {
         auto ctx = c.Objects();
         return ingest::DeleteObject(ctx, c.Param(1), c.Param(2));
       }},
  };
}

}  // namespace strata::server
