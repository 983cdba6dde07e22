// Objects of a bucket (namespaced).
#include <httplib.h>

#include "engine/batches.h"
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
  return o;
}

// auto_process=true: the new objects go straight into a submitted batch
// through every collection that consumes the bucket.
Status AutoProcess(Context& c, const std::vector<const Json*>& objects) {
  if (!c.QueryFlag("auto_process") || objects.empty()) return Status::Ok();
  std::vector<std::string> ids;
  for (const Json* o : objects) ids.push_back((*o)["object_id"]);
  engine::BatchContext ctx{*c.svc.engine, c.scope};
  return engine::AutoProcess(ctx, (*objects.front())["bucket_id"], ids).status();
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
         ASSIGN_OR_RETURN(Json obj, ingest::CreateObject(ctx, c.Param(1), c.body, opts));
         RETURN_IF_ERROR(AutoProcess(c, {&obj}));
         return obj;
       }},
      {"POST", objects + "/batch", Access::kWrite, true,
       [](Context& c) -> Result<Json> {
         ASSIGN_OR_RETURN(auto opts, CreateOptionsOf(c));
         auto ctx = c.Objects();
         ASSIGN_OR_RETURN(Json out, ingest::CreateObjectsBatch(ctx, c.Param(1), c.body, opts,
                                                              c.svc.config.max_batch_objects));
         std::vector<const Json*> created;
         for (const auto& o : out["succeeded"]) created.push_back(&o);
         RETURN_IF_ERROR(AutoProcess(c, created));
         return out;
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
