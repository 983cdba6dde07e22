#include "catalog/collections.h"

#include <algorithm>
#include <set>

#include "core/crypto.h"
#include "core/ids.h"
#include "core/time_util.h"
#include "extract/feature_uri.h"
#include "extract/parameters.h"
#include "filter/filter.h"

namespace strata::catalog {

using storage::Kind;
using storage::Record;
using storage::Scope;

namespace {

const std::vector<std::string> kCreateKeys = {
    "collection_name", "description", "source", "input_schema", "feature_extractor", "enabled", "metadata",
    "schedule", "taxonomy_applications", "cluster_applications", "alert_applications", "retriever_enrichments"};
// PATCH may change what describes a collection, never what decides its documents.
const std::vector<std::string> kPatchKeys = {"collection_name", "description", "enabled", "metadata", "schedule",
                                             "taxonomy_applications", "cluster_applications", "alert_applications",
                                             "retriever_enrichments"};

Status NameTaken(const Status& st, const std::string& name) {
  if (st.code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("a collection named '" + name + "' already exists in this namespace");
  }
  return st;
}

bool ValidName(const Json& v) {
  if (!v.is_string()) return false;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > 128 || HasIdPrefix(s, "col_")) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ' ';
  });
}

std::string StringOr(const Json& obj, const char* key, const std::string& fallback = "") {
  return obj.is_object() && obj.contains(key) && obj[key].is_string() ? obj[key].get<std::string>() : fallback;
}

// The resolved source: what the collection reads and the schema of it.
struct ResolvedSource {
  Json source;                   // SourceConfig as stored
  Json input_schema = Json::object();  // properties
  Json bucket_schemas = Json::object();
  Json lineage = Json::array();  // the source collection's source_lineage
  std::vector<std::string> root_buckets;
};

Result<ResolvedSource> ResolveSource(storage::Reader& r, const Scope& scope, const Json& src, ValidationErrors& errs) {
  ResolvedSource out;
  if (!src.is_object()) {
    errs.Add("body.source", "expected {type: bucket|collection, bucket_ids | collection_id(s)}", "type_error");
    return out;
  }
  errs.RejectUnknownKeys(src, {"type", "bucket_ids", "collection_id", "collection_ids", "source_filters",
                               "inherited_bucket_ids", "source_namespace_id"},
                         "body.source");
  const std::string type = StringOr(src, "type");
  Json stored = {{"type", type}};
  if (src.contains("source_filters") && !src["source_filters"].is_null()) {
    const Json& sf = src["source_filters"];
    if (!sf.is_object()) {
      errs.Add("body.source.source_filters", "expected {filters: LogicalOperator}", "type_error");
    } else {
      errs.RejectUnknownKeys(sf, {"filters"}, "body.source.source_filters");
      auto parsed = filter::Parse(sf.value("filters", Json()), "body.source.source_filters.filters");
      if (!parsed.ok()) return parsed.status();
      stored["source_filters"] = {{"filters", sf.value("filters", Json())}};
    }
  }
  auto ids_of = [&](const char* key) -> std::vector<std::string> {
    std::vector<std::string> ids;
    if (!src.contains(key) || src[key].is_null()) return ids;
    if (!src[key].is_array()) {
      errs.Add(std::string("body.source.") + key, "must be a list of ids or names", "type_error");
      return ids;
    }
    for (const auto& v : src[key]) {
      if (v.is_string()) ids.push_back(v.get<std::string>());
      else errs.Add(std::string("body.source.") + key, "must be a list of ids or names", "type_error");
    }
    return ids;
  };
  if (type == "bucket") {
    std::vector<std::string> given = ids_of("bucket_ids");
    if (given.empty()) errs.Add("body.source.bucket_ids", "at least one bucket is required", "missing");
    Json ids = Json::array();
    for (size_t i = 0; i < given.size(); ++i) {
      auto b = r.Get(Kind::kBucket, scope, given[i]);
      if (!b.ok()) {
        if (b.status().code() != StatusCode::kNotFound) return b.status();
        errs.Add("body.source.bucket_ids[" + std::to_string(i) + "]", "bucket '" + given[i] + "' not found", "not_found");
        continue;
      }
      if (std::find(ids.begin(), ids.end(), Json(b->id)) != ids.end()) continue;
      ids.push_back(b->id);
      out.root_buckets.push_back(b->id);
      Json props = b->doc.contains("bucket_schema") && b->doc["bucket_schema"].is_object()
                       ? b->doc["bucket_schema"].value("properties", Json::object())
                       : Json::object();
      out.input_schema.update(props);
      out.bucket_schemas[b->id] = b->doc.value("bucket_schema", Json());
    }
    stored["bucket_ids"] = ids;
  } else if (type == "collection") {
    std::vector<std::string> given = ids_of("collection_ids");
    if (!StringOr(src, "collection_id").empty()) given.insert(given.begin(), StringOr(src, "collection_id"));
    if (given.empty()) errs.Add("body.source.collection_id", "a source collection is required", "missing");
    Json ids = Json::array();
    std::set<std::string> roots;
    for (size_t i = 0; i < given.size(); ++i) {
      auto c = r.Get(Kind::kCollection, scope, given[i]);
      if (!c.ok()) {
        if (c.status().code() != StatusCode::kNotFound) return c.status();
        errs.Add("body.source.collection_id", "collection '" + given[i] + "' not found", "not_found");
        continue;
      }
      if (std::find(ids.begin(), ids.end(), Json(c->id)) != ids.end()) continue;
      ids.push_back(c->id);
      out.input_schema.update(c->doc["output_schema"].value("properties", Json::object()));
      for (const auto& b : c->doc["source"].value("inherited_bucket_ids", Json::array())) roots.insert(b.get<std::string>());
      if (out.lineage.empty()) out.lineage = c->doc.value("source_lineage", Json::array());
      out.bucket_schemas.update(c->doc.value("source_bucket_schemas", Json::object()));
    }
    out.root_buckets.assign(roots.begin(), roots.end());
    if (ids.size() == 1) stored["collection_id"] = ids[0];
    stored["collection_ids"] = ids;
  } else {
    errs.Add("body.source.type", "must be 'bucket' or 'collection'", "enum");
  }
  stored["inherited_bucket_ids"] = out.root_buckets;
  out.source = stored;
  return out;
}

// Input mappings arrive as {input: "path"} or [{input_key, source_type, path, override}].
std::vector<InputMapping> ParseMappings(const Json& v, const extract::ExtractorInfo& info, const Json& input_schema,
                                        ValidationErrors& errs) {
  const std::string loc = "body.feature_extractor.input_mappings";
  std::vector<InputMapping> out;
  auto known = [&](const std::string& input, const std::string& at) {
    if (!info.input_schema.contains(input)) {
      std::string names;
      for (auto it = info.input_schema.begin(); it != info.input_schema.end(); ++it) names += (names.empty() ? "" : ", ") + it.key();
      errs.Add(at, info.id() + " has no input '" + input + "'" + (names.empty() ? " (it reads no inputs)" : "; inputs: " + names),
               "value_error");
      return false;
    }
    return true;
  };
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!it.value().is_string() || it.value().get<std::string>().empty()) {
        errs.Add(loc + "." + it.key(), "must be the path of a source field", "type_error");
      } else if (known(it.key(), loc + "." + it.key())) {
        out.push_back({it.key(), "payload", it.value().get<std::string>(), Json()});
      }
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string at = loc + "[" + std::to_string(i) + "]";
      const Json& m = v[i];
      if (!m.is_object()) {
        errs.Add(at, "expected {input_key, source_type, path, override}", "type_error");
        continue;
      }
      errs.RejectUnknownKeys(m, {"input_key", "source_type", "path", "override"}, at);
      std::string input = StringOr(m, "input_key");
      std::string type = StringOr(m, "source_type", "payload");
      if (input.empty()) {
        errs.Add(at + ".input_key", "field required", "missing");
        continue;
      }
      if (!known(input, at + ".input_key")) continue;
      if (type == "payload") {
        if (StringOr(m, "path").empty()) errs.Add(at + ".path", "a payload mapping needs a path", "missing");
        out.push_back({input, type, StringOr(m, "path"), Json()});
      } else if (type == "literal") {
        if (!m.contains("override")) errs.Add(at + ".override", "a literal mapping needs its value in override", "missing");
        out.push_back({input, type, "", m.value("override", Json())});
      } else if (type == "vector") {
        errs.Add(at + ".source_type", "vector inputs are not read by the built-in extractors", "value_error");
      } else {
        errs.Add(at + ".source_type", "must be payload, literal or vector", "enum");
      }
    }
  } else if (!v.is_null()) {
    errs.Add(loc, "expected an object {input: path} or a list of mappings", "type_error");
  }
  // Inputs left unmapped read the source field of the same name.
  for (auto it = info.input_schema.begin(); it != info.input_schema.end(); ++it) {
    bool mapped = std::any_of(out.begin(), out.end(), [&](const InputMapping& m) { return m.input == it.key(); });
    if (mapped) continue;
    if (!input_schema.empty() && !input_schema.contains(it.key()) && it.value().value("required", false)) {
      errs.Add(loc, "map the required input '" + it.key() + "' to a source field (the source has no field '" +
                        it.key() + "')", "missing");
      continue;
    }
    out.push_back({it.key(), "payload", it.key(), Json()});
  }
  for (const auto& m : out) {
    if (m.source_type != "payload" || input_schema.empty()) continue;
    std::string root = m.path.substr(0, m.path.find('.'));
    // "document_blobs.<field>" reads a source document's own media (a scene's
    // keyframe): they are not schema fields.
    if (!input_schema.contains(root) && root != "document_blobs") {
      errs.Add(loc + "." + m.input, "the source has no field '" + root + "'", "value_error");
    }
  }
  return out;
}

Json MappingsJson(const std::vector<InputMapping>& ms) {
  Json out = Json::array();
  for (const auto& m : ms) {
    out.push_back({{"input_key", m.input}, {"source_type", m.source_type},
                   {"path", m.path.empty() ? Json(nullptr) : Json(m.path)}, {"override", m.value}});
  }
  return out;
}

// field_passthrough entries: {source_path, target_path, default, required} or bare strings.
Json ParsePassthrough(const Json& v, ValidationErrors& errs) {
  const std::string loc = "body.feature_extractor.field_passthrough";
  Json out = Json::array();
  if (v.is_null()) return out;
  if (!v.is_array()) {
    errs.Add(loc, "must be a list", "type_error");
    return out;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string at = loc + "[" + std::to_string(i) + "]";
    Json e = v[i].is_string() ? Json{{"source_path", v[i]}} : v[i];
    if (!e.is_object()) {
      errs.Add(at, "expected a field path or {source_path, target_path, default, required}", "type_error");
      continue;
    }
    errs.RejectUnknownKeys(e, {"source_path", "target_path", "default", "required"}, at);
    std::string src = StringOr(e, "source_path");
    if (src.empty()) {
      errs.Add(at + ".source_path", "field required", "missing");
      continue;
    }
    if (src.rfind("_internal", 0) == 0) {
      errs.Add(at + ".source_path", "system fields cannot be passed through", "value_error");
      continue;
    }
    out.push_back({{"source_path", src},
                   {"target_path", StringOr(e, "target_path").empty() ? Json(nullptr) : Json(StringOr(e, "target_path"))},
                   {"default", e.value("default", Json())},
                   {"required", e.value("required", false)}});
  }
  return out;
}

Json SchemaAt(const Json& props, const std::string& path) {
  const Json* cur = &props;
  auto parts = SplitPath(path);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!cur->is_object() || !cur->contains(parts[i])) return {{"type", "string"}};
    const Json& f = (*cur)[parts[i]];
    if (i + 1 == parts.size()) return f;
    cur = f.contains("properties") ? &f["properties"] : &f;
  }
  return {{"type", "string"}};
}

// Checks the extractor against the namespace's registration and fills the
// parameters it locks there.
Status ApplyRegistration(const Json& ns_doc, const extract::ExtractorInfo& info, Json& params, const Json& given,
                         ValidationErrors& errs) {
  std::optional<Json> reg;
  for (const auto& e : ns_doc.value("feature_extractors", Json::array())) {
    if (e.value("feature_extractor_name", "") == info.name && e.value("version", "") == info.version) reg = e;
  }
  if (!reg) {
    if (info.locked_parameters.empty()) return Status::Ok();  // nothing to lock (passthrough)
    errs.Add("body.feature_extractor.feature_extractor_name",
             "the namespace does not register " + info.name + "@" + info.version +
                 "; add it to the namespace's feature_extractors first (that fixes its vector dimensions)",
             "value_error");
    return Status::Ok();
  }
  const Json ns_params = reg->value("params", Json::object());
  for (const auto& key : info.locked_parameters) {
    const Json& prop = info.parameter_schema["properties"][key];
    Json locked = ns_params.contains(key) ? ns_params[key] : prop.value("default", Json());
    if (given.is_object() && given.contains(key) && given[key] != locked) {
      errs.Add("body.feature_extractor.parameters." + key,
               "is locked to " + locked.dump() + " by the namespace's registration of " + info.name +
                   " (it fixes the vector dimensions)",
               "value_error");
    }
    params[key] = locked;
  }
  return Status::Ok();
}

Result<Json> WithCounts(storage::Reader& r, const Scope& scope, Json doc) {
  ASSIGN_OR_RETURN(int64_t n, r.Count(Kind::kDocument, scope, doc["collection_id"].get<std::string>()));
  doc["document_count"] = n;
  ASSIGN_OR_RETURN(doc["index_signature"], IndexSignature(r, doc));
  doc.erase("_internal");
  return doc;
}

}  // namespace

Result<std::string> IndexSignature(storage::Reader& r, const Json& collection) {
  const std::string id = collection.value("collection_id", "");
  ASSIGN_OR_RETURN(int64_t version, r.CollectionVersion(id));
  const std::string material = id + ":" + std::to_string(version) + ":" +
                               collection.value("feature_extractor", Json()).dump() +
                               collection.value("vector_indexes", Json()).dump();
  return Sha256Hex(material).substr(0, 32);
}

Result<Record> LoadCollection(storage::Reader& r, const Scope& scope, const std::string& id_or_name) {
  auto rec = r.Get(Kind::kCollection, scope, id_or_name);
  if (!rec.ok() && rec.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("collection '" + id_or_name + "' not found");
  }
  return rec;
}

std::vector<InputMapping> InputMappingsOf(const Json& doc) {
  std::vector<InputMapping> out;
  for (const auto& m : doc["_internal"].value("input_mappings", Json::array())) {
    out.push_back({m["input_key"], m["source_type"], m["path"].is_string() ? m["path"].get<std::string>() : "",
                   m["override"]});
  }
  return out;
}

Result<Json> CreateCollection(CollectionContext& ctx, const Json& body) {
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  errs.RejectUnknownKeys(body, kCreateKeys, "body");
  if (!ValidName(body.value("collection_name", Json()))) {
    errs.Add("body.collection_name",
             "field required: 1-128 letters, digits, spaces, '_', '-', '.', not starting with 'col_'",
             body.contains("collection_name") ? "value_error" : "missing");
  }
  const Json fe = body.value("feature_extractor", Json());
  if (!fe.is_object()) {
    errs.Add("body.feature_extractor", "field required: {feature_extractor_name, version, parameters, ...}", "missing");
    RETURN_IF_ERROR(errs.ToStatus());
  }
  errs.RejectUnknownKeys(fe, {"feature_extractor_name", "version", "params", "parameters", "input_mappings",
                              "field_passthrough", "include_all_source_fields", "feature_extractor_id"},
                         "body.feature_extractor");
  const std::string name = StringOr(fe, "feature_extractor_name");
  const std::string version = StringOr(fe, "version", "v1");
  const extract::Extractor* ex = ctx.extractors.Find(name, version);
  if (ex == nullptr) {
    std::string known;
    for (const auto& e : ctx.extractors.all()) known += (known.empty() ? "" : ", ") + e->info().name + "@" + e->info().version;
    errs.Add("body.feature_extractor.feature_extractor_name",
             "unknown extractor '" + name + "@" + version + "'; this server runs: " + known, "enum");
    RETURN_IF_ERROR(errs.ToStatus());
  }
  const extract::ExtractorInfo& info = ex->info();
  Json given = fe.contains("parameters") && !fe["parameters"].is_null() ? fe["parameters"] : fe.value("params", Json());
  auto params = extract::ResolveParameters(info.parameter_schema, given, "body.feature_extractor.parameters");
  if (!params.ok()) return params.status();
  if (fe.contains("include_all_source_fields") && !fe["include_all_source_fields"].is_boolean()) {
    errs.Add("body.feature_extractor.include_all_source_fields", "must be a boolean", "type_error");
  }
  for (const char* key : {"enabled"}) {
    if (body.contains(key) && !body[key].is_boolean()) errs.Add(std::string("body.") + key, "must be a boolean", "type_error");
  }
  if (body.contains("metadata") && !body["metadata"].is_null() && !body["metadata"].is_object()) {
    errs.Add("body.metadata", "must be an object", "type_error");
  }

  const std::string now = NowIso8601();
  Json doc;
  Record rec;
  RETURN_IF_ERROR(ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record ns, w.Get(Kind::kNamespace, Scope{ctx.scope.org, ""}, ctx.scope.ns));
    RETURN_IF_ERROR(ApplyRegistration(ns.doc, info, *params, given, errs));
    ASSIGN_OR_RETURN(ResolvedSource src, ResolveSource(w, ctx.scope, body.value("source", Json()), errs));
    Json input_schema = src.input_schema;
    if (body.contains("input_schema") && body["input_schema"].is_object()) {
      input_schema = body["input_schema"].value("properties", input_schema);
    }
    std::vector<InputMapping> mappings = ParseMappings(fe.value("input_mappings", Json()), info, input_schema, errs);
    Json passthrough = ParsePassthrough(fe.value("field_passthrough", Json()), errs);
    RETURN_IF_ERROR(errs.ToStatus());
    RETURN_IF_ERROR(ex->CheckParameters(*params, "body.feature_extractor.parameters"));
    ASSIGN_OR_RETURN(auto outputs, ex->VectorOutputs(*params));

    // Output schema: source fields kept, then the extractor's own outputs.
    const bool include_all = fe.value("include_all_source_fields", false);
    Json out_props = include_all ? input_schema : Json::object();
    for (const auto& p : passthrough) {
      std::string target = p["target_path"].is_string() ? p["target_path"].get<std::string>() : p["source_path"].get<std::string>();
      out_props[target] = SchemaAt(input_schema, p["source_path"]);
    }
    out_props.update(ex->OutputSchema(*params));

    Json feature_extractor = {{"feature_extractor_name", info.name},
                              {"version", info.version},
                              {"feature_extractor_id", info.id()},
                              {"parameters", *params},
                              {"input_mappings", fe.contains("input_mappings") && !fe["input_mappings"].is_null()
                                                     ? fe["input_mappings"] : Json::object()},
                              {"field_passthrough", passthrough},
                              {"include_all_source_fields", include_all}};
    const std::string id = NewId("col_");
    Json entry = {{"source_config", src.source},
                  {"feature_extractor", feature_extractor},
                  {"output_schema", {{"properties", out_props}}}};
    Json lineage = src.lineage;
    lineage.push_back(entry);
    doc = {{"collection_id", id},
           {"collection_name", body["collection_name"]},
           {"description", body.value("description", Json())},
           {"input_schema", {{"properties", input_schema}}},
           {"output_schema", {{"properties", out_props}}},
           {"feature_extractor", feature_extractor},
           {"source", src.source},
           {"source_bucket_schemas", src.bucket_schemas},
           {"source_lineage", lineage},
           {"vector_indexes", extract::VectorIndexDefinitions(info, outputs)},
           {"payload_indexes", Json::array()},
           {"enabled", body.value("enabled", true)},
           {"metadata", body.contains("metadata") && body["metadata"].is_object() ? body["metadata"] : Json::object()},
           {"schedule", body.value("schedule", Json())},
           {"trigger_id", nullptr},
           {"created_at", now},
           {"updated_at", now},
           {"schema_version", 1},
           {"last_schema_sync", nullptr},
           {"schema_sync_enabled", false},
           {"taxonomy_applications", body.value("taxonomy_applications", Json())},
           {"cluster_applications", body.value("cluster_applications", Json())},
           {"alert_applications", body.value("alert_applications", Json())},
           {"retriever_enrichments", body.value("retriever_enrichments", Json())},
           {"_internal", {{"input_mappings", MappingsJson(mappings)}}}};
    rec = Record{id, "", body["collection_name"].get<std::string>(), std::nullopt, std::nullopt, doc};
    return NameTaken(w.Insert(Kind::kCollection, ctx.scope, rec), rec.name.value());
  }));
  return GetCollection(ctx, rec.id);
}

Result<Json> GetCollection(CollectionContext& ctx, const std::string& id_or_name) {
  Json out;
  RETURN_IF_ERROR(ctx.store.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(Record rec, LoadCollection(r, ctx.scope, id_or_name));
    ASSIGN_OR_RETURN(out, WithCounts(r, ctx.scope, rec.doc));
    return Status::Ok();
  }));
  return out;
}

Result<Json> ListCollections(CollectionContext& ctx, const Json& body, const QueryParams& params) {
  ASSIGN_OR_RETURN(ListRequest req, ParseListRequest(body, params, {"case_sensitive"}));
  req.query.include_total = true;
  ASSIGN_OR_RETURN(Json out, RunList(ctx.store,
                                     {Kind::kCollection, ctx.scope, {"collection_id", "collection_name"}, nullptr,
                                      [&](storage::Reader& r, Json doc) { return WithCounts(r, ctx.scope, std::move(doc)); }},
                                     req));
  out["total_count"] = out["pagination"].value("total", Json(0));
  return out;
}

Result<Json> UpdateCollection(CollectionContext& ctx, const std::string& id_or_name, const Json& body) {
  if (!body.is_object()) return Status::Invalid("body", "expected a JSON object", "type_error");
  ValidationErrors errs;
  for (auto it = body.begin(); it != body.end(); ++it) {
    if (std::find(kPatchKeys.begin(), kPatchKeys.end(), it.key()) != kPatchKeys.end()) continue;
    bool fixed = std::find(kCreateKeys.begin(), kCreateKeys.end(), it.key()) != kCreateKeys.end();
    errs.Add("body." + it.key(),
             fixed ? "cannot change after creation (it decides the documents); create a new collection"
                   : "unknown field",
             fixed ? "value_error" : "extra_forbidden");
  }
  if (body.contains("collection_name") && !ValidName(body["collection_name"])) {
    errs.Add("body.collection_name", "1-128 letters, digits, spaces, '_', '-', '.', not starting with 'col_'", "value_error");
  }
  if (body.contains("enabled") && !body["enabled"].is_boolean()) errs.Add("body.enabled", "must be a boolean", "type_error");
  if (body.contains("metadata") && !body["metadata"].is_object()) errs.Add("body.metadata", "must be an object", "type_error");
  RETURN_IF_ERROR(errs.ToStatus());
  std::string id;
  RETURN_IF_ERROR(ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record rec, LoadCollection(w, ctx.scope, id_or_name));
    for (auto it = body.begin(); it != body.end(); ++it) rec.doc[it.key()] = it.value();
    rec.doc["updated_at"] = NowIso8601();
    rec.name = rec.doc["collection_name"].get<std::string>();
    id = rec.id;
    return NameTaken(w.Update(Kind::kCollection, ctx.scope, rec), rec.name.value());
  }));
  return GetCollection(ctx, id);
}

Result<Json> DeleteCollection(CollectionContext& ctx, const std::string& id_or_name) {
  std::string id;
  int64_t removed = 0;
  RETURN_IF_ERROR(ctx.store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(Record rec, LoadCollection(w, ctx.scope, id_or_name));
    id = rec.id;
    // A collection that feeds another cannot go: its documents are that one's source.
    storage::ListQuery q;
    q.limit = 10000;
    ASSIGN_OR_RETURN(auto all, w.List(Kind::kCollection, ctx.scope, q));
    for (const auto& c : all.records) {
      for (const auto& s : c.doc["source"].value("collection_ids", Json::array())) {
        if (s == id) {
          return Status::AlreadyExists("collection '" + id + "' is the source of collection '" + c.id +
                                       "'; delete that one first");
        }
      }
    }
    ASSIGN_OR_RETURN(auto docs, w.DeleteAll(Kind::kDocument, ctx.scope, id));
    removed = static_cast<int64_t>(docs.size());
    return w.Delete(Kind::kCollection, ctx.scope, id);
  }));
  return Json{{"success", true}, {"message", "Collection deleted"}, {"collection_id", id}, {"documents_deleted", removed}};
}

Result<Json> DescribeFeatures(CollectionContext& ctx, const std::string& id_or_name) {
  ASSIGN_OR_RETURN(Json col, GetCollection(ctx, id_or_name));
  Json features = Json::array();
  const Json& fe = col["feature_extractor"];
  bool first = true;
  for (const auto& vi : col["vector_indexes"]) {
    features.push_back({{"feature_address", vi["feature_uri"]},
                        {"feature_extractor_name", fe["feature_extractor_name"]},
                        {"version", fe["version"]},
                        {"vector_index", vi["index"]},
                        {"primary", first}});
    first = false;
  }
  return Json{{"features", features}};
}

}  // namespace strata::catalog
