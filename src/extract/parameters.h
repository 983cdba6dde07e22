// Extractor parameters: checked against the extractor's JSON Schema and
// completed with its defaults. The subset of JSON Schema extractors use:
// type (string, integer, number, boolean, object, array, null, or a list),
// enum, const, minimum, maximum, minLength, maxLength, default, and
// additionalProperties: false at the top level.
#pragma once

#include <string>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::extract {

// Schema entries of one parameter, as the extractors' ParameterSchema()
// write them.
inline Json BoolParam(bool def, const char* desc) {
  return {{"type", "boolean"}, {"default", def}, {"description", desc}};
}
inline Json NumberParam(double def, double min, double max, const char* desc) {
  return {{"type", "number"}, {"minimum", min}, {"maximum", max}, {"default", def}, {"description", desc}};
}
inline Json StringParam(const char* def, const char* desc) {
  return {{"type", "string"}, {"default", def}, {"description", desc}};
}
// A parameter of the API that is accepted and has no effect here (default null).
inline Json InertParam(const Json& type, const char* desc) {
  return {{"type", type}, {"default", nullptr}, {"description", desc}};
}

// `given` may be null (all defaults). Errors name each bad parameter by its
// location (`loc` + "." + name) in one ValidationError.
Result<Json> ResolveParameters(const Json& schema, const Json& given, const std::string& loc);

}  // namespace strata::extract
