// An ImageEmbedder that answers repeats from the process's InferenceCache
// (the one ModelRegistry shares between all models), as CachingEmbedder
// (inference_cache.h) does for text: the same photo uploaded to many objects,
// or a video's identical frames, reach the model once while cached.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "extract/models/image_embedder.h"
#include "extract/models/inference_cache.h"

namespace strata::extract {

// The cache's "text" for an image: "image:" + SHA-256 of its size, pixel type
// and pixels (rows read one by one, so a view into a larger image hashes as a
// copy of it would).
std::string ImageCacheText(const cv::Mat& image);

class CachingImageEmbedder final : public ImageEmbedder {
 public:
  CachingImageEmbedder(std::shared_ptr<ImageEmbedder> inner, std::shared_ptr<InferenceCache> cache);

  const std::string& name() const override { return inner_->name(); }
  int dimensions() const override { return inner_->dimensions(); }
  std::string fingerprint() const override { return inner_->fingerprint(); }
  // The misses of a batch (each distinct image once) go to the model in one call.
  Result<std::vector<std::vector<float>>> EmbedImages(const std::vector<cv::Mat>& bgr) override;

  const std::shared_ptr<ImageEmbedder>& inner() const { return inner_; }

 private:
  std::shared_ptr<ImageEmbedder> inner_;
  std::shared_ptr<InferenceCache> cache_;
};

}  // namespace strata::extract
