// Presigned uploads: create (returns a signed PUT URL served by Strata itself),
// the PUT target, confirm (verifies size and hash, detects duplicates, creates
// the object), get, delete, list.
#pragma once

#include <functional>
#include <string>

#include "catalog/list_request.h"
#include "ingest/objects.h"

namespace strata::ingest {

struct UploadContext {
  ObjectContext& objects;
  std::string signing_key;
  std::string public_url;        // base of presigned URLs
  int64_t max_upload_bytes = 0;
};

std::string UploadPath(const std::string& upload_id);  // "/v1/uploads/<id>/content"

Result<Json> CreateUpload(UploadContext& ctx, const std::string& bucket, const Json& body);
// {uploads: [...], shared_metadata?, shared_object_metadata?}: all are created,
// or (any invalid) none. Response: BatchUploadResponse.
Result<Json> CreateUploadsBatch(UploadContext& ctx, const std::string& bucket, const Json& body);
Result<Json> GetUpload(UploadContext& ctx, const std::string& bucket, const std::string& upload_id,
                       bool presigned_urls);
Result<Json> ListUploads(UploadContext& ctx, const std::string& bucket, const Json& body,
                         const catalog::QueryParams& params);
Result<Json> DeleteUpload(UploadContext& ctx, const std::string& bucket, const std::string& upload_id);
Result<Json> ConfirmUpload(UploadContext& ctx, const std::string& bucket, const std::string& upload_id,
                           const Json& body);

// The PUT target. No API key: the signature is the authority. `read_body`
// streams the request body to the given sink (which may refuse more bytes).
Result<Json> ReceiveUpload(storage::MetadataStore& store, BlobKeeper& blobs, const std::string& upload_id,
                           int64_t max_upload_bytes,
                           const std::function<Status(const std::function<Status(std::string_view)>&)>& read_body);

// Finds the stored file behind a presigned blob URL (scope-free: the signature
// was checked by the caller).
Result<storage::BlobInfo> FindBlob(storage::MetadataStore& store, const std::string& sha256);

// Adds a presigned GET URL to each blob of an object (return_url=true).
void AddBlobUrls(Json& object, const std::string& signing_key, const std::string& public_url, int64_t ttl_seconds);

}  // namespace strata::ingest
