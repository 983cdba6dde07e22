// The definition of a pipeline as requests give it, checked and put in one
// canonical form that the runner, the stored retriever and the API share.
//
// Stages are accepted in the API's nested form
//   {stage_name, stage_type?, config: {stage_id, parameters, pre_filters?,
//    post_filters?, when?, on_error?, cache_behavior?}, description?}
// and in the legacy flat form {stage_name, stage_id, parameters, ...}; both
// come out nested, with stage_type filled in from the stage registry.
#pragma once

#include <string>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::retrieve {

// Checks every stage (known stage_id, unique names, parameters valid against
// the stage's schema where they are not templates, filters parse) and returns
// the canonical list. Errors name the stage: "<loc>[2].config.parameters.x".
Result<Json> NormalizeStages(const Json& stages, const std::string& loc);

// input_schema: {name: {type, required, default, description, enum, ...}}.
Result<Json> NormalizeInputSchema(const Json& schema, const std::string& loc);

// The execution's inputs checked against the schema, defaults filled in.
// Inputs the schema does not name pass through unchecked.
Result<Json> ResolveInputs(const Json& schema, const Json& inputs);

// The feature URIs the stages search (feature_dependencies of a retriever).
Json FeatureDependencies(const Json& stages);

// Whether a value holds a template anywhere (a string with "{{").
bool HasTemplate(const Json& v);

}  // namespace strata::retrieve
