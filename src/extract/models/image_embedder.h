// Image embedding models behind one interface, as Embedder (embedder.h) is for
// text: an extractor names a model (ModelRegistry::GetImageEmbedder) and never
// knows which network answers.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/status.h"

namespace strata::extract {

class ImageEmbedder {
 public:
  virtual ~ImageEmbedder() = default;
  // Stable model id, part of feature URIs and cache keys.
  virtual const std::string& name() const = 0;
  virtual int dimensions() const = 0;
  // Everything that changes the vectors besides the pixels (model file,
  // pre-processing, normalisation): part of cache keys.
  virtual std::string fingerprint() const { return name(); }
  // One vector of dimensions() floats per image, in order. Images are decoded
  // OpenCV matrices in BGR order (grayscale and BGRA are accepted too).
  // Thread-safe.
  virtual Result<std::vector<std::vector<float>>> EmbedImages(const std::vector<cv::Mat>& bgr) = 0;
};

}  // namespace strata::extract
