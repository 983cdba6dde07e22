// Buckets: typed containers of objects within a namespace.
#pragma once

#include "catalog/api_keys.h"
#include "catalog/list_request.h"
#include "core/json_util.h"
#include "storage/metadata_store.h"

namespace strata::catalog {

Result<Json> CreateBucket(storage::MetadataStore& store, const storage::Scope& scope, const Json& body);
Result<Json> GetBucket(storage::MetadataStore& store, const storage::Scope& scope, const std::string& id_or_name);
// The stored bucket record (schema, unique key) for the object and upload services.
Result<storage::Record> LoadBucket(storage::Reader& r, const storage::Scope& scope, const std::string& id_or_name);
Result<Json> ListBuckets(storage::MetadataStore& store, const storage::Scope& scope, const Json& body,
                         const QueryParams& params);
Result<Json> UpdateBucket(storage::MetadataStore& store, const storage::Scope& scope,
                          const std::string& id_or_name, const Json& body, bool full_replace);
// Deletes the bucket, its objects and uploads; returns blob hashes no longer referenced.
Result<std::vector<std::string>> DeleteBucket(storage::MetadataStore& store, const storage::Scope& scope,
                                              const std::string& id_or_name);

}  // namespace strata::catalog
