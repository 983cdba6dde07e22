// MobileNetV2 (1.4 width, 224x224) image embeddings: the 1792-d feature
// vector of the TF-Hub MobileNetV2 inside nsfwjs 4.4.0's mobilenet_v2_mid
// graph, converted to ONNX by scripts/tfjs_to_onnx.py and run with ONNX
// Runtime on the CPU. Registry name "mobilenet-v2", model id (name())
// "mobilenet_v2_1792".
//
// The model folder (scripts/fetch_tfjs.sh fills .cache/models/mobilenet-v2)
// holds model.onnx and config.json:
//   backend      "tfjs-onnx"
//   task         "image_embedding"
//   model        the ONNX file (default "model.onnx")
//   dimensions   the vector size (default 1792; checked against the model)
//   batch_size   images per model run (default 32)
//   threads      ONNX Runtime intra-op threads (default: one per core)
//
// Pre-processing, as nsfwjs's classify() feeds the graph (and config.json
// says): RGB order, float32 pixel / 255 (range [0, 1]), then
// tf.image.resizeBilinear to 224x224 with alignCorners = true: the image is
// stretched to a square, not cropped or letterboxed. Input `images` is NHWC
// [N, 224, 224, 3]; all the images of a call go through one run (split only
// above batch_size). The output `embedding` (feature_vector/SpatialSqueeze,
// after global average pooling and ReLU6, so all values >= 0) is returned
// L2-normalised: unit vectors, so cosine similarity is a dot product.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"
#include "extract/models/image_embedder.h"

namespace strata::extract {

// The config.json "task" of an image embedding model folder.
inline constexpr const char* kImageEmbeddingTask = "image_embedding";

class ImageModelSession;

class MobilenetEmbedder final : public ImageEmbedder {
 public:
  static constexpr int kInputSize = 224;
  static constexpr int kDimensions = 1792;

  // Errors: a missing model file or ONNX Runtime is Unavailable; a broken
  // config or a model that does not take or give what MobileNetV2 does is
  // Internal; all name the model.
  static Result<std::unique_ptr<MobilenetEmbedder>> Load(const std::string& model_name,
                                                         const std::string& folder, const Json& config);
  ~MobilenetEmbedder() override;

  const std::string& name() const override { return name_; }
  int dimensions() const override { return dimensions_; }
  std::string fingerprint() const override { return fingerprint_; }
  // Invalid (naming the image's index) for an empty image or one of an
  // unsupported layout; any size from 1x1 up is accepted. Thread-safe.
  Result<std::vector<std::vector<float>>> EmbedImages(const std::vector<cv::Mat>& bgr) override;

  // The model input for one image (224 * 224 * 3 floats, NHWC), as the
  // reference builds it; exposed for tests.
  static Status Preprocess(const cv::Mat& bgr, const std::string& what, float* out);

 private:
  MobilenetEmbedder() = default;

  std::string name_ = "mobilenet_v2_1792";
  std::string model_name_;
  std::string fingerprint_;
  int dimensions_ = kDimensions;
  int batch_size_ = 32;
  std::unique_ptr<ImageModelSession> session_;
};

// Makes the embedder of a "tfjs-onnx" folder whose task is "image_embedding"
// (ModelRegistry's entry point).
Result<std::unique_ptr<ImageEmbedder>> MakeMobilenetEmbedder(const std::string& model_name,
                                                             const std::string& folder, const Json& config);

}  // namespace strata::extract
