// attribute_filter: keeps the documents that match a condition of the shared
// filter language (filter/), evaluated in memory over each document.
#include "filter/eval.h"
#include "retrieve/stage.h"

namespace strata::retrieve {

void AddFilterStages(std::vector<StageDef>& out) {
  out.push_back(
      {"attribute_filter", "filter",
       "Keeps documents whose fields match: a simple {field, operator, value} condition or "
       "{conditions: LogicalOperator}.",
       "filter",
       {{"type", "object"},
        {"properties",
         {{"field", {{"type", {"string", "null"}}, {"default", nullptr}, {"description", "dot path of the field"}}},
          {"operator", {{"type", "string"}, {"default", "eq"},
                        {"enum", {"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "contains", "starts_with",
                                  "ends_with", "regex", "exists", "is_null", "text"}}}},
          {"value", {{"default", nullptr}}},
          {"conditions", {{"type", {"object", "null"}}, {"default", nullptr},
                          {"description", "a LogicalOperator ({AND|OR|NOT: [...]})"}}},
          {"case_insensitive", {{"type", "boolean"}, {"default", false}}},
          {"batch_size", {{"type", "integer"}, {"default", 100}, {"minimum", 1}}}}},
        {"additionalProperties", false}},
       [](StageRun& run, std::vector<Json>& docs) -> Status {
         const Json& p = run.params;
         Json cond;
         if (p["conditions"].is_object()) {
           cond = p["conditions"];
         } else if (p["field"].is_string()) {
           cond = {{"field", p["field"]}, {"operator", p["operator"]}, {"value", p["value"]}};
         } else {
           return Status::Invalid(run.loc + ".parameters", "attribute_filter needs 'field' (with operator and value) "
                                                           "or 'conditions'", "missing");
         }
         // The filter language compares strings case-insensitively unless told
         // otherwise; case_insensitive only ever asks for that default.
         if (p["case_insensitive"] == true) cond = {{"AND", Json::array({cond})}, {"case_sensitive", false}};
         ASSIGN_OR_RETURN(filter::Node node, filter::Parse(cond, run.loc + ".parameters"));
         std::vector<Json> kept;
         for (auto& d : docs) {
           if (filter::Matches(node, d)) kept.push_back(std::move(d));
         }
         docs = std::move(kept);
         return Status::Ok();
       }});
}

}  // namespace strata::retrieve
