// Documents of a collection, and lineage (namespaced).
//
// Literal paths (…/documents/bulk, …/documents/batch) are declared before
// …/documents/{document_id}: routes of one method match in declaration order.
#include <httplib.h>

#include "engine/documents.h"
#include "server/http_server.h"

namespace strata::server {

namespace {

engine::DocumentContext Documents(const Context& c) {
  return engine::DocumentContext{*c.svc.store, c.scope, c.svc.signing_key, c.svc.public_url,
                                 c.svc.config.presign_ttl_seconds};
}

// ?collection_ids=a,b and ?collection_ids=a&collection_ids=b alike.
std::vector<std::string> ListParam(const Context& c, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [key, value] : c.req.params) {
    if (key != name && key != name + "[]") continue;
    size_t start = 0;
    while (start <= value.size()) {
      size_t end = value.find(',', start);
      if (end == std::string::npos) end = value.size();
      std::string item = value.substr(start, end - start);
      while (!item.empty() && item.front() == ' ') item.erase(item.begin());
      while (!item.empty() && item.back() == ' ') item.pop_back();
      if (!item.empty()) out.push_back(item);
      start = end + 1;
    }
  }
  return out;
}

}  // namespace

std::vector<Route> DocumentRoutes() {
  const std::string docs = "/v1/collections/{collection_identifier}/documents";
  const std::string one = docs + "/{document_id}";
  return {
      {"POST", docs, Access::kWrite, true,
       [](Context& c) {
         auto ctx = Documents(c);
         return engine::CreateDocument(ctx, c.Param(1), c.body);
       }},
      {"POST", docs + "/list", Access::kRead, true,
       [](Context& c) {
         auto ctx = Documents(c);
         return engine::ListDocuments(ctx, c.Param(1), c.body, c.Query());
       }},
      {"POST", docs + "/aggregate", Access::kRead, true,
       [](Context& c) {
         auto ctx = Documents(c);
         return engine::AggregateDocuments(ctx, c.Param(1), c.body);
       }},
      {"PATCH", docs + "/bulk", Access::kWrite, true,
       [](Context& c) {
         auto ctx = Documents(c);
         return engine::BulkUpdateDocuments(ctx, c.Param(1), c.body);
       }},
      {"POST", docs + "/batch", Access::kWrite, true,
       [](Context& c) {
         auto ctx = Documents(c);
         return engine::BatchUpdateDocuments(ctx, c.Param(1), c.body);
       }},
      {"DELETE", docs + "/batch", Access::kDelete, true,
       [](Context& c) {
         auto ctx = Documents(c);
         return engine::BatchDeleteDocuments(ctx, c.Param(1), c.body);
       }},
      {"GET", one, Access::kRead, true,
       [](Context& c) {
         auto ctx = Documents(c);
         engine::ReadOptions o;
         o.return_vectors = c.QueryFlag("return_vectors");
         o.return_urls = c.QueryFlag("return_presigned_urls") || c.QueryFlag("return_url");
         return engine::GetDocument(ctx, c.Param(1), c.Param(2), o);
       }},
      {"PUT", one, Access::kWrite, true,
       [](Context& c) {
         auto ctx = Documents(c);
         return engine::UpdateDocument(ctx, c.Param(1), c.Param(2), c.body, true);
       }},
      {"PATCH", one, Access::kWrite, true,
       [](Context& c) {
         auto ctx = Documents(c);
         return engine::UpdateDocument(ctx, c.Param(1), c.Param(2), c.body, false);
       }},
      {"DELETE", one, Access::kDelete, true,
       [](Context& c) {
         auto ctx = Documents(c);
         return engine::DeleteDocument(ctx, c.Param(1), c.Param(2));
       }},
      {"GET", "/v1/collections/{collection_id}/documents/{document_id}/lineage", Access::kRead, true,
       [](Context& c) {
         auto ctx = Documents(c);
         return engine::DocumentLineage(ctx, c.Param(1), c.Param(2));
       }},
      {"GET", "/v1/objects/{object_id}/documents", Access::kRead, true,
       [](Context& c) {
         auto ctx = Documents(c);
         return engine::DocumentsOfObject(ctx, c.Param(1), ListParam(c, "collection_ids"));
       }},
      {"GET", "/v1/objects/{object_id}/decomposition-tree", Access::kRead, true,
       [](Context& c) {
         auto ctx = Documents(c);
         return engine::DecompositionTree(ctx, c.Param(1), c.QueryFlag("include_document_ids"));
       }},
  };
}

}  // namespace strata::server
