// Objects: the raw items of a bucket (tier 0), with their blobs.
//
// Create runs in two phases: first every blob is fetched or decoded into a
// staged temporary file and the object is validated against the bucket schema
// (no lock held, no row written); then one metadata transaction links the
// staged files into the blob store and writes the object and its blob
// references. Any failure before the commit leaves nothing behind.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "catalog/list_request.h"
#include "core/json_util.h"
#include "ingest/blob_keeper.h"
#include "ingest/blob_source.h"
#include "storage/metadata_store.h"

namespace strata::ingest {

struct ObjectContext {
  storage::MetadataStore& store;
  BlobKeeper& blobs;
  BlobSourceOptions blob_options;
  storage::Scope scope;
};

struct CreateOptions {
  std::optional<std::string> policy;  // ?policy=insert|update|upsert
};

Result<Json> CreateObject(ObjectContext& ctx, const std::string& bucket, const Json& body,
                          const CreateOptions& options);
// {objects: [...]}: each object succeeds or fails on its own; the successes are
// written in one transaction. Response: CreateObjectsBatchResponse.
Result<Json> CreateObjectsBatch(ObjectContext& ctx, const std::string& bucket, const Json& body,
                                const CreateOptions& options, int64_t max_objects);
Result<Json> GetObject(ObjectContext& ctx, const std::string& bucket, const std::string& object_id);
// PUT replaces metadata and blobs; PATCH merges metadata and replaces only the
// blobs whose property it names.
Result<Json> UpdateObject(ObjectContext& ctx, const std::string& bucket, const std::string& object_id,
                          const Json& body, bool full_replace);
Result<Json> DeleteObject(ObjectContext& ctx, const std::string& bucket, const std::string& object_id);
Result<Json> ListObjects(ObjectContext& ctx, const std::string& bucket, const Json& body,
                         const catalog::QueryParams& params);
Result<Json> AggregateObjects(ObjectContext& ctx, const std::string& bucket, const Json& body);

// The object as the API shows it (private bookkeeping removed).
Json PublicObject(const Json& doc);

}  // namespace strata::ingest
