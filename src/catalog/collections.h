// Collections: one feature extractor over a source (buckets, or other
// collections), with the mapping of source fields to extractor inputs, the
// fields passed through, and the schema and vector indexes that follow.
//
// A collection's definition is fixed at creation (its source, extractor and
// parameters decide its documents and their vectors); PATCH changes only
// descriptive fields. The output schema and vector indexes are computed once,
// deterministically, from the definition.
#pragma once

#include <string>
#include <vector>

#include "catalog/list_request.h"
#include "core/json_util.h"
#include "extract/registry.h"
#include "storage/metadata_store.h"

namespace strata::catalog {

struct CollectionContext {
  storage::MetadataStore& store;
  const extract::ExtractorRegistry& extractors;
  storage::Scope scope;
};

Result<Json> CreateCollection(CollectionContext& ctx, const Json& body);
Result<Json> GetCollection(CollectionContext& ctx, const std::string& id_or_name);
Result<Json> ListCollections(CollectionContext& ctx, const Json& body, const QueryParams& params);
Result<Json> UpdateCollection(CollectionContext& ctx, const std::string& id_or_name, const Json& body);
// Deletes the collection and its documents (and their index entries). Refused
// while another collection reads from it.
Result<Json> DeleteCollection(CollectionContext& ctx, const std::string& id_or_name);
Result<Json> DescribeFeatures(CollectionContext& ctx, const std::string& id_or_name);

// The stored record, by id or name.
Result<storage::Record> LoadCollection(storage::Reader& r, const storage::Scope& scope, const std::string& id_or_name);
// The collection's index_signature: changes whenever its documents (any
// write), its extractor configuration or its vector indexes change. Response
// caches key on it.
Result<std::string> IndexSignature(storage::Reader& r, const Json& collection);

// How a collection reads one extractor input from its source.
struct InputMapping {
  std::string input;        // extractor input ("text")
  std::string source_type;  // payload | literal
  std::string path;         // dotted path into the source (payload)
  Json value;               // the literal (literal)
};
std::vector<InputMapping> InputMappingsOf(const Json& collection_doc);

}  // namespace strata::catalog
