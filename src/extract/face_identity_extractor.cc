#include "extract/face_identity_extractor.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "extract/extractor_errors.h"
#include "extract/feature_uri.h"
#include "extract/parameters.h"
#include "extract/models/model_registry.h"
#include "media/image.h"
#include "media/image_header.h"

namespace strata::extract {

namespace {

constexpr const char* kName = "face_identity_extractor";
constexpr const char* kVersion = "v1";
constexpr const char* kIdentityModel = "faceres";
constexpr const char* kIdentityOutput = "identity";
constexpr int kIdentityDimensions = 1024;
// Stored crops: the aligned square at the face's own resolution, between 112
// and 256 pixels a side.
constexpr int kMinCropSide = 112;
constexpr int kMaxCropSide = 256;
// The quality score's sharpness is measured on a crop of this size.
constexpr int kQualityCropSide = 112;

Json ParameterSchema() {
  return {
      {"type", "object"},
      {"additionalProperties", false},
      {"properties",
       {{"extractor_type",
         {{"type", "string"}, {"const", "face_identity_extractor"}, {"default", "face_identity_extractor"}}},
        {"detection_model",
         {{"type", "string"},
          {"default", kFaceDetectionModel},
          {"description", "Face detector: 'blazeface' (MediaPipe BlazeFace, the only one available here; SCRFD "
                          "models such as 'scrfd_2.5g' are not)."}}},
        {"min_face_size", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100000}, {"default", 20},
                           {"description", "Smallest face kept, pixels of the image (the box's shorter side)."}}},
        {"detection_threshold", NumberParam(0.5, 0, 1, "Smallest detection_score kept.")},
        {"max_faces_per_image", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}, {"default", 100},
                                 {"description", "Most faces kept per image, best detection_score first."}}},
        {"quality_threshold", NumberParam(0, 0, 1, "Smallest quality_score kept (0 keeps every face).")},
        {"output_mode", {{"type", "string"}, {"enum", {"per_face", "per_image"}}, {"default", "per_face"},
                         {"description", "per_face: one document per face. per_image: one document per image with "
                                         "its faces listed; its identity vector is its best face's."}}},
        {"include_face_crops", {{"type", "boolean"}, {"default", false},
                                {"description", "Store each face's aligned crop (JPEG, eyes level) with its "
                                                "document (document_blobs, field face_crop, role processed)."}}},
        {"max_video_length", NumberParam(60, 0, 86400, "Video only: accepted for compatibility and ignored (this "
                                               "version reads images).")},
        {"video_sampling_fps", NumberParam(1.0, 0, 120, "Video only: accepted for compatibility and ignored.")},
        {"video_deduplication", {{"type", {"boolean", "number"}}, {"default", 0.8},
                                 {"description", "Video only: accepted for compatibility and ignored."}}}}}};
}

double Round1(double v) { return std::round(v * 10) / 10; }
double Round4(double v) { return std::round(v * 10000) / 10000; }

struct Settings {
  FaceDetectOptions detect;
  float quality_threshold = 0;
  bool per_image = false;
  bool crops = false;
};

// One face, described.
struct Face {
  DetectedFace detected;
  float quality = 0;
  std::vector<float> identity;
  std::string crop_jpeg;
};

class FaceRun : public ExtractorRun {
 public:
  FaceRun(Settings s, media::MediaLimits limits, std::shared_ptr<const FaceDetector> detector,
          std::shared_ptr<const FaceEmbedder> embedder)
      : s_(s), limits_(limits), detector_(std::move(detector)), embedder_(std::move(embedder)) {}

  Status Extract(const ExtractItem& item, const Emit& emit) override {
    const InputValue* in = item.Find("image");
    if (in == nullptr || (!in->is_blob() && in->value.is_null())) {
      return Status::Invalid("inputs.image", "the source has no value for input 'image'", "missing");
    }
    if (!in->is_blob()) {
      if (!in->value.is_string()) {
        return Status::Invalid("inputs.image",
                               "input 'image' must be an image file (a blob), got " + std::string(in->value.type_name()),
                               "type_error");
      }
      return ExtractQuery(in->value.get_ref<const std::string&>(), emit);
    }
    auto decoded = media::DecodeImageFile(in->blob_path, limits_);
    if (!decoded.ok()) return AtInput(decoded.status(), "inputs.image");
    const cv::Mat& img = decoded->bgr;
    ASSIGN_OR_RETURN(std::vector<Face> faces, Describe(img));

    if (s_.per_image) {
      ExtractedDocument d = NewDocument(img);
      Json list = Json::array();
      const Face* best = nullptr;
      for (size_t i = 0; i < faces.size(); ++i) {
        Json f = FaceFields(faces[i], static_cast<int>(i), img);
        f.erase("frame_number");
        f.erase("timestamp");
        list.push_back(std::move(f));
        if (best == nullptr || faces[i].quality > best->quality) best = &faces[i];
        if (s_.crops) d.blobs.push_back(CropBlob(faces[i], "face_crop_" + std::to_string(i)));
      }
      d.fields["faces"] = std::move(list);
      d.fields["face_count"] = faces.size();
      if (best != nullptr) d.vectors.emplace_back(StorageName(kName, kVersion, kIdentityOutput), best->identity);
      return emit(std::move(d));
    }
    for (size_t i = 0; i < faces.size(); ++i) {
      ExtractedDocument d = NewDocument(img);
      d.fields.update(FaceFields(faces[i], static_cast<int>(i), img));
      d.fields["face_count"] = faces.size();
      d.position = {{"face_index", static_cast<int>(i)}};
      d.vectors.emplace_back(StorageName(kName, kVersion, kIdentityOutput), std::move(faces[i].identity));
      if (s_.crops) d.blobs.push_back(CropBlob(faces[i], "face_crop"));
      RETURN_IF_ERROR(emit(std::move(d)));
    }
    return Status::Ok();
  }

 private:
  static ExtractedDocument NewDocument(const cv::Mat& img) {
    ExtractedDocument d;
    d.modality = "image";
    d.fields = {{"image_width", img.cols}, {"image_height", img.rows}, {"frame_number", nullptr},
                {"timestamp", nullptr}};
    return d;
  }

  // Detection, quality, identity (one model run for all faces) and crops.
  Result<std::vector<Face>> Describe(const cv::Mat& img) const {
    ASSIGN_OR_RETURN(std::vector<DetectedFace> detected, detector_->Detect(img, s_.detect));
    std::vector<Face> faces;
    std::vector<DetectedFace> kept;
    for (const DetectedFace& f : detected) {
      const float q = FaceQualityScore(img, f);
      if (q < s_.quality_threshold) continue;
      faces.push_back({f, q, {}, {}});
      kept.push_back(f);
    }
    ASSIGN_OR_RETURN(auto vectors, embedder_->Embed(img, kept));
    for (size_t i = 0; i < faces.size(); ++i) {
      faces[i].identity = std::move(vectors[i]);
      if (s_.crops) {
        const DetectedFace& f = faces[i].detected;
        const int side = std::clamp(static_cast<int>(std::lround(1.2 * std::max(f.width(), f.height()))),
                                    kMinCropSide, kMaxCropSide);
        cv::Mat rgb = FaceEmbedder::AlignedCrop(img, f, side), bgr;
        cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
        ASSIGN_OR_RETURN(faces[i].crop_jpeg, media::EncodeThumbnail(bgr, side, 90));
      }
    }
    return faces;
  }

  static Json FaceFields(const Face& face, int index, const cv::Mat& img) {
    const DetectedFace& f = face.detected;
    // The box as the detector sees it, clipped to the image.
    const double w = img.cols, h = img.rows;
    Json bbox = {Round1(std::clamp<double>(f.x1, 0, w)), Round1(std::clamp<double>(f.y1, 0, h)),
                 Round1(std::clamp<double>(f.x2, 0, w)), Round1(std::clamp<double>(f.y2, 0, h))};
    Json landmarks = Json::object();
    for (int k = 0; k < kFaceKeypoints; ++k) {
      landmarks[kFaceKeypointNames[k]] = {Round1(f.keypoints[k].x), Round1(f.keypoints[k].y)};
    }
    return {{"face_index", index},
            {"bbox", std::move(bbox)},
            {"landmarks", std::move(landmarks)},
            {"detection_score", Round4(f.score)},
            {"quality_score", Round4(face.quality)},
            {"frame_number", nullptr},
            {"timestamp", nullptr}};
  }

  static ExtractedBlob CropBlob(const Face& face, const std::string& field) {
    ExtractedBlob b;
    b.field = field;
    b.role = "processed";
    b.type = "image";
    b.mime_type = "image/jpeg";
    b.filename = field + ".jpg";
    b.bytes = face.crop_jpeg;
    return b;
  }

  // A retriever's query: image bytes; the vector of its best face.
  Status ExtractQuery(const std::string& value, const Emit& emit) {
    if (media::SniffImageFormat(value).empty()) {
      return Status::Invalid("inputs.image", "a face search query must be an image (JPEG, PNG, WebP, GIF, TIFF or "
                                             "BMP bytes)", "value_error");
    }
    auto img = media::DecodeImageBytes(value, limits_);
    if (!img.ok()) return AtInput(img.status(), "inputs.image");
    ASSIGN_OR_RETURN(std::vector<Face> faces, Describe(img->bgr));
    if (faces.empty()) return Status::Invalid("inputs.image", "no face found in the query image", "value_error");
    ExtractedDocument d = NewDocument(img->bgr);
    d.fields.update(FaceFields(faces[0], 0, img->bgr));
    d.vectors.emplace_back(StorageName(kName, kVersion, kIdentityOutput), std::move(faces[0].identity));
    return emit(std::move(d));
  }

  Settings s_;
  media::MediaLimits limits_;
  std::shared_ptr<const FaceDetector> detector_;
  std::shared_ptr<const FaceEmbedder> embedder_;
};

class FaceIdentityExtractor : public Extractor {
 public:
  FaceIdentityExtractor(ModelRegistry& models, const media::MediaLimits& limits) : models_(models), limits_(limits) {
    info_.name = kName;
    info_.version = kVersion;
    info_.description =
        "One document per face in an image (JPEG, PNG, WebP, GIF's first frame, TIFF, BMP; EXIF orientation "
        "applied), or one per image listing its faces (output_mode per_image): box, six landmarks (eyes, nose, "
        "mouth, ears), detection and quality scores, and a 1024-d identity embedding (FaceRes on the "
        "eye-aligned face, cosine) for finding the same person in other photos by feature_search; optionally the "
        "aligned face crop. Faces are found with BlazeFace. Images only: video and video_frame inputs are not "
        "read by this version (frame_number and timestamp are null; the video parameters are accepted and "
        "ignored): extract frames as images first.";
    info_.input_types = {"image"};
    info_.input_schema = {
        {"image", {{"type", "image"}, {"required", true},
                   {"description", "An image blob: JPEG, PNG, WebP, GIF (first frame), TIFF or BMP, recognised by "
                                   "its content."}}}};
    info_.parameter_schema = ParameterSchema();
    info_.position_fields = {"face_index"};
    info_.emits_blobs = true;
  }

  const ExtractorInfo& info() const override { return info_; }

  Json OutputSchema(const Json& params) const override {
    auto field = [](const char* type, const char* desc) { return Json{{"type", type}, {"description", desc}}; };
    Json face = {
        {"face_index", field("integer", "The face's rank in its image, 0 = best detection_score.")},
        {"bbox", {{"type", "array"}, {"items", {{"type", "number"}}},
                  {"description", "[x1, y1, x2, y2], pixels of the upright image."}}},
        {"landmarks", field("object", "{left_eye, right_eye, nose, mouth, left_ear, right_ear}: [x, y] pixels; left "
                                      "and right as seen in the image.")},
        {"detection_score", field("number", "BlazeFace's confidence, 0..1.")},
        {"quality_score", field("number", "0..1: geometric mean of size (shorter side / 80 px), sharpness "
                                          "(variance of the Laplacian) and frontalness (nose between the eyes).")},
        {"frame_number", field("integer", "Video frame; null for images.")},
        {"timestamp", field("number", "Video time, seconds; null for images.")}};
    Json out = {{"image_width", field("integer", "Width of the image, pixels (upright).")},
                {"image_height", field("integer", "Height of the image, pixels (upright).")},
                {"face_count", field("integer", "Faces kept in the image.")}};
    if (params.value("output_mode", std::string("per_face")) == "per_image") {
      out["faces"] = {{"type", "array"}, {"items", {{"type", "object"}}},
                      {"description", "The image's faces: {face_index, bbox, landmarks, detection_score, "
                                      "quality_score}, best detection first."}};
      out["frame_number"] = face["frame_number"];
      out["timestamp"] = face["timestamp"];
    } else {
      out.update(face);
    }
    return out;
  }

  Result<std::vector<VectorOutput>> VectorOutputs(const Json& params) const override {
    VectorOutput v;
    v.output = kIdentityOutput;
    v.storage_name = StorageName(kName, kVersion, kIdentityOutput);
    v.dimensions = kIdentityDimensions;
    v.distance = "cosine";
    v.description = "Face identity (HSE FaceRes descriptor, 1024-d, L2-normalised): the same person's faces "
                    "score about 0.8 and above, different people's about 0.5 and below";
    v.model = kIdentityModel;
    v.supported_inputs = {"image"};
    return std::vector<VectorOutput>{v};
  }

  Status CheckParameters(const Json& params, const std::string& loc) const override {
    const std::string model = params.value("detection_model", std::string(kFaceDetectionModel));
    if (model != kFaceDetectionModel) {
      return Status::Invalid(loc + ".detection_model",
                             "detection model '" + model + "' is not available here; available: " + kFaceDetectionModel,
                             "value_error");
    }
    auto detector = models_.GetFaceDetector(kFaceDetectionModel);
    if (!detector.ok()) return detector.status();
    auto embedder = models_.GetFaceEmbedder(kIdentityModel);
    if (!embedder.ok()) return embedder.status();
    if ((*embedder)->dimensions() != kIdentityDimensions) {
      return Status::Internal("model " + std::string(kIdentityModel) + " gives " +
                              std::to_string((*embedder)->dimensions()) + "-d vectors, not " +
                              std::to_string(kIdentityDimensions));
    }
    return Status::Ok();
  }

  Result<std::unique_ptr<ExtractorRun>> Start(const Json& params) const override {
    RETURN_IF_ERROR(CheckParameters(params, "parameters"));
    Settings s;
    s.detect.min_score = params.value("detection_threshold", 0.5f);
    s.detect.min_face_size = static_cast<float>(params.value("min_face_size", 20));
    s.detect.max_faces = params.value("max_faces_per_image", 100);
    s.quality_threshold = params.value("quality_threshold", 0.f);
    s.per_image = params.value("output_mode", std::string("per_face")) == "per_image";
    s.crops = params.value("include_face_crops", false);
    ASSIGN_OR_RETURN(auto detector, models_.GetFaceDetector(kFaceDetectionModel));
    ASSIGN_OR_RETURN(auto embedder, models_.GetFaceEmbedder(kIdentityModel));
    return std::unique_ptr<ExtractorRun>(new FaceRun(s, limits_, std::move(detector), std::move(embedder)));
  }

 private:
  ModelRegistry& models_;
  media::MediaLimits limits_;
  ExtractorInfo info_;
};

}  // namespace

float FaceQualityScore(const cv::Mat& image, const DetectedFace& face) {
  const double size = std::clamp(std::min(face.width(), face.height()) / 80.0, 0.0, 1.0);

  // Sharpness on the aligned crop's centre (the face, not its background).
  double sharpness = 0;
  cv::Mat crop = FaceEmbedder::AlignedCrop(image, face, kQualityCropSide), gray, lap;
  cv::cvtColor(crop, gray, cv::COLOR_RGB2GRAY);
  cv::Laplacian(gray(cv::Rect(24, 24, 64, 64)), lap, CV_64F);
  cv::Scalar mean, stddev;
  cv::meanStdDev(lap, mean, stddev);
  const double v = stddev[0] * stddev[0];
  sharpness = v / (v + 100);

  // Frontalness: the nose's offset from the eyes' midpoint along the eye line.
  const cv::Point2f le = face.keypoints[kLeftEye], re = face.keypoints[kRightEye], nose = face.keypoints[kNose];
  const cv::Point2f axis = re - le;
  const double eye_distance = std::hypot(axis.x, axis.y);
  double frontal = 0;
  if (eye_distance > 0) {
    const cv::Point2f mid = (le + re) * 0.5f;
    const double along = ((nose - mid).x * axis.x + (nose - mid).y * axis.y) / eye_distance;
    frontal = std::clamp(1 - std::abs(along) / (eye_distance / 2), 0.0, 1.0);
  }
  return static_cast<float>(std::cbrt(size * sharpness * frontal));
}

std::unique_ptr<Extractor> MakeFaceIdentityExtractor(ModelRegistry& models, const media::MediaLimits& limits) {
  return std::make_unique<FaceIdentityExtractor>(models, limits);
}

}  // namespace strata::extract
