#include "catalog/bucket_schema.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <optional>

#include "core/time_util.h"

namespace strata::catalog {

namespace {

constexpr int kMaxDepth = 8;           // levels of items/properties nesting
constexpr size_t kMaxNameLength = 128;
constexpr size_t kMaxUniqueKeyFields = 8;
constexpr size_t kMaxListedFields = 50;  // in "unknown field" messages

constexpr std::array<std::string_view, 9> kMetadataTypes = {
    "string", "number", "integer", "float", "boolean", "object", "array", "date", "datetime"};
constexpr std::array<std::string_view, 6> kBlobTypes = {"text", "image", "audio", "video", "pdf", "excel"};
// An object's own keys: a schema field of that name would be shadowed by them
// when fields are echoed at the top level of the object.
constexpr std::array<std::string_view, 13> kReservedNames = {
    "object_id", "bucket_id",      "blobs",    "key_prefix",      "status",
    "created_at", "updated_at",    "metadata", "source_details",  "error",
    "skip_duplicates", "canonicalize_source", "force_remirror"};
constexpr std::array<std::string_view, 8> kFieldKeys = {
    "type", "required", "default", "description", "enum", "examples", "items", "properties"};
constexpr std::array<std::string_view, 3> kPolicies = {"insert", "update", "upsert"};

template <size_t N>
bool Contains(const std::array<std::string_view, N>& set, std::string_view s) {
  return std::find(set.begin(), set.end(), s) != set.end();
}

template <size_t N>
std::string JoinNames(const std::array<std::string_view, N>& set) {
  std::string out;
  for (auto s : set) out += (out.empty() ? "" : ", ") + std::string(s);
  return out;
}

// ValidationErrors plus a count, so a check can tell whether the part it
// depends on (e.g. a field's items, before checking its default) was valid.
struct Errors {
  ValidationErrors list;
  int count = 0;
  void Add(std::string location, std::string message, std::string type) {
    list.Add(std::move(location), std::move(message), std::move(type));
    ++count;
  }
};

// Null stands for "not given": typed SDKs serialise every optional key.
bool Given(const Json& obj, std::string_view key) {
  auto it = obj.find(key);
  return it != obj.end() && !it->is_null();
}

// An integral JSON number as an integer (3.0 -> 3); nullopt otherwise. Floats
// beyond 64 bits stay floats: they cannot be represented exactly anyway.
std::optional<Json> AsIntegral(const Json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return v;
  if (!v.is_number_float()) return std::nullopt;
  double d = v.get<double>();
  if (!std::isfinite(d) || d != std::trunc(d)) return std::nullopt;
  if (d >= -9223372036854775808.0 && d < 9223372036854775808.0) return Json(static_cast<int64_t>(d));
  if (d >= 0 && d < 18446744073709551616.0) return Json(static_cast<uint64_t>(d));
  return v;
}

std::string FieldList(const Json& props) {
  std::string out;
  size_t n = 0;
  for (auto it = props.begin(); it != props.end(); ++it, ++n) {
    if (n == kMaxListedFields) return out + ", ...";
    out += (out.empty() ? "" : ", ") + it.key();
  }
  return out.empty() ? "none" : out;
}

// ---------------------------------------------------------------------------
// Values against fields.

Json CheckValue(const Json& field, const Json& v, const std::string& loc, Errors& errs);

// Checks the keys of `obj` against `props` (a closed set of fields), applies
// defaults and reports missing required fields. Blob fields
// never take values here; their presence is checked against the request's blobs.
Json CheckProperties(const Json& props, const Json& obj, const std::string& loc, Errors& errs) {
  Json out = Json::object();
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const std::string at = loc + "." + it.key();
    auto f = props.find(it.key());
    if (f == props.end()) {
      errs.Add(at, "'" + it.key() + "' is not a field of the bucket schema (fields: " + FieldList(props) + ")",
               "unknown_field");
      continue;
    }
    const std::string type = f->value("type", "");
    if (it->is_null()) continue;  // null is absence, handled below
    if (IsBlobFieldType(type)) {
      errs.Add(at,
               "'" + it.key() + "' is a " + type + " blob field: give it in blobs as {\"property\": \"" + it.key() +
                   "\", \"type\": \"" + type + "\", \"data\": ...}",
               "type_error");
      continue;
    }
    out[it.key()] = CheckValue(*f, *it, at, errs);
  }
  for (auto it = props.begin(); it != props.end(); ++it) {
    if (out.contains(it.key()) || IsBlobFieldType(it->value("type", ""))) continue;
    if (Given(*it, "default")) {
      out[it.key()] = (*it)["default"];
    } else if (it->value("required", false)) {
      errs.Add(loc + "." + it.key(), obj.contains(it.key()) ? "field required (got null)" : "field required",
               "missing");
    }
  }
  return out;
}

// Checks one value against a (normalised) field; returns the value normalised.
Json CheckValue(const Json& field, const Json& v, const std::string& loc, Errors& errs) {
  const std::string type = field.value("type", "");
  auto mismatch = [&](const std::string& expected) {
    errs.Add(loc, "expected " + expected + ", got " + JsonTypeName(v), "type_error");
    return v;
  };
  Json out = v;
  if (type == "string") {
    if (!v.is_string()) return mismatch("a string");
  } else if (type == "number" || type == "float") {
    if (!v.is_number()) return mismatch("a number");
  } else if (type == "integer") {
    auto i = AsIntegral(v);
    if (!i) return mismatch(v.is_number() ? "an integer (a whole number)" : "an integer");
    out = std::move(*i);
  } else if (type == "boolean") {
    if (!v.is_boolean()) return mismatch("a boolean (true or false)");
  } else if (type == "date") {
    if (!v.is_string() || !IsIsoDate(v.get_ref<const std::string&>())) {
      return mismatch("a date \"YYYY-MM-DD\"");
    }
  } else if (type == "datetime") {
    if (!v.is_string() || !IsIsoDateTime(v.get_ref<const std::string&>())) {
      return mismatch("an ISO 8601 date-time such as \"2024-05-01T12:00:00Z\"");
    }
  } else if (type == "object") {
    if (!v.is_object()) return mismatch("an object");
    if (Given(field, "properties")) out = CheckProperties(field["properties"], v, loc, errs);
  } else if (type == "array") {
    if (!v.is_array()) return mismatch("an array");
    if (Given(field, "items")) {
      out = Json::array();
      for (size_t i = 0; i < v.size(); ++i) {
        out.push_back(CheckValue(field["items"], v[i], loc + "[" + std::to_string(i) + "]", errs));
      }
    }
  } else {
    // Blob fields are filtered out by the callers; anything else means the
    // stored schema was not produced by ValidateBucketSchema.
    errs.Add(loc, "field has no valid metadata type ('" + type + "')", "type_error");
    return v;
  }
  if (Given(field, "enum")) {
    const Json& allowed = field["enum"];
    if (std::find(allowed.begin(), allowed.end(), out) == allowed.end()) {
      errs.Add(loc, "must be one of " + allowed.dump(), "enum");
    }
  }
  return out;
}

// ---------------------------------------------------------------------------
// The schema itself.

// Why a type name is not accepted, with the likely intended one.
std::string BadTypeMessage(const std::string& type) {
  if (type == "json") {
    return "'json' is not a bucket field type; use 'object' (metadata) or one of the blob types " +
           JoinNames(kBlobTypes);
  }
  if (type == "url") {
    return "'url' is not a bucket field type; keep a URL in a 'string' field, or give the file as a blob of "
           "one of the blob types " +
           JoinNames(kBlobTypes);
  }
  std::string lower = type;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower != type && (IsMetadataFieldType(lower) || IsBlobFieldType(lower))) {
    return "field types are lowercase: use '" + lower + "'";
  }
  return "'" + type + "' is not a bucket field type; metadata types: " + JoinNames(kMetadataTypes) +
         "; blob types: " + JoinNames(kBlobTypes);
}

// Checks a field name; `top_level` names share the object's key space.
void CheckFieldName(const std::string& name, bool top_level, const std::string& loc, Errors& errs) {
  bool charset = std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
  if (name.empty() || name.size() > kMaxNameLength || !charset) {
    errs.Add(loc, "a field name is 1-128 characters of letters, digits, '_' and '-'", "value_error");
  } else if (top_level && name[0] == '_') {
    errs.Add(loc, "field names starting with '_' are reserved", "value_error");
  } else if (top_level && Contains(kReservedNames, name)) {
    errs.Add(loc, "'" + name + "' is reserved: it is a key of every object (" + JoinNames(kReservedNames) + ")",
             "value_error");
  }
}

Json CheckField(const Json& f, const std::string& loc, int depth, bool top_level, Errors& errs);

Json CheckPropertiesDef(const Json& props, const std::string& loc, int depth, bool top_level, Errors& errs) {
  Json out = Json::object();
  if (!props.is_object()) {
    errs.Add(loc, "expected an object mapping field names to field definitions", "type_error");
    return out;
  }
  for (auto it = props.begin(); it != props.end(); ++it) {
    const std::string at = loc + "." + it.key();
    CheckFieldName(it.key(), top_level, at, errs);
    out[it.key()] = CheckField(*it, at, depth, top_level, errs);
  }
  return out;
}

// Validates one field definition at nesting `depth` (top level: 1); returns it
// normalised.
Json CheckField(const Json& f, const std::string& loc, int depth, bool top_level, Errors& errs) {
  if (!f.is_object()) {
    errs.Add(loc, "expected a field definition object {\"type\": ..., ...}, got " + JsonTypeName(f), "type_error");
    return nullptr;
  }
  for (auto it = f.begin(); it != f.end(); ++it) {
    if (!Contains(kFieldKeys, it.key())) {
      errs.Add(loc + "." + it.key(), "unknown key of a field definition; allowed: " + JoinNames(kFieldKeys),
               "unknown_field");
    }
  }
  Json out = Json::object();
  if (Given(f, "required") && !f["required"].is_boolean()) {
    errs.Add(loc + ".required", "expected a boolean", "type_error");
  }
  out["required"] = Given(f, "required") && f["required"].is_boolean() && f["required"].get<bool>();
  if (Given(f, "description")) {
    if (!f["description"].is_string()) errs.Add(loc + ".description", "expected a string", "type_error");
    else out["description"] = f["description"];
  }
  if (Given(f, "examples")) {
    if (!f["examples"].is_array()) errs.Add(loc + ".examples", "expected an array", "type_error");
    else out["examples"] = f["examples"];
  }

  if (!Given(f, "type")) {
    errs.Add(loc + ".type", "field required", "missing");
    return out;
  }
  if (!f["type"].is_string()) {
    errs.Add(loc + ".type", "expected a string", "type_error");
    return out;
  }
  const std::string type = f["type"];
  out["type"] = type;
  const bool blob = IsBlobFieldType(type);
  if (!blob && !IsMetadataFieldType(type)) {
    errs.Add(loc + ".type", BadTypeMessage(type), "enum");
    return out;
  }
  if (blob) {
    if (!top_level) {
      errs.Add(loc + ".type", "blob types are only allowed for top-level fields", "value_error");
    }
    for (const char* key : {"enum", "default", "items", "properties"}) {
      if (Given(f, key)) {
        errs.Add(loc + "." + key, std::string("a blob field cannot have '") + key + "'", "value_error");
      }
    }
    return out;
  }

  // items (array) and properties (object) describe the parts of a value.
  const int errors_before = errs.count;
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kParts = {
      {{"items", "array"}, {"properties", "object"}}};
  for (const auto& [part, owner] : kParts) {
    const std::string key(part);
    if (!Given(f, key)) continue;
    if (type != owner) {
      errs.Add(loc + "." + key, "only " + std::string(owner) + " fields have '" + key + "'", "value_error");
    } else if (depth >= kMaxDepth) {
      errs.Add(loc + "." + key, "fields nest at most " + std::to_string(kMaxDepth) + " levels deep", "value_error");
    } else if (key == "items") {
      out["items"] = CheckField(f["items"], loc + ".items", depth + 1, false, errs);
    } else {
      out["properties"] = CheckPropertiesDef(f["properties"], loc + ".properties", depth + 1, false, errs);
    }
  }
  // Enum and default are checked against the field as normalised so far; when
  // that is itself broken the comparison would only add noise.
  if (errs.count != errors_before) return out;

  if (Given(f, "enum")) {
    const Json& e = f["enum"];
    if (!e.is_array() || e.empty()) {
      errs.Add(loc + ".enum", "expected a non-empty array of allowed values", "type_error");
    } else {
      Json values = Json::array();
      for (size_t i = 0; i < e.size(); ++i) {
        const std::string at = loc + ".enum[" + std::to_string(i) + "]";
        Json v = CheckValue(out, e[i], at, errs);  // rejects null too
        if (std::find(values.begin(), values.end(), v) != values.end()) {
          errs.Add(at, "duplicate enum value " + v.dump(), "value_error");
        }
        values.push_back(std::move(v));
      }
      out["enum"] = std::move(values);
    }
  }
  if (Given(f, "default") && errs.count == errors_before) {
    // With "enum" set in `out`, this also checks the default is one of them.
    out["default"] = CheckValue(out, f["default"], loc + ".default", errs);
  }
  return out;
}

}  // namespace

bool IsBlobFieldType(std::string_view type) { return Contains(kBlobTypes, type); }
bool IsMetadataFieldType(std::string_view type) { return Contains(kMetadataTypes, type); }

Result<Json> ValidateBucketSchema(const Json& schema, std::string_view location) {
  const std::string loc(location);
  if (!schema.is_object()) {
    return Status::Invalid(loc, "expected an object {\"properties\": {...}}, got " + JsonTypeName(schema), "type_error");
  }
  Errors errs;
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    if (it.key() != "properties") {
      errs.Add(loc + "." + it.key(), "unknown key; a bucket schema has only 'properties'", "unknown_field");
    }
  }
  Json out = Json::object();
  if (!Given(schema, "properties")) {
    errs.Add(loc + ".properties", "field required", "missing");
  } else {
    out["properties"] = CheckPropertiesDef(schema["properties"], loc + ".properties", 1, true, errs);
  }
  if (errs.count > 0) return errs.list.ToStatus();
  return out;
}

Status ValidateUniqueKey(const Json& unique_key, const Json& normalised_schema, std::string_view location) {
  const std::string loc(location);
  if (!unique_key.is_object()) {
    return Status::Invalid(loc, "expected an object {\"fields\": [...], \"default_policy\": ...}", "type_error");
  }
  Errors errs;
  for (auto it = unique_key.begin(); it != unique_key.end(); ++it) {
    if (it.key() != "fields" && it.key() != "default_policy") {
      errs.Add(loc + "." + it.key(), "unknown key; allowed: fields, default_policy", "unknown_field");
    }
  }
  const Json& props = normalised_schema.value("properties", Json::object());
  if (!Given(unique_key, "fields")) {
    errs.Add(loc + ".fields", "field required", "missing");
  } else if (const Json& fields = unique_key["fields"];
             !fields.is_array() || fields.empty() || fields.size() > kMaxUniqueKeyFields) {
    errs.Add(loc + ".fields", "expected an array of 1-" + std::to_string(kMaxUniqueKeyFields) + " field names",
             "type_error");
  } else {
    for (size_t i = 0; i < fields.size(); ++i) {
      const std::string at = loc + ".fields[" + std::to_string(i) + "]";
      if (!fields[i].is_string()) {
        errs.Add(at, "expected a field name", "type_error");
        continue;
      }
      const std::string name = fields[i];
      auto f = props.find(name);
      if (f == props.end()) {
        errs.Add(at, "'" + name + "' is not a field of the bucket schema (fields: " + FieldList(props) + ")",
                 "unknown_field");
      } else if (!IsMetadataFieldType(f->value("type", ""))) {
        errs.Add(at, "'" + name + "' is a blob field; a unique key is made of metadata fields", "value_error");
      }
      if (std::find(fields.begin(), fields.begin() + static_cast<std::ptrdiff_t>(i), fields[i]) !=
          fields.begin() + static_cast<std::ptrdiff_t>(i)) {
        errs.Add(at, "'" + name + "' is listed twice", "value_error");
      }
    }
  }
  if (Given(unique_key, "default_policy")) {
    const Json& p = unique_key["default_policy"];
    if (!p.is_string() || !Contains(kPolicies, p.get_ref<const std::string&>())) {
      errs.Add(loc + ".default_policy", "must be one of " + JoinNames(kPolicies), "enum");
    }
  }
  return errs.list.ToStatus();
}

Result<ObjectFields> ValidateObject(const Json& normalised_schema, const Json& metadata,
                                    const std::vector<std::pair<std::string, std::string>>& blob_properties) {
  if (!metadata.is_object()) return Status::Invalid("body.metadata", "expected an object", "type_error");
  const Json& props = normalised_schema.value("properties", Json::object());
  Errors errs;
  ObjectFields out;
  out.metadata = CheckProperties(props, metadata, "body", errs);

  for (size_t i = 0; i < blob_properties.size(); ++i) {
    const auto& [property, type] = blob_properties[i];
    const std::string at = "body.blobs[" + std::to_string(i) + "]";
    auto f = props.find(property);
    if (f == props.end()) {
      errs.Add(at + ".property", "'" + property + "' is not a field of the bucket schema (fields: " +
                                     FieldList(props) + ")",
               "unknown_field");
      continue;
    }
    const std::string field_type = f->value("type", "");
    if (!IsBlobFieldType(field_type)) {
      errs.Add(at + ".property",
               "'" + property + "' is a " + field_type + " metadata field, not a blob field: give its value as \"" +
                   property + "\": ... instead",
               "blob_type_mismatch");
    } else if (type != field_type) {
      errs.Add(at + ".type", "field '" + property + "' holds " + field_type + " blobs, not '" + type + "'",
               "blob_type_mismatch");
    }
  }
  for (auto it = props.begin(); it != props.end(); ++it) {
    const std::string type = it->value("type", "");
    if (!IsBlobFieldType(type) || !it->value("required", false)) continue;
    bool given = std::any_of(blob_properties.begin(), blob_properties.end(),
                             [&](const auto& b) { return b.first == it.key(); });
    if (!given) {
      errs.Add("body." + it.key(),
               "required " + type + " field '" + it.key() + "' needs a blob: add {\"property\": \"" + it.key() +
                   "\", \"type\": \"" + type + "\", \"data\": ...} to blobs",
               "missing");
    }
  }
  if (errs.count > 0) return errs.list.ToStatus();
  return out;
}

namespace {

// Numbers that are equal as values print the same (1.0 -> 1, -0.0 -> 0); object
// keys are already sorted by nlohmann::json, so dump() is then canonical.
Json Canonical(const Json& v) {
  if (v.is_number_float()) {
    auto i = AsIntegral(v);
    return i ? *i : v;
  }
  if (v.is_array()) {
    Json out = Json::array();
    for (const auto& e : v) out.push_back(Canonical(e));
    return out;
  }
  if (v.is_object()) {
    Json out = Json::object();
    for (auto it = v.begin(); it != v.end(); ++it) out[it.key()] = Canonical(*it);
    return out;
  }
  return v;
}

}  // namespace

Result<std::string> UniqueKeyValue(const Json& unique_key, const Json& metadata) {
  if (!unique_key.is_object() || !unique_key.contains("fields") || !unique_key["fields"].is_array()) {
    return Status::Internal("the bucket's unique_key has no 'fields' list");
  }
  Errors errs;
  Json values = Json::array();
  for (const auto& field : unique_key["fields"]) {
    const std::string name = field.is_string() ? field.get<std::string>() : field.dump();
    if (!metadata.is_object() || !Given(metadata, name)) {
      errs.Add("body." + name, "unique key field missing", "missing");
      continue;
    }
    values.push_back(Canonical(metadata[name]));
  }
  if (errs.count > 0) return errs.list.ToStatus();
  return values.dump();
}

}  // namespace strata::catalog
