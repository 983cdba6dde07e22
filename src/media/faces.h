// Face boxes with OpenCV's frontal-face Haar cascade (Viola–Jones; Debian's
// opencv-data ships haarcascade_frontalface_default.xml). Fast and
// dependency-free, good on frontal, upright, reasonably lit faces; profiles
// and small or tilted faces are missed. One detector per thread: OpenCV's
// CascadeClassifier keeps per-call state and is not thread-safe.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace strata::media {

struct FaceBox {
  cv::Rect bbox;  // in the pixels of the image given to Detect
  // 0..1: n / (n + 5), n = the raw detections merged into this box (the
  // cascade's "neighbours"). Haar cascades give no calibrated probability;
  // the neighbour count is what OpenCV itself thresholds on (minNeighbors),
  // so a box just over the acceptance threshold scores ~0.5 and one found at
  // many scales and offsets approaches 1.
  float score = 0;
};

struct FaceOptions {
  int min_face_size = 24;  // pixels of the image given to Detect (smaller faces are not looked for)
  int min_neighbors = 5;   // raw detections a face needs (OpenCV's minNeighbors)
  // Larger images are scaled down to this longest side for detection (boxes
  // are scaled back): Haar detection time grows with the pixel count, and
  // faces smaller than min_face_size at that scale are rare in photos.
  int max_side = 1024;
};

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  // Unavailable when the cascade file is missing (opencv-data not installed).
  // `cascade_path` "" = find haarcascade_frontalface_default.xml
  // (OPENCV_HAARCASCADES, then the usual install paths).
  static Result<std::unique_ptr<FaceDetector>> Create(const std::string& cascade_path = "");
  // `image`: 8-bit gray, BGR or BGRA. Boxes sorted by score, best first.
  virtual Result<std::vector<FaceBox>> Detect(const cv::Mat& image, const FaceOptions& options = {}) = 0;
};

}  // namespace strata::media
