#include "media/faces.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

namespace strata::media {

namespace {

constexpr const char* kCascade = "haarcascade_frontalface_default.xml";

std::string FindCascade() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("OPENCV_HAARCASCADES"); env != nullptr && *env != '\0') dirs.push_back(env);
  for (const char* d : {"/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades",
                        "/usr/local/share/opencv4/haarcascades"}) {
    dirs.push_back(d);
  }
  std::error_code ec;
  for (const auto& d : dirs) {
    std::string p = d + "/" + kCascade;
    if (std::filesystem::is_regular_file(p, ec)) return p;
  }
  return "";
}

class HaarFaceDetector : public FaceDetector {
 public:
  explicit HaarFaceDetector(cv::CascadeClassifier cascade) : cascade_(std::move(cascade)) {}

  Result<std::vector<FaceBox>> Detect(const cv::Mat& image, const FaceOptions& options) override {
    std::vector<FaceBox> out;
    if (image.empty()) return out;
    cv::Mat gray;
    switch (image.channels()) {
      case 1: gray = image; break;
      case 3: cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY); break;
      case 4: cv::cvtColor(image, gray, cv::COLOR_BGRA2GRAY); break;
      default: return Status::Invalid("image", "face detection takes a gray or BGR image", "value_error");
    }
    if (gray.depth() != CV_8U) gray.convertTo(gray, CV_8U);
    double scale = 1;
    int longest = std::max(gray.cols, gray.rows);
    if (options.max_side > 0 && longest > options.max_side) {
      scale = static_cast<double>(options.max_side) / longest;
      cv::resize(gray, gray, cv::Size(), scale, scale, cv::INTER_AREA);
    }
    // Histogram equalisation: the cascade was trained on normalised patches,
    // and it evens out under- and over-exposed photos (OpenCV's facedetect sample).
    cv::equalizeHist(gray, gray);
    int min_side = std::max(1, static_cast<int>(std::lround(options.min_face_size * scale)));
    min_side = std::max(min_side, 20);  // the cascade's own window is 24 × 24; smaller is never found
    if (gray.cols < min_side || gray.rows < min_side) return out;
    std::vector<cv::Rect> boxes;
    std::vector<int> neighbours;
    try {
      cascade_.detectMultiScale(gray, boxes, neighbours, 1.1, options.min_neighbors, cv::CASCADE_SCALE_IMAGE,
                                cv::Size(min_side, min_side));
    } catch (const cv::Exception& e) {
      return Status::Internal(std::string("face detection failed: ") + e.what());
    }
    const cv::Rect frame(0, 0, image.cols, image.rows);
    for (size_t i = 0; i < boxes.size(); ++i) {
      const cv::Rect& b = boxes[i];
      cv::Rect r(static_cast<int>(std::lround(b.x / scale)), static_cast<int>(std::lround(b.y / scale)),
                 static_cast<int>(std::lround(b.width / scale)), static_cast<int>(std::lround(b.height / scale)));
      int n = i < neighbours.size() ? neighbours[i] : options.min_neighbors;
      out.push_back({r & frame, static_cast<float>(n) / static_cast<float>(n + 5)});
    }
    std::stable_sort(out.begin(), out.end(), [](const FaceBox& a, const FaceBox& b) { return a.score > b.score; });
    return out;
  }

 private:
  cv::CascadeClassifier cascade_;
};

}  // namespace

Result<std::unique_ptr<FaceDetector>> FaceDetector::Create(const std::string& cascade_path) {
  std::string path = cascade_path.empty() ? FindCascade() : cascade_path;
  if (path.empty()) {
    return Status::Unavailable(std::string("face detection needs OpenCV's ") + kCascade +
                               " (install opencv-data or set OPENCV_HAARCASCADES)");
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Status::Unavailable("the face cascade " + path + " is missing");
  cv::CascadeClassifier cascade;
  bool loaded = false;
  try {
    loaded = cascade.load(path);
  } catch (const std::exception&) {  // a malformed file can also end in std::bad_alloc inside OpenCV
    loaded = false;
  }
  if (!loaded || cascade.empty()) return Status::Unavailable("cannot load the face cascade " + path);
  return std::unique_ptr<FaceDetector>(new HaarFaceDetector(std::move(cascade)));
}

}  // namespace strata::media
