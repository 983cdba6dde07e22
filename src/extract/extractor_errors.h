// Errors the extractors give about their inputs and parameters, located where
// the user put the thing that is wrong.
#pragma once

#include <string>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::extract {

class ModelRegistry;

// A media library's validation error (it names "image", "video", ...) moved
// to the extractor's input `input` ("inputs.image"), keeping its message and
// type; any other status as it is.
Status AtInput(const Status& st, const std::string& input);

// A registry error about a model as the error of the parameter that chose it
// (`loc`, e.g. "parameters.embedding_model"): the registry's "<model>: "
// prefix goes, its account of what is available stays.
Status AtParameter(const Status& st, const std::string& loc);

// The `embedding_model` parameter (default: the default text model) names a
// text model the registry has; else the error at loc + ".embedding_model".
Status CheckTextModel(ModelRegistry& models, const Json& params, const std::string& loc);

}  // namespace strata::extract
