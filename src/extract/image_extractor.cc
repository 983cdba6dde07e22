#include "extract/image_extractor.h"

#include <cstdio>

#include "extract/extractor_errors.h"
#include "extract/feature_uri.h"
#include "extract/parameters.h"
#include "extract/models/model_registry.h"
#include "extract/visual_description.h"
#include "media/image.h"
#include "media/image_header.h"
#include "media/ocr.h"
#include "media/visual_features.h"

namespace strata::extract {

namespace {

constexpr const char* kName = "image_extractor";
constexpr const char* kVersion = "v1";
constexpr const char* kVisualOutput = "visual_features";
constexpr const char* kHashOutput = "phash";

Json ParameterSchema() {
  return {
      {"type", "object"},
      {"additionalProperties", false},
      {"properties",
       {{"extractor_type", {{"type", "string"}, {"const", "image_extractor"}, {"default", "image_extractor"}}},
        {"enable_thumbnails", BoolParam(true, "Store a JPEG thumbnail of each image with its document (document_blobs).")},
        {"use_cdn", BoolParam(false, "Accepted for compatibility and ignored: thumbnails are served by this server "
                                "through presigned URLs, there is no CDN.")},
        {"run_ocr", BoolParam(true, "Read the text in the image (Tesseract, English): ocr_text, full-text search and "
                               "the text vector.")},
        {"detect_faces", BoolParam(true, "Find faces (BlazeFace): faces. For one document per face with an identity "
                                    "vector, use face_identity_extractor.")},
        {"detect_objects", BoolParam(true, "Find objects of the 80 COCO classes (CenterNet): objects, and a caption "
                                      "naming them that the text vector embeds.")},
        {"object_min_score", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}, {"default", 0.3},
                              {"description", "Smallest detection score of an object kept."}}},
        {"max_objects", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}, {"default", 20},
                         {"description", "Most objects kept per image, strongest first."}}},
        {"thumbnail_size", {{"type", "integer"}, {"minimum", 16}, {"maximum", 2048}, {"default", 320},
                            {"description", "Longest side of the thumbnail, pixels (never scaled up)."}}},
        {"model", {{"type", {"string", "null"}}, {"default", kDefaultImageModel},
                   {"description", "The neural image model of the visual embedding: 'mobilenet-v2' (MobileNetV2, "
                                   "1792-d) or a model folder of the models directory (a CLIP-style folder, whose "
                                   "text tower embeds text queries into the same space). null: none (the "
                                   "hand-made visual_features stay)."}}},
        {"embedding_model", {{"type", "string"}, {"default", kDefaultTextModel},
                             {"description", "Dense text model of the text vector (caption and OCR text): a "
                                             "built-in text model or a model folder of the models directory."}}}}}};
}

// The 64 hash bits as ±1/8: a unit vector whose cosine with another hash's is
// (agreeing − differing bits) / 64 = 1 − 2·hamming/64, so nearest neighbours
// by cosine are nearest by Hamming distance.
std::vector<float> HashVector(uint64_t hash) {
  std::vector<float> v(64);
  for (int i = 0; i < 64; ++i) v[i] = ((hash >> (63 - i)) & 1) ? 0.125f : -0.125f;
  return v;
}

std::string HashHex(uint64_t hash) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

// The `model` parameter ("" when null).
std::string ImageModelName(const Json& params) {
  auto it = params.find("model");
  if (it == params.end()) return kDefaultImageModel;
  return it->is_string() ? it->get<std::string>() : std::string();
}

struct Settings {
  bool thumbnails = true;
  bool ocr = true;
  bool faces = true;
  bool objects = true;
  float object_min_score = 0.3f;
  int max_objects = 20;
  int thumbnail_size = 320;
};

// The models a run uses, shared with every other run of the process; null
// when the settings or the collection do not ask for one.
struct RunModels {
  std::shared_ptr<Embedder> text;                   // caption + OCR text vector
  std::shared_ptr<ImageEmbedder> image;             // `model`
  std::shared_ptr<Embedder> image_text;             // its text tower (CLIP), else null
  std::shared_ptr<ObjectDetector> objects;          // detect_objects
  std::shared_ptr<const FaceDetector> faces;        // detect_faces
};

// What a picture shows, as the document's fields and text.
struct Seen {
  Json objects = Json::array();
  Json faces = Json::array();
  std::string caption;
  std::string ocr_text;
};

class ImageRun : public ExtractorRun {
 public:
  ImageRun(Settings s, media::MediaLimits limits, RunModels models)
      : s_(s), limits_(limits), m_(std::move(models)) {}

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
    media::DecodedImage& img = *decoded;

    ExtractedDocument d;
    d.modality = "image";
    uint64_t hash = media::PerceptualHash(img.bgr);
    d.fields = {{"width", img.width},
                {"height", img.height},
                {"format", img.format},
                {"mime_type", media::ImageMimeType(img.format)},
                {"exif", img.metadata},
                {"phash", HashHex(hash)}};
    ASSIGN_OR_RETURN(Seen seen, Look(img.bgr));
    if (s_.ocr) d.fields["ocr_text"] = seen.ocr_text;
    if (s_.faces) d.fields["faces"] = std::move(seen.faces);
    if (s_.objects) {
      d.fields["objects"] = std::move(seen.objects);
      d.fields["caption"] = seen.caption;
    }
    RETURN_IF_ERROR(AddVectors(img.bgr, hash, seen, EmbedRole::kPassage, d));
    if (s_.thumbnails) {
      ASSIGN_OR_RETURN(std::string jpeg, media::EncodeThumbnail(img.bgr, s_.thumbnail_size));
      ExtractedBlob b;
      b.field = "thumbnail";
      b.role = "thumbnail";
      b.type = "image";
      b.mime_type = "image/jpeg";
      b.filename = "thumbnail.jpg";
      b.bytes = std::move(jpeg);
      d.blobs.push_back(std::move(b));
    }
    return emit(std::move(d));
  }

 private:
  // The objects, faces and text of a picture, as the settings ask. A query
  // image is only read (OCR): its objects and faces would cost a CenterNet
  // and a BlazeFace run (~0.3 s) on every search for vectors the search
  // rarely uses.
  Result<Seen> Look(const cv::Mat& bgr, bool query = false) {
    Seen seen;
    if (s_.ocr) {
      ASSIGN_OR_RETURN(seen.ocr_text, Ocr(bgr));
    }
    if (query) return seen;
    if (s_.faces) {
      ASSIGN_OR_RETURN(auto faces, m_.faces->Detect(bgr));
      seen.faces = FacesJson(faces, bgr.cols, bgr.rows);
    }
    if (s_.objects) {
      ASSIGN_OR_RETURN(auto found, m_.objects->Detect({bgr}, s_.object_min_score, s_.max_objects));
      seen.objects = ObjectsJson(found[0]);
      seen.caption = ObjectCaption(found[0], "A photo of");
    }
    return seen;
  }

  // The picture's vectors: visual (hand-made), hash, the image model's, and
  // the text vector of its caption and OCR text when it has either. The text
  // is full-text indexed too.
  Status AddVectors(const cv::Mat& bgr, uint64_t hash, const Seen& seen, EmbedRole role, ExtractedDocument& d) {
    d.vectors.emplace_back(StorageName(kName, kVersion, "visual"), media::VisualEmbedding(bgr));
    d.vectors.emplace_back(StorageName(kName, kVersion, "phash"), HashVector(hash));
    if (m_.image) {
      ASSIGN_OR_RETURN(auto v, m_.image->EmbedImages({bgr}));
      if (v.size() != 1) return Status::Internal("the image model returned " + std::to_string(v.size()) + " vectors");
      d.vectors.emplace_back(StorageName(kName, kVersion, "embedding"), std::move(v[0]));
    }
    std::string text = DescriptionText(seen.caption, seen.ocr_text);
    if (!text.empty()) {
      ASSIGN_OR_RETURN(auto v, m_.text->Embed({text}, role));
      d.vectors.emplace_back(StorageName(kName, kVersion, "text"), std::move(v[0]));
    }
    d.searchable_text = std::move(text);
    return Status::Ok();
  }

  // The OCR engine is made on first use (~100 ms) and kept for the run's
  // later items: a run is used by one thread at a time, as Tesseract needs.
  Result<std::string> Ocr(const cv::Mat& bgr) {
    if (!ocr_) {
      ASSIGN_OR_RETURN(ocr_, media::OcrEngine::Create("eng"));
    }
    ASSIGN_OR_RETURN(media::OcrResult r, ocr_->Recognize(bgr));
    return media::ConfidentText(r);
  }

  // A retriever's query: the bytes of an image (content search) get the
  // image vectors an image document gets, and the text vector of what OCR
  // reads in it; anything else is text, embedded like a caption (and by a
  // CLIP model's text tower into the images' space).
  Status ExtractQuery(const std::string& value, const Emit& emit) {
    ExtractedDocument d;
    d.modality = "image";
    if (!media::SniffImageFormat(value).empty()) {
      auto img = media::DecodeImageBytes(value, limits_);
      if (!img.ok()) return AtInput(img.status(), "inputs.image");
      ASSIGN_OR_RETURN(Seen seen, Look(img->bgr, /*query=*/true));
      RETURN_IF_ERROR(AddVectors(img->bgr, media::PerceptualHash(img->bgr), seen, EmbedRole::kQuery, d));
      return emit(std::move(d));
    }
    ASSIGN_OR_RETURN(auto v, m_.text->Embed({value}, EmbedRole::kQuery));
    d.vectors.emplace_back(StorageName(kName, kVersion, "text"), std::move(v[0]));
    if (m_.image_text) {
      ASSIGN_OR_RETURN(auto tv, m_.image_text->Embed({value}, EmbedRole::kQuery));
      d.vectors.emplace_back(StorageName(kName, kVersion, "embedding"), std::move(tv[0]));
    }
    d.searchable_text = value;
    return emit(std::move(d));
  }

  Settings s_;
  media::MediaLimits limits_;
  RunModels m_;
  std::unique_ptr<media::OcrEngine> ocr_;
};

class ImageExtractor : public Extractor {
 public:
  ImageExtractor(ModelRegistry& models, const media::MediaLimits& limits) : models_(models), limits_(limits) {
    info_.name = kName;
    info_.version = kVersion;
    info_.description =
        "One document per image (JPEG, PNG, WebP, GIF's first frame, TIFF, BMP; EXIF orientation applied): size, "
        "format, EXIF facts, a perceptual hash, the objects in it (CenterNet, 80 COCO classes) and a caption naming "
        "them, the text in the image (OCR), faces (BlazeFace), a JPEG thumbnail, a MobileNetV2 embedding for "
        "similar-image search, hand-made visual features, the hash as a vector for near-duplicate search, and a "
        "text embedding and full-text index of the caption and OCR text.";
    info_.input_types = {"image"};
    info_.input_schema = {
        {"image", {{"type", "image"}, {"required", true},
                   {"description", "An image blob: JPEG, PNG, WebP, GIF (first frame), TIFF or BMP, recognised by "
                                   "its content."}}}};
    info_.parameter_schema = ParameterSchema();
    info_.position_fields = {};
    info_.locked_parameters = {"embedding_model", "model"};
    info_.emits_blobs = true;
  }

  const ExtractorInfo& info() const override { return info_; }

  Json OutputSchema(const Json& params) const override {
    auto field = [](const char* type, const char* desc) { return Json{{"type", type}, {"description", desc}}; };
    Json out = {
        {"width", field("integer", "Width in pixels, upright (after EXIF orientation).")},
        {"height", field("integer", "Height in pixels, upright.")},
        {"format", field("string", "jpeg, png, webp, gif, tiff or bmp, from the file's content.")},
        {"mime_type", field("string", "The MIME type of the format.")},
        {"exif", field("object", "EXIF facts: make, model, lens_model, datetime_original, description, software, "
                                 "exposure_time (s), f_number, iso, focal_length (mm), flash_fired, gps_latitude and "
                                 "gps_longitude (decimal degrees), ... (only those present).")},
        {"phash", field("string", "64-bit perceptual hash (DCT of a 32x32 gray copy), 16 hex digits: near-duplicates "
                                  "differ in few bits.")}};
    if (params.value("run_ocr", true)) out["ocr_text"] = field("text", "Text read in the image (Tesseract, English).");
    if (params.value("detect_faces", true)) {
      out["faces"] = {{"type", "array"},
                      {"items", {{"type", "object"}}},
                      {"description", "Faces (BlazeFace): [{bbox: [x1, y1, x2, y2] in upright pixels, score 0..1}], "
                                      "best first."}};
    }
    if (params.value("detect_objects", true)) {
      out["objects"] = {{"type", "array"},
                        {"items", {{"type", "object"}}},
                        {"description", "Objects (CenterNet, COCO classes): [{label, score 0..1, bbox: [x1, y1, x2, "
                                        "y2] in upright pixels}], strongest first. Filter with objects.label."}};
      out["caption"] = field("text", "A sentence naming the objects found (\"A photo of a person and a sports "
                                     "ball.\"); empty when none.");
    }
    return out;
  }

  Result<std::vector<VectorOutput>> VectorOutputs(const Json& params) const override {
    std::string model = params.value("embedding_model", std::string(kDefaultTextModel));
    ASSIGN_OR_RETURN(auto embedder, models_.Get(model));
    VectorOutput visual;
    visual.output = kVisualOutput;
    visual.storage_name = StorageName(kName, kVersion, "visual");
    visual.dimensions = media::kVisualEmbeddingDimensions;
    visual.distance = "cosine";
    visual.description = "Hand-made visual features of the image (shape, colour layout and colour histogram), "
                         "for similar-image search without a neural model";
    visual.model = kVisualOutput;
    visual.supported_inputs = {"image"};
    VectorOutput hash;
    hash.output = kHashOutput;
    hash.storage_name = StorageName(kName, kVersion, "phash");
    hash.dimensions = 64;
    hash.distance = "cosine";
    hash.description = "The perceptual hash's 64 bits as a ±1/8 vector: cosine = 1 - 2*hamming/64, so a "
                       "feature_search over it finds near-duplicates (rescaled, recompressed copies score above "
                       "~0.8)";
    hash.model = kHashOutput;
    hash.supported_inputs = {"image"};
    VectorOutput text;
    text.output = UriOutputName(model);
    text.storage_name = StorageName(kName, kVersion, "text");
    text.dimensions = embedder->dimensions();
    text.distance = embedder->distance();
    text.description = "Dense embedding of the caption and ocr_text (" + model +
                       "): text queries find images by what is in them and written on them; only images with "
                       "objects or text have it";
    text.model = model;
    text.supported_inputs = {"text", "image"};
    VectorOutput lexical;
    lexical.output = "bm25";
    lexical.storage_name = StorageName(kName, kVersion, "bm25");
    lexical.type = "sparse";
    lexical.distance = "bm25";
    lexical.description = "Full-text index of the caption and ocr_text (BM25)";
    lexical.supported_inputs = {"text"};
    std::vector<VectorOutput> outs{visual, hash, text, lexical};
    if (std::string name = ImageModelName(params); !name.empty()) {
      ASSIGN_OR_RETURN(auto image_model, models_.GetImageEmbedder(name));
      VectorOutput neural;
      neural.output = UriOutputName(name);
      neural.storage_name = StorageName(kName, kVersion, "embedding");
      neural.dimensions = image_model->dimensions();
      neural.distance = "cosine";
      neural.description = "Embedding of the image by the model " + name;
      neural.model = name;
      neural.supported_inputs = {"image"};
      if (models_.Get(name).ok()) neural.supported_inputs.push_back("text");
      outs.push_back(neural);
    }
    return outs;
  }

  Status CheckParameters(const Json& params, const std::string& loc) const override {
    RETURN_IF_ERROR(CheckTextModel(models_, params, loc));
    if (std::string name = ImageModelName(params); !name.empty()) {
      auto image_model = models_.GetImageEmbedder(name);
      if (!image_model.ok()) return Status::Invalid(loc + ".model", image_model.status().message(), "value_error");
    }
    return Status::Ok();
  }

  Result<std::unique_ptr<ExtractorRun>> Start(const Json& params) const override {
    Settings s;
    s.thumbnails = params.value("enable_thumbnails", true);
    s.ocr = params.value("run_ocr", true);
    s.faces = params.value("detect_faces", true);
    s.objects = params.value("detect_objects", true);
    s.object_min_score = params.value("object_min_score", 0.3f);
    s.max_objects = params.value("max_objects", 20);
    s.thumbnail_size = params.value("thumbnail_size", 320);
    RunModels m;
    ASSIGN_OR_RETURN(m.text, models_.Get(params.value("embedding_model", std::string(kDefaultTextModel))));
    if (std::string name = ImageModelName(params); !name.empty()) {
      ASSIGN_OR_RETURN(m.image, models_.GetImageEmbedder(name));
      if (auto text = models_.Get(name); text.ok()) m.image_text = std::move(*text);
    }
    if (s.objects) {
      ASSIGN_OR_RETURN(m.objects, models_.GetObjectDetector(kObjectDetectionModel));
    }
    if (s.faces) {
      ASSIGN_OR_RETURN(m.faces, models_.GetFaceDetector(kFaceDetectionModel));
    }
    return std::unique_ptr<ExtractorRun>(new ImageRun(s, limits_, std::move(m)));
  }

 private:
  ModelRegistry& models_;
  media::MediaLimits limits_;
  ExtractorInfo info_;
};

}  // namespace

std::unique_ptr<Extractor> MakeImageExtractor(ModelRegistry& models, const media::MediaLimits& limits) {
  return std::make_unique<ImageExtractor>(models, limits);
}

}  // namespace strata::extract
