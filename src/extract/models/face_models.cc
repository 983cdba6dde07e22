#include "extract/models/face_models.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <opencv2/imgproc.hpp>

#include "extract/models/embedder_config.h"
#include "extract/models/onnx_session.h"
#include "extract/models/ort_session.h"
#include "extract/models/use_embedder.h"  // kTfjsOnnxBackend

namespace strata::extract {

namespace fs = std::filesystem;

// ---- the ONNX Runtime session -----------------------------------------------

// OnnxSession (onnx_session.h) feeds int64 text inputs only; the face models
// take one float32 NHWC image batch and give several float outputs, so this
// runs them directly on the C API.
class FaceOnnxSession {
 public:
  static Result<std::unique_ptr<FaceOnnxSession>> Open(const std::string& model_name, const std::string& path,
                                                       int threads);
  const OnnxTensorInfo& input() const { return input_; }
  const std::vector<OnnxTensorInfo>& outputs() const { return outputs_; }
  // Runs `data` (row-major, of `shape`) and returns the named float outputs.
  Result<std::vector<FloatTensor>> Run(const std::vector<float>& data, const std::vector<int64_t>& shape,
                                       const std::vector<std::string>& outputs) const;

 private:
  FaceOnnxSession() = default;
  Status Describe();

  std::unique_ptr<OrtModelSession> ort_;
  OnnxTensorInfo input_;
  std::vector<OnnxTensorInfo> outputs_;
};

Result<std::unique_ptr<FaceOnnxSession>> FaceOnnxSession::Open(const std::string& model_name,
                                                               const std::string& path, int threads) {
  std::unique_ptr<FaceOnnxSession> s(new FaceOnnxSession);
  ASSIGN_OR_RETURN(s->ort_, OrtModelSession::Open("model " + model_name, path, threads));
  RETURN_IF_ERROR(s->Describe());
  return s;
}

#if !STRATA_HAVE_ORT_API

// Built without the C API header: OrtModelSession::Open fails, and nothing else runs.
Status FaceOnnxSession::Describe() { return Status::Ok(); }
Result<std::vector<FloatTensor>> FaceOnnxSession::Run(const std::vector<float>&, const std::vector<int64_t>&,
                                                      const std::vector<std::string>&) const {
  return Status::Internal("ONNX Runtime is not available in this build");
}

#else

// Reads the one input and every output: name, element type, shape.
Status FaceOnnxSession::Describe() {
  const OrtModelSession& ort = *ort_;
  std::vector<OnnxTensorInfo> inputs;
  RETURN_IF_ERROR(ort.ReadSignature(inputs, outputs_));
  if (inputs.size() != 1 || !inputs[0].is_float || inputs[0].shape.size() != 4 || inputs[0].shape[3] != 3) {
    return ort.Error("model.onnx must take exactly one float32 NHWC image input [N, H, W, 3]");
  }
  input_ = inputs[0];
  return Status::Ok();
}

Result<std::vector<FloatTensor>> FaceOnnxSession::Run(const std::vector<float>& data,
                                                      const std::vector<int64_t>& shape,
                                                      const std::vector<std::string>& outputs) const {
  const OrtModelSession& ort = *ort_;
  const OrtApi* api = ort.api();
  Owned<OrtValue> input(api->ReleaseValue);
  // The tensor borrows `data`, which outlives the Run below.
  RETURN_IF_ERROR(ort.Check(api->CreateTensorWithDataAsOrtValue(
                                ort.cpu(), const_cast<float*>(data.data()), data.size() * sizeof(float),
                                shape.data(), shape.size(), ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, input.out()),
                            "creating the input"));
  const char* input_name = input_.name.c_str();
  const OrtValue* inputs[1] = {input.get()};
  std::vector<const char*> names;
  for (const std::string& n : outputs) names.push_back(n.c_str());
  std::vector<OrtValue*> results(outputs.size(), nullptr);
  OrtStatus* run =
      api->Run(ort.session(), nullptr, &input_name, inputs, 1, names.data(), names.size(), results.data());
  // Each result is released however the reading below ends.
  std::vector<std::unique_ptr<Owned<OrtValue>>> owned;
  for (OrtValue*& r : results) {
    owned.push_back(std::make_unique<Owned<OrtValue>>(api->ReleaseValue));
    *owned.back()->out() = r;
  }
  RETURN_IF_ERROR(ort.Check(run, "running"));

  std::vector<FloatTensor> out(outputs.size());
  for (size_t k = 0; k < outputs.size(); ++k) {
    Owned<OrtTensorTypeAndShapeInfo> info(api->ReleaseTensorTypeAndShapeInfo);
    RETURN_IF_ERROR(ort.Check(api->GetTensorTypeAndShape(results[k], info.out()), "reading " + outputs[k]));
    ONNXTensorElementDataType element = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    RETURN_IF_ERROR(ort.Check(api->GetTensorElementType(info.get(), &element), "reading " + outputs[k]));
    if (element != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
      return ort.Error("output " + outputs[k] + " is not float32");
    }
    size_t rank = 0;
    RETURN_IF_ERROR(ort.Check(api->GetDimensionsCount(info.get(), &rank), "reading " + outputs[k]));
    out[k].shape.resize(rank);
    RETURN_IF_ERROR(ort.Check(api->GetDimensions(info.get(), out[k].shape.data(), rank), "reading " + outputs[k]));
    size_t count = 1;
    for (int64_t d : out[k].shape) count *= static_cast<size_t>(std::max<int64_t>(d, 0));
    void* raw = nullptr;
    RETURN_IF_ERROR(ort.Check(api->GetTensorMutableData(results[k], &raw), "reading " + outputs[k]));
    out[k].data.resize(count);
    if (count > 0) std::memcpy(out[k].data.data(), raw, count * sizeof(float));
  }
  return out;
}

#endif  // STRATA_HAVE_ORT_API

namespace {

Result<fs::path> ModelFile(const std::string& model_name, const std::string& folder, const std::string& file) {
  const fs::path path = fs::path(folder) / file;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return Status::Unavailable("model " + model_name + ": " + path.string() +
                               " is missing (run scripts/fetch_tfjs.sh)");
  }
  return path;
}

void CheckHeader(ConfigFields& f, const char* task) {
  if (f.String("backend", kTfjsOnnxBackend) != kTfjsOnnxBackend) {
    f.Error("backend", std::string("must be \"") + kTfjsOnnxBackend + "\"");
  }
  if (f.String("task", task) != task) f.Error("task", std::string("must be \"") + task + "\"");
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s;
  for (int64_t d : shape) s += (s.empty() ? "" : ", ") + std::to_string(d);
  return "[" + s + "]";
}

// `image` (gray, BGR or BGRA, OpenCV's orders) as 8-bit RGB, the models' order.
cv::Mat ToRgb(const cv::Mat& image) {
  cv::Mat rgb;
  if (image.channels() == 1) {
    cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
  } else if (image.channels() == 4) {
    cv::cvtColor(image, rgb, cv::COLOR_BGRA2RGB);
  } else {
    cv::cvtColor(image, rgb, cv::COLOR_BGR2RGB);
  }
  return rgb;
}

bool Usable(const cv::Mat& image) {
  return !image.empty() && image.depth() == CV_8U &&
         (image.channels() == 1 || image.channels() == 3 || image.channels() == 4);
}

// TensorFlow's intersection over union (tfjs-core non_max_suppression_impl.js,
// intersectionOverUnion): 0 when either box is empty.
float Iou(const DetectedFace& a, const DetectedFace& b) {
  const float area_a = (a.x2 - a.x1) * (a.y2 - a.y1);
  const float area_b = (b.x2 - b.x1) * (b.y2 - b.y1);
  if (area_a <= 0 || area_b <= 0) return 0;
  const float iw = std::max(0.f, std::min(a.x2, b.x2) - std::max(a.x1, b.x1));
  const float ih = std::max(0.f, std::min(a.y2, b.y2) - std::max(a.y1, b.y1));
  const float inter = iw * ih;
  return inter / (area_a + area_b - inter);
}

constexpr const char* kDetectorOutputs[4] = {"scores_16", "boxes_16", "scores_8", "boxes_8"};

}  // namespace

// ---- BlazeFace ------------------------------------------------------------------

FaceDetector::FaceDetector() = default;
FaceDetector::~FaceDetector() = default;

// Human's generateAnchors (src/face/facemeshutil.ts), itself MediaPipe's
// SsdAnchorsCalculator for the face detector (strides 16 and 32 of a 256
// input: 16x16 and 8x8 cells; 2 and 6 anchors per cell, all
// of size 1, so only the centres matter): (cell + 0.5) * stride.
std::vector<cv::Point2f> FaceDetector::Anchors(int input_size) {
  std::vector<cv::Point2f> anchors;
  const int strides[2] = {input_size / 16, input_size / 8};
  const int per_cell[2] = {2, 6};
  for (int i = 0; i < 2; ++i) {
    const int stride = strides[i];
    const int cells = (input_size + stride - 1) / stride;
    for (int gy = 0; gy < cells; ++gy) {
      for (int gx = 0; gx < cells; ++gx) {
        for (int n = 0; n < per_cell[i]; ++n) {
          anchors.emplace_back(static_cast<float>(stride * (gx + 0.5)), static_cast<float>(stride * (gy + 0.5)));
        }
      }
    }
  }
  return anchors;
}

// The image is padded with black to a square (bottom and right) so faces keep
// their shape: Human stretches the whole image to 256 x 256 (blazeface.ts,
// getBoxes), MediaPipe's face detection graph keeps the aspect ratio
// (ImageToTensorCalculator, keep_aspect_ratio) and BlazeFace was trained on
// undistorted faces. The resize is TensorFlow's resizeBilinear as Human calls
// it (align_corners and half_pixel_centers false: source = destination *
// in/out, the 2x2 neighbours blended), written out here so the pixels match
// the reference exactly. Scaling: pixel / 127.5 - 1, the [-1, 1] range of
// MediaPipe's BlazeFace (and of the converted model's config.json). Human
// feeds pixel / 127.5 - 0.5 instead; on the real photos of the tests both give
// the same boxes within 2 pixels and scores within 0.02, and [-1, 1] is what
// the model was trained with.
std::vector<float> FaceDetector::Preprocess(const cv::Mat& image) const {
  const int size = input_size_;
  std::vector<float> out(static_cast<size_t>(size) * size * 3, -1.f);
  if (!Usable(image)) return out;
  const cv::Mat rgb = ToRgb(image);
  const int w = rgb.cols, h = rgb.rows, side = std::max(w, h);
  const double ratio = static_cast<double>(side) / size;
  std::vector<int> x0(size), x1(size);
  std::vector<double> fx(size);
  for (int x = 0; x < size; ++x) {
    const double sx = ratio * x;
    x0[x] = static_cast<int>(std::floor(sx));
    x1[x] = std::min(side - 1, static_cast<int>(std::ceil(sx)));
    fx[x] = sx - x0[x];
  }
  auto at = [&](int y, int x, int c) -> double {
    return (y < h && x < w) ? rgb.ptr<uint8_t>(y)[3 * x + c] : 0.0;  // the padding is black
  };
  const float scale = static_cast<float>(1 / 127.5);
  for (int y = 0; y < size; ++y) {
    const double sy = ratio * y;
    const int y0 = static_cast<int>(std::floor(sy));
    const int y1 = std::min(side - 1, static_cast<int>(std::ceil(sy)));
    const double fy = sy - y0;
    float* row = out.data() + static_cast<size_t>(y) * size * 3;
    for (int x = 0; x < size; ++x) {
      for (int c = 0; c < 3; ++c) {
        const double tl = at(y0, x0[x], c), tr = at(y0, x1[x], c);
        const double bl = at(y1, x0[x], c), br = at(y1, x1[x], c);
        const double top = tl + (tr - tl) * fx[x];
        const double bottom = bl + (br - bl) * fx[x];
        const float v = static_cast<float>(top + (bottom - top) * fy);
        row[3 * x + c] = v * scale - 1.f;
      }
    }
  }
  return out;
}

Result<std::unique_ptr<FaceDetector>> FaceDetector::Load(const std::string& model_name, const std::string& folder,
                                                         const Json& config) {
  ConfigFields f(model_name, config);
  CheckHeader(f, kFaceDetectionTask);
  const std::string file = f.String("model", "model.onnx");
  const int threads = f.Int("threads", 0, 0, 1024);
  RETURN_IF_ERROR(f.Finish());
  ASSIGN_OR_RETURN(fs::path path, ModelFile(model_name, folder, file));

  std::unique_ptr<FaceDetector> d(new FaceDetector);
  d->name_ = model_name;
  ASSIGN_OR_RETURN(d->session_, FaceOnnxSession::Open(model_name, path.string(), threads));
  const std::vector<int64_t>& in = d->session_->input().shape;
  if (in[1] != in[2] || in[1] < 32 || in[1] % 32 != 0 || (in[0] != 1 && in[0] != -1)) {
    return Status::Internal("model " + model_name + ": input shape " + ShapeText(in) +
                            " is not BlazeFace's [1, S, S, 3] with S a multiple of 32");
  }
  d->input_size_ = static_cast<int>(in[1]);
  d->anchors_ = Anchors(d->input_size_);
  // A first run checks the outputs against the anchors (and warms the session up).
  const int s = d->input_size_;
  const size_t n16 = static_cast<size_t>(s / 16) * (s / 16) * 2, n8 = static_cast<size_t>(s / 32) * (s / 32) * 6;
  auto run = d->session_->Run(std::vector<float>(static_cast<size_t>(s) * s * 3, 0.f), {1, s, s, 3},
                              {std::begin(kDetectorOutputs), std::end(kDetectorOutputs)});
  if (!run.ok()) {
    return Status::Internal(run.status().message() +
                            " (BlazeFace's outputs are scores_16, boxes_16, scores_8 and boxes_8)");
  }
  const size_t want[4] = {n16, n16 * 16, n8, n8 * 16};
  for (int k = 0; k < 4; ++k) {
    if ((*run)[k].data.size() != want[k]) {
      return Status::Internal("model " + model_name + ": output " + kDetectorOutputs[k] + " has shape " +
                              ShapeText((*run)[k].shape) + ", expected " + std::to_string(want[k]) +
                              " values for the anchors of a " + std::to_string(s) + " input");
    }
  }
  return d;
}

Result<std::vector<DetectedFace>> FaceDetector::Detect(const cv::Mat& image, const FaceDetectOptions& options) const {
  std::vector<DetectedFace> faces;
  if (!Usable(image)) return faces;
  const int s = input_size_;
  ASSIGN_OR_RETURN(auto outputs, session_->Run(Preprocess(image), {1, s, s, 3},
                                               {std::begin(kDetectorOutputs), std::end(kDetectorOutputs)}));
  // Model pixels -> image pixels: one factor, the image was padded to a square.
  const float scale = static_cast<float>(std::max(image.cols, image.rows)) / static_cast<float>(s);
  std::vector<DetectedFace> candidates;
  size_t anchor = 0;
  for (int grid = 0; grid < 2; ++grid) {
    const std::vector<float>& logits = outputs[2 * grid].data;
    const std::vector<float>& boxes = outputs[2 * grid + 1].data;
    for (size_t i = 0; i < logits.size(); ++i, ++anchor) {
      // MediaPipe clips the logits to +-100 (TensorsToDetectionsCalculator,
      // score_clipping_thresh) before the sigmoid; Human applies tf.sigmoid.
      const float logit = std::clamp(logits[i], -100.f, 100.f);
      const float score = 1.f / (1.f + std::exp(-logit));
      // tf.image.nonMaxSuppression keeps scores above its score threshold.
      if (!(score > options.min_score)) continue;
      const float* b = boxes.data() + i * 16;
      const cv::Point2f a = anchors_[anchor];
      // Human's decodeBounds: the centre is an offset from the anchor, the
      // size is absolute, both in input pixels.
      const float cx = b[0] + a.x, cy = b[1] + a.y;
      DetectedFace f;
      f.x1 = (cx - b[2] / 2) * scale;
      f.y1 = (cy - b[3] / 2) * scale;
      f.x2 = (cx + b[2] / 2) * scale;
      f.y2 = (cy + b[3] / 2) * scale;
      if (f.width() < options.min_face_size || f.height() < options.min_face_size) continue;
      f.score = score;
      // The keypoints are offsets from the anchor too (MediaPipe's
      // TensorsToDetectionsCalculator; Human's getBoxes keeps them relative to
      // the anchor, as it only uses their differences).
      for (int k = 0; k < kFaceKeypoints; ++k) {
        f.keypoints[k] = {(b[4 + 2 * k] + a.x) * scale, (b[5 + 2 * k] + a.y) * scale};
      }
      candidates.push_back(f);
    }
  }
  // Plain non-maximum suppression, as Human runs tf.image.nonMaxSuppressionAsync:
  // best score first, a box dropped when its IoU with a kept one reaches the
  // threshold. (MediaPipe blends overlapping boxes instead, weighted NMS.)
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const DetectedFace& x, const DetectedFace& y) { return x.score > y.score; });
  for (const DetectedFace& c : candidates) {
    if (static_cast<int>(faces.size()) >= options.max_faces) break;
    bool keep = true;
    for (const DetectedFace& k : faces) {
      if (Iou(c, k) >= options.iou_threshold) {
        keep = false;
        break;
      }
    }
    if (keep) faces.push_back(c);
  }
  return faces;
}

// ---- FaceRes and MobileFaceNet -----------------------------------------------------

FaceEmbedder::FaceEmbedder() = default;
FaceEmbedder::~FaceEmbedder() = default;

// The crop, after Human (src/face/blazeface.ts and facemeshutil.ts): the
// detector's box enlarged 1.2 times about its centre (enlargeBox with
// faceBoxScaleFactor) and made square on its longer side (squarifyBox), cut
// and resized bilinearly (cutAndResize, tf.image.cropAndResize; outside the
// image is black, its extrapolation value 0) to the model's input (Human cuts
// to the mesh model's size, then faceres.ts and mobilefacenet.ts resize that
// to theirs: one resize here). Alignment: Human
// rotates the image about the box centre when the mouth-nose line leans more
// than 0.2 rad (correctFaceRotation, detector.rotation); here the square is
// always turned so that the eyes are level, the usual alignment of face
// recognition models (the eye line is the keypoint pair farthest apart and so
// the least noisy angle), which keeps a tilted head's vector close to the
// upright one's. A face much larger than the crop is first shrunk with
// area averaging, so the bilinear sampling does not alias.
cv::Mat FaceEmbedder::AlignedCrop(const cv::Mat& image, const DetectedFace& face, int size) {
  const int n = std::max(1, size);
  cv::Mat crop(n, n, CV_8UC3, cv::Scalar::all(0));
  if (!Usable(image)) return crop;
  const double cx = (face.x1 + face.x2) / 2.0, cy = (face.y1 + face.y2) / 2.0;
  const double side = 1.2 * std::max(face.width(), face.height());
  if (!(side > 0) || !std::isfinite(side) || !std::isfinite(cx) || !std::isfinite(cy)) return crop;
  const cv::Point2f& le = face.keypoints[kLeftEye];
  const cv::Point2f& re = face.keypoints[kRightEye];
  double angle = (re.x == le.x && re.y == le.y) ? 0.0 : std::atan2(re.y - le.y, re.x - le.x);
  if (!std::isfinite(angle)) angle = 0;
  // Crop pixel (u, v) samples the image at centre + R(angle) * k * ((u, v) +
  // 0.5 - n/2), in continuous coordinates (pixel i spans [i, i + 1]); OpenCV
  // samples at pixel centres, hence the -0.5.
  const double k = side / n, c = std::cos(angle) * k, s = std::sin(angle) * k;
  const double half = n / 2.0 - 0.5;
  cv::Matx23d m(c, -s, cx - 0.5 - (c * half - s * half), s, c, cy - 0.5 - (s * half + c * half));

  // The part of the image the rotated square covers, with a margin.
  double xs[4], ys[4];
  const double corners[4][2] = {{-0.5, -0.5}, {n - 0.5, -0.5}, {-0.5, n - 0.5}, {n - 0.5, n - 0.5}};
  for (int i = 0; i < 4; ++i) {
    xs[i] = m(0, 0) * corners[i][0] + m(0, 1) * corners[i][1] + m(0, 2);
    ys[i] = m(1, 0) * corners[i][0] + m(1, 1) * corners[i][1] + m(1, 2);
  }
  const cv::Rect covered(cv::Point(static_cast<int>(std::floor(*std::min_element(xs, xs + 4))) - 2,
                                   static_cast<int>(std::floor(*std::min_element(ys, ys + 4))) - 2),
                         cv::Point(static_cast<int>(std::ceil(*std::max_element(xs, xs + 4))) + 3,
                                   static_cast<int>(std::ceil(*std::max_element(ys, ys + 4))) + 3));
  const cv::Rect roi = covered & cv::Rect(0, 0, image.cols, image.rows);
  if (roi.empty()) return crop;
  cv::Mat src = ToRgb(image(roi));
  double sx = 1, sy = 1;
  if (k > 1.5) {
    const cv::Size small(std::max(1, static_cast<int>(std::lround(roi.width / k))),
                         std::max(1, static_cast<int>(std::lround(roi.height / k))));
    cv::Mat shrunk;
    cv::resize(src, shrunk, small, 0, 0, cv::INTER_AREA);
    sx = static_cast<double>(small.width) / roi.width;
    sy = static_cast<double>(small.height) / roi.height;
    src = shrunk;
  }
  // Image pixel p maps to (p - roi origin + 0.5) * scale - 0.5 in `src`.
  cv::Matx23d local(m(0, 0) * sx, m(0, 1) * sx, (m(0, 2) - roi.x + 0.5) * sx - 0.5,  //
                    m(1, 0) * sy, m(1, 1) * sy, (m(1, 2) - roi.y + 0.5) * sy - 0.5);
  cv::warpAffine(src, crop, cv::Mat(local), crop.size(), cv::INTER_LINEAR | cv::WARP_INVERSE_MAP,
                 cv::BORDER_CONSTANT, cv::Scalar::all(0));
  return crop;
}

Result<std::unique_ptr<FaceEmbedder>> FaceEmbedder::Load(const std::string& model_name, const std::string& folder,
                                                         const Json& config) {
  ConfigFields f(model_name, config);
  if (f.String("backend", kTfjsOnnxBackend) != kTfjsOnnxBackend) {
    f.Error("backend", std::string("must be \"") + kTfjsOnnxBackend + "\"");
  }
  const std::string task = f.OneOf("task", {kFaceDescriptionTask, kFaceEmbeddingTask}, kFaceDescriptionTask);
  const bool faceres = task == kFaceDescriptionTask;
  const std::string file = f.String("model", "model.onnx");
  const int threads = f.Int("threads", 0, 0, 1024);
  const int dimensions = f.Int("dimensions", faceres ? 1024 : 192, 1, 1 << 16);
  const int batch_size = f.Int("batch_size", 16, 1, 1024);
  RETURN_IF_ERROR(f.Finish());
  ASSIGN_OR_RETURN(fs::path path, ModelFile(model_name, folder, file));

  std::unique_ptr<FaceEmbedder> e(new FaceEmbedder);
  e->name_ = model_name;
  e->dimensions_ = dimensions;
  e->batch_size_ = batch_size;
  // FaceRes reads pixels as they are, 0..255 (Human's faceres.ts, enhance:
  // the 0..1 face tensor times 255); MobileFaceNet reads pixel / 255
  // (mobilefacenet.ts runs the 0..1 face tensor of cutAndResize as it is).
  e->pixel_scale_ = faceres ? 1.f : 1.f / 255;
  ASSIGN_OR_RETURN(e->session_, FaceOnnxSession::Open(model_name, path.string(), threads));
  const std::vector<int64_t>& in = e->session_->input().shape;
  if (in[1] != in[2] || in[1] < 32 || in[1] > 1024) {
    return Status::Internal("model " + model_name + ": input shape " + ShapeText(in) + " is not [N, S, S, 3]");
  }
  e->input_size_ = static_cast<int>(in[1]);
  // FaceRes also gives gender and age: its identity output is "descriptor".
  for (const OnnxTensorInfo& o : e->session_->outputs()) {
    if (o.is_float && (o.name == "descriptor" || o.name == "embedding" || e->session_->outputs().size() == 1)) {
      e->output_ = o.name;
    }
  }
  if (e->output_.empty()) {
    return Status::Internal("model " + model_name + ": model.onnx has no float output \"descriptor\" or "
                            "\"embedding\"");
  }
  // A first run checks the vector size (and warms the session up).
  ASSIGN_OR_RETURN(auto v, e->EmbedCrops({cv::Mat(e->input_size_, e->input_size_, CV_8UC3, cv::Scalar::all(128))}));
  (void)v;
  return e;
}

Result<std::vector<std::vector<float>>> FaceEmbedder::EmbedCrops(const std::vector<cv::Mat>& crops) const {
  std::vector<std::vector<float>> out;
  const int n = input_size_;
  const size_t per = static_cast<size_t>(n) * n * 3;
  for (size_t start = 0; start < crops.size(); start += static_cast<size_t>(batch_size_)) {
    const size_t count = std::min(crops.size() - start, static_cast<size_t>(batch_size_));
    std::vector<float> input(count * per);
    for (size_t i = 0; i < count; ++i) {
      const cv::Mat& c = crops[start + i];
      if (c.rows != n || c.cols != n || c.type() != CV_8UC3) {
        return Status::Internal("face crops of model " + name_ + " must be " + std::to_string(n) + " x " +
                                std::to_string(n) + " 8-bit RGB");
      }
      float* dst = input.data() + i * per;
      for (int y = 0; y < n; ++y) {
        const uint8_t* row = c.ptr<uint8_t>(y);
        for (int x = 0; x < n * 3; ++x) *dst++ = row[x] * pixel_scale_;
      }
    }
    ASSIGN_OR_RETURN(auto result, session_->Run(input, {static_cast<int64_t>(count), n, n, 3}, {output_}));
    const FloatTensor& t = result[0];
    if (t.shape.size() != 2 || t.shape[0] != static_cast<int64_t>(count) || t.shape[1] != dimensions_) {
      return Status::Internal("model " + name_ + ": output has shape " + ShapeText(t.shape) + " for " +
                              std::to_string(count) + " faces; expected [" + std::to_string(count) + ", " +
                              std::to_string(dimensions_) + "] (config.json: dimensions)");
    }
    for (size_t i = 0; i < count; ++i) {
      std::vector<float> v(t.data.begin() + static_cast<ptrdiff_t>(i * dimensions_),
                           t.data.begin() + static_cast<ptrdiff_t>((i + 1) * dimensions_));
      // L2-normalised, so cosine search compares directions: FaceRes's
      // descriptor is not normalised (Human compares descriptors by Euclidean
      // distance, match.ts), MobileFaceNet's graph ends in a normalisation.
      double norm = 0;
      for (float x : v) norm += static_cast<double>(x) * x;
      if (norm > 0) {
        const float inv = static_cast<float>(1 / std::sqrt(norm));
        for (float& x : v) x *= inv;
      }
      out.push_back(std::move(v));
    }
  }
  return out;
}

Result<std::vector<std::vector<float>>> FaceEmbedder::Embed(const cv::Mat& image,
                                                            const std::vector<DetectedFace>& faces) const {
  std::vector<cv::Mat> crops;
  crops.reserve(faces.size());
  for (const DetectedFace& f : faces) crops.push_back(Crop(image, f));
  return EmbedCrops(crops);
}

float FaceCosine(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty()) return 0;
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  if (na <= 0 || nb <= 0) return 0;
  return static_cast<float>(dot / std::sqrt(na * nb));
}

}  // namespace strata::extract
