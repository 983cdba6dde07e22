#include "catalog/namespaces.h"

#include <algorithm>
#include <regex>

#include "core/generation_cache.h"
#include "core/ids.h"
#include "core/time_util.h"
#include "extract/models/model_registry.h"

namespace strata::catalog {

using storage::Kind;
using storage::Record;
using storage::Scope;

const std::vector<std::pair<std::string, std::vector<std::string>>>& KnownExtractors() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> kKnown = {
      {"text_extractor", {"v1"}},        {"multimodal_extractor", {"v1", "v2"}},
      {"image_extractor", {"v1"}},       {"document_graph_extractor", {"v1"}},
      {"face_identity_extractor", {"v1"}}, {"web_scraper", {"v1"}},
      {"course_content_extractor", {"v1"}}, {"passthrough_extractor", {"v1"}},
      {"sentiment_classifier", {"v1"}},
  };
  return kKnown;
}

namespace {

// The model parameters of each extractor and their defaults (the extractors'
// locked_parameters).
std::vector<std::pair<std::string, Json>> PinnedModels(const std::string& extractor) {
  if (extractor == "image_extractor") {
    return {{"embedding_model", extract::kDefaultTextModel}, {"model", extract::kDefaultImageModel}};
  }
  if (extractor == "text_extractor" || extractor == "multimodal_extractor" ||
      extractor == "document_graph_extractor") {
    return {{"embedding_model", extract::kDefaultTextModel}};
  }
  return {};
}

const std::vector<std::string> kIndexTypes = {"keyword", "integer", "float", "bool",
                                              "geo",     "datetime", "text", "uuid"};

bool ValidName(const std::string& n) {
  static const std::regex kName("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$");
  return std::regex_match(n, kName);
}

void ValidateName(const Json& body, const char* key, ValidationErrors& errs, bool required) {
  if (!body.contains(key) || body[key].is_null()) {
    if (required) errs.Add(std::string("body.") + key, "field required", "missing");
    return;
  }
  const Json& v = body[key];
  if (!v.is_string() || !ValidName(v.get<std::string>())) {
    errs.Add(std::string("body.") + key,
             "must be 1-128 characters of letters, digits, '_', '-', '.', starting with a letter or digit",
             "value_error");
  } else if (HasIdPrefix(v.get<std::string>(), "ns_")) {
    errs.Add(std::string("body.") + key, "must not start with 'ns_' (reserved for ids)", "value_error");
  }
}

Json ValidateExtractors(const Json& v, ValidationErrors& errs) {
  Json out = Json::array();
  if (!v.is_array() || v.empty()) {
    errs.Add("body.feature_extractors", "at least one feature extractor is required", "missing");
    return out;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    std::string loc = "body.feature_extractors[" + std::to_string(i) + "]";
    const Json& e = v[i];
    if (!e.is_object()) {
      errs.Add(loc, "expected {feature_extractor_name, version, params}", "type_error");
      continue;
    }
    errs.RejectUnknownKeys(e, {"feature_extractor_name", "version", "params"}, loc);
    std::string name = e.value("feature_extractor_name", "");
    std::string version = e.contains("version") && e["version"].is_string() ? e["version"].get<std::string>() : "";
    const auto& known = KnownExtractors();
    auto k = std::find_if(known.begin(), known.end(), [&](const auto& p) { return p.first == name; });
    if (k == known.end()) {
      std::string names;
      for (const auto& p : known) names += (names.empty() ? "" : ", ") + p.first;
      errs.Add(loc + ".feature_extractor_name", "unknown extractor '" + name + "'; known: " + names, "enum");
    } else if (std::find(k->second.begin(), k->second.end(), version) == k->second.end()) {
      errs.Add(loc + ".version", "extractor '" + name + "' has no version '" + version + "'", "enum");
    }
    if (e.contains("params") && !e["params"].is_null() && !e["params"].is_object()) {
      errs.Add(loc + ".params", "must be an object", "type_error");
    }
    Json entry = {{"feature_extractor_name", name}, {"version", version},
                  {"feature_extractor_id", name + "_" + version},
                  {"params", e.contains("params") && e["params"].is_object() ? e["params"] : Json::object()}};
    // The models fix the namespace's vector dimensions: the ones in force at
    // registration are written down, so a later change of a default never
    // changes what this namespace's collections embed with.
    for (const auto& [key, model] : PinnedModels(name)) {
      if (!entry["params"].contains(key)) entry["params"][key] = model;
    }
    if (std::any_of(out.begin(), out.end(), [&](const Json& x) { return x == entry; })) {
      errs.Add(loc, "listed twice", "value_error");
    }
    out.push_back(std::move(entry));
  }
  return out;
}

Json ValidatePayloadIndexes(const Json& v, ValidationErrors& errs) {
  Json out = Json::array();
  if (v.is_null()) return out;
  if (!v.is_array()) {
    errs.Add("body.payload_indexes", "must be a list", "type_error");
    return out;
  }
  std::vector<std::string> seen;
  for (size_t i = 0; i < v.size(); ++i) {
    std::string loc = "body.payload_indexes[" + std::to_string(i) + "]";
    const Json& p = v[i];
    if (!p.is_object()) {
      errs.Add(loc, "expected {field_name, type}", "type_error");
      continue;
    }
    errs.RejectUnknownKeys(p, {"field_name", "type", "field_schema", "is_protected"}, loc);
    std::string field = p.contains("field_name") && p["field_name"].is_string() ? p["field_name"].get<std::string>() : "";
    std::string type = p.contains("type") && p["type"].is_string() ? p["type"].get<std::string>() : "";
    if (field.empty() || field.size() > 256 || field.front() == '.' || field.back() == '.' ||
        field.find("..") != std::string::npos) {
      errs.Add(loc + ".field_name", "a dotted field path is required", "missing");
    }
    if (std::find(kIndexTypes.begin(), kIndexTypes.end(), type) == kIndexTypes.end()) {
      errs.Add(loc + ".type", "must be one of keyword, integer, float, bool, geo, datetime, text, uuid", "enum");
    }
    if (p.contains("field_schema") && !p["field_schema"].is_null() && !p["field_schema"].is_object()) {
      errs.Add(loc + ".field_schema", "must be an object", "type_error");
    }
    if (p.contains("is_protected") && !p["is_protected"].is_boolean()) {
      errs.Add(loc + ".is_protected", "must be a boolean", "type_error");
    }
    if (std::find(seen.begin(), seen.end(), field) != seen.end()) {
      errs.Add(loc + ".field_name", "field '" + field + "' is indexed twice", "value_error");
    }
    seen.push_back(field);
    out.push_back({{"field_name", field}, {"type", type},
                   {"field_schema", p.value("field_schema", Json())},
                   {"is_protected", p.value("is_protected", false)}});
  }
  return out;
}

// Applies the mutable fields (shared by create, PATCH and PUT) to `doc`.
void ApplyMutable(const Json& body, Json& doc, ValidationErrors& errs) {
  if (body.contains("namespace_name") && body["namespace_name"].is_string()) doc["namespace_name"] = body["namespace_name"];
  if (body.contains("description")) {
    if (!body["description"].is_null() && !body["description"].is_string()) {
      errs.Add("body.description", "must be a string", "type_error");
    } else {
      doc["description"] = body["description"];
    }
  }
  if (body.contains("payload_indexes")) doc["payload_indexes"] = ValidatePayloadIndexes(body["payload_indexes"], errs);
  if (body.contains("auto_create_indexes")) {
    if (!body["auto_create_indexes"].is_boolean() && !body["auto_create_indexes"].is_null()) {
      errs.Add("body.auto_create_indexes", "must be a boolean", "type_error");
    } else {
      doc["auto_create_indexes"] = body["auto_create_indexes"].is_boolean() && body["auto_create_indexes"].get<bool>();
    }
  }
  if (body.contains("infrastructure")) {
    if (!body["infrastructure"].is_null() && !body["infrastructure"].is_object()) {
      errs.Add("body.infrastructure", "must be an object", "type_error");
    } else {
      doc["infrastructure"] = body["infrastructure"];
    }
  }
}

Status WriteErrorForName(const Status& st, const Json& doc) {
  if (st.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("a namespace named '" + doc["namespace_name"].get<std::string>() + "' already exists");
  }
  return st;
}

// The namespace record by id or name; another organization's is NotFound too.
Result<Record> LoadNamespace(storage::Reader& r, int64_t org, const std::string& id_or_name) {
  auto rec = r.Get(Kind::kNamespace, Scope{org, ""}, id_or_name);
  if (!rec.ok() && rec.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("namespace '" + id_or_name + "' not found");
  }
  return rec;
}

// Adds the live counts to a stored namespace document.
Result<Json> WithCounts(storage::Reader& r, const Principal& who, Json doc) {
  Scope scope{who.org, doc["namespace_id"].get<std::string>()};
  ASSIGN_OR_RETURN(int64_t buckets, r.Count(Kind::kBucket, scope, std::nullopt));
  ASSIGN_OR_RETURN(int64_t objects, r.Count(Kind::kObject, scope, std::nullopt));
  doc["bucket_count"] = buckets;
  doc["object_count"] = objects;
  ASSIGN_OR_RETURN(doc["collection_count"], r.Count(Kind::kCollection, scope, std::nullopt));
  ASSIGN_OR_RETURN(doc["document_count"], r.Count(Kind::kDocument, scope, std::nullopt));
  return doc;
}

// X-Namespace is resolved on every namespaced request; names and ids change
// only through this file, which invalidates the cache after each change.
GenerationCache<std::string>& NamespaceIds() {
  static GenerationCache<std::string> cache(5000);
  return cache;
}

struct InvalidateNamespacesOnExit {
  ~InvalidateNamespacesOnExit() { NamespaceIds().Invalidate(); }
};

}  // namespace

Result<Scope> ResolveNamespace(storage::MetadataStore& store, const Principal& who, const std::string& id_or_name) {
  if (id_or_name.empty()) {
    return Status::BadRequest("missing X-Namespace header: send the namespace id or name");
  }
  Scope scope{who.org, ""};
  const std::string key = std::to_string(reinterpret_cast<uintptr_t>(&store)) + ":" + std::to_string(who.org) + ":" + id_or_name;
  if (auto id = NamespaceIds().Get(key)) {
    scope.ns = *id;
    return scope;
  }
  const uint64_t generation = NamespaceIds().generation();
  RETURN_IF_ERROR(store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto rec, LoadNamespace(r, who.org, id_or_name));
    scope.ns = rec.id;
    return Status::Ok();
  }));
  NamespaceIds().Put(key, scope.ns, generation);
  return scope;
}

Result<Json> CreateNamespace(storage::MetadataStore& store, const Principal& who, const Json& body) {
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(body, {"namespace_name", "namespace_type", "description", "feature_extractors", "payload_indexes",
                   "auto_create_indexes", "infrastructure", "ttl_seconds"}, "body");
  ValidateName(body, "namespace_name", errs, true);
  const std::string now = NowIso8601();
  Json doc = {{"namespace_id", NewId("ns_")}, {"namespace_name", ""}, {"namespace_type", "standard"},
              {"description", nullptr}, {"feature_extractors", Json::array()},
              {"payload_indexes", Json::array()}, {"auto_create_indexes", false},
              {"infrastructure", nullptr}, {"cluster_id", nullptr}, {"vector_inference_map", Json::object()},
              {"created_at", now}, {"updated_at", now}};
  if (body.contains("namespace_type") && !body["namespace_type"].is_null()) {
    if (body["namespace_type"] != "standard" && body["namespace_type"] != "marketplace") {
      errs.Add("body.namespace_type", "must be 'standard' or 'marketplace'", "enum");
    } else {
      doc["namespace_type"] = body["namespace_type"];
    }
  }
  doc["feature_extractors"] = ValidateExtractors(body.value("feature_extractors", Json()), errs);
  if (body.contains("ttl_seconds") && !body["ttl_seconds"].is_null()) {
    if (!body["ttl_seconds"].is_number_integer() || body["ttl_seconds"].get<int64_t>() < 1) {
      errs.Add("body.ttl_seconds", "must be a positive integer", "type_error");
    }
    // Accepted for clients that send it; expiry is not enforced (it is not in v0.81).
  }
  ApplyMutable(body, doc, errs);
  RETURN_IF_ERROR(errs.ToStatus());
  Record rec{doc["namespace_id"], "", doc["namespace_name"].get<std::string>(), std::nullopt, std::nullopt, doc};
  RETURN_IF_ERROR(WriteErrorForName(
      store.Write([&](storage::Writer& w) { return w.Insert(Kind::kNamespace, Scope{who.org, ""}, rec); }), doc));
  return GetNamespace(store, who, rec.id);
}

Result<Json> GetNamespace(storage::MetadataStore& store, const Principal& who, const std::string& id_or_name) {
  Json out;
  RETURN_IF_ERROR(store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto rec, LoadNamespace(r, who.org, id_or_name));
    ASSIGN_OR_RETURN(out, WithCounts(r, who, rec.doc));
    return Status::Ok();
  }));
  return out;
}

Result<Json> ListNamespaces(storage::MetadataStore& store, const Principal& who, const Json& body,
                            const QueryParams& params) {
  ASSIGN_OR_RETURN(ListRequest req, ParseListRequest(body, params));
  req.query.include_total = true;  // total_count is a required field of the response
  return RunList(store,
                 {Kind::kNamespace, Scope{who.org, ""}, {"namespace_id", "namespace_name"}, nullptr,
                  [&](storage::Reader& r, Json doc) { return WithCounts(r, who, std::move(doc)); }},
                 req);
}

Result<Json> UpdateNamespace(storage::MetadataStore& store, const Principal& who, const std::string& id_or_name,
                             const Json& body, bool full_replace) {
  InvalidateNamespacesOnExit invalidate;  // after the change commits
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  std::vector<std::string> allowed = {"namespace_name", "description", "payload_indexes", "auto_create_indexes",
                                      "infrastructure"};
  if (full_replace) {
    allowed.insert(allowed.end(), {"namespace_type", "feature_extractors"});
  }
  errs.RejectUnknownKeys(body, allowed, "body");
  ValidateName(body, "namespace_name", errs, full_replace);
  RETURN_IF_ERROR(errs.ToStatus());
  std::string id;
  Status st = store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record rec, LoadNamespace(w, who.org, id_or_name));
    Json doc = rec.doc;
    ValidationErrors e2;
    if (full_replace) {
      // PUT replaces every mutable field: absent ones return to their defaults.
      doc["description"] = nullptr;
      doc["payload_indexes"] = Json::array();
      doc["auto_create_indexes"] = false;
      doc["infrastructure"] = nullptr;
      if (body.contains("feature_extractors") &&
          ValidateExtractors(body["feature_extractors"], e2) != rec.doc["feature_extractors"]) {
        e2.Add("body.feature_extractors",
               "feature extractors are locked at creation (they fix vector dimensions); migrate to change them",
               "value_error");
      }
    }
    ApplyMutable(body, doc, e2);
    RETURN_IF_ERROR(e2.ToStatus());
    doc["updated_at"] = NowIso8601();
    rec.doc = doc;
    rec.name = doc["namespace_name"].get<std::string>();
    id = rec.id;
    return WriteErrorForName(w.Update(Kind::kNamespace, Scope{who.org, ""}, rec), doc);
  });
  RETURN_IF_ERROR(st);
  return GetNamespace(store, who, id);
}

Result<std::vector<std::string>> DeleteNamespace(storage::MetadataStore& store, const Principal& who,
                                                 const std::string& id_or_name) {
  InvalidateNamespacesOnExit invalidate;  // after the change commits
  std::vector<std::string> orphans;
  RETURN_IF_ERROR(store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record got, LoadNamespace(w, who.org, id_or_name));
    Scope inner{who.org, got.id};
    for (Kind k : {Kind::kExecution, Kind::kRetriever, Kind::kEvaluation, Kind::kEvalDataset, Kind::kDocument,
                   Kind::kCollection, Kind::kBatch, Kind::kObject, Kind::kUpload, Kind::kBucket}) {
      ASSIGN_OR_RETURN(auto ids, w.DeleteAll(k, inner, std::nullopt));
      for (const auto& id : ids) {
        ASSIGN_OR_RETURN(auto freed, w.DropBlobRefs(id));
        orphans.insert(orphans.end(), freed.begin(), freed.end());
      }
    }
    return w.Delete(Kind::kNamespace, Scope{who.org, ""}, got.id);
  }));
  return orphans;
}

}  // namespace strata::catalog
