// multimodal_extractor@v1: decomposes a video into segments (split by time, by
// scene cuts or at silences) and writes one document per segment: its times
// and frames, a keyframe thumbnail, the keyframe's visual embedding, the text
// on screen (OCR), the speech of that span (transcribed once for the whole
// file) and a text embedding of transcript + on-screen text, also indexed for
// full-text search. An audio file becomes one document per group of
// transcript segments.
//
// The video streams through the decoder once; segments are written as they
// close, so memory stays flat on long files. A string given instead of a blob
// (what a retriever's search does with its query) is embedded as text, or, when
// it is the bytes of an image, as an image.
#pragma once

#include <memory>

#include "extract/extractor.h"
#include "media/limits.h"

namespace strata::extract {

class ModelRegistry;

// `models` must outlive the extractor.
std::unique_ptr<Extractor> MakeMultimodalExtractor(ModelRegistry& models, const media::MediaLimits& limits);

}  // namespace strata::extract
