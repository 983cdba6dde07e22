#include "extract/models/object_detector.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "extract/models/embedder_config.h"
#include "extract/models/image_model_session.h"
#include "extract/models/tfjs_image_input.h"
#include "extract/models/use_embedder.h"  // kTfjsOnnxBackend

namespace strata::extract {

namespace fs = std::filesystem;

namespace {
constexpr const char* kInputName = "images";
constexpr const char* kOutputName = "detections";
constexpr int kRowValues = 6;  // x1, y1, x2, y2, score, class

// tfjs-core's intersectionOverUnion: corners in either order, 0 for an empty
// box, in double precision over the float32 coordinates.
double Iou(const RawDetection& a, const RawDetection& b) {
  const double ax1 = std::min(a.x1, a.x2), ax2 = std::max(a.x1, a.x2);
  const double ay1 = std::min(a.y1, a.y2), ay2 = std::max(a.y1, a.y2);
  const double bx1 = std::min(b.x1, b.x2), bx2 = std::max(b.x1, b.x2);
  const double by1 = std::min(b.y1, b.y2), by2 = std::max(b.y1, b.y2);
  const double area_a = (ay2 - ay1) * (ax2 - ax1), area_b = (by2 - by1) * (bx2 - bx1);
  if (area_a <= 0 || area_b <= 0) return 0.0;
  const double inter = std::max(std::min(ay2, by2) - std::max(ay1, by1), 0.0) *
                       std::max(std::min(ax2, bx2) - std::max(ax1, bx1), 0.0);
  return inter / (area_a + area_b - inter);
}

}  // namespace

const std::vector<std::string>& CocoLabels() {
  static const std::vector<std::string> labels = {
      "person",        "bicycle",      "car",           "motorcycle",    "airplane",     "bus",
      "train",         "truck",        "boat",          "traffic light", "fire hydrant", "stop sign",
      "parking meter", "bench",        "bird",          "cat",           "dog",          "horse",
      "sheep",         "cow",          "elephant",      "bear",          "zebra",        "giraffe",
      "backpack",      "umbrella",     "handbag",       "tie",           "suitcase",     "frisbee",
      "skis",          "snowboard",    "sports ball",   "kite",          "baseball bat", "baseball glove",
      "skateboard",    "surfboard",    "tennis racket", "bottle",        "wine glass",   "cup",
      "fork",          "knife",        "spoon",         "bowl",          "banana",       "apple",
      "sandwich",      "orange",       "broccoli",      "carrot",        "hot dog",      "pizza",
      "donut",         "cake",         "chair",         "couch",         "potted plant", "bed",
      "dining table",  "toilet",       "tv",            "laptop",        "mouse",        "remote",
      "keyboard",      "cell phone",   "microwave",     "oven",          "toaster",      "sink",
      "refrigerator",  "book",         "clock",         "vase",          "scissors",     "teddy bear",
      "hair drier",    "toothbrush"};
  return labels;
}

std::vector<size_t> NonMaxSuppression(const std::vector<RawDetection>& rows, int max_output,
                                      double iou_threshold, double score_threshold) {
  std::vector<size_t> candidates;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (double(rows[i].score) > score_threshold) candidates.push_back(i);
  }
  // Strongest first; equal scores: lower index first (tfjs's comparator).
  std::stable_sort(candidates.begin(), candidates.end(),
                   [&](size_t a, size_t b) { return rows[a].score > rows[b].score; });
  std::vector<size_t> kept;
  for (size_t c : candidates) {
    if (static_cast<int>(kept.size()) >= max_output) break;
    bool suppressed = false;
    for (auto k = kept.rbegin(); k != kept.rend() && !suppressed; ++k) {
      suppressed = Iou(rows[c], rows[*k]) >= iou_threshold;
    }
    if (!suppressed) kept.push_back(c);
  }
  return kept;
}

CenterNetDetector::~CenterNetDetector() = default;

Result<std::vector<Detection>> CenterNetDetector::DetectOne(const cv::Mat& bgr, const std::string& what,
                                                            float min_score, int max_detections) const {
  ASSIGN_OR_RETURN(cv::Mat rgb, ToRgb8(bgr, what));
  std::vector<float> input(size_t{kInputSize} * kInputSize * 3);
  // Human: tf.image.resizeBilinear(input, [512, 512]) of the 0..255 pixels.
  ResizeBilinearTfjs(rgb, kInputSize, kInputSize, /*align_corners=*/false, 1.0, input.data());
  ASSIGN_OR_RETURN(std::vector<FloatTensor> result,
                   session_->Run(kInputName, input, {1, kInputSize, kInputSize, 3}, {kOutputName}));
  const FloatTensor& det = result[0];
  if (det.shape.size() != 3 || det.shape[0] != 1 || det.shape[2] != kRowValues) {
    return Status::Internal("model " + model_name_ + ": output detections is not [1, N, 6]");
  }
  const int n_labels = static_cast<int>(CocoLabels().size());
  std::vector<RawDetection> rows(static_cast<size_t>(det.shape[1]));
  for (size_t i = 0; i < rows.size(); ++i) {
    const float* v = det.data.data() + i * kRowValues;
    const float cls = v[5];
    rows[i] = {v[0], v[1], v[2], v[3], v[4],
               std::isfinite(cls) ? static_cast<int>(std::lround(cls)) : -1};
    if (rows[i].class_id < 0 || rows[i].class_id >= n_labels || !std::isfinite(v[4])) rows[i].score = -1;
  }
  const std::vector<size_t> kept = NonMaxSuppression(rows, max_detections, kIouThreshold, min_score);
  // Stretched, not letterboxed: each axis scales back on its own.
  const double sx = double(rgb.cols) / kInputSize, sy = double(rgb.rows) / kInputSize;
  auto clip = [](double v, double hi) { return std::clamp(v, 0.0, hi); };
  std::vector<Detection> out;
  for (size_t i : kept) {
    const RawDetection& r = rows[i];
    const double left = clip(r.x1 * sx, rgb.cols), right = clip(r.x2 * sx, rgb.cols);
    const double top = clip(r.y1 * sy, rgb.rows), bottom = clip(r.y2 * sy, rgb.rows);
    Detection d;
    d.class_id = r.class_id;
    d.label = CocoLabels()[static_cast<size_t>(r.class_id)];
    d.score = r.score;
    d.box = cv::Rect2f(static_cast<float>(left), static_cast<float>(top), static_cast<float>(right - left),
                       static_cast<float>(bottom - top));
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::vector<std::vector<Detection>>> CenterNetDetector::Detect(const std::vector<cv::Mat>& bgr,
                                                                      float min_score, int max_detections) {
  if (!(min_score >= 0.0f && min_score <= 1.0f)) {
    return Status::Invalid("min_score", "min_score must be in [0, 1]");
  }
  if (max_detections < 1) return Status::Invalid("max_detections", "max_detections must be at least 1");
  std::vector<std::vector<Detection>> out;
  out.reserve(bgr.size());
  // The graph takes one image a run ([1, 512, 512, 3]).
  for (size_t i = 0; i < bgr.size(); ++i) {
    ASSIGN_OR_RETURN(std::vector<Detection> d,
                     DetectOne(bgr[i], "image " + std::to_string(i), min_score, max_detections));
    out.push_back(std::move(d));
  }
  return out;
}

Result<std::unique_ptr<CenterNetDetector>> CenterNetDetector::Load(const std::string& model_name,
                                                                   const std::string& folder,
                                                                   const Json& config) {
  ConfigFields f(model_name, config);
  const std::string backend = f.String("backend", kTfjsOnnxBackend);
  if (backend != kTfjsOnnxBackend) f.Error("backend", std::string("must be \"") + kTfjsOnnxBackend + "\"");
  const std::string task = f.String("task", kObjectDetectionTask);
  if (task != kObjectDetectionTask) {
    f.Error("task", std::string("must be \"") + kObjectDetectionTask + "\" for CenterNet");
  }
  const std::string model_file = f.String("model", "model.onnx");
  const int threads = f.Int("threads", 0, 0, 1024);
  RETURN_IF_ERROR(f.Finish());

  const fs::path model = fs::path(folder) / model_file;
  std::error_code ec;
  if (!fs::is_regular_file(model, ec)) {
    return Status::Unavailable("model " + model_name + ": " + model.string() +
                               " is missing (run scripts/fetch_tfjs.sh)");
  }
  std::unique_ptr<CenterNetDetector> d(new CenterNetDetector);
  d->model_name_ = model_name;
  ASSIGN_OR_RETURN(d->session_, ImageModelSession::Open(model_name, model.string(), threads));
  const OnnxTensorInfo* in = d->session_->Input(kInputName);
  const OnnxTensorInfo* out = d->session_->Output(kOutputName);
  const bool input_ok = in != nullptr && in->is_float && in->shape.size() == 4 && in->shape[0] <= 1 &&
                        in->shape[1] == kInputSize && in->shape[2] == kInputSize && in->shape[3] == 3;
  if (!input_ok || out == nullptr || !out->is_float) {
    return Status::Internal("model " + model_name + ": " + model.string() +
                            " must take float `images` [1, 512, 512, 3] and give float `detections` "
                            "[1, 100, 6] (the CenterNet of scripts/tfjs_to_onnx.py)");
  }
  return d;
}

Result<std::unique_ptr<ObjectDetector>> MakeObjectDetector(const std::string& model_name,
                                                           const std::string& folder, const Json& config) {
  ASSIGN_OR_RETURN(std::unique_ptr<CenterNetDetector> d, CenterNetDetector::Load(model_name, folder, config));
  return std::unique_ptr<ObjectDetector>(std::move(d));
}

}  // namespace strata::extract
