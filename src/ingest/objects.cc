#include "ingest/objects.h"

#include <algorithm>
#include <map>

#include "catalog/aggregate_request.h"
#include "catalog/bucket_schema.h"
#include "catalog/buckets.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/time_util.h"

namespace strata::ingest {

using storage::Kind;
using storage::Record;

namespace {

const std::vector<std::string> kReservedKeys = {"object_id", "bucket_id", "key_prefix", "blobs", "status",
                                                "created_at", "updated_at", "metadata", "source_details",
                                                "error", "skip_duplicates", "canonicalize_source",
                                                "force_remirror", "_internal"};

bool IsReserved(const std::string& k) {
  return std::find(kReservedKeys.begin(), kReservedKeys.end(), k) != kReservedKeys.end();
}

// One blob of a request, resolved to bytes in the store's staging area (new
// data) or to a blob already stored (an upload, or an unchanged blob on PATCH).
struct PreparedBlob {
  Json entry;                                  // the BlobModel the API shows
  std::optional<storage::StagedBlob> staged;   // set when the bytes are new
  storage::BlobInfo info;
};

struct PreparedObject {
  Json doc;
  std::vector<PreparedBlob> blobs;
  std::optional<std::string> ukey;
  std::string chash;
  bool skip_duplicates = false;
};

void DiscardStaged(BlobKeeper& keeper, std::vector<PreparedBlob>& blobs) {
  for (auto& b : blobs) {
    if (b.staged) keeper.store().Discard(*b.staged);
  }
}

std::string Loc(const std::string& prefix, const std::string& rest) {
  return prefix.empty() ? "body." + rest : prefix + "." + rest;
}

// Resolves the request's blobs (fetching URLs, decoding base64, attaching uploads).
Result<std::vector<PreparedBlob>> PrepareBlobs(ObjectContext& ctx, const Json& blobs, const std::string& bucket_id,
                                               const std::string& loc) {
  std::vector<PreparedBlob> out;
  auto fail = [&](Status st) {
    DiscardStaged(ctx.blobs, out);
    return st;
  };
  for (size_t i = 0; i < blobs.size(); ++i) {
    const Json& b = blobs[i];
    const std::string bl = Loc(loc, "blobs[" + std::to_string(i) + "]");
    PreparedBlob pb;
    std::string type = b["type"].get<std::string>();
    std::string key_prefix = b.contains("key_prefix") && b["key_prefix"].is_string() ? b["key_prefix"].get<std::string>() : "";
    std::string filename;
    if (b.contains("upload_id") && b["upload_id"].is_string()) {
      std::string upload_id = b["upload_id"];
      Status st = ctx.store.Read([&](storage::Reader& r) -> Status {
        auto up = r.Get(Kind::kUpload, ctx.scope, upload_id, bucket_id);
        if (!up.ok()) {
          return up.status().code() == StatusCode::kNotFound
                     ? Status::Invalid(bl + ".upload_id", "upload '" + upload_id + "' not found in this bucket", "not_found")
                     : up.status();
        }
        const Json& in = up->doc["_internal"];
        if (!in.contains("sha256")) {
          return Status::Invalid(bl + ".upload_id", "upload '" + upload_id + "' has no file yet: PUT it, then confirm",
                                 "upload_incomplete");
        }
        pb.info = {in["sha256"], in["size_bytes"], up->doc.value("content_type", "application/octet-stream")};
        filename = up->doc.value("filename", "");
        return Status::Ok();
      });
      if (!st.ok()) return fail(st);
    } else {
      auto resolved = ResolveBlobData(b.value("data", Json()), type, ctx.blobs.store(), ctx.blob_options, bl + ".data");
      if (!resolved.ok()) return fail(resolved.status());
      pb.staged = resolved->staged;
      pb.info = {resolved->staged.sha256, static_cast<int64_t>(resolved->staged.size), resolved->mime_type};
      filename = resolved->filename;
    }
    pb.entry = {{"blob_id", NewId("blob_")},
                {"property", b["property"]},
                {"key_prefix", key_prefix.empty() ? Json(nullptr) : Json(key_prefix)},
                {"type", type},
                {"properties", Json::object()},
                {"metadata", b.contains("metadata") && b["metadata"].is_object() ? b["metadata"] : Json::object()},
                {"details", {{"filename", filename.empty() ? Json(nullptr) : Json(filename)},
                             {"size_bytes", pb.info.size},
                             {"mime_type", pb.info.mime_type},
                             {"hash", pb.info.sha256}}}};
    out.push_back(std::move(pb));
  }
  return out;
}

// Checks the request's shape (not yet the schema) and splits it into metadata and blobs.
Status SplitRequest(const Json& body, const std::string& loc, Json* metadata, Json* blobs) {
  if (!body.is_object()) return Status::Invalid(loc.empty() ? "body" : loc, "expected a JSON object", "type_error");
  ValidationErrors errs;
  *metadata = Json::object();
  *blobs = body.value("blobs", Json::array());
  if (!blobs->is_array()) {
    errs.Add(Loc(loc, "blobs"), "must be a list", "type_error");
    *blobs = Json::array();
  }
  if (body.contains("metadata") && !body["metadata"].is_null()) {
    if (!body["metadata"].is_object()) errs.Add(Loc(loc, "metadata"), "must be an object", "type_error");
    else *metadata = body["metadata"];
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (!IsReserved(it.key())) (*metadata)[it.key()] = it.value();
  }
  if (body.contains("key_prefix") && !body["key_prefix"].is_null() && !body["key_prefix"].is_string()) {
    errs.Add(Loc(loc, "key_prefix"), "must be a string", "type_error");
  }
  for (const char* flag : {"skip_duplicates", "canonicalize_source", "force_remirror"}) {
    if (body.contains(flag) && !body[flag].is_boolean()) errs.Add(Loc(loc, flag), "must be a boolean", "type_error");
  }
  for (size_t i = 0; i < blobs->size(); ++i) {
    const Json& b = (*blobs)[i];
    std::string bl = Loc(loc, "blobs[" + std::to_string(i) + "]");
    if (!b.is_object()) {
      errs.Add(bl, "expected {property, type, data}", "type_error");
      continue;
    }
    errs.RejectUnknownKeys(b, {"property", "type", "data", "upload_id", "key_prefix", "metadata",
                               "canonicalize_source", "force_remirror"},
                           bl);
    if (!b.contains("property") || !b["property"].is_string()) errs.Add(bl + ".property", "field required", "missing");
    if (!b.contains("type") || !b["type"].is_string()) errs.Add(bl + ".type", "field required", "missing");
    bool has_data = b.contains("data") && !b["data"].is_null();
    bool has_upload = b.contains("upload_id") && !b["upload_id"].is_null();
    if (has_data == has_upload) errs.Add(bl, "give exactly one of 'data' or 'upload_id'", "missing");
    if (has_upload && !b["upload_id"].is_string()) errs.Add(bl + ".upload_id", "must be a string", "type_error");
    if (b.contains("metadata") && !b["metadata"].is_null() && !b["metadata"].is_object()) {
      errs.Add(bl + ".metadata", "must be an object", "type_error");
    }
    for (size_t j = 0; j < i; ++j) {
      if ((*blobs)[j].is_object() && (*blobs)[j].value("property", Json()) == b.value("property", Json())) {
        errs.Add(bl + ".property", "property given twice", "value_error");
      }
    }
  }
  return errs.ToStatus();
}

std::string ContentHash(const Json& metadata, const std::vector<PreparedBlob>& blobs) {
  std::vector<std::string> parts;
  for (const auto& b : blobs) parts.push_back(b.entry["property"].get<std::string>() + "=" + b.info.sha256);
  std::sort(parts.begin(), parts.end());
  Json canon = {{"metadata", metadata}, {"blobs", parts}};  // nlohmann sorts object keys: canonical
  return Sha256Hex(canon.dump());
}

// Validates one object request against the bucket and stages its blobs.
// `existing_blobs` (PATCH) are blobs kept from the stored object.
Result<PreparedObject> Prepare(ObjectContext& ctx, const Record& bucket, const Json& body, const std::string& loc,
                               const CreateOptions& options, const Json& base_metadata,
                               const Json& existing_blobs) {
  Json metadata, blobs;
  RETURN_IF_ERROR(SplitRequest(body, loc, &metadata, &blobs));
  Json merged = base_metadata;
  MergePatch(merged, metadata);
  std::vector<std::pair<std::string, std::string>> props;
  for (const auto& b : blobs) props.emplace_back(b["property"], b["type"]);
  for (const auto& b : existing_blobs) {
    std::string p = b["property"];
    if (std::none_of(props.begin(), props.end(), [&](const auto& x) { return x.first == p; })) {
      props.emplace_back(p, b["type"]);
    }
  }
  const Json& schema = bucket.doc["bucket_schema"];
  auto fields = catalog::ValidateObject(schema, merged, props);
  if (!fields.ok()) return loc.empty() ? fields.status() : PrefixLocations(fields.status(), loc);

  PreparedObject p;
  const Json& uk = bucket.doc.value("unique_key", Json());
  if (uk.is_object()) {
    std::optional<std::string> policy = options.policy;
    if (!policy && uk.contains("default_policy") && uk["default_policy"].is_string()) policy = uk["default_policy"];
    if (!policy) {
      return Status::BadRequest("this bucket has a unique_key: pass ?policy=insert|update|upsert or set its default_policy");
    }
    auto key = catalog::UniqueKeyValue(uk, fields->metadata);
    if (!key.ok()) return loc.empty() ? key.status() : PrefixLocations(key.status(), loc);
    p.ukey = *key;
  }
  ASSIGN_OR_RETURN(p.blobs, PrepareBlobs(ctx, blobs, bucket.id, loc));
  for (const auto& b : existing_blobs) {
    std::string prop = b["property"];
    if (std::none_of(p.blobs.begin(), p.blobs.end(), [&](const PreparedBlob& x) { return x.entry["property"] == prop; })) {
      PreparedBlob kept;
      kept.entry = b;
      kept.info = {b["details"]["hash"], b["details"]["size_bytes"], b["details"]["mime_type"]};
      p.blobs.push_back(std::move(kept));
    }
  }
  p.skip_duplicates = body.value("skip_duplicates", false);
  p.chash = ContentHash(fields->metadata, p.blobs);
  const std::string now = NowIso8601();
  int64_t size = 0;
  Json blob_entries = Json::array();
  for (const auto& b : p.blobs) {
    size += b.info.size;
    blob_entries.push_back(b.entry);
  }
  p.doc = {{"object_id", NewId("obj_")}, {"bucket_id", bucket.id},
           {"key_prefix", body.value("key_prefix", Json())}, {"blobs", blob_entries},
           {"source_details", Json::array()}, {"status", "DRAFT"}, {"error", nullptr},
           {"created_at", now}, {"updated_at", now}, {"metadata", fields->metadata},
           {"_internal", {{"size_bytes", size}, {"content_hash", p.chash}}}};
  // Mixpeek clients read schema fields at the top level as well as under metadata.
  for (auto it = fields->metadata.begin(); it != fields->metadata.end(); ++it) p.doc[it.key()] = it.value();
  return p;
}

// Writes one prepared object inside a transaction. Returns the stored doc and
// fills `orphans` with blobs that an update freed.
Result<Json> WriteObject(storage::Writer& w, ObjectContext& ctx, PreparedObject& p, const CreateOptions& options,
                         const Record& bucket, std::vector<std::string>* orphans, bool* created) {
  std::optional<Record> existing;
  if (p.ukey) {
    ASSIGN_OR_RETURN(existing, w.FindByUkey(Kind::kObject, ctx.scope, bucket.id, *p.ukey));
    std::string policy = options.policy ? *options.policy : bucket.doc["unique_key"].value("default_policy", "");
    if (policy == "insert" && existing) {
      return Status::AlreadyExists("an object with unique key " + *p.ukey + " already exists (" + existing->id + ")");
    }
    if (policy == "update" && !existing) {
      return Status::NotFound("no object with unique key " + *p.ukey + " to update");
    }
  }
  if (!existing && p.skip_duplicates) {
    ASSIGN_OR_RETURN(auto dup, w.FindByContentHash(Kind::kObject, ctx.scope, bucket.id, p.chash));
    if (dup) {
      *created = false;
      return dup->doc;  // the same content is already here: nothing to write
    }
  }
  for (auto& b : p.blobs) {
    if (b.staged) RETURN_IF_ERROR(ctx.blobs.store().Commit(*b.staged));
  }
  Record rec{p.doc["object_id"], bucket.id, std::nullopt, p.ukey, p.chash, p.doc};
  if (existing) {
    rec.id = existing->id;
    rec.doc["object_id"] = existing->id;
    rec.doc["created_at"] = existing->doc["created_at"];
    ASSIGN_OR_RETURN(auto freed, w.DropBlobRefs(existing->id));
    orphans->insert(orphans->end(), freed.begin(), freed.end());
    RETURN_IF_ERROR(w.Update(Kind::kObject, ctx.scope, rec));
  } else {
    RETURN_IF_ERROR(w.Insert(Kind::kObject, ctx.scope, rec));
  }
  for (const auto& b : p.blobs) RETURN_IF_ERROR(w.AddBlobRef(b.info, rec.id));
  // A blob re-referenced by the new version is not an orphan after all.
  std::erase_if(*orphans, [&](const std::string& sha) {
    return std::any_of(p.blobs.begin(), p.blobs.end(), [&](const PreparedBlob& b) { return b.info.sha256 == sha; });
  });
  *created = !existing;
  return rec.doc;
}

Result<Record> LoadBucketRecord(ObjectContext& ctx, const std::string& bucket) {
  Record out;
  RETURN_IF_ERROR(ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(out, catalog::LoadBucket(r, ctx.scope, bucket));
    return Status::Ok();
  }));
  return out;
}

Status ObjectNotFound(const Status& st, const std::string& id) {
  return st.code() == StatusCode::kNotFound ? Status::NotFound("object '" + id + "' not found") : st;
}

// Commits prepared objects in one transaction under the blob lock; `results`
// gets each one's stored doc or error.
void CommitPrepared(ObjectContext& ctx, const Record& bucket, const CreateOptions& options,
                    std::vector<PreparedObject*>& prepared, std::vector<Result<Json>>& results) {
  auto lock = ctx.blobs.Lock();
  std::vector<std::string> orphans;
  Status st = ctx.store.Write([&](storage::Writer& w) -> Status {
    // The bucket was read before the blobs were staged; it may have been
    // deleted since, and an object must never outlive its bucket.
    RETURN_IF_ERROR(catalog::LoadBucket(w, ctx.scope, bucket.id).status());
    for (size_t i = 0; i < prepared.size(); ++i) {
      bool created = false;
      results[i] = WriteObject(w, ctx, *prepared[i], options, bucket, &orphans, &created);
      // Conflicts and misses are per object; a storage error aborts the whole batch.
      if (!results[i].ok() && results[i].status().code() != StatusCode::kAlreadyExists &&
          results[i].status().code() != StatusCode::kNotFound) {
        return results[i].status();
      }
    }
    return Status::Ok();
  });
  if (!st.ok()) {
    for (auto& r : results) r = st;
    orphans.clear();
  }
  ctx.blobs.RemoveFiles(orphans);
  for (auto* p : prepared) DiscardStaged(ctx.blobs, p->blobs);  // drops temps a commit did not consume
}

}  // namespace

Json PublicObject(const Json& doc) {
  Json out = doc;
  out.erase("_internal");
  return out;
}

Result<Json> CreateObject(ObjectContext& ctx, const std::string& bucket, const Json& body,
                          const CreateOptions& options) {
  ASSIGN_OR_RETURN(Record b, LoadBucketRecord(ctx, bucket));
  ASSIGN_OR_RETURN(PreparedObject p, Prepare(ctx, b, body, "", options, Json::object(), Json::array()));
  std::vector<PreparedObject*> prepared = {&p};
  std::vector<Result<Json>> results = {Status::Internal("not written")};
  CommitPrepared(ctx, b, options, prepared, results);
  if (!results[0].ok()) return results[0].status();
  return PublicObject(*results[0]);
}

Result<Json> CreateObjectsBatch(ObjectContext& ctx, const std::string& bucket, const Json& body,
                                const CreateOptions& options, int64_t max_objects) {
  if (!body.is_object() || !body.contains("objects") || !body["objects"].is_array()) {
    return Status::Invalid("body.objects", "field required: a list of objects", "missing");
  }
  const Json& objects = body["objects"];
  if (static_cast<int64_t>(objects.size()) > max_objects) {
    return Status::Invalid("body.objects", "at most " + std::to_string(max_objects) + " objects per batch", "value_error");
  }
  ASSIGN_OR_RETURN(Record b, LoadBucketRecord(ctx, bucket));
  std::vector<Result<PreparedObject>> prepared;
  prepared.reserve(objects.size());
  for (size_t i = 0; i < objects.size(); ++i) {
    prepared.push_back(Prepare(ctx, b, objects[i], "body.objects[" + std::to_string(i) + "]", options,
                               Json::object(), Json::array()));
  }
  std::vector<PreparedObject*> ok;
  std::vector<size_t> ok_index;
  for (size_t i = 0; i < prepared.size(); ++i) {
    if (prepared[i].ok()) {
      ok.push_back(&prepared[i].value());
      ok_index.push_back(i);
    }
  }
  std::vector<Result<Json>> written(ok.size(), Status::Internal("not written"));
  CommitPrepared(ctx, b, options, ok, written);
  Json succeeded = Json::array(), failed = Json::array();
  auto add_failure = [&](size_t i, const Status& st) {
    Json f = {{"object_index", i}, {"error", st.message()}, {"error_type", ErrorTypeName(st.code())}};
    if (st.details().contains("validation_errors")) f["details"] = st.details();
    failed.push_back(std::move(f));
  };
  size_t k = 0;
  for (size_t i = 0; i < prepared.size(); ++i) {
    if (!prepared[i].ok()) {
      add_failure(i, prepared[i].status());
    } else {
      const auto& w = written[k++];
      if (w.ok()) succeeded.push_back(PublicObject(*w));
      else add_failure(i, w.status());
    }
  }
  return Json{{"succeeded", succeeded}, {"failed", failed}, {"total_requested", objects.size()},
              {"succeeded_count", succeeded.size()}, {"failed_count", failed.size()}};
}

Result<Json> GetObject(ObjectContext& ctx, const std::string& bucket, const std::string& object_id) {
  Json out;
  RETURN_IF_ERROR(ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(r, ctx.scope, bucket));
    auto rec = r.Get(Kind::kObject, ctx.scope, object_id, b.id);
    if (!rec.ok()) return ObjectNotFound(rec.status(), object_id);
    out = PublicObject(rec->doc);
    return Status::Ok();
  }));
  return out;
}

Result<Json> UpdateObject(ObjectContext& ctx, const std::string& bucket, const std::string& object_id,
                          const Json& body, bool full_replace) {
  ASSIGN_OR_RETURN(Record b, LoadBucketRecord(ctx, bucket));
  Record existing;
  RETURN_IF_ERROR(ctx.store.Read([&](storage::Reader& r) -> Status {
    auto rec = r.Get(Kind::kObject, ctx.scope, object_id, b.id);
    if (!rec.ok()) return ObjectNotFound(rec.status(), object_id);
    existing = std::move(rec).value();
    return Status::Ok();
  }));
  Json base = full_replace ? Json::object() : existing.doc["metadata"];
  Json kept = full_replace ? Json::array() : existing.doc["blobs"];
  ASSIGN_OR_RETURN(PreparedObject p, Prepare(ctx, b, body, "", CreateOptions{"upsert"}, base, kept));
  if (p.ukey && existing.ukey && *p.ukey != *existing.ukey) {
    DiscardStaged(ctx.blobs, p.blobs);
    return Status::Invalid("body", "an update cannot change the object's unique key fields", "value_error");
  }
  p.ukey = existing.ukey;
  auto lock = ctx.blobs.Lock();
  std::vector<std::string> orphans;
  Json stored;
  Status st = ctx.store.Write([&](storage::Writer& w) -> Status {
    RETURN_IF_ERROR(catalog::LoadBucket(w, ctx.scope, b.id).status());  // still there (see CommitPrepared)
    for (auto& blob : p.blobs) {
      if (blob.staged) RETURN_IF_ERROR(ctx.blobs.store().Commit(*blob.staged));
    }
    Record rec{existing.id, b.id, std::nullopt, existing.ukey, p.chash, p.doc};
    rec.doc["object_id"] = existing.id;
    rec.doc["created_at"] = existing.doc["created_at"];
    rec.doc["status"] = existing.doc["status"];
    ASSIGN_OR_RETURN(orphans, w.DropBlobRefs(existing.id));
    RETURN_IF_ERROR(w.Update(Kind::kObject, ctx.scope, rec));
    for (const auto& blob : p.blobs) RETURN_IF_ERROR(w.AddBlobRef(blob.info, rec.id));
    std::erase_if(orphans, [&](const std::string& sha) {
      return std::any_of(p.blobs.begin(), p.blobs.end(), [&](const PreparedBlob& x) { return x.info.sha256 == sha; });
    });
    stored = rec.doc;
    return Status::Ok();
  });
  if (!st.ok()) orphans.clear();
  ctx.blobs.RemoveFiles(orphans);
  DiscardStaged(ctx.blobs, p.blobs);
  RETURN_IF_ERROR(st);
  return PublicObject(stored);
}

Result<Json> DeleteObject(ObjectContext& ctx, const std::string& bucket, const std::string& object_id) {
  auto lock = ctx.blobs.Lock();
  std::vector<std::string> orphans;
  std::string id;
  RETURN_IF_ERROR(ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(w, ctx.scope, bucket));
    auto rec = w.Get(Kind::kObject, ctx.scope, object_id, b.id);
    if (!rec.ok()) return ObjectNotFound(rec.status(), object_id);
    id = rec->id;
    RETURN_IF_ERROR(w.Delete(Kind::kObject, ctx.scope, id));
    ASSIGN_OR_RETURN(orphans, w.DropBlobRefs(id));
    return Status::Ok();
  }));
  ctx.blobs.RemoveFiles(orphans);
  return Json{{"success", true}, {"message", "object " + id + " deleted"}, {"object_id", id}};
}

Result<Json> ListObjects(ObjectContext& ctx, const std::string& bucket, const Json& body,
                         const catalog::QueryParams& params) {
  ASSIGN_OR_RETURN(catalog::ListRequest req, catalog::ParseListRequest(body, params));
  return catalog::RunList(ctx.store,
                          {Kind::kObject, ctx.scope, {"object_id", "bucket_id"},
                           [&](storage::Reader& r, storage::ListQuery& q) -> Status {
                             ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(r, ctx.scope, bucket));
                             q.parent = b.id;
                             return Status::Ok();
                           },
                           [](storage::Reader&, Json doc) -> Result<Json> { return PublicObject(doc); }},
                          req);
}

Result<Json> AggregateObjects(ObjectContext& ctx, const std::string& bucket, const Json& body) {
  ASSIGN_OR_RETURN(catalog::AggregateRequest req, catalog::ParseAggregateRequest(body));
  std::vector<storage::AggregateRow> rows;
  RETURN_IF_ERROR(ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record b, catalog::LoadBucket(r, ctx.scope, bucket));
    req.spec.parent = b.id;
    ASSIGN_OR_RETURN(rows, r.Aggregate(Kind::kObject, ctx.scope, req.spec));
    return Status::Ok();
  }));
  return catalog::AggregateResponse(req, rows);
}

}  // namespace strata::ingest
