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

// `given` may be null (all defaults). Errors name each bad parameter by its
// location (`loc` + "." + name) in one ValidationError.
Result<Json> ResolveParameters(const Json& schema, const Json& given, const std::string& loc);

}  // namespace strata::extract
