// The shape of a stored document (Kind::kDocument, parent = collection id).
//
//   {
//     "document_id": "doc_…", "collection_id": "col_…",
//     <user fields at the root: passed-through source fields, extractor outputs
//      such as chunk_index, chunk_text, total_chunks, language, enrichments>,
//     "_internal": {
//       "document_id", "collection_id", "namespace_id", "created_at", "updated_at",
//       "lineage": {
//         "root_object_id", "root_bucket_id",
//         "source_type": "bucket" | "collection",
//         "source_object_id",                  // the object (tier 1) or the root object
//         "source_document_id",                // null for tier 1
//         "source_collection_id",              // null for tier 1
//         "source_id",                         // the direct source (object or document id)
//         "path": "bkt_…/col_…/col_…",
//         "chain": [{"collection_id", "feature_extractor_id", "document_id", "timestamp"}]
//       },
//       "source_blobs": [...], "document_blobs": [...], "modality": "text",
//       "metadata": {"ingestion_status", "feature_extractor_config_hash", "run_id", "batch_id"},
//       "content_hash", "mime_type", "size_bytes"
//     }
//   }
//
// Vectors are not in the JSON: the store keeps them beside the document
// (Writer::PutFeatures) under their storage names (e.g.
// "text_extractor_v1_embedding"); return_vectors=true shows them as root
// fields of those names.
#pragma once

#include <string>

#include "core/json_util.h"

namespace strata::engine {

// Deterministic id: the same source, collection and position always give the
// same document, so re-processing upserts instead of duplicating.
std::string DocumentId(const std::string& source_id, const std::string& collection_id, const Json& position);

// The document as the API shows it (DocumentResponse): stored fields, with
// document_blobs lifted to the root as the response schema wants.
Json PublicDocument(const Json& doc);

}  // namespace strata::engine
