#include "catalog/buckets.h"

#include <algorithm>
#include <regex>

#include "catalog/bucket_schema.h"
#include "core/ids.h"
#include "core/time_util.h"

namespace strata::catalog {

using storage::Kind;
using storage::Record;
using storage::Scope;

namespace {

Status NotFoundBucket(const Status& st, const std::string& id_or_name) {
  if (st.code() == StatusCode::kNotFound) return Status::NotFound("bucket '" + id_or_name + "' not found");
  return st;
}

Status NameTaken(const Status& st, const Json& doc) {
  if (st.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("a bucket named '" + doc["bucket_name"].get<std::string>() +
                                 "' already exists in this namespace");
  }
  return st;
}

// Validates the writable fields into `doc`. `partial`: only the keys present.
Status ApplyFields(const Json& body, bool partial, Json& doc) {
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  Json b = body;
  if (b.contains("schema") && !b.contains("bucket_schema")) {  // the prose's legacy name
    b["bucket_schema"] = b["schema"];
    b.erase("schema");
  }
  errs.RejectUnknownKeys(b, {"bucket_name", "description", "bucket_schema", "unique_key", "metadata"}, "body");
  if (!partial || b.contains("bucket_name")) {
    static const std::regex kName("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$");
    if (!b.contains("bucket_name") || !b["bucket_name"].is_string()) {
      errs.Add("body.bucket_name", "field required", "missing");
    } else if (!std::regex_match(b["bucket_name"].get<std::string>(), kName) ||
               HasIdPrefix(b["bucket_name"].get<std::string>(), "bkt_")) {
      errs.Add("body.bucket_name", "must be 1-128 letters, digits, '_', '-', '.', not starting with 'bkt_'",
               "value_error");
    } else {
      doc["bucket_name"] = b["bucket_name"];
    }
  }
  if (b.contains("description")) {
    if (!b["description"].is_null() && !b["description"].is_string()) errs.Add("body.description", "must be a string", "type_error");
    else doc["description"] = b["description"];
  } else if (!partial) {
    doc["description"] = nullptr;
  }
  if (!partial || b.contains("bucket_schema")) {
    if (!b.contains("bucket_schema")) {
      errs.Add("body.bucket_schema", "field required", "missing");
    } else {
      auto schema = ValidateBucketSchema(b["bucket_schema"], "body.bucket_schema");
      if (!schema.ok()) {
        for (const auto& e : schema.status().details().value("validation_errors", Json::array())) {
          errs.Add(e["location"], e["message"], e["type"]);
        }
      } else {
        doc["bucket_schema"] = *schema;
      }
    }
  }
  if (b.contains("unique_key") || !partial) {
    Json uk = b.value("unique_key", Json());
    if (!uk.is_null() && doc.contains("bucket_schema")) {
      Status st = ValidateUniqueKey(uk, doc["bucket_schema"], "body.unique_key");
      if (!st.ok()) {
        for (const auto& e : st.details().value("validation_errors", Json::array())) {
          errs.Add(e["location"], e["message"], e["type"]);
        }
      }
      if (!uk.contains("default_policy")) uk["default_policy"] = nullptr;
    }
    doc["unique_key"] = uk;
  }
  if (b.contains("metadata") || !partial) {
    Json m = b.value("metadata", Json::object());
    if (!m.is_object()) errs.Add("body.metadata", "must be an object", "type_error");
    else doc["metadata"] = m;
  }
  return errs.ToStatus();
}

// With objects in the bucket, a new schema may only add optional fields: every
// existing object must stay valid without being rewritten.
Status CheckSchemaCompatible(const Json& old_schema, const Json& new_schema) {
  ValidationErrors errs;
  const Json& oldp = old_schema["properties"];
  const Json& newp = new_schema["properties"];
  for (auto it = oldp.begin(); it != oldp.end(); ++it) {
    if (!newp.contains(it.key())) {
      errs.Add("body.bucket_schema.properties." + it.key(), "cannot remove a field while the bucket has objects",
               "value_error");
    } else if (newp[it.key()]["type"] != it.value()["type"]) {
      errs.Add("body.bucket_schema.properties." + it.key() + ".type",
               "cannot change a field's type while the bucket has objects", "value_error");
    }
  }
  for (auto it = newp.begin(); it != newp.end(); ++it) {
    if (!oldp.contains(it.key()) && it.value().value("required", false) && !it.value().contains("default")) {
      errs.Add("body.bucket_schema.properties." + it.key(),
               "a new field must be optional (or have a default) while the bucket has objects", "value_error");
    }
  }
  return errs.ToStatus();
}

Result<Json> WithStats(storage::Reader& r, const Scope& scope, Json doc) {
  // Derived from the objects in one pass rather than kept in the bucket row,
  // so object writes never rewrite their bucket.
  storage::AggregateSpec spec;
  spec.parent = doc["bucket_id"].get<std::string>();
  spec.ops = {{"count", "", "n"}, {"sum", "_internal.size_bytes", "bytes"}, {"max", "created_at", "last"}};
  ASSIGN_OR_RETURN(auto rows, r.Aggregate(Kind::kObject, scope, spec));
  const Json& v = rows.at(0).values;
  doc["object_count"] = v["n"];
  doc["total_size_bytes"] = static_cast<int64_t>(v["bytes"].get<double>());
  doc["last_upload_at"] = v["last"];
  doc["stats_updated_at"] = NowIso8601();
  return doc;
}

}  // namespace

Result<Record> LoadBucket(storage::Reader& r, const Scope& scope, const std::string& id_or_name) {
  auto rec = r.Get(Kind::kBucket, scope, id_or_name);
  if (!rec.ok()) return NotFoundBucket(rec.status(), id_or_name);
  return rec;
}

Result<Json> CreateBucket(storage::MetadataStore& store, const Scope& scope, const Json& body) {
  const std::string now = NowIso8601();
  Json doc = {{"bucket_id", NewId("bkt_")}, {"created_at", now}, {"updated_at", now},
              {"last_upload_at", nullptr}, {"status", "ACTIVE"}, {"is_locked", false}};
  RETURN_IF_ERROR(ApplyFields(body, false, doc));
  Record rec{doc["bucket_id"], "", doc["bucket_name"].get<std::string>(), std::nullopt, std::nullopt, doc};
  RETURN_IF_ERROR(NameTaken(store.Write([&](storage::Writer& w) { return w.Insert(Kind::kBucket, scope, rec); }), doc));
  return GetBucket(store, scope, rec.id);
}

Result<Json> GetBucket(storage::MetadataStore& store, const Scope& scope, const std::string& id_or_name) {
  Json out;
  RETURN_IF_ERROR(store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record rec, LoadBucket(r, scope, id_or_name));
    ASSIGN_OR_RETURN(out, WithStats(r, scope, rec.doc));
    return Status::Ok();
  }));
  return out;
}

Result<Json> ListBuckets(storage::MetadataStore& store, const Scope& scope, const Json& body,
                         const QueryParams& params) {
  ASSIGN_OR_RETURN(ListRequest req, ParseListRequest(body, params));
  req.query.include_total = true;  // total_count is a required field of the response
  return RunList(store,
                 {Kind::kBucket, scope, {"bucket_id", "bucket_name"}, nullptr,
                  [&](storage::Reader& r, Json doc) { return WithStats(r, scope, std::move(doc)); }},
                 req);
}

Result<Json> UpdateBucket(storage::MetadataStore& store, const Scope& scope, const std::string& id_or_name,
                          const Json& body, bool full_replace) {
  std::string id;
  RETURN_IF_ERROR(store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record rec, LoadBucket(w, scope, id_or_name));
    Json doc = rec.doc;
    RETURN_IF_ERROR(ApplyFields(body, !full_replace, doc));
    if (doc["bucket_schema"] != rec.doc["bucket_schema"]) {
      ASSIGN_OR_RETURN(int64_t n, w.Count(Kind::kObject, scope, rec.id));
      if (n > 0) RETURN_IF_ERROR(CheckSchemaCompatible(rec.doc["bucket_schema"], doc["bucket_schema"]));
    }
    if (doc["unique_key"] != rec.doc["unique_key"]) {
      ASSIGN_OR_RETURN(int64_t n, w.Count(Kind::kObject, scope, rec.id));
      if (n > 0) {
        return Status::Invalid("body.unique_key", "cannot change the unique key while the bucket has objects",
                               "value_error");
      }
    }
    doc["updated_at"] = NowIso8601();
    rec.doc = doc;
    rec.name = doc["bucket_name"].get<std::string>();
    id = rec.id;
    return NameTaken(w.Update(Kind::kBucket, scope, rec), doc);
  }));
  return GetBucket(store, scope, id);
}

Result<std::vector<std::string>> DeleteBucket(storage::MetadataStore& store, const Scope& scope,
                                              const std::string& id_or_name) {
  std::vector<std::string> orphans;
  RETURN_IF_ERROR(store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record rec, LoadBucket(w, scope, id_or_name));
    for (Kind k : {Kind::kObject, Kind::kUpload}) {
      ASSIGN_OR_RETURN(auto ids, w.DeleteAll(k, scope, rec.id));
      for (const auto& id : ids) {
        ASSIGN_OR_RETURN(auto freed, w.DropBlobRefs(id));
        orphans.insert(orphans.end(), freed.begin(), freed.end());
      }
    }
    return w.Delete(Kind::kBucket, scope, rec.id);
  }));
  return orphans;
}

}  // namespace strata::catalog
