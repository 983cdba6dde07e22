// text_extractor@v1: splits text into chunks (characters, words, sentences,
// paragraphs, or none), and for each chunk writes its text, position and
// language, a dense embedding from the configured model (GloVe 100-d with SIF
// weighting by default), and a full-text (BM25) entry.
#pragma once

#include <memory>

#include "extract/extractor.h"

namespace strata::extract {

class ModelRegistry;

// `models` must outlive the extractor.
std::unique_ptr<Extractor> MakeTextExtractor(ModelRegistry& models);

}  // namespace strata::extract
