#include "ingest/uploads.h"

#include <algorithm>

#include "catalog/buckets.h"
#include "core/ids.h"
#include "core/time_util.h"
#include "ingest/mime.h"
#include "ingest/presign.h"

namespace strata::ingest {

using storage::Kind;
using storage::Record;

namespace {

Status UploadNotFound(const Status& st, const std::string& id) {
  return st.code() == StatusCode::kNotFound ? Status::NotFound("upload '" + id + "' not found") : st;
}

Json PublicUpload(const Json& doc) {
  Json out = doc;
  out.erase("_internal");
  return out;
}

std::string FilenameStem(const std::string& filename) {
  auto dot = filename.rfind('.');
  std::string stem = dot == std::string::npos || dot == 0 ? filename : filename.substr(0, dot);
  return stem.empty() ? "file" : stem;
}

}  // namespace

std::string UploadPath(const std::string& upload_id) { return "/v1/uploads/" + upload_id + "/content"; }

namespace {

// Validates one CreateUploadRequest and builds its stored document (not yet
// tied to a bucket).
Result<Json> NewUploadDoc(const UploadContext& ctx, const Json& body) {
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(body,
                         {"filename", "content_type", "file_size_bytes", "presigned_url_expiration", "metadata",
                          "create_object_on_confirm", "object_metadata", "blob_property", "blob_type", "file_hash",
                          "skip_duplicates"},
                         "body");
  auto str = [&](const char* k, bool required) -> std::string {
    if (!body.contains(k) || body[k].is_null()) {
      if (required) errs.Add(std::string("body.") + k, "field required", "missing");
      return "";
    }
    if (!body[k].is_string()) {
      errs.Add(std::string("body.") + k, "must be a string", "type_error");
      return "";
    }
    return body[k].get<std::string>();
  };
  std::string filename = str("filename", true), content_type = str("content_type", true);
  std::string blob_property = str("blob_property", false), blob_type = str("blob_type", false);
  std::string file_hash = str("file_hash", false);
  if (!filename.empty() && (filename.size() > 255 || filename.find('/') != std::string::npos ||
                            filename.find('\\') != std::string::npos || filename == "." || filename == "..")) {
    errs.Add("body.filename", "a file name without path separators, at most 255 characters", "value_error");
  }
  std::transform(file_hash.begin(), file_hash.end(), file_hash.begin(), ::tolower);
  if (!file_hash.empty() && (file_hash.size() != 64 || file_hash.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    errs.Add("body.file_hash", "must be a SHA-256 hex digest", "value_error");
  }
  Json size = body.value("file_size_bytes", Json());
  if (!size.is_null() && (!size.is_number_integer() || size.get<int64_t>() < 0 || size.get<int64_t>() > ctx.max_upload_bytes)) {
    errs.Add("body.file_size_bytes", "must be an integer from 0 to " + std::to_string(ctx.max_upload_bytes), "value_error");
  }
  int64_t expiration = 3600;
  if (body.contains("presigned_url_expiration")) {
    const Json& e = body["presigned_url_expiration"];
    if (!e.is_number_integer() || e.get<int64_t>() < 60 || e.get<int64_t>() > 86400) {
      errs.Add("body.presigned_url_expiration", "must be an integer from 60 to 86400 seconds", "value_error");
    } else {
      expiration = e.get<int64_t>();
    }
  }
  for (const char* k : {"metadata", "object_metadata"}) {
    if (body.contains(k) && !body[k].is_null() && !body[k].is_object()) errs.Add(std::string("body.") + k, "must be an object", "type_error");
  }
  for (const char* k : {"create_object_on_confirm", "skip_duplicates"}) {
    if (body.contains(k) && !body[k].is_boolean()) errs.Add(std::string("body.") + k, "must be a boolean", "type_error");
  }
  if (blob_type.empty()) blob_type = BlobTypeForMime(content_type);
  if (body.value("create_object_on_confirm", true) && blob_type.empty()) {
    errs.Add("body.blob_type", "cannot tell the blob type from content_type '" + content_type + "'; set blob_type", "missing");
  }
  RETURN_IF_ERROR(errs.ToStatus());

  const std::string id = NewId("upl_");
  const int64_t now = NowUnixMillis();
  Json doc = {{"upload_id", id}, {"filename", filename}, {"content_type", content_type},
              {"file_size_bytes", size}, {"presigned_url_expiration", expiration}, {"status", "PENDING"},
              {"metadata", body.value("metadata", Json::object())},
              {"create_object_on_confirm", body.value("create_object_on_confirm", true)},
              {"object_metadata", body.value("object_metadata", Json())},
              {"blob_property", blob_property.empty() ? FilenameStem(filename) : blob_property},
              {"blob_type", blob_type.empty() ? Json(nullptr) : Json(blob_type)},
              {"file_hash", file_hash.empty() ? Json(nullptr) : Json(file_hash)},
              {"skip_duplicates", body.value("skip_duplicates", true)},
              {"is_duplicate", false}, {"duplicate_of_upload_id", nullptr}, {"skipped_unique_key", false},
              {"existing_object_id", nullptr}, {"message", nullptr},
              {"created_at", FormatIso8601(now)}, {"expires_at", FormatIso8601(now + expiration * 1000)},
              {"completed_at", nullptr}, {"verified_at", nullptr}, {"etag", nullptr}, {"object_id", nullptr},
              {"task_id", nullptr}, {"_internal", Json::object()}};
  return doc;
}

// Inserts an upload into `bucket`, noting a duplicate when an earlier upload
// of the bucket declared or had the same hash.
Status InsertUpload(storage::Writer& w, const UploadContext& ctx, const Record& bucket, Json& doc) {
  doc["bucket_id"] = bucket.id;
  doc["s3_key"] = std::to_string(ctx.objects.scope.org) + "/" + ctx.objects.scope.ns + "/uploads/" +
                  doc["upload_id"].get<std::string>() + "/" + doc["filename"].get<std::string>();
  if (doc["file_hash"].is_string()) {
    ASSIGN_OR_RETURN(auto dup, w.FindByContentHash(Kind::kUpload, ctx.objects.scope, bucket.id, doc["file_hash"]));
    if (dup) {
      doc["is_duplicate"] = true;
      doc["duplicate_of_upload_id"] = dup->id;
      doc["existing_object_id"] = dup->doc.value("object_id", Json());
      doc["message"] = "a file with this hash was already uploaded to this bucket";
    }
  }
  return w.Insert(Kind::kUpload, ctx.objects.scope,
                  Record{doc["upload_id"], bucket.id, std::nullopt, std::nullopt, std::nullopt, doc});
}

Json WithPresignedPut(const UploadContext& ctx, const Json& doc) {
  Json out = PublicUpload(doc);
  auto expires = ParseIso8601(doc["expires_at"].get<std::string>());
  out["presigned_url"] = PresignUrl(ctx.signing_key, ctx.public_url, "PUT", UploadPath(doc["upload_id"]),
                                    expires ? *expires / 1000 : 0);
  return out;
}

}  // namespace

Result<Json> CreateUpload(UploadContext& ctx, const std::string& bucket, const Json& body) {
  ASSIGN_OR_RETURN(Json doc, NewUploadDoc(ctx, body));
  RETURN_IF_ERROR(ctx.objects.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(w, ctx.objects.scope, bucket));
    return InsertUpload(w, ctx, b, doc);
  }));
  return WithPresignedPut(ctx, doc);
}

Result<Json> CreateUploadsBatch(UploadContext& ctx, const std::string& bucket, const Json& body) {
  if (!body.is_object() || !body.contains("uploads") || !body["uploads"].is_array() || body["uploads"].empty()) {
    return Status::Invalid("body.uploads", "field required: a non-empty list of uploads", "missing");
  }
  if (body["uploads"].size() > 1000) return Status::Invalid("body.uploads", "at most 1,000 uploads per batch");
  ValidationErrors errs;
  for (const char* k : {"shared_metadata", "shared_object_metadata"}) {
    if (body.contains(k) && !body[k].is_null() && !body[k].is_object()) errs.Add(std::string("body.") + k, "must be an object", "type_error");
  }
  RETURN_IF_ERROR(errs.ToStatus());
  // All or nothing: every upload is validated before any is written.
  std::vector<Json> docs;
  for (size_t i = 0; i < body["uploads"].size(); ++i) {
    Json one = body["uploads"][i];
    if (one.is_object()) {
      for (const auto& [shared, field] : {std::pair{"shared_metadata", "metadata"}, {"shared_object_metadata", "object_metadata"}}) {
        if (!body.contains(shared) || !body[shared].is_object()) continue;
        Json merged = body[shared];
        if (one.contains(field) && one[field].is_object()) merged.update(one[field]);  // the upload's own keys win
        one[field] = merged;
      }
    }
    auto doc = NewUploadDoc(ctx, one);
    if (!doc.ok()) return PrefixLocations(doc.status(), "body.uploads[" + std::to_string(i) + "]");
    docs.push_back(std::move(doc).value());
  }
  RETURN_IF_ERROR(ctx.objects.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(w, ctx.objects.scope, bucket));
    for (auto& doc : docs) RETURN_IF_ERROR(InsertUpload(w, ctx, b, doc));
    return Status::Ok();
  }));
  Json out = Json::array();
  for (const auto& doc : docs) out.push_back(WithPresignedPut(ctx, doc));
  return Json{{"uploads", out}, {"total", out.size()}};
}

Result<Json> GetUpload(UploadContext& ctx, const std::string& bucket, const std::string& upload_id, bool presigned) {
  Json out;
  RETURN_IF_ERROR(ctx.objects.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(r, ctx.objects.scope, bucket));
    auto rec = r.Get(Kind::kUpload, ctx.objects.scope, upload_id, b.id);
    if (!rec.ok()) return UploadNotFound(rec.status(), upload_id);
    out = PublicUpload(rec->doc);
    return Status::Ok();
  }));
  if (presigned && out["status"] == "PENDING") {
    auto exp = ParseIso8601(out["expires_at"].get<std::string>());
    out["presigned_url"] = PresignUrl(ctx.signing_key, ctx.public_url, "PUT", UploadPath(upload_id), exp ? *exp / 1000 : 0);
  }
  return out;
}

Result<Json> ListUploads(UploadContext& ctx, const std::string& bucket, const Json& body,
                         const catalog::QueryParams& params) {
  ASSIGN_OR_RETURN(catalog::ListRequest req, catalog::ParseListRequest(body, params, {"return_presigned_urls"}));
  std::string bucket_id;
  ASSIGN_OR_RETURN(Json out, catalog::RunList(ctx.objects.store,
                                              {Kind::kUpload, ctx.objects.scope, {"upload_id"},
                                               [&](storage::Reader& r, storage::ListQuery& q) -> Status {
                                                 ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(r, ctx.objects.scope, bucket));
                                                 q.parent = bucket_id = b.id;
                                                 return Status::Ok();
                                               },
                                               [](storage::Reader&, Json doc) -> Result<Json> { return PublicUpload(doc); }},
                                              req));
  int64_t total = 0, bytes = 0;
  Json by_status = Json::object();
  RETURN_IF_ERROR(ctx.objects.store.Read([&](storage::Reader& r) -> Status {
    storage::AggregateSpec spec;
    spec.parent = bucket_id;
    spec.group_by = {"status"};
    spec.ops = {{"count", "", "n"}, {"sum", "_internal.size_bytes", "bytes"}};
    ASSIGN_OR_RETURN(auto rows, r.Aggregate(Kind::kUpload, ctx.objects.scope, spec));
    for (const auto& row : rows) {
      int64_t n = row.values["n"].get<int64_t>();
      total += n;
      bytes += static_cast<int64_t>(row.values["bytes"].get<double>());
      by_status[row.group["status"].is_string() ? row.group["status"].get<std::string>() : "UNKNOWN"] = n;
    }
    return Status::Ok();
  }));
  out["stats"] = {{"total_uploads", total}, {"total_size_bytes", bytes}, {"uploads_by_status", by_status},
                  {"avg_file_size_bytes", total ? static_cast<double>(bytes) / total : 0.0},
                  {"unique_buckets", total ? 1 : 0}};
  return out;
}

Result<Json> DeleteUpload(UploadContext& ctx, const std::string& bucket, const std::string& upload_id) {
  auto lock = ctx.objects.blobs.Lock();
  std::vector<std::string> orphans;
  RETURN_IF_ERROR(ctx.objects.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(w, ctx.objects.scope, bucket));
    auto rec = w.Get(Kind::kUpload, ctx.objects.scope, upload_id, b.id);
    if (!rec.ok()) return UploadNotFound(rec.status(), upload_id);
    RETURN_IF_ERROR(w.Delete(Kind::kUpload, ctx.objects.scope, rec->id));
    ASSIGN_OR_RETURN(orphans, w.DropBlobRefs(rec->id));
    return Status::Ok();
  }));
  ctx.objects.blobs.RemoveFiles(orphans);
  return Json{{"success", true}, {"message", "upload " + upload_id + " deleted"}};
}

Result<Json> ReceiveUpload(storage::MetadataStore& store, BlobKeeper& blobs, const std::string& upload_id,
                           int64_t max_upload_bytes,
                           const std::function<Status(const std::function<Status(std::string_view)>&)>& read_body) {
  // The signature proved the caller may PUT this id; the record says where it belongs.
  Record rec;
  storage::Scope scope;
  ASSIGN_OR_RETURN(auto writer, blobs.store().NewWriter(static_cast<uint64_t>(max_upload_bytes)));
  RETURN_IF_ERROR(read_body([&](std::string_view chunk) { return writer->Append(chunk); }));
  ASSIGN_OR_RETURN(storage::StagedBlob staged, writer->Finish());
  std::string mime = SniffMimeFile(staged.temp_path);
  auto lock = blobs.Lock();
  std::vector<std::string> orphans;
  Json out;
  Status st = store.Write([&](storage::Writer& w) -> Status {
    // Looked up without a tenant: the signed URL is the credential.
    ASSIGN_OR_RETURN(auto found, w.FindAnyScope(Kind::kUpload, upload_id, &scope));
    if (!found) return Status::NotFound("upload '" + upload_id + "' not found");
    rec = std::move(*found);
    if (rec.doc["status"] != "PENDING") {
      return Status::BadRequest("upload '" + upload_id + "' is " + rec.doc["status"].get<std::string>() + "; it takes no more data");
    }
    const Json& size = rec.doc["file_size_bytes"];
    if (size.is_number_integer() && size.get<int64_t>() != static_cast<int64_t>(staged.size)) {
      return Status::Invalid("body", "received " + std::to_string(staged.size) + " bytes but file_size_bytes is " +
                                         std::to_string(size.get<int64_t>()), "size_mismatch");
    }
    RETURN_IF_ERROR(blobs.store().Commit(staged));
    ASSIGN_OR_RETURN(orphans, w.DropBlobRefs(rec.id));  // a second PUT replaces the first
    RETURN_IF_ERROR(w.AddBlobRef({staged.sha256, static_cast<int64_t>(staged.size), mime}, rec.id));
    rec.doc["_internal"] = {{"sha256", staged.sha256}, {"size_bytes", staged.size}, {"sniffed_mime", mime}};
    rec.doc["etag"] = "\"" + staged.sha256 + "\"";
    std::erase(orphans, staged.sha256);
    out = {{"etag", rec.doc["etag"]}, {"size_bytes", staged.size}};
    return w.Update(Kind::kUpload, scope, rec);
  });
  blobs.store().Discard(staged);
  if (!st.ok()) orphans.clear();
  blobs.RemoveFiles(orphans);
  RETURN_IF_ERROR(st);
  return out;
}

Result<Json> ConfirmUpload(UploadContext& ctx, const std::string& bucket, const std::string& upload_id,
                           const Json& body) {
  if (!body.is_null() && !body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  Record rec, b;
  RETURN_IF_ERROR(ctx.objects.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(b, catalog::LoadBucket(r, ctx.objects.scope, bucket));
    auto got = r.Get(Kind::kUpload, ctx.objects.scope, upload_id, b.id);
    if (!got.ok()) return UploadNotFound(got.status(), upload_id);
    rec = std::move(got).value();
    return Status::Ok();
  }));
  auto respond = [&](const Json& doc) {
    return Json{{"upload_id", doc["upload_id"]}, {"status", doc["status"]}, {"etag", doc["etag"]},
                {"file_size_bytes", doc["_internal"].value("size_bytes", Json())},
                {"file_hash", doc["_internal"].value("sha256", Json())}, {"verified_at", doc["verified_at"]},
                {"completed_at", doc["completed_at"]}, {"object_id", doc["object_id"]}, {"task_id", nullptr},
                {"message", doc["message"]}, {"is_duplicate", doc["is_duplicate"]},
                {"duplicate_of_upload_id", doc["duplicate_of_upload_id"]},
                {"existing_object_id", doc["existing_object_id"]}};
  };
  if (rec.doc["status"] == "COMPLETED") return respond(rec.doc);  // confirming twice is harmless
  const Json& in = rec.doc["_internal"];
  if (!in.contains("sha256")) {
    return Status::BadRequest("upload '" + upload_id + "' has no file yet: PUT the file to presigned_url first");
  }
  ValidationErrors errs;
  Json body_obj = body.is_object() ? body : Json::object();
  if (body_obj.contains("file_size_bytes") && !body_obj["file_size_bytes"].is_null() &&
      body_obj["file_size_bytes"] != in["size_bytes"]) {
    errs.Add("body.file_size_bytes", "the stored file has " + in["size_bytes"].dump() + " bytes", "size_mismatch");
  }
  if (body_obj.contains("etag") && body_obj["etag"].is_string()) {
    std::string etag = body_obj["etag"];
    if (etag != rec.doc["etag"] && "\"" + etag + "\"" != rec.doc["etag"]) errs.Add("body.etag", "does not match the stored file", "etag_mismatch");
  }
  if (rec.doc["file_hash"].is_string() && rec.doc["file_hash"] != in["sha256"]) {
    errs.Add("file_hash", "the stored file's SHA-256 is " + in["sha256"].get<std::string>() + ", not the declared one", "hash_mismatch");
  }
  RETURN_IF_ERROR(errs.ToStatus());

  Json doc = rec.doc;
  const std::string sha = in["sha256"];
  RETURN_IF_ERROR(ctx.objects.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto dup, r.FindByContentHash(Kind::kUpload, ctx.objects.scope, b.id, sha));
    if (dup && dup->id != rec.id) {
      doc["is_duplicate"] = true;
      doc["duplicate_of_upload_id"] = dup->id;
      doc["existing_object_id"] = dup->doc.value("object_id", Json());
    }
    return Status::Ok();
  }));
  if (doc["create_object_on_confirm"].get<bool>()) {
    if (doc["is_duplicate"].get<bool>() && doc["skip_duplicates"].get<bool>() && doc["existing_object_id"].is_string()) {
      doc["message"] = "duplicate of upload " + doc["duplicate_of_upload_id"].get<std::string>() + ": no new object created";
    } else {
      Json object = doc["object_metadata"].is_object() ? doc["object_metadata"] : Json::object();
      object["blobs"] = Json::array({{{"property", doc["blob_property"]}, {"type", doc["blob_type"]}, {"upload_id", rec.id}}});
      auto created = CreateObject(ctx.objects, b.id, object, CreateOptions{});
      if (!created.ok()) return created.status();
      doc["object_id"] = (*created)["object_id"];
    }
  }
  const std::string now = NowIso8601();
  doc["status"] = "COMPLETED";
  doc["verified_at"] = now;
  doc["completed_at"] = now;
  rec.doc = doc;
  rec.chash = sha;
  RETURN_IF_ERROR(ctx.objects.store.Write([&](storage::Writer& w) { return w.Update(Kind::kUpload, ctx.objects.scope, rec); }));
  return respond(doc);
}

Result<storage::BlobInfo> FindBlob(storage::MetadataStore& store, const std::string& sha256) {
  storage::BlobInfo info;
  RETURN_IF_ERROR(store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto b, r.GetBlob(sha256));
    if (!b) return Status::NotFound("blob not found");
    info = *b;
    return Status::Ok();
  }));
  return info;
}

void AddBlobUrls(Json& object, const std::string& signing_key, const std::string& public_url, int64_t ttl_seconds) {
  const int64_t expires = NowUnixSeconds() + ttl_seconds;
  for (auto& blob : object["blobs"]) {
    std::string sha = blob["details"]["hash"];
    blob["url"] = PresignUrl(signing_key, public_url, "GET", "/v1/blobs/" + sha, expires);
    blob["presigned_url_expires_at"] = FormatIso8601(expires * 1000);
  }
}

}  // namespace strata::ingest
