#include "extract/models/mobilenet_embedder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/crypto.h"
#include "extract/models/embedder_config.h"
#include "extract/models/image_model_session.h"
#include "extract/models/tfjs_image_input.h"
#include "extract/models/use_embedder.h"  // kTfjsOnnxBackend

namespace strata::extract {

namespace fs = std::filesystem;

namespace {
constexpr const char* kInputName = "images";
constexpr const char* kOutputName = "embedding";
constexpr size_t kImageFloats = size_t{MobilenetEmbedder::kInputSize} * MobilenetEmbedder::kInputSize * 3;
}  // namespace

MobilenetEmbedder::~MobilenetEmbedder() = default;

Status MobilenetEmbedder::Preprocess(const cv::Mat& bgr, const std::string& what, float* out) {
  ASSIGN_OR_RETURN(cv::Mat rgb, ToRgb8(bgr, what));
  // nsfwjs: img.toFloat().div(255), then resizeBilinear(..., alignCorners = true).
  ResizeBilinearTfjs(rgb, kInputSize, kInputSize, /*align_corners=*/true, 255.0, out);
  return Status::Ok();
}

Result<std::vector<std::vector<float>>> MobilenetEmbedder::EmbedImages(const std::vector<cv::Mat>& bgr) {
  std::vector<std::vector<float>> out;
  out.reserve(bgr.size());
  const size_t batch = static_cast<size_t>(batch_size_);
  for (size_t start = 0; start < bgr.size(); start += batch) {
    const size_t n = std::min(bgr.size(), start + batch) - start;
    std::vector<float> input(n * kImageFloats);
    for (size_t k = 0; k < n; ++k) {
      RETURN_IF_ERROR(Preprocess(bgr[start + k], "image " + std::to_string(start + k),
                                 input.data() + k * kImageFloats));
    }
    const std::vector<int64_t> shape = {static_cast<int64_t>(n), kInputSize, kInputSize, 3};
    ASSIGN_OR_RETURN(std::vector<FloatTensor> result, session_->Run(kInputName, input, shape, {kOutputName}));
    const FloatTensor& e = result[0];
    if (e.shape != std::vector<int64_t>{static_cast<int64_t>(n), dimensions_}) {
      return Status::Internal("model " + model_name_ + ": output " + kOutputName + " has " +
                              std::to_string(e.data.size()) + " values for " + std::to_string(n) +
                              " images; expected " + std::to_string(dimensions_) + " each");
    }
    const size_t dims = static_cast<size_t>(dimensions_);
    for (size_t k = 0; k < n; ++k) {
      std::vector<float> v(e.data.begin() + static_cast<ptrdiff_t>(k * dims),
                           e.data.begin() + static_cast<ptrdiff_t>((k + 1) * dims));
      double norm = 0;
      for (float x : v) norm += double(x) * x;
      // An all-zero feature vector (possible after ReLU6 on a blank image)
      // stays zero rather than becoming NaN.
      if (norm > 0) {
        const float inv = static_cast<float>(1.0 / std::sqrt(norm));
        for (float& x : v) x *= inv;
      }
      out.push_back(std::move(v));
    }
  }
  return out;
}

Result<std::unique_ptr<MobilenetEmbedder>> MobilenetEmbedder::Load(const std::string& model_name,
                                                                   const std::string& folder,
                                                                   const Json& config) {
  ConfigFields f(model_name, config);
  const std::string backend = f.String("backend", kTfjsOnnxBackend);
  if (backend != kTfjsOnnxBackend) f.Error("backend", std::string("must be \"") + kTfjsOnnxBackend + "\"");
  const std::string task = f.String("task", kImageEmbeddingTask);
  if (task != kImageEmbeddingTask) {
    f.Error("task", std::string("must be \"") + kImageEmbeddingTask + "\" for MobileNetV2");
  }
  const std::string model_file = f.String("model", "model.onnx");
  const int dimensions = f.Int("dimensions", kDimensions, 1, 1 << 16);
  const int batch_size = f.Int("batch_size", 32, 1, 1024);
  const int threads = f.Int("threads", 0, 0, 1024);
  RETURN_IF_ERROR(f.Finish());

  const fs::path model = fs::path(folder) / model_file;
  std::error_code ec;
  if (!fs::is_regular_file(model, ec)) {
    return Status::Unavailable("model " + model_name + ": " + model.string() +
                               " is missing (run scripts/fetch_tfjs.sh)");
  }
  std::unique_ptr<MobilenetEmbedder> e(new MobilenetEmbedder);
  e->model_name_ = model_name;
  e->dimensions_ = dimensions;
  e->batch_size_ = batch_size;
  ASSIGN_OR_RETURN(e->session_, ImageModelSession::Open(model_name, model.string(), threads));
  const OnnxTensorInfo* in = e->session_->Input(kInputName);
  const OnnxTensorInfo* out = e->session_->Output(kOutputName);
  const bool input_ok = in != nullptr && in->is_float && in->shape.size() == 4 && in->shape[0] <= 0 &&
                        in->shape[1] == kInputSize && in->shape[2] == kInputSize && in->shape[3] == 3;
  if (!input_ok || out == nullptr || !out->is_float) {
    return Status::Internal("model " + model_name + ": " + model.string() +
                            " must take float `images` [N, 224, 224, 3] and give float `embedding` "
                            "(the MobileNetV2 of scripts/tfjs_to_onnx.py)");
  }
  if (out->shape.size() != 2 || (out->shape[1] > 0 && out->shape[1] != dimensions)) {
    return Status::Internal("model " + model_name + ": output embedding is not [N, " +
                            std::to_string(dimensions) + "] (config.json: dimensions)");
  }
  // Everything that shapes the vectors, and the file's identity (size and
  // modification time: a replaced model changes it).
  Json identity = {{"dimensions", dimensions},
                   {"preprocess", "rgb/255,bilinear-align-corners-224,l2"},
                   {"model", FileStamp(model.string())}};
  e->fingerprint_ = e->name_ + "/tfjs-onnx/" + Sha256Hex(identity.dump()).substr(0, 16);
  return e;
}

Result<std::unique_ptr<ImageEmbedder>> MakeMobilenetEmbedder(const std::string& model_name,
                                                             const std::string& folder, const Json& config) {
  ASSIGN_OR_RETURN(std::unique_ptr<MobilenetEmbedder> e, MobilenetEmbedder::Load(model_name, folder, config));
  return std::unique_ptr<ImageEmbedder>(std::move(e));
}

}  // namespace strata::extract
