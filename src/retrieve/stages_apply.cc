// Apply and enrich stages: unwind, json_transform, document_enrich.
#include <map>

#include "catalog/collections.h"
#include "retrieve/stage.h"
#include "retrieve/values.h"

namespace strata::retrieve {

namespace {

// One document per element of an array field (the element at `output_field`,
// by default the field itself); ids get "#<index>" so they stay unique.
Status Unwind(StageRun& run, std::vector<Json>& docs) {
  const Json& p = run.params;
  const std::string field = p["field"];
  if (field.empty()) return Status::Invalid(run.loc + ".parameters.field", "unwind needs the array field", "missing");
  const std::string target = p["output_field"].is_string() ? p["output_field"].get<std::string>() : field;
  std::vector<Json> out;
  for (auto& d : docs) {
    const Json* v = FindPath(d, field);
    if (v == nullptr || v->is_null() || (v->is_array() && v->empty())) {
      if (p["preserve_null_and_empty"] == true) out.push_back(std::move(d));
      continue;
    }
    if (!v->is_array()) {
      out.push_back(std::move(d));
      continue;
    }
    const Json items = *v;
    for (size_t i = 0; i < items.size(); ++i) {
      Json copy = d;
      SetPath(copy, target, items[i]);
      if (p["include_array_index"] == true) copy["array_index"] = i;
      copy["document_id"] = d.value("document_id", "") + "#" + std::to_string(i);
      out.push_back(std::move(copy));
    }
  }
  docs = std::move(out);
  return Status::Ok();
}

// Each document becomes what `template` renders to with DOC bound to it; the
// rendering must be a JSON object (its id and score are kept when absent).
Status JsonTransform(StageRun& run, std::vector<Json>& docs) {
  const Json& tmpl = run.params["template"];
  if (tmpl.is_null()) return Status::Invalid(run.loc + ".parameters.template", "json_transform needs a template", "missing");
  std::vector<Json> out;
  for (auto& d : docs) {
    auto r = run.render_for_doc("template", d);
    Json v;
    if (r.ok()) {
      v = std::move(r).value();
      if (v.is_string()) {  // a template written as one string must render to JSON text
        auto parsed = ParseJson(v.get<std::string>());
        if (parsed.ok()) v = std::move(parsed).value();
      }
    }
    if (!r.ok() || !v.is_object()) {
      if (run.params["fail_on_error"] == true) {
        return r.ok() ? Status::Invalid(run.loc + ".parameters.template", "the template did not render a JSON object",
                                        "value_error")
                      : r.status();
      }
      out.push_back(std::move(d));
      continue;
    }
    if (!v.contains("document_id")) v["document_id"] = d.value("document_id", "");
    if (!v.contains("score") && d.contains("score")) v["score"] = d["score"];
    out.push_back(std::move(v));
  }
  docs = std::move(out);
  return Status::Ok();
}

// A left join: each document gets the fields of the target collection's
// document whose `target_field` equals the document's `source_field`.
Status DocumentEnrich(StageRun& run, std::vector<Json>& docs) {
  const Json& p = run.params;
  if (!p["target_collection_id"].is_string()) {
    return Status::Invalid(run.loc + ".parameters.target_collection_id", "document_enrich needs the collection to join",
                           "missing");
  }
  const std::string source_field = p["source_field"], target_field = p["target_field"];
  std::map<std::string, Json> by_key;
  RETURN_IF_ERROR(run.ctx.store.Read([&](storage::Reader& r) -> Status {
    auto col = catalog::LoadCollection(r, run.ctx.scope, p["target_collection_id"]);
    if (!col.ok()) {
      return Status::Invalid(run.loc + ".parameters.target_collection_id", col.status().message(), "not_found");
    }
    std::vector<Json> values;
    for (const auto& d : docs) {
      if (const Json* v = DocField(d, source_field); v != nullptr && !v->is_null()) values.push_back(*v);
    }
    if (values.empty()) return Status::Ok();
    // One list query for the whole page of keys.
    ASSIGN_OR_RETURN(filter::Node node, filter::Parse({{"field", target_field}, {"operator", "in"}, {"value", values}},
                                                      run.loc + ".parameters"));
    storage::ListQuery q;
    q.parent = col->id;
    q.filter = &node;
    q.limit = 1000;
    while (true) {
      ASSIGN_OR_RETURN(auto page, r.List(storage::Kind::kDocument, run.ctx.scope, q));
      for (auto& rec : page.records) {
        if (const Json* k = DocField(rec.doc, target_field)) by_key.emplace(GroupKey(k), std::move(rec.doc));
      }
      if (page.next_cursor.empty()) break;
      q.cursor = page.next_cursor;
    }
    return Status::Ok();
  }));
  const std::string strategy = p["strategy"];
  std::vector<Json> out;
  int64_t joined = 0;
  for (auto& d : docs) {
    auto it = by_key.find(GroupKey(DocField(d, source_field)));
    if (it == by_key.end()) {
      if (p["allow_missing"] == true) out.push_back(std::move(d));
      continue;
    }
    ++joined;
    Json fields = Json::object();
    if (p["fields_to_merge"].is_array() && !p["fields_to_merge"].empty()) {
      for (const auto& f : p["fields_to_merge"]) {
        if (const Json* v = FindPath(it->second, f.get<std::string>())) SetPath(fields, f.get<std::string>(), *v);
      }
    } else {
      fields = it->second;
      fields.erase("_internal");
      fields.erase("document_id");
      fields.erase("collection_id");
    }
    if (p["output_field"].is_string()) {
      if (strategy == "append") {
        Json& list = d[p["output_field"].get<std::string>()];
        if (!list.is_array()) list = Json::array();
        list.push_back(fields);
      } else {
        SetPath(d, p["output_field"].get<std::string>(), fields);
      }
    } else if (strategy == "replace") {
      Json keep = {{"document_id", d.value("document_id", "")}, {"score", ScoreOf(d)}};
      keep.update(fields);
      d = std::move(keep);
    } else {
      for (auto f = fields.begin(); f != fields.end(); ++f) d[f.key()] = f.value();
    }
    out.push_back(std::move(d));
  }
  run.metadata["joined"] = joined;
  docs = std::move(out);
  return Status::Ok();
}

}  // namespace

void AddApplyStages(std::vector<StageDef>& out) {
  out.push_back({"unwind", "apply", "One document per element of an array field.", "list-tree",
                 ParamsSchema({{"field", {{"type", "string"}, {"default", ""}}},
                         {"preserve_null_and_empty", {{"type", "boolean"}, {"default", false}}},
                         {"include_array_index", {{"type", "boolean"}, {"default", false}}},
                         {"output_field", {{"type", {"string", "null"}}, {"default", nullptr}}}}),
                 Unwind});
  out.push_back({"json_transform", "apply",
                 "Rewrites each document with a template ({{DOC.field}}, {{INPUT.x}}) that renders a JSON object.",
                 "braces",
                 ParamsSchema({{"template", {{"default", nullptr}}},
                         {"fail_on_error", {{"type", "boolean"}, {"default", false}}}}),
                 JsonTransform, {"template"}});
  out.push_back({"document_enrich", "enrich",
                 "Left-joins the documents of another collection on a field (direct join).", "link",
                 ParamsSchema({{"target_collection_id", {{"type", {"string", "null"}}, {"default", nullptr}}},
                         {"source_field", {{"type", "string"}, {"default", "source_object_id"}}},
                         {"target_field", {{"type", "string"}, {"default", "document_id"}}},
                         {"fields_to_merge", {{"type", {"array", "null"}}, {"default", nullptr}}},
                         {"output_field", {{"type", {"string", "null"}}, {"default", nullptr}}},
                         {"strategy", {{"type", "string"}, {"enum", {"enrich", "replace", "append"}},
                                       {"default", "enrich"}}},
                         {"allow_missing", {{"type", "boolean"}, {"default", true}}}}),
                 DocumentEnrich});
}

}  // namespace strata::retrieve
