#include "extract/parameters.h"

#include <algorithm>

namespace strata::extract {

namespace {

bool HasType(const Json& v, const std::string& type) {
  if (type == "string") return v.is_string();
  if (type == "integer") return v.is_number_integer() || (v.is_number_float() && v.get<double>() == static_cast<int64_t>(v.get<double>()));
  if (type == "number") return v.is_number();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "null") return v.is_null();
  return false;
}

std::string TypeList(const Json& t) {
  if (t.is_string()) return t.get<std::string>();
  std::string out;
  for (const auto& x : t) out += (out.empty() ? "" : " or ") + x.get<std::string>();
  return out;
}

void Check(const Json& prop, const Json& v, const std::string& loc, ValidationErrors& errs) {
  if (prop.contains("type")) {
    const Json& t = prop["type"];
    bool ok = t.is_string() ? HasType(v, t.get<std::string>())
                            : std::any_of(t.begin(), t.end(), [&](const Json& x) { return HasType(v, x.get<std::string>()); });
    if (!ok) {
      errs.Add(loc, "must be " + TypeList(t), "type_error");
      return;
    }
  }
  if (prop.contains("const") && v != prop["const"]) {
    errs.Add(loc, "must be " + prop["const"].dump(), "const");
  }
  if (prop.contains("enum") && std::find(prop["enum"].begin(), prop["enum"].end(), v) == prop["enum"].end()) {
    std::string allowed;
    for (const auto& e : prop["enum"]) allowed += (allowed.empty() ? "" : ", ") + e.dump();
    errs.Add(loc, "must be one of " + allowed, "enum");
  }
  if (v.is_number()) {
    double d = v.get<double>();
    if (prop.contains("minimum") && d < prop["minimum"].get<double>()) {
      errs.Add(loc, "must be at least " + prop["minimum"].dump(), "greater_than_equal");
    }
    if (prop.contains("exclusiveMinimum") && d <= prop["exclusiveMinimum"].get<double>()) {
      errs.Add(loc, "must be greater than " + prop["exclusiveMinimum"].dump(), "greater_than");
    }
    if (prop.contains("maximum") && d > prop["maximum"].get<double>()) {
      errs.Add(loc, "must be at most " + prop["maximum"].dump(), "less_than_equal");
    }
  }
  if (v.is_string()) {
    size_t n = v.get_ref<const std::string&>().size();
    if (prop.contains("minLength") && n < prop["minLength"].get<size_t>()) {
      errs.Add(loc, "must have at least " + prop["minLength"].dump() + " characters", "string_too_short");
    }
    if (prop.contains("maxLength") && n > prop["maxLength"].get<size_t>()) {
      errs.Add(loc, "must have at most " + prop["maxLength"].dump() + " characters", "string_too_long");
    }
  }
}

}  // namespace

Result<Json> ResolveParameters(const Json& schema, const Json& given, const std::string& loc) {
  ValidationErrors errs;
  if (!given.is_null() && !given.is_object()) {
    errs.Add(loc, "must be an object", "type_error");
    return errs.ToStatus();
  }
  const Json& props = schema.contains("properties") ? schema["properties"] : Json::object();
  Json out = Json::object();
  for (auto it = props.begin(); it != props.end(); ++it) {
    if (it.value().contains("default")) out[it.key()] = it.value()["default"];
  }
  if (given.is_object()) {
    for (auto it = given.begin(); it != given.end(); ++it) {
      const std::string ploc = loc + "." + it.key();
      if (!props.contains(it.key())) {
        if (schema.value("additionalProperties", true) == false) {
          std::string known;
          for (auto p = props.begin(); p != props.end(); ++p) known += (known.empty() ? "" : ", ") + p.key();
          errs.Add(ploc, "unknown parameter; known: " + known, "extra_forbidden");
        }
        continue;
      }
      Check(props[it.key()], it.value(), ploc, errs);
      out[it.key()] = it.value();
    }
  }
  for (const auto& r : schema.value("required", Json::array())) {
    if (!out.contains(r.get<std::string>())) errs.Add(loc + "." + r.get<std::string>(), "field required", "missing");
  }
  RETURN_IF_ERROR(errs.ToStatus());
  return out;
}

}  // namespace strata::extract
