// Namespaces: the isolation boundary inside an organization. Every bucket,
// object and upload lives in exactly one; `X-Namespace` (id or name) picks it.
#pragma once

#include "catalog/api_keys.h"
#include "catalog/list_request.h"
#include "core/json_util.h"
#include "storage/metadata_store.h"

namespace strata::catalog {

// Resolves an X-Namespace value (id or name) within the caller's organization.
// A namespace of another organization is NotFound, exactly like a missing one.
Result<storage::Scope> ResolveNamespace(storage::MetadataStore& store, const Principal& who,
                                        const std::string& id_or_name);

Result<Json> CreateNamespace(storage::MetadataStore& store, const Principal& who, const Json& body);
Result<Json> GetNamespace(storage::MetadataStore& store, const Principal& who, const std::string& id_or_name);
Result<Json> ListNamespaces(storage::MetadataStore& store, const Principal& who, const Json& body,
                            const QueryParams& params);
// PATCH (partial: name, description, payload_indexes, auto_create_indexes,
// infrastructure) and PUT (full replace of the same, extractors unchanged and
// required to match: they are locked at creation).
Result<Json> UpdateNamespace(storage::MetadataStore& store, const Principal& who,
                             const std::string& id_or_name, const Json& body, bool full_replace);
// Deletes the namespace and everything in it; returns the blob hashes that no
// one references any more (the caller removes their files).
Result<std::vector<std::string>> DeleteNamespace(storage::MetadataStore& store, const Principal& who,
                                                 const std::string& id_or_name);

// The feature extractors a namespace may register (the extractors themselves
// are implemented by the processing engine).
const std::vector<std::pair<std::string, std::vector<std::string>>>& KnownExtractors();

}  // namespace strata::catalog
