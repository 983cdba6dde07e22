// image_extractor@v1: one document per image (JPEG, PNG, WebP, GIF's first
// frame, TIFF, BMP). Writes its size, format, EXIF facts, a perceptual hash,
// the text read in it (Tesseract OCR) and the faces found (Haar cascade), a
// JPEG thumbnail (a blob of the document), and three vectors: a visual
// embedding ("looks like"), the perceptual hash as a ±1 vector (near-duplicate
// search by cosine), and a text embedding of the OCR text. The OCR text is also
// indexed for full-text search. With `model` naming a neural image model of
// the models directory (ModelRegistry::GetImageEmbedder), its vector is
// written too.
//
// A string given instead of a blob (a retriever's query) is decoded as an
// image when its bytes are one (visual and hash vectors, and the text vector
// of what OCR reads in it), else embedded as text (the text vector).
#pragma once

#include <memory>

#include "extract/extractor.h"
#include "media/limits.h"

namespace strata::extract {

class ModelRegistry;

// `models` must outlive the extractor.
std::unique_ptr<Extractor> MakeImageExtractor(ModelRegistry& models, const media::MediaLimits& limits);

}  // namespace strata::extract
