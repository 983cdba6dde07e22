#include "retrieve/retriever_spec.h"

#include <set>

#include "extract/feature_uri.h"
#include "extract/parameters.h"
#include "filter/filter.h"
#include "retrieve/stage.h"
#include "retrieve/template.h"

namespace strata::retrieve {

namespace {

const std::set<std::string> kInputTypes = {"string", "text", "integer", "number", "float", "boolean", "array",
                                           "object", "image", "video", "audio", "pdf", "document", "json",
                                           "document_reference", "date", "datetime", "url"};

// Keys of a stage's config besides parameters.
const std::set<std::string> kConfigKeys = {"stage_id", "parameters", "pre_filters", "post_filters", "when",
                                           "on_error", "cache_behavior", "cache_ttl_seconds"};

}  // namespace

Result<Json> NormalizeStages(const Json& stages, const std::string& loc) {
  if (!stages.is_array() || stages.empty()) {
    return Status::Invalid(loc, "a retriever needs at least one stage", stages.is_array() ? "too_short" : "type_error");
  }
  Json out = Json::array();
  std::set<std::string> names;
  ValidationErrors errs;
  for (size_t i = 0; i < stages.size(); ++i) {
    const std::string at = loc + "[" + std::to_string(i) + "]";
    const Json& s = stages[i];
    if (!s.is_object()) {
      errs.Add(at, "a stage is an object {stage_name, config: {stage_id, parameters}}", "type_error");
      continue;
    }
    Json config = s.contains("config") && s["config"].is_object() ? s["config"] : Json::object();
    if (!s.contains("config")) {  // legacy flat form
      for (const auto& k : kConfigKeys) {
        if (s.contains(k)) config[k] = s[k];
      }
      if (!config.contains("stage_id") && s.contains("stage_type") && s["stage_type"].is_string() &&
          FindStage(s["stage_type"]) != nullptr) {
        config["stage_id"] = s["stage_type"];
      }
    }
    const std::string id = config.value("stage_id", Json("")).is_string() ? config.value("stage_id", "") : "";
    const StageDef* def = FindStage(id);
    if (def == nullptr) {
      std::string known;
      for (const auto& d : AllStages()) known += (known.empty() ? "" : ", ") + d.id;
      errs.Add(at + ".config.stage_id",
               id.empty() ? "missing: name the stage (" + known + ")" : "unknown stage '" + id + "' (" + known + ")",
               id.empty() ? "missing" : "not_found");
      continue;
    }
    const std::string name = s.value("stage_name", Json(id)).is_string() ? s.value("stage_name", id) : id;
    if (name.empty()) errs.Add(at + ".stage_name", "must not be empty", "too_short");
    if (!names.insert(name).second) errs.Add(at + ".stage_name", "two stages are named '" + name + "'", "value_error");
    Json params = config.value("parameters", Json::object());
    if (!params.is_object()) {
      errs.Add(at + ".config.parameters", "must be an object", "type_error");
      continue;
    }
    // when / on_error written inside parameters belong to the stage.
    for (const char* k : {"when", "on_error", "cache_behavior", "cache_ttl_seconds"}) {
      if (params.contains(k)) {
        config[k] = params[k];
        params.erase(k);
      }
    }
    // Template values are checked when they are rendered; the rest now.
    Json literal = Json::object();
    for (auto it = params.begin(); it != params.end(); ++it) {
      if (!HasTemplate(it.value())) literal[it.key()] = it.value();
    }
    auto resolved = extract::ResolveParameters(def->parameter_schema, literal, at + ".config.parameters");
    if (!resolved.ok()) return resolved.status();
    auto compiled = JsonTemplate::Compile(params, at + ".config.parameters");
    if (!compiled.ok()) return compiled.status();
    for (const char* k : {"pre_filters", "post_filters", "when"}) {
      if (config.contains(k) && !config[k].is_null() && !HasTemplate(config[k])) {
        auto f = filter::Parse(config[k], at + ".config." + k);
        if (!f.ok()) return f.status();
      }
    }
    if (config.contains("on_error") && config["on_error"] != "skip" && config["on_error"] != "remove" &&
        config["on_error"] != "raise") {
      errs.Add(at + ".config.on_error", "must be skip, remove or raise", "enum");
    }
    Json c = {{"stage_id", id}, {"parameters", params}};
    for (const auto& k : kConfigKeys) {
      if (k != "stage_id" && k != "parameters" && config.contains(k)) c[k] = config[k];
    }
    Json stage = {{"stage_name", name}, {"stage_type", def->category}, {"config", c}};
    if (s.contains("description") && s["description"].is_string()) stage["description"] = s["description"];
    if (s.contains("batch_size") && s["batch_size"].is_string()) stage["batch_size"] = s["batch_size"];
    out.push_back(std::move(stage));
  }
  RETURN_IF_ERROR(errs.ToStatus());
  return out;
}

Result<Json> NormalizeInputSchema(const Json& schema, const std::string& loc) {
  if (schema.is_null()) return Json::object();
  if (!schema.is_object()) return Status::Invalid(loc, "must be an object {input_name: {type, required, default}}", "type_error");
  ValidationErrors errs;
  Json out = Json::object();
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    const std::string at = loc + "." + it.key();
    Json f = it.value();
    if (f.is_string()) f = {{"type", f}};  // shorthand {"query": "string"}
    if (!f.is_object()) {
      errs.Add(at, "must be {type, required, default, description}", "type_error");
      continue;
    }
    const std::string type = f.value("type", Json("string")).is_string() ? f.value("type", "string") : "";
    if (!kInputTypes.count(type)) errs.Add(at + ".type", "unknown input type '" + type + "'", "enum");
    f["type"] = type;
    out[it.key()] = f;
  }
  RETURN_IF_ERROR(errs.ToStatus());
  return out;
}

Result<Json> ResolveInputs(const Json& schema, const Json& inputs) {
  if (!inputs.is_null() && !inputs.is_object()) return Status::Invalid("body.inputs", "must be an object", "type_error");
  Json out = inputs.is_object() ? inputs : Json::object();
  ValidationErrors errs;
  for (auto it = schema.begin(); it != schema.end(); ++it) {
    const std::string at = "body.inputs." + it.key();
    const Json& f = it.value();
    if (!out.contains(it.key()) || out[it.key()].is_null()) {
      if (f.contains("default") && !f["default"].is_null()) {
        out[it.key()] = f["default"];
      } else if (f.value("required", false)) {
        errs.Add(at, "field required", "missing");
      }
      continue;
    }
    const Json& v = out[it.key()];
    const std::string type = f.value("type", "string");
    bool ok = true;
    if (type == "integer") ok = v.is_number_integer();
    else if (type == "number" || type == "float") ok = v.is_number();
    else if (type == "boolean") ok = v.is_boolean();
    else if (type == "array") ok = v.is_array();
    else if (type == "object" || type == "json") ok = v.is_object() || v.is_array();
    else if (type == "document_reference") ok = v.is_object() && v.contains("document_id");
    else ok = v.is_string();
    if (!ok) errs.Add(at, "expected " + type, "type_error");
    if (ok && f.contains("enum") && f["enum"].is_array() &&
        std::find(f["enum"].begin(), f["enum"].end(), v) == f["enum"].end()) {
      errs.Add(at, "must be one of " + f["enum"].dump(), "enum");
    }
  }
  RETURN_IF_ERROR(errs.ToStatus());
  return out;
}

// The API returns dependencies as FeatureAddress objects ({scheme, extractor,
// version, output}); a URI that is a template or malformed is left out.
bool HasTemplate(const Json& v) {
  if (v.is_string()) return v.get<std::string>().find("{{") != std::string::npos;
  if (v.is_structured()) {
    for (const auto& x : v) {
      if (HasTemplate(x)) return true;
    }
  }
  return false;
}

Json FeatureDependencies(const Json& stages) {
  Json out = Json::array();
  for (const auto& s : stages) {
    const Json& p = s["config"]["parameters"];
    if (!p.contains("searches") || !p["searches"].is_array()) continue;
    for (const auto& q : p["searches"]) {
      if (!q.is_object() || !q.contains("feature_uri") || !q["feature_uri"].is_string()) continue;
      auto uri = extract::ParseFeatureUri(q["feature_uri"].get<std::string>());
      if (!uri.ok()) continue;
      Json address = {{"scheme", "mixpeek"}, {"extractor", uri->extractor}, {"version", uri->version},
                      {"output", uri->output}};
      if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(std::move(address));
    }
  }
  return out;
}

}  // namespace strata::retrieve
