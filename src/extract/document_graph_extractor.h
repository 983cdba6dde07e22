// document_graph_extractor@v1: one document per layout block of a PDF
// (header, paragraph, table, list, footer) with its text, page number, box
// in points and a confidence; pages without a text layer are read by OCR;
// every block carries its page's rendered image (a JPEG, stored once per
// page by content addressing) and a text embedding, and its text goes to the
// full-text index. The layout rules are in media/pdf_layout.h.
#pragma once

#include <memory>

#include "extract/extractor.h"
#include "media/limits.h"

namespace strata::extract {

class ModelRegistry;

// `models` must outlive the extractor.
std::unique_ptr<Extractor> MakeDocumentGraphExtractor(ModelRegistry& models, const media::MediaLimits& limits);

}  // namespace strata::extract
