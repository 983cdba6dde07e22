// Feature URIs address an extractor's output: mixpeek://{name}@{version}/{output}
// (for example mixpeek://text_extractor@v1/glove_100d). Documents store the
// output under a storage name, {name}_{version}_{suffix}; the collection's
// vector_indexes pair the two.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace strata::extract {

struct FeatureUri {
  std::string extractor;  // "text_extractor"
  std::string version;    // "v1"
  std::string output;     // "glove_100d"

  std::string ToString() const { return "mixpeek://" + extractor + "@" + version + "/" + output; }
};

Result<FeatureUri> ParseFeatureUri(std::string_view uri);
std::string StorageName(const std::string& extractor, const std::string& version, const std::string& suffix);
// A model name as the output part of a feature URI ("glove-100d" -> "glove_100d").
std::string UriOutputName(std::string model);

}  // namespace strata::extract
