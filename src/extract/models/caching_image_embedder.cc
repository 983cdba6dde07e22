#include "extract/models/caching_image_embedder.h"

#include <string_view>
#include <unordered_map>

#include "core/crypto.h"

namespace strata::extract {

std::string ImageCacheText(const cv::Mat& image) {
  Sha256 h;
  const std::string header = std::to_string(image.rows) + "x" + std::to_string(image.cols) + ":" +
                             std::to_string(image.type()) + ";";
  h.Update(header);
  const size_t row_bytes = image.empty() ? 0 : static_cast<size_t>(image.cols) * image.elemSize();
  for (int r = 0; r < image.rows && row_bytes > 0; ++r) {
    h.Update(std::string_view(reinterpret_cast<const char*>(image.ptr(r)), row_bytes));
  }
  return "image:" + h.HexDigest();
}

CachingImageEmbedder::CachingImageEmbedder(std::shared_ptr<ImageEmbedder> inner,
                                           std::shared_ptr<InferenceCache> cache)
    : inner_(std::move(inner)), cache_(std::move(cache)) {}

Result<std::vector<std::vector<float>>> CachingImageEmbedder::EmbedImages(const std::vector<cv::Mat>& bgr) {
  const std::string fp = inner_->fingerprint();
  std::vector<std::vector<float>> out(bgr.size());
  std::vector<std::string> keys(bgr.size());
  constexpr size_t kHit = static_cast<size_t>(-1);
  std::vector<size_t> miss_of(bgr.size(), kHit);
  std::vector<cv::Mat> miss_images;  // headers only: no pixel copies
  std::vector<const std::string*> miss_keys;
  std::unordered_map<std::string_view, size_t> first_miss;  // views into `keys`
  for (size_t i = 0; i < bgr.size(); ++i) {
    // Empty images are the model's to refuse: they are never cached.
    keys[i] = InferenceCache::Key(fp, EmbedRole::kPassage, ImageCacheText(bgr[i]));
    if (!bgr[i].empty() && cache_->Lookup(keys[i], &out[i])) continue;
    auto [it, fresh] = first_miss.emplace(keys[i], miss_images.size());
    if (fresh) {
      miss_images.push_back(bgr[i]);
      miss_keys.push_back(&keys[i]);
    }
    miss_of[i] = it->second;
  }
  if (miss_images.empty()) return out;
  ASSIGN_OR_RETURN(auto vectors, inner_->EmbedImages(miss_images));
  if (vectors.size() != miss_images.size()) {
    return Status::Internal("model " + inner_->name() + " returned " + std::to_string(vectors.size()) +
                            " vectors for " + std::to_string(miss_images.size()) + " images");
  }
  for (size_t i = 0; i < bgr.size(); ++i) {
    if (miss_of[i] != kHit) out[i] = vectors[miss_of[i]];
  }
  for (size_t m = 0; m < vectors.size(); ++m) cache_->Insert(*miss_keys[m], std::move(vectors[m]));
  return out;
}

}  // namespace strata::extract
