// Decoding a blob's `data` field into staged bytes. The API accepts four forms:
//   1. a string URL, "http(s)://…" (fetched; "s3://…" is refused: no S3 here);
//   2. a string data URI, "data:<mime>[;base64],<payload>";
//   3. an object {"base64": "...", "mime_type"?: "...", "filename"?: "..."};
//   4. an object {"url": "...", "mime_type"?: "...", "filename"?: "..."}.
// For blob type "text", any other string is the text itself.
//
// Whatever the form, the bytes decide the MIME type (libmagic); a client's
// declared type only refines a generic answer (octet-stream, text/plain), and
// content that contradicts the blob type is refused rather than stored under a
// false type.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/json_util.h"
#include "core/status.h"
#include "ingest/url_fetch.h"
#include "storage/blob_store.h"

namespace strata::ingest {

struct BlobSourceOptions {
  FetchOptions fetch;
  uint64_t max_inline_bytes = 50ull << 20;  // decoded size of forms 2, 3 and plain text
};

struct ResolvedBlob {
  storage::StagedBlob staged;  // owned by the caller: Commit or Discard it
  std::string filename;        // may be ""
  std::string mime_type;       // the final type, lower case, no parameters
  std::string source_url;      // "" unless fetched; the client's URL without user:password
  std::string source_kind;     // "url", "data_uri", "base64" or "text"
};

// `location` names the field in errors, e.g. "body.blobs[0].data". Errors are
// 422 validation errors typed invalid_blob_data, unsupported_source,
// invalid_url, url_scheme, url_forbidden, url_fetch_failed, url_unreachable,
// invalid_data_uri, invalid_base64, invalid_utf8 or type_mismatch; 413
// PayloadTooLarge when over a size limit. Nothing stays staged on error.
Result<ResolvedBlob> ResolveBlobData(const Json& data, std::string_view blob_type,
                                     storage::BlobStore& store, const BlobSourceOptions& options,
                                     std::string_view location);

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s);

}  // namespace strata::ingest
