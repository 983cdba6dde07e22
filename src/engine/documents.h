// Documents of a collection through the API: list (flat or grouped), get,
// create, replace, patch, delete, bulk and batch updates and deletes,
// aggregation, and the lineage views (one document's ancestors and
// descendants, the documents of a root object, an object's decomposition tree).
//
// Documents follow engine/document_model.h exactly. User fields sit at the
// root; `_internal` (ids, timestamps, lineage, blobs) and the ids are the
// server's: creates build them, updates keep them (and set
// _internal.updated_at), and a request that tries to change them is a 422.
// Vectors live beside the document (Writer::PutFeatures) and are set only at
// creation; a text collection's chunk_text (or text) field feeds its full-text
// index, and updates keep that index in step.
//
// Every write is one MetadataStore::Write transaction that re-reads the
// collection inside it, so a request either applies whole or not at all.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/list_request.h"
#include "core/json_util.h"
#include "storage/metadata_store.h"

namespace strata::engine {

struct DocumentContext {
  storage::MetadataStore& store;
  storage::Scope scope;
  // For return_url / return_presigned_urls (blob download links).
  std::string signing_key;
  std::string public_url;
  int64_t presign_ttl_seconds = 3600;
};

struct ReadOptions {
  bool return_vectors = false;
  bool return_urls = false;
};

// POST …/documents/list. Body {filters, sort, search, select, cursor, return_url,
// return_vectors, group_by, group_limit}; query limit, offset, cursor,
// include_total. With group_by the page is of groups (see documents.cc).
Result<Json> ListDocuments(DocumentContext& ctx, const std::string& collection, const Json& body,
                           const catalog::QueryParams& params);
Result<Json> GetDocument(DocumentContext& ctx, const std::string& collection, const std::string& document_id,
                         const ReadOptions& options);
// POST …/documents (DocumentCreateRequest).
Result<Json> CreateDocument(DocumentContext& ctx, const std::string& collection, const Json& body);
// PUT replaces the user fields; PATCH merges them (RFC 7386, dotted keys set paths).
Result<Json> UpdateDocument(DocumentContext& ctx, const std::string& collection, const std::string& document_id,
                            const Json& body, bool full_replace);
Result<Json> DeleteDocument(DocumentContext& ctx, const std::string& collection, const std::string& document_id);
// PATCH …/documents/bulk: {filters, update_data} -> {updated_count, message}.
Result<Json> BulkUpdateDocuments(DocumentContext& ctx, const std::string& collection, const Json& body);
// POST …/documents/batch: {updates: [{document_id, update_data}]} or {filters, update_data}.
Result<Json> BatchUpdateDocuments(DocumentContext& ctx, const std::string& collection, const Json& body);
// DELETE …/documents/batch: {document_ids} or {filters}.
Result<Json> BatchDeleteDocuments(DocumentContext& ctx, const std::string& collection, const Json& body);
// POST …/documents/aggregate (catalog/aggregate_request.h).
Result<Json> AggregateDocuments(DocumentContext& ctx, const std::string& collection, const Json& body);

// GET /v1/collections/{c}/documents/{d}/lineage: {document_id, collection_id,
// lineage, root_object, ancestors, descendants}.
Result<Json> DocumentLineage(DocumentContext& ctx, const std::string& collection, const std::string& document_id);
// GET /v1/objects/{o}/documents: the documents whose root object is `object_id`,
// optionally only those of some collections (ids or names).
Result<Json> DocumentsOfObject(DocumentContext& ctx, const std::string& object_id,
                               const std::vector<std::string>& collections);
// GET /v1/objects/{o}/decomposition-tree: the collections holding documents of
// the object, as a tree by source collection.
Result<Json> DecompositionTree(DocumentContext& ctx, const std::string& object_id, bool include_document_ids);

}  // namespace strata::engine
