#include "engine/documents.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <optional>
#include <set>

#include "catalog/aggregate_request.h"
#include "catalog/collections.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "core/time_util.h"
#include "engine/document_model.h"
#include "ingest/presign.h"
#include "ingest/uploads.h"

namespace strata::engine {

using storage::Kind;
using storage::Record;
using storage::Scope;

namespace {

constexpr size_t kMaxBatch = 1000;          // ids or updates per batch request
constexpr int64_t kScanPage = 1000;         // documents read per List call when scanning
constexpr int64_t kDefaultGroupLimit = 100;  // documents shown per group of a grouped list
constexpr size_t kMaxLineageDepth = 64;     // guards the ancestor walk against a corrupt cycle

// Keys of a stored document that are the server's, not user fields.
const std::vector<std::string> kSystemKeys = {"document_id", "collection_id", "_internal", "document_blobs"};

// DocumentCreateRequest's own keys; any other key of the body is a user field.
const std::vector<std::string> kCreateKeys = {
    "collection_id", "root_object_id", "root_bucket_id", "source_type", "source_collection_id",
    "source_document_id", "source_object_id", "lineage_path", "lineage_chain", "document_schema_version",
    "metadata", "features", "document_blobs"};

bool In(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

std::string FirstSegment(const std::string& path) { return path.substr(0, path.find('.')); }

// ---------------------------------------------------------------------------
// Collections and documents

struct VectorIndex {
  std::string name;  // storage name: the key of the vector beside the document
  std::string uri;   // feature URI
  std::string type;  // dense | sparse
  int64_t dimensions = 0;
};

std::vector<VectorIndex> IndexesOf(const Json& collection_doc) {
  std::vector<VectorIndex> out;
  const Json& list = collection_doc.contains("vector_indexes") && collection_doc["vector_indexes"].is_array()
                         ? collection_doc["vector_indexes"] : Json::array();
  for (const auto& vi : list) {
    if (!vi.is_object()) continue;
    const Json& idx = vi.contains("index") && vi["index"].is_object() ? vi["index"] : Json::object();
    VectorIndex v;
    v.name = StringOr(vi, "name", StringOr(idx, "name"));
    v.uri = StringOr(vi, "feature_uri");
    v.type = StringOr(idx, "type", "dense");
    v.dimensions = idx.contains("dimensions") && idx["dimensions"].is_number_integer() ? idx["dimensions"].get<int64_t>() : 0;
    if (!v.name.empty()) out.push_back(std::move(v));
  }
  return out;
}

// A text collection has a lexical (BM25) index: its documents' chunk_text (or
// text) goes to the full-text index.
bool HasTextIndex(const Json& collection_doc) {
  for (const auto& v : IndexesOf(collection_doc)) {
    if (v.type == "sparse") return true;
  }
  return false;
}

std::string SearchableText(const Json& collection_doc, const Json& doc) {
  if (!HasTextIndex(collection_doc)) return "";
  for (const char* key : {"chunk_text", "text"}) {
    if (doc.contains(key) && doc[key].is_string()) return doc[key].get<std::string>();
  }
  return "";
}

std::string ExtractorIdOf(const Json& collection_doc) {
  const Json& fe = collection_doc.contains("feature_extractor") ? collection_doc["feature_extractor"] : Json::object();
  std::string id = StringOr(fe, "feature_extractor_id");
  if (id.empty() && !StringOr(fe, "feature_extractor_name").empty()) {
    id = StringOr(fe, "feature_extractor_name") + "_" + StringOr(fe, "version", "v1");
  }
  return id;
}

Json UserFields(const Json& doc) {
  Json u = doc.is_object() ? doc : Json::object();
  for (const auto& k : kSystemKeys) u.erase(k);
  return u;
}

const Json& InternalOf(const Json& doc) {
  static const Json kEmpty = Json::object();
  return doc.contains("_internal") && doc["_internal"].is_object() ? doc["_internal"] : kEmpty;
}

const Json& LineageOf(const Json& doc) {
  static const Json kEmpty = Json::object();
  const Json& in = InternalOf(doc);
  return in.contains("lineage") && in["lineage"].is_object() ? in["lineage"] : kEmpty;
}

Result<Record> LoadDocument(storage::Reader& r, const Scope& scope, const Record& collection, const std::string& id) {
  auto rec = r.Get(Kind::kDocument, scope, id, collection.id);
  if (!rec.ok() && rec.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("document '" + id + "' not found in collection '" + collection.id + "'");
  }
  return rec;
}

// Calls `fn` for every document a query matches, reading pages of kScanPage.
Status ScanDocuments(storage::Reader& r, const Scope& scope, storage::ListQuery q,
                     const std::function<Status(Record&&)>& fn) {
  q.limit = kScanPage;
  q.offset = 0;
  q.cursor.clear();
  q.include_total = false;
  while (true) {
    ASSIGN_OR_RETURN(storage::ListPage page, r.List(Kind::kDocument, scope, q));
    for (auto& rec : page.records) RETURN_IF_ERROR(fn(std::move(rec)));
    if (page.next_cursor.empty()) return Status::Ok();
    q.cursor = page.next_cursor;
  }
}

Result<std::vector<std::string>> MatchingIds(storage::Reader& r, const Scope& scope, const std::string& collection_id,
                                             const filter::Node* filter) {
  storage::ListQuery q;
  q.parent = collection_id;
  q.filter = filter;
  std::vector<std::string> ids;
  RETURN_IF_ERROR(ScanDocuments(r, scope, q, [&](Record&& rec) {
    ids.push_back(std::move(rec.id));
    return Status::Ok();
  }));
  return ids;
}

// ---------------------------------------------------------------------------
// Presentation

void AddUrls(const DocumentContext& ctx, Json& doc) {
  if (ctx.signing_key.empty()) return;
  const int64_t expires = NowUnixSeconds() + ctx.presign_ttl_seconds;
  if (doc.contains("_internal") && doc["_internal"].contains("source_blobs") && doc["_internal"]["source_blobs"].is_array()) {
    for (auto& b : doc["_internal"]["source_blobs"]) {
      const Json* hash = FindPath(b, "details.hash");
      if (hash == nullptr || !hash->is_string()) continue;
      Json one = {{"blobs", Json::array({b})}};
      ingest::AddBlobUrls(one, ctx.signing_key, ctx.public_url, ctx.presign_ttl_seconds);
      b = one["blobs"][0];
    }
  }
  if (doc.contains("document_blobs") && doc["document_blobs"].is_array()) {
    for (auto& b : doc["document_blobs"]) {
      if (!b.is_object()) continue;
      std::string checksum = StringOr(b, "checksum"), url = StringOr(b, "url");
      if (checksum.rfind("sha256:", 0) == 0 && checksum.size() == 7 + 64) {
        b["presigned_url"] = ingest::PresignUrl(ctx.signing_key, ctx.public_url, "GET", "/v1/blobs/" + checksum.substr(7), expires);
      } else if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
        b["presigned_url"] = url;
      }
    }
  }
}

Result<Json> Present(storage::Reader& r, const DocumentContext& ctx, const Json& doc, const ReadOptions& options) {
  Json out = PublicDocument(doc);
  if (options.return_vectors) {
    ASSIGN_OR_RETURN(auto vectors, r.GetVectors(StringOr(doc, "document_id")));
    for (auto& [name, v] : vectors) out[name] = std::move(v);
  }
  if (options.return_urls) AddUrls(ctx, out);
  return out;
}

// ---------------------------------------------------------------------------
// Validation of what a request writes

// User fields must not name the server's keys or the collection's vectors (a
// dotted key is checked by its first segment).
void CheckUserKeys(const Json& fields, const std::vector<VectorIndex>& indexes, const std::string& loc,
                   ValidationErrors& errs) {
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    const std::string& key = it.key();
    const std::string at = loc + "." + key;
    const std::string first = FirstSegment(key);
    if (key.empty() || first.empty()) {
      errs.Add(at, "field names must not be empty", "value_error");
    } else if (first == "_internal") {
      errs.Add(at, "_internal holds the server's fields (ids, lineage, timestamps) and cannot be set", "value_error");
    } else if (first == "document_id" || first == "collection_id") {
      errs.Add(at, first + " is assigned by the server and cannot be changed", "value_error");
    } else if (first == "document_blobs") {
      errs.Add(at, "set document_blobs as a whole list", "value_error");
    } else if (std::any_of(indexes.begin(), indexes.end(), [&](const VectorIndex& v) { return v.name == first; })) {
      errs.Add(at, "'" + first + "' is a vector of this collection: vectors are set when a document is created "
                   "(features) and cannot be updated", "value_error");
    }
  }
}

// document_blobs: a list of BlobURLRef.
void CheckDocumentBlobs(const Json& v, const std::string& loc, ValidationErrors& errs) {
  if (!v.is_array()) {
    errs.Add(loc, "must be a list of {field, url, role, type, ...}", "type_error");
    return;
  }
  static const std::vector<std::string> kRoles = {"source", "processed", "thumbnail", "artifact", "aux"};
  static const std::vector<std::string> kTypes = {"video", "image", "audio", "text", "pdf", "other"};
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string at = loc + "[" + std::to_string(i) + "]";
    const Json& b = v[i];
    if (!b.is_object()) {
      errs.Add(at, "expected {field, url, role, type, ...}", "type_error");
      continue;
    }
    errs.RejectUnknownKeys(b, {"field", "role", "type", "url", "filename", "size_bytes", "content_type", "checksum",
                               "created_at", "source_blob_id", "presigned_url"},
                           at);
    for (const char* k : {"field", "url"}) {
      if (StringOr(b, k).empty()) errs.Add(at + "." + k, "field required: a non-empty string", "missing");
    }
    if (b.contains("role") && !In(kRoles, StringOr(b, "role"))) {
      errs.Add(at + ".role", "must be one of source, processed, thumbnail, artifact, aux", "enum");
    }
    if (b.contains("type") && !In(kTypes, StringOr(b, "type"))) {
      errs.Add(at + ".type", "must be one of video, image, audio, text, pdf, other", "enum");
    }
    for (const char* k : {"filename", "content_type", "checksum", "created_at", "source_blob_id", "presigned_url"}) {
      if (b.contains(k) && !b[k].is_null() && !b[k].is_string()) errs.Add(at + "." + k, "must be a string", "type_error");
    }
    if (b.contains("size_bytes") && !b["size_bytes"].is_null() &&
        !(b["size_bytes"].is_number_integer() && b["size_bytes"].get<int64_t>() >= 0)) {
      errs.Add(at + ".size_bytes", "must be a non-negative integer", "type_error");
    }
  }
}

Json NormalisedBlobs(const Json& v) {
  Json out = Json::array();
  for (const auto& b : v) {
    Json e = b;
    if (!e.contains("role")) e["role"] = "source";
    if (!e.contains("type")) e["type"] = "other";
    e.erase("presigned_url");  // made on read
    out.push_back(std::move(e));
  }
  return out;
}

void ErasePath(Json& root, const std::string& dotted) {
  auto parts = SplitPath(dotted);
  Json* cur = &root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!cur->is_object() || !cur->contains(parts[i])) return;
    cur = &(*cur)[parts[i]];
  }
  if (cur->is_object() && !parts.empty()) cur->erase(parts.back());
}

// PATCH semantics: a plain key merges (RFC 7386: null deletes, objects merge),
// a dotted key sets (or, with null, removes) the value at that path.
void ApplyPatch(Json& user, const Json& patch) {
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.key().find('.') != std::string::npos) {
      if (it.value().is_null()) ErasePath(user, it.key());
      else SetPath(user, it.key(), it.value());
    } else {
      MergePatch(user, Json{{it.key(), it.value()}});
    }
  }
}

// Writes new user fields into a stored document, keeping its ids and
// _internal (updated_at set; document_blobs replaced when given), and keeps
// the full-text index in step with the text.
Status WriteUpdated(storage::Writer& w, const Scope& scope, const Record& collection, Record& rec, Json user,
                    const std::optional<Json>& document_blobs) {
  Json internal = InternalOf(rec.doc);
  internal["updated_at"] = NowIso8601();
  if (document_blobs) internal["document_blobs"] = *document_blobs;
  Json doc = std::move(user);
  doc["document_id"] = rec.id;
  doc["collection_id"] = collection.id;
  doc["_internal"] = std::move(internal);
  const std::string old_text = SearchableText(collection.doc, rec.doc);
  const std::string new_text = SearchableText(collection.doc, doc);
  rec.doc = std::move(doc);
  RETURN_IF_ERROR(w.Update(Kind::kDocument, scope, rec));
  if (old_text != new_text) {
    ASSIGN_OR_RETURN(auto vectors, w.GetVectors(rec.id));
    RETURN_IF_ERROR(w.PutFeatures(scope, collection.id, rec.id, {std::move(vectors), new_text}));
  }
  return Status::Ok();
}

// An update_data object of bulk and batch updates: an object of user fields.
void CheckUpdateData(const Json& body, const char* key, const std::string& loc, ValidationErrors& errs) {
  if (!body.contains(key) || !body[key].is_object()) {
    errs.Add(loc, "field required: an object of the fields to set", body.contains(key) ? "type_error" : "missing");
  }
}

// ---------------------------------------------------------------------------
// Create

// Features [{feature_extractor_id, payload, vectors}] -> vectors by storage
// name, with payload fields merged into `user`.
void ParseFeatures(const Json& features, const Record& collection, Json& user,
                   std::vector<std::pair<std::string, std::vector<float>>>& vectors, ValidationErrors& errs) {
  const std::vector<VectorIndex> indexes = IndexesOf(collection.doc);
  const Json& fe = collection.doc.contains("feature_extractor") ? collection.doc["feature_extractor"] : Json::object();
  const std::string extractor_id = ExtractorIdOf(collection.doc);
  const std::string extractor_name = StringOr(fe, "feature_extractor_name");
  const std::string extractor_ref = extractor_name + "@" + StringOr(fe, "version", "v1");
  std::string dense_names;
  for (const auto& v : indexes) {
    if (v.type != "sparse") dense_names += (dense_names.empty() ? "" : ", ") + v.name;
  }
  for (size_t i = 0; i < features.size(); ++i) {
    const std::string at = "body.features[" + std::to_string(i) + "]";
    const Json& f = features[i];
    if (!f.is_object()) {
      errs.Add(at, "expected {feature_extractor_id, payload, vectors}", "type_error");
      continue;
    }
    errs.RejectUnknownKeys(f, {"feature_extractor_id", "payload", "vectors"}, at);
    const std::string fid = StringOr(f, "feature_extractor_id");
    if (fid.empty()) {
      errs.Add(at + ".feature_extractor_id", "field required", "missing");
    } else if (fid != extractor_id && fid != extractor_name && fid != extractor_ref) {
      errs.Add(at + ".feature_extractor_id",
               "this collection's extractor is '" + extractor_id + "'; '" + fid + "' does not fill its indexes",
               "value_error");
    }
    if (f.contains("payload") && !f["payload"].is_null()) {
      if (!f["payload"].is_object()) {
        errs.Add(at + ".payload", "must be an object", "type_error");
      } else {
        CheckUserKeys(f["payload"], indexes, at + ".payload", errs);
        for (auto it = f["payload"].begin(); it != f["payload"].end(); ++it) user[it.key()] = it.value();
      }
    }
    if (!f.contains("vectors") || f["vectors"].is_null()) continue;
    const Json& vs = f["vectors"];
    const std::string vl = at + ".vectors";
    if (!vs.is_object()) {
      errs.Add(vl, "expected {vector_name: [floats]}", "type_error");
      continue;
    }
    if (vs.contains("indices") && vs.contains("values")) {
      errs.Add(vl, "sparse vectors are not stored: a text collection's lexical (BM25) index is computed from its text",
               "unsupported");
      continue;
    }
    for (auto it = vs.begin(); it != vs.end(); ++it) {
      const std::string nl = vl + "." + it.key();
      auto idx = std::find_if(indexes.begin(), indexes.end(),
                              [&](const VectorIndex& v) { return v.name == it.key() || (!v.uri.empty() && v.uri == it.key()); });
      if (idx == indexes.end()) {
        errs.Add(nl, "this collection has no vector index '" + it.key() + "'" +
                         (dense_names.empty() ? " (it has no vector indexes)" : "; its indexes: " + dense_names),
                 "value_error");
        continue;
      }
      if (idx->type == "sparse") {
        errs.Add(nl, "'" + idx->name + "' is the lexical (BM25) index: it is computed from the document's text", "value_error");
        continue;
      }
      const Json& arr = it.value();
      if (!arr.is_array() || arr.empty()) {
        errs.Add(nl, "must be a non-empty list of numbers", "type_error");
        continue;
      }
      if (arr[0].is_array()) {
        errs.Add(nl, "multi-vector values are not supported: '" + idx->name + "' holds one vector per document", "unsupported");
        continue;
      }
      std::vector<float> floats;
      floats.reserve(arr.size());
      bool ok = true;
      for (const auto& x : arr) {
        if (!x.is_number() || !std::isfinite(x.get<double>())) {
          ok = false;
          break;
        }
        floats.push_back(x.get<float>());
      }
      if (!ok) {
        errs.Add(nl, "must be a list of finite numbers", "type_error");
        continue;
      }
      if (idx->dimensions > 0 && static_cast<int64_t>(floats.size()) != idx->dimensions) {
        errs.Add(nl, "'" + idx->name + "' has " + std::to_string(idx->dimensions) + " dimensions; got " +
                         std::to_string(floats.size()),
                 "value_error");
        continue;
      }
      if (std::any_of(vectors.begin(), vectors.end(), [&](const auto& p) { return p.first == idx->name; })) {
        errs.Add(nl, "vector '" + idx->name + "' given twice", "value_error");
        continue;
      }
      vectors.emplace_back(idx->name, std::move(floats));
    }
  }
}

void CheckLineageChain(const Json& chain, ValidationErrors& errs) {
  if (!chain.is_array()) {
    errs.Add("body.lineage_chain", "must be a list of {collection_id, feature_extractor_id, document_id, timestamp}",
             "type_error");
    return;
  }
  for (size_t i = 0; i < chain.size(); ++i) {
    const std::string at = "body.lineage_chain[" + std::to_string(i) + "]";
    const Json& s = chain[i];
    if (!s.is_object()) {
      errs.Add(at, "expected {collection_id, feature_extractor_id, document_id, timestamp}", "type_error");
      continue;
    }
    errs.RejectUnknownKeys(s, {"collection_id", "feature_extractor_id", "document_id", "timestamp"}, at);
    for (const char* k : {"collection_id", "feature_extractor_id"}) {
      if (StringOr(s, k).empty()) errs.Add(at + "." + k, "field required", "missing");
    }
    if (s.contains("document_id") && !s["document_id"].is_null() && !s["document_id"].is_string()) {
      errs.Add(at + ".document_id", "must be a string or null", "type_error");
    }
    if (s.contains("timestamp") && !(s["timestamp"].is_string() && IsIsoDateTime(s["timestamp"].get<std::string>()))) {
      errs.Add(at + ".timestamp", "must be an ISO 8601 date-time", "type_error");
    }
  }
}

struct BuiltLineage {
  Json lineage;
  Json source_blobs = Json::array();
};

// The lineage of a new document from the request's lineage fields, checked
// against (and completed from) its source document or object.
Result<BuiltLineage> BuildLineage(storage::Reader& r, const Scope& scope, const Record& collection,
                                  const std::string& doc_id, const std::string& now, const Json& body,
                                  ValidationErrors& errs) {
  std::string source_doc = StringOr(body, "source_document_id"), source_obj = StringOr(body, "source_object_id");
  std::string root_obj = StringOr(body, "root_object_id"), root_bkt = StringOr(body, "root_bucket_id");
  std::string source_col = StringOr(body, "source_collection_id");
  std::string type = StringOr(body, "source_type");
  if (type.empty()) type = !source_doc.empty() || !source_col.empty() ? "collection"
                           : (!source_obj.empty() || !root_obj.empty()) ? "bucket" : "";
  Json step = {{"collection_id", collection.id}, {"feature_extractor_id", ExtractorIdOf(collection.doc)},
               {"document_id", doc_id}, {"timestamp", now}};
  Json chain = Json::array();
  std::string path, source_id;
  BuiltLineage out;
  if (type == "collection") {
    if (source_doc.empty()) {
      errs.Add("body.source_document_id", "a document made from a collection needs source_document_id", "missing");
      return out;
    }
    auto parent = r.Get(Kind::kDocument, scope, source_doc);
    if (!parent.ok()) {
      if (parent.status().code() != StatusCode::kNotFound) return parent.status();
      errs.Add("body.source_document_id", "document '" + source_doc + "' not found in this namespace", "not_found");
      return out;
    }
    const Json& pl = LineageOf(parent->doc);
    if (!source_col.empty() && source_col != parent->parent) {
      errs.Add("body.source_collection_id", "document '" + source_doc + "' is in collection '" + parent->parent + "'",
               "value_error");
    }
    source_col = parent->parent;
    const std::string parent_root = StringOr(pl, "root_object_id");
    if (!root_obj.empty() && !parent_root.empty() && root_obj != parent_root) {
      errs.Add("body.root_object_id", "the source document's root object is '" + parent_root + "'", "value_error");
    }
    if (root_obj.empty()) root_obj = parent_root;
    if (root_bkt.empty()) root_bkt = StringOr(pl, "root_bucket_id");
    if (source_obj.empty()) source_obj = StringOr(pl, "source_object_id", root_obj);
    if (pl.contains("chain") && pl["chain"].is_array()) chain = pl["chain"];
    path = StringOr(pl, "path", parent->parent) + "/" + collection.id;
    source_id = source_doc;
  } else if (type == "bucket") {
    if (!source_doc.empty()) errs.Add("body.source_document_id", "only a document made from a collection has one", "value_error");
    if (!source_obj.empty() && !root_obj.empty() && source_obj != root_obj) {
      errs.Add("body.root_object_id", "a document made from a bucket object has that object as its root", "value_error");
    }
    const std::string obj_id = source_obj.empty() ? root_obj : source_obj;
    if (obj_id.empty()) {
      errs.Add("body.source_object_id", "a document made from a bucket needs source_object_id", "missing");
      return out;
    }
    auto obj = r.Get(Kind::kObject, scope, obj_id);
    if (!obj.ok()) {
      if (obj.status().code() != StatusCode::kNotFound) return obj.status();
      errs.Add(source_obj.empty() ? "body.root_object_id" : "body.source_object_id",
               "object '" + obj_id + "' not found in this namespace", "not_found");
      return out;
    }
    if (!root_bkt.empty() && root_bkt != obj->parent) {
      errs.Add("body.root_bucket_id", "object '" + obj_id + "' is in bucket '" + obj->parent + "'", "value_error");
    }
    root_obj = source_obj = obj_id;
    root_bkt = obj->parent;
    if (obj->doc.contains("blobs") && obj->doc["blobs"].is_array()) out.source_blobs = obj->doc["blobs"];
    path = root_bkt + "/" + collection.id;
    source_id = obj_id;
  } else if (!type.empty()) {
    errs.Add("body.source_type", "must be 'bucket' or 'collection'", "enum");
    return out;
  } else {
    path = root_bkt.empty() ? collection.id : root_bkt + "/" + collection.id;
  }
  chain.push_back(step);
  auto or_null = [](const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); };
  out.lineage = {{"root_object_id", or_null(root_obj)},
                 {"root_bucket_id", or_null(root_bkt)},
                 {"source_type", or_null(type)},
                 {"source_object_id", or_null(source_obj)},
                 {"source_document_id", type == "collection" ? or_null(source_doc) : Json(nullptr)},
                 {"source_collection_id", type == "collection" ? or_null(source_col) : Json(nullptr)},
                 {"source_id", or_null(source_id)},
                 {"path", body.contains("lineage_path") && body["lineage_path"].is_string() ? body["lineage_path"] : Json(path)},
                 {"chain", body.contains("lineage_chain") && body["lineage_chain"].is_array() ? body["lineage_chain"] : chain}};
  return out;
}

// ---------------------------------------------------------------------------
// Grouped lists

std::string GroupCursor(const std::string& field, int64_t offset) {
  return Base64UrlEncode(Json{{"group_by", field}, {"offset", offset}}.dump());
}

Result<int64_t> GroupOffset(const std::string& cursor, const std::string& field) {
  Status bad = Status::BadRequest("invalid cursor: pass next_cursor from a previous page of the same group_by unchanged");
  auto raw = Base64Decode(cursor);
  if (!raw) return bad;
  auto j = ParseJson(*raw, 4);
  if (!j.ok() || !j->is_object() || StringOr(*j, "group_by") != field || !j->contains("offset") ||
      !(*j)["offset"].is_number_integer() || (*j)["offset"].get<int64_t>() < 0) {
    return bad;
  }
  return (*j)["offset"].get<int64_t>();
}

// Groups every matching document by the value at `field` (missing = null),
// in order of each group's first document under the list's sort; the page is
// of groups (offset/limit or cursor), each with up to `group_limit` documents
// and its full count.
Result<Json> ListGroups(DocumentContext& ctx, const std::string& collection, catalog::ListRequest& req,
                        const std::string& field, int64_t group_limit, const ReadOptions& options) {
  int64_t first = req.query.offset;
  if (!req.query.cursor.empty()) {
    ASSIGN_OR_RETURN(first, GroupOffset(req.query.cursor, field));
  }
  const int64_t last = first + req.query.limit;  // exclusive
  struct Group {
    Json key;
    int64_t count = 0;
    Json documents = Json::array();
  };
  std::vector<Group> groups;
  std::map<std::string, size_t> position;
  int64_t total_docs = 0, total_blobs = 0;
  RETURN_IF_ERROR(ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record col, catalog::LoadCollection(r, ctx.scope, collection));
    storage::ListQuery q = req.query;
    q.parent = col.id;
    return ScanDocuments(r, ctx.scope, q, [&](Record&& rec) -> Status {
      const Json* v = FindPath(rec.doc, field);
      Json key = v == nullptr ? Json(nullptr) : *v;
      auto [it, inserted] = position.emplace(key.dump(), groups.size());
      if (inserted) groups.push_back({key, 0, Json::array()});
      Group& g = groups[it->second];
      ++g.count;
      ++total_docs;
      const Json& sb = InternalOf(rec.doc).value("source_blobs", Json::array());
      total_blobs += sb.is_array() ? static_cast<int64_t>(sb.size()) : 0;
      const auto pos = static_cast<int64_t>(it->second);
      if (pos >= first && pos < last && static_cast<int64_t>(g.documents.size()) < group_limit) {
        ASSIGN_OR_RETURN(Json doc, Present(r, ctx, rec.doc, options));
        g.documents.push_back(catalog::ApplySelect(doc, req.select, {"document_id", "collection_id"}));
      }
      return Status::Ok();
    });
  }));
  const auto total_groups = static_cast<int64_t>(groups.size());
  Json out_groups = Json::array();
  for (int64_t i = first; i < std::min(last, total_groups); ++i) {
    auto& g = groups[static_cast<size_t>(i)];
    out_groups.push_back({{"group_key", g.key}, {"documents", std::move(g.documents)}, {"count", g.count}});
  }
  storage::ListPage page;
  page.total = total_groups;
  if (last < total_groups) page.next_cursor = GroupCursor(field, last);
  Json stats = {{"total_documents", total_docs},
                {"avg_blobs_per_document", total_docs ? static_cast<double>(total_blobs) / total_docs : 0.0},
                {"total_groups", total_groups},
                {"avg_documents_per_group",
                 total_groups ? Json(static_cast<double>(total_docs) / total_groups) : Json(nullptr)}};
  return Json{{"results", nullptr},
              {"groups", std::move(out_groups)},
              {"pagination", catalog::PaginationJson(page, req.query)},
              {"stats", std::move(stats)},
              {"group_by_field", field}};
}

// ---------------------------------------------------------------------------
// Lineage

Json Ref(const Record& doc) { return {{"document_id", doc.id}, {"collection_id", doc.parent}}; }

// Every document made (directly or not) from `start`, breadth first.
Result<Json> Descendants(storage::Reader& r, const Scope& scope, const Record& start) {
  Json out = Json::array();
  std::set<std::string> seen = {start.id};
  std::deque<std::pair<std::string, int>> queue = {{start.id, 0}};
  const std::string root = StringOr(LineageOf(start.doc), "root_object_id");
  // With a root object, one indexed read finds every candidate; without one
  // (documents created with no lineage), each collection is asked by source.
  std::multimap<std::string, Record> by_source;
  std::vector<std::string> collections;
  if (!root.empty()) {
    ASSIGN_OR_RETURN(auto family, r.DocumentsByRoot(scope, root, ""));
    for (auto& d : family) {
      std::string src = StringOr(LineageOf(d.doc), "source_document_id");
      if (!src.empty()) by_source.emplace(src, std::move(d));
    }
  } else {
    storage::ListQuery q;
    q.limit = 1000;
    while (true) {
      ASSIGN_OR_RETURN(auto page, r.List(Kind::kCollection, scope, q));
      for (const auto& c : page.records) collections.push_back(c.id);
      if (page.next_cursor.empty()) break;
      q.cursor = page.next_cursor;
    }
  }
  while (!queue.empty()) {
    auto [id, depth] = queue.front();
    queue.pop_front();
    std::vector<Record> children;
    if (!root.empty()) {
      auto range = by_source.equal_range(id);
      for (auto it = range.first; it != range.second; ++it) children.push_back(it->second);
    } else {
      for (const auto& c : collections) {
        ASSIGN_OR_RETURN(auto found, r.DocumentsBySource(scope, c, id));
        for (auto& d : found) children.push_back(std::move(d));
      }
    }
    for (const auto& child : children) {
      if (!seen.insert(child.id).second) continue;
      Json ref = Ref(child);
      ref["source_document_id"] = id;
      ref["depth"] = depth + 1;
      out.push_back(std::move(ref));
      queue.emplace_back(child.id, depth + 1);
    }
  }
  return out;
}

Result<std::optional<Record>> FindObject(storage::Reader& r, const Scope& scope, const std::string& object_id) {
  auto obj = r.Get(Kind::kObject, scope, object_id);
  if (obj.ok()) return std::optional<Record>(std::move(obj).value());
  if (obj.status().code() == StatusCode::kNotFound) return std::optional<Record>();
  return obj.status();
}

}  // namespace

// ---------------------------------------------------------------------------

Result<Json> ListDocuments(DocumentContext& ctx, const std::string& collection, const Json& body,
                           const catalog::QueryParams& params) {
  ASSIGN_OR_RETURN(catalog::ListRequest req,
                   catalog::ParseListRequest(body, params, {"cursor", "return_url", "return_presigned_urls",
                                                            "return_vectors", "group_by", "group_limit"}));
  ValidationErrors errs;
  ReadOptions options;
  std::string group_by;
  int64_t group_limit = kDefaultGroupLimit;
  if (body.is_object()) {
    for (const char* k : {"return_url", "return_presigned_urls", "return_vectors"}) {
      if (!body.contains(k) || body[k].is_null()) continue;
      if (!body[k].is_boolean()) {
        errs.Add(std::string("body.") + k, "must be a boolean", "type_error");
      } else if (body[k].get<bool>()) {
        (std::string(k) == "return_vectors" ? options.return_vectors : options.return_urls) = true;
      }
    }
    if (body.contains("cursor") && !body["cursor"].is_null()) {
      if (!body["cursor"].is_string()) errs.Add("body.cursor", "must be a string", "type_error");
      else if (req.query.cursor.empty()) req.query.cursor = body["cursor"].get<std::string>();
    }
    if (body.contains("group_by") && !body["group_by"].is_null()) {
      if (!body["group_by"].is_string() || body["group_by"].get<std::string>().empty()) {
        errs.Add("body.group_by", "must be a field path", "type_error");
      } else {
        group_by = body["group_by"].get<std::string>();
      }
    }
    if (body.contains("group_limit") && !body["group_limit"].is_null()) {
      const Json& gl = body["group_limit"];
      if (!gl.is_number_integer() || gl.get<int64_t>() < 1 || gl.get<int64_t>() > 1000) {
        errs.Add("body.group_limit", "must be an integer from 1 to 1000", "type_error");
      } else {
        group_limit = gl.get<int64_t>();
      }
    }
  }
  RETURN_IF_ERROR(errs.ToStatus());
  if (!group_by.empty()) return ListGroups(ctx, collection, req, group_by, group_limit, options);

  int64_t count = 0, blobs = 0;
  ASSIGN_OR_RETURN(Json out, catalog::RunList(ctx.store,
                                              {Kind::kDocument, ctx.scope, {"document_id", "collection_id"},
                                               [&](storage::Reader& r, storage::ListQuery& q) -> Status {
                                                 ASSIGN_OR_RETURN(Record col, catalog::LoadCollection(r, ctx.scope, collection));
                                                 q.parent = col.id;
                                                 return Status::Ok();
                                               },
                                               [&](storage::Reader& r, Json doc) -> Result<Json> {
                                                 ++count;
                                                 const Json& sb = InternalOf(doc).value("source_blobs", Json::array());
                                                 blobs += sb.is_array() ? static_cast<int64_t>(sb.size()) : 0;
                                                 return Present(r, ctx, doc, options);
                                               }},
                                              req));
  out["groups"] = nullptr;
  out["stats"] = {{"total_documents", count},
                  {"avg_blobs_per_document", count ? static_cast<double>(blobs) / count : 0.0},
                  {"total_groups", nullptr},
                  {"avg_documents_per_group", nullptr}};
  out["group_by_field"] = nullptr;
  return out;
}

Result<Json> GetDocument(DocumentContext& ctx, const std::string& collection, const std::string& document_id,
                         const ReadOptions& options) {
  Json out;
  RETURN_IF_ERROR(ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record col, catalog::LoadCollection(r, ctx.scope, collection));
    ASSIGN_OR_RETURN(Record rec, LoadDocument(r, ctx.scope, col, document_id));
    ASSIGN_OR_RETURN(out, Present(r, ctx, rec.doc, options));
    return Status::Ok();
  }));
  return out;
}

Result<Json> CreateDocument(DocumentContext& ctx, const std::string& collection, const Json& body) {
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  for (const char* k : {"collection_id", "root_object_id", "root_bucket_id", "source_collection_id", "source_document_id",
                        "source_object_id", "lineage_path", "document_schema_version"}) {
    if (body.contains(k) && !body[k].is_null() && !body[k].is_string()) {
      errs.Add(std::string("body.") + k, "must be a string", "type_error");
    }
  }
  if (body.contains("source_type") && !body["source_type"].is_null() &&
      !In({"bucket", "collection"}, StringOr(body, "source_type"))) {
    errs.Add("body.source_type", "must be 'bucket' or 'collection'", "enum");
  }
  if (body.contains("lineage_chain") && !body["lineage_chain"].is_null()) CheckLineageChain(body["lineage_chain"], errs);
  Json features = Json::array();
  if (body.contains("features") && !body["features"].is_null()) {
    if (!body["features"].is_array()) errs.Add("body.features", "must be a list of {feature_extractor_id, payload, vectors}", "type_error");
    else features = body["features"];
  }
  std::optional<Json> document_blobs;
  if (body.contains("document_blobs") && !body["document_blobs"].is_null()) {
    CheckDocumentBlobs(body["document_blobs"], "body.document_blobs", errs);
    document_blobs = body["document_blobs"];
  }
  Json metadata = Json::object(), extra = Json::object();
  if (body.contains("metadata") && !body["metadata"].is_null()) {
    if (!body["metadata"].is_object()) errs.Add("body.metadata", "must be an object", "type_error");
    else metadata = body["metadata"];
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (!In(kCreateKeys, it.key())) extra[it.key()] = it.value();
  }
  RETURN_IF_ERROR(errs.ToStatus());

  const std::string id = NewId("doc_");
  const std::string now = NowIso8601();
  Json stored;
  RETURN_IF_ERROR(ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record col, catalog::LoadCollection(w, ctx.scope, collection));
    const std::string given_col = StringOr(body, "collection_id");
    if (!given_col.empty() && given_col != col.id && given_col != StringOr(col.doc, "collection_name")) {
      errs.Add("body.collection_id", "does not match the collection in the path ('" + col.id + "')", "value_error");
    }
    const auto indexes = IndexesOf(col.doc);
    CheckUserKeys(metadata, indexes, "body.metadata", errs);
    CheckUserKeys(extra, indexes, "body", errs);
    Json user = metadata;
    for (auto it = extra.begin(); it != extra.end(); ++it) user[it.key()] = it.value();
    storage::DocumentFeatures f;
    ParseFeatures(features, col, user, f.vectors, errs);
    ASSIGN_OR_RETURN(BuiltLineage lineage, BuildLineage(w, ctx.scope, col, id, now, body, errs));
    RETURN_IF_ERROR(errs.ToStatus());

    Json meta = {{"ingestion_status", "COMPLETED"}, {"feature_extractor_config_hash", nullptr},
                 {"run_id", nullptr}, {"batch_id", nullptr}, {"created_by", "api"}};
    if (body.contains("document_schema_version") && body["document_schema_version"].is_string()) {
      meta["document_schema_version"] = body["document_schema_version"];
    }
    const std::string text = SearchableText(col.doc, user);
    Json doc = user;
    doc["document_id"] = id;
    doc["collection_id"] = col.id;
    doc["_internal"] = {{"document_id", id},
                        {"collection_id", col.id},
                        {"namespace_id", ctx.scope.ns},
                        {"created_at", now},
                        {"updated_at", now},
                        {"lineage", lineage.lineage},
                        {"source_blobs", lineage.source_blobs},
                        {"document_blobs", document_blobs ? NormalisedBlobs(*document_blobs) : Json::array()},
                        {"modality", text.empty() ? Json(nullptr) : Json("text")},
                        {"metadata", meta},
                        {"content_hash", Sha256Hex(user.dump())},
                        {"mime_type", "application/json"},
                        {"size_bytes", static_cast<int64_t>(user.dump().size())}};
    f.text = text;
    RETURN_IF_ERROR(w.Insert(Kind::kDocument, ctx.scope, Record{id, col.id, std::nullopt, std::nullopt, std::nullopt, doc}));
    RETURN_IF_ERROR(w.PutFeatures(ctx.scope, col.id, id, f));
    stored = std::move(doc);
    return Status::Ok();
  }));
  return PublicDocument(stored);
}

Result<Json> UpdateDocument(DocumentContext& ctx, const std::string& collection, const std::string& document_id,
                            const Json& body, bool full_replace) {
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  Json out;
  RETURN_IF_ERROR(ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record col, catalog::LoadCollection(w, ctx.scope, collection));
    ASSIGN_OR_RETURN(Record rec, LoadDocument(w, ctx.scope, col, document_id));
    ValidationErrors errs;
    Json patch = body;
    // A client may send back what GET gave it: the server's keys unchanged are fine.
    for (const char* k : {"document_id", "collection_id", "_internal"}) {
      if (!patch.contains(k)) continue;
      if (rec.doc.contains(k) && patch[k] == rec.doc[k]) {
        patch.erase(k);
      } else {
        errs.Add(std::string("body.") + k,
                 std::string(k) == "_internal" ? "_internal holds the server's fields (ids, lineage, timestamps) and cannot be changed"
                                                : std::string(k) + " is assigned by the server and cannot be changed",
                 "value_error");
      }
    }
    std::optional<Json> blobs;
    if (patch.contains("document_blobs")) {
      const Json current = InternalOf(rec.doc).value("document_blobs", Json::array());
      if (patch["document_blobs"] != current) {
        CheckDocumentBlobs(patch["document_blobs"], "body.document_blobs", errs);
        blobs = NormalisedBlobs(patch["document_blobs"].is_array() ? patch["document_blobs"] : Json::array());
      }
      patch.erase("document_blobs");
    }
    for (auto it = patch.begin(); it != patch.end();) {
      // Leave the keys reported above to the error; check the rest.
      if (In(kSystemKeys, it.key())) it = patch.erase(it);
      else ++it;
    }
    CheckUserKeys(patch, IndexesOf(col.doc), "body", errs);
    RETURN_IF_ERROR(errs.ToStatus());
    Json user = full_replace ? patch : UserFields(rec.doc);
    if (!full_replace) ApplyPatch(user, patch);
    RETURN_IF_ERROR(WriteUpdated(w, ctx.scope, col, rec, std::move(user), blobs));
    out = PublicDocument(rec.doc);
    return Status::Ok();
  }));
  return out;
}

Result<Json> DeleteDocument(DocumentContext& ctx, const std::string& collection, const std::string& document_id) {
  std::string id;
  RETURN_IF_ERROR(ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record col, catalog::LoadCollection(w, ctx.scope, collection));
    ASSIGN_OR_RETURN(Record rec, LoadDocument(w, ctx.scope, col, document_id));
    id = rec.id;
    return w.Delete(Kind::kDocument, ctx.scope, id);
  }));
  return Json{{"success", true}, {"message", "document " + id + " deleted"}, {"document_id", id}};
}

Result<Json> BulkUpdateDocuments(DocumentContext& ctx, const std::string& collection, const Json& body) {
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(body, {"filters", "update_data"}, "body");
  CheckUpdateData(body, "update_data", "body.update_data", errs);
  std::optional<filter::Node> f;
  if (body.contains("filters") && !body["filters"].is_null()) {
    ASSIGN_OR_RETURN(f, filter::Parse(body["filters"], "body.filters"));
  }
  RETURN_IF_ERROR(errs.ToStatus());
  const Json& update = body["update_data"];
  int64_t updated = 0;
  RETURN_IF_ERROR(ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record col, catalog::LoadCollection(w, ctx.scope, collection));
    CheckUserKeys(update, IndexesOf(col.doc), "body.update_data", errs);
    RETURN_IF_ERROR(errs.ToStatus());
    ASSIGN_OR_RETURN(auto ids, MatchingIds(w, ctx.scope, col.id, f ? &*f : nullptr));
    for (const auto& id : ids) {
      ASSIGN_OR_RETURN(Record rec, LoadDocument(w, ctx.scope, col, id));
      Json user = UserFields(rec.doc);
      ApplyPatch(user, update);
      RETURN_IF_ERROR(WriteUpdated(w, ctx.scope, col, rec, std::move(user), std::nullopt));
      ++updated;
    }
    return Status::Ok();
  }));
  return Json{{"updated_count", updated}, {"message", std::to_string(updated) + " documents updated"}};
}

Result<Json> BatchUpdateDocuments(DocumentContext& ctx, const std::string& collection, const Json& body) {
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(body, {"updates", "filters", "update_data"}, "body");
  const bool by_ids = body.contains("updates") && !body["updates"].is_null();
  const bool by_filter = (body.contains("filters") && !body["filters"].is_null()) ||
                         (body.contains("update_data") && !body["update_data"].is_null());
  if (by_ids == by_filter) {
    return Status::Invalid("body", "give either 'updates' (a list of {document_id, update_data}) or 'filters' with "
                                   "'update_data'", by_ids ? "value_error" : "missing");
  }
  std::optional<filter::Node> f;
  if (by_ids) {
    const Json& ups = body["updates"];
    if (!ups.is_array() || ups.empty() || ups.size() > kMaxBatch) {
      errs.Add("body.updates", "must be a list of 1 to " + std::to_string(kMaxBatch) + " {document_id, update_data}",
               "type_error");
    } else {
      for (size_t i = 0; i < ups.size(); ++i) {
        const std::string at = "body.updates[" + std::to_string(i) + "]";
        if (!ups[i].is_object()) {
          errs.Add(at, "expected {document_id, update_data}", "type_error");
          continue;
        }
        errs.RejectUnknownKeys(ups[i], {"document_id", "update_data"}, at);
        if (StringOr(ups[i], "document_id").empty()) errs.Add(at + ".document_id", "field required", "missing");
        CheckUpdateData(ups[i], "update_data", at + ".update_data", errs);
      }
    }
  } else {
    CheckUpdateData(body, "update_data", "body.update_data", errs);
    if (!body.contains("filters") || body["filters"].is_null()) {
      errs.Add("body.filters", "filter mode needs filters ({} matches every document)", "missing");
    } else {
      ASSIGN_OR_RETURN(f, filter::Parse(body["filters"], "body.filters"));
    }
  }
  RETURN_IF_ERROR(errs.ToStatus());
  int64_t updated = 0, failed = 0;
  Json results = Json::array();
  RETURN_IF_ERROR(ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record col, catalog::LoadCollection(w, ctx.scope, collection));
    const auto indexes = IndexesOf(col.doc);
    std::vector<std::pair<std::string, const Json*>> work;
    if (by_ids) {
      for (size_t i = 0; i < body["updates"].size(); ++i) {
        const Json& u = body["updates"][i];
        CheckUserKeys(u["update_data"], indexes, "body.updates[" + std::to_string(i) + "].update_data", errs);
        work.emplace_back(u["document_id"].get<std::string>(), &u["update_data"]);
      }
    } else {
      CheckUserKeys(body["update_data"], indexes, "body.update_data", errs);
      ASSIGN_OR_RETURN(auto ids, MatchingIds(w, ctx.scope, col.id, f ? &*f : nullptr));
      for (auto& id : ids) work.emplace_back(std::move(id), &body["update_data"]);
    }
    RETURN_IF_ERROR(errs.ToStatus());
    for (const auto& [id, update] : work) {
      auto rec = LoadDocument(w, ctx.scope, col, id);
      if (!rec.ok()) {
        if (rec.status().code() != StatusCode::kNotFound) return rec.status();
        ++failed;
        results.push_back({{"document_id", id}, {"success", false}, {"error", rec.status().message()}});
        continue;
      }
      Json user = UserFields(rec->doc);
      ApplyPatch(user, *update);
      RETURN_IF_ERROR(WriteUpdated(w, ctx.scope, col, *rec, std::move(user), std::nullopt));
      ++updated;
      if (by_ids) results.push_back({{"document_id", id}, {"success", true}, {"error", nullptr}});
    }
    return Status::Ok();
  }));
  return Json{{"updated_count", updated}, {"failed_count", failed}, {"results", results},
              {"message", "Batch update completed"}};
}

Result<Json> BatchDeleteDocuments(DocumentContext& ctx, const std::string& collection, const Json& body) {
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object: {document_ids} or {filters}", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(body, {"document_ids", "filters"}, "body");
  const bool by_ids = body.contains("document_ids") && !body["document_ids"].is_null();
  const bool by_filter = body.contains("filters") && !body["filters"].is_null();
  if (by_ids == by_filter) {
    return Status::Invalid("body", "give either 'document_ids' or 'filters' ({} matches every document)",
                           by_ids ? "value_error" : "missing");
  }
  std::vector<std::string> ids;
  std::optional<filter::Node> f;
  if (by_ids) {
    const Json& v = body["document_ids"];
    if (!v.is_array() || v.empty() || v.size() > kMaxBatch) {
      errs.Add("body.document_ids", "must be a list of 1 to " + std::to_string(kMaxBatch) + " document ids", "type_error");
    } else {
      for (size_t i = 0; i < v.size(); ++i) {
        if (!v[i].is_string() || v[i].get<std::string>().empty()) {
          errs.Add("body.document_ids[" + std::to_string(i) + "]", "must be a document id", "type_error");
        } else if (!In(ids, v[i].get<std::string>())) {
          ids.push_back(v[i].get<std::string>());
        }
      }
    }
  } else {
    ASSIGN_OR_RETURN(f, filter::Parse(body["filters"], "body.filters"));
  }
  RETURN_IF_ERROR(errs.ToStatus());
  int64_t deleted = 0, failed = 0;
  Json results = Json::array();
  RETURN_IF_ERROR(ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record col, catalog::LoadCollection(w, ctx.scope, collection));
    if (by_filter) {
      ASSIGN_OR_RETURN(ids, MatchingIds(w, ctx.scope, col.id, &*f));
    }
    for (const auto& id : ids) {
      auto rec = LoadDocument(w, ctx.scope, col, id);
      if (!rec.ok()) {
        if (rec.status().code() != StatusCode::kNotFound) return rec.status();
        ++failed;
        results.push_back({{"document_id", id}, {"success", false}, {"error", rec.status().message()}});
        continue;
      }
      RETURN_IF_ERROR(w.Delete(Kind::kDocument, ctx.scope, id));
      ++deleted;
      if (by_ids) results.push_back({{"document_id", id}, {"success", true}, {"error", nullptr}});
    }
    return Status::Ok();
  }));
  return Json{{"deleted_count", deleted}, {"failed_count", failed}, {"results", results},
              {"message", "Batch delete completed"}};
}

Result<Json> AggregateDocuments(DocumentContext& ctx, const std::string& collection, const Json& body) {
  ASSIGN_OR_RETURN(catalog::AggregateRequest req, catalog::ParseAggregateRequest(body));
  std::vector<storage::AggregateRow> rows;
  std::string col_id;
  RETURN_IF_ERROR(ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record col, catalog::LoadCollection(r, ctx.scope, collection));
    col_id = col.id;
    req.spec.parent = col.id;
    ASSIGN_OR_RETURN(rows, r.Aggregate(Kind::kDocument, ctx.scope, req.spec));
    return Status::Ok();
  }));
  return catalog::AggregateResponse(req, rows, {{"collection_id", col_id}});
}

Result<Json> DocumentLineage(DocumentContext& ctx, const std::string& collection, const std::string& document_id) {
  Json out;
  RETURN_IF_ERROR(ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record col, catalog::LoadCollection(r, ctx.scope, collection));
    ASSIGN_OR_RETURN(Record rec, LoadDocument(r, ctx.scope, col, document_id));
    const Json& lineage = LineageOf(rec.doc);
    Json root_object = nullptr;
    const std::string root = StringOr(lineage, "root_object_id");
    if (!root.empty()) {
      ASSIGN_OR_RETURN(auto obj, FindObject(r, ctx.scope, root));
      if (obj) root_object = {{"object_id", obj->id}, {"bucket_id", obj->parent}};
    }
    Json ancestors = Json::array();
    std::set<std::string> seen = {rec.id};
    Record cur = rec;
    for (size_t depth = 1; depth <= kMaxLineageDepth; ++depth) {
      const Json& lin = LineageOf(cur.doc);
      const std::string src = StringOr(lin, "source_document_id");
      if (src.empty() || !seen.insert(src).second) break;
      auto parent = r.Get(Kind::kDocument, ctx.scope, src);
      if (!parent.ok()) {
        if (parent.status().code() != StatusCode::kNotFound) return parent.status();
        ancestors.push_back({{"document_id", src}, {"collection_id", lin.value("source_collection_id", Json())},
                             {"depth", depth}, {"exists", false}});
        break;
      }
      Json ref = Ref(*parent);
      ref["depth"] = depth;
      ref["exists"] = true;
      ancestors.push_back(std::move(ref));
      cur = std::move(parent).value();
    }
    ASSIGN_OR_RETURN(Json descendants, Descendants(r, ctx.scope, rec));
    out = {{"document_id", rec.id},
           {"collection_id", col.id},
           {"collection_name", col.doc.value("collection_name", Json())},
           {"lineage", lineage.empty() ? Json(nullptr) : lineage},
           {"root_object", root_object},
           {"ancestors", std::move(ancestors)},
           {"descendants", std::move(descendants)}};
    return Status::Ok();
  }));
  return out;
}

Result<Json> DocumentsOfObject(DocumentContext& ctx, const std::string& object_id,
                               const std::vector<std::string>& collections) {
  Json out;
  RETURN_IF_ERROR(ctx.store.Read([&](storage::Reader& r) -> Status {
    std::set<std::string> wanted;
    for (const auto& c : collections) {
      ASSIGN_OR_RETURN(Record col, catalog::LoadCollection(r, ctx.scope, c));
      wanted.insert(col.id);
    }
    ASSIGN_OR_RETURN(auto obj, FindObject(r, ctx.scope, object_id));
    ASSIGN_OR_RETURN(auto docs, r.DocumentsByRoot(ctx.scope, object_id, ""));
    if (!obj && docs.empty()) return Status::NotFound("object '" + object_id + "' not found");
    Json list = Json::array();
    for (const auto& d : docs) {
      if (!wanted.empty() && !wanted.count(d.parent)) continue;
      list.push_back(PublicDocument(d.doc));
    }
    Json bucket = obj ? Json(obj->parent) : LineageOf(docs.front().doc).value("root_bucket_id", Json());
    out = {{"object_id", object_id},
           {"bucket_id", bucket},
           {"documents", list},
           {"total", list.size()},
           {"collection_ids", wanted.empty() ? Json(nullptr) : Json(wanted)}};
    return Status::Ok();
  }));
  return out;
}

Result<Json> DecompositionTree(DocumentContext& ctx, const std::string& object_id, bool include_document_ids) {
  Json out;
  RETURN_IF_ERROR(ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto obj, FindObject(r, ctx.scope, object_id));
    ASSIGN_OR_RETURN(auto docs, r.DocumentsByRoot(ctx.scope, object_id, ""));
    if (!obj && docs.empty()) return Status::NotFound("object '" + object_id + "' not found");
    struct Node {
      std::string parent;  // source collection ("" for tier 1)
      int64_t count = 0;
      Json ids = Json::array();
    };
    std::vector<std::string> order;  // collections in order of their first document
    std::map<std::string, Node> nodes;
    for (const auto& d : docs) {
      auto [it, inserted] = nodes.try_emplace(d.parent);
      if (inserted) {
        order.push_back(d.parent);
        it->second.parent = StringOr(LineageOf(d.doc), "source_collection_id");
      }
      ++it->second.count;
      it->second.ids.push_back(d.id);
    }
    std::map<std::string, Json> names;
    for (const auto& c : order) {
      auto rec = r.Get(Kind::kCollection, ctx.scope, c);
      if (!rec.ok() && rec.status().code() != StatusCode::kNotFound) return rec.status();
      names[c] = rec.ok() ? rec->doc.value("collection_name", Json()) : Json(nullptr);
    }
    std::set<std::string> placed;
    std::function<Json(const std::string&, int)> build = [&](const std::string& c, int tier) {
      placed.insert(c);
      const Node& n = nodes[c];
      Json node = {{"collection_id", c}, {"collection_name", names[c]}, {"tier", tier},
                   {"document_count", n.count}, {"children", Json::array()}};
      if (include_document_ids) node["document_ids"] = n.ids;
      for (const auto& child : order) {
        if (!placed.count(child) && nodes[child].parent == c) node["children"].push_back(build(child, tier + 1));
      }
      return node;
    };
    Json tree = Json::array();
    // Tier 1: collections made from the bucket (or whose source collection has
    // no documents of this object left); then anything a cycle left out.
    for (const auto& c : order) {
      const std::string& p = nodes[c].parent;
      if (!placed.count(c) && (p.empty() || !nodes.count(p))) tree.push_back(build(c, 1));
    }
    for (const auto& c : order) {
      if (!placed.count(c)) tree.push_back(build(c, 1));
    }
    Json bucket = obj ? Json(obj->parent) : LineageOf(docs.front().doc).value("root_bucket_id", Json());
    out = {{"object_id", object_id},
           {"bucket_id", bucket},
           {"object_exists", obj.has_value()},
           {"total_documents", docs.size()},
           {"total_collections", order.size()},
           {"tree", std::move(tree)}};
    return Status::Ok();
  }));
  return out;
}

}  // namespace strata::engine
