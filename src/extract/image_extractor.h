// image_extractor@v1: one document per image (JPEG, PNG, WebP, GIF's first
// frame, TIFF, BMP). Writes its size, format, EXIF facts, a perceptual hash,
// the objects in it (CenterNet) with a caption naming them, the text read in
// it (Tesseract OCR, confident words only), the faces found (BlazeFace), a
// JPEG thumbnail (a blob of the document), and vectors: the image model's
// embedding (`model`, MobileNetV2 by default, or a CLIP-style folder), hand-
// made visual features, the perceptual hash as a ±1 vector (near-duplicate
// search by cosine), and a text embedding of the caption and OCR text, which
// are also indexed for full-text search. visual_description.h has the fields
// it shares with video keyframes.
//
// A string given instead of a blob (a retriever's query) is decoded as an
// image when its bytes are one (the same image vectors as a document, and the
// text vector of its OCR text only: no object detection at query time), else
// embedded as text (the text vector, and a CLIP model's text tower).
#pragma once

#include <memory>

#include "extract/extractor.h"
#include "media/limits.h"

namespace strata::extract {

class ModelRegistry;

// `models` must outlive the extractor.
std::unique_ptr<Extractor> MakeImageExtractor(ModelRegistry& models, const media::MediaLimits& limits);

}  // namespace strata::extract
