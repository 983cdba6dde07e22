// passthrough_extractor@v1: one document per source item, carrying only the
// fields the collection passes through (field_passthrough,
// include_all_source_fields). No model, no vectors: the cheapest tier, used to
// reshape or subset another collection.
#pragma once

#include <memory>

#include "extract/extractor.h"

namespace strata::extract {

std::unique_ptr<Extractor> MakePassthroughExtractor();

}  // namespace strata::extract
