// face_identity_extractor@v1: one document per face found in an image
// (output_mode per_face), or one per image listing its faces (per_image).
// Faces are found by BlazeFace and described by FaceRes (models/face_models.h;
// MobileFaceNet, also converted, does not tell people apart): a face's
// document holds its box, six keypoints, detection and quality scores, and a
// 1024-d identity vector (cosine), so a
// feature_search by one face's document finds the other photos of the same
// person. Optionally the aligned face crop is stored with the document.
//
// quality_score (0..1) is the geometric mean of three terms, each 0..1:
//   size       the face's shorter side / 80 px, capped at 1 (smaller faces are
//              scaled up for the 112-px model and lose detail);
//   sharpness  v / (v + 100), v the variance of the Laplacian of the centre
//              of the gray, eye-aligned 112-px crop (the usual focus measure);
//   frontal    1 - |nose offset from the eyes' midpoint, along the eye line|
//              / (half the eye distance): 1 for a frontal face, 0 when the
//              nose reaches an eye (a profile).
//
// A string given instead of a blob (a retriever's query) is read as image
// bytes: the best face's identity vector is the query's.
#pragma once

#include <memory>
#include <opencv2/core.hpp>

#include "extract/extractor.h"
#include "extract/models/face_models.h"
#include "media/limits.h"

namespace strata::extract {

class ModelRegistry;

// `models` must outlive the extractor.
std::unique_ptr<Extractor> MakeFaceIdentityExtractor(ModelRegistry& models, const media::MediaLimits& limits);

// The quality score above, for `face` of `image` (8-bit gray, BGR or BGRA).
float FaceQualityScore(const cv::Mat& image, const DetectedFace& face);

}  // namespace strata::extract
