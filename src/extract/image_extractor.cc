#include "extract/image_extractor.h"

#include <cstdio>

#include "extract/feature_uri.h"
#include "extract/models/model_registry.h"
#include "media/faces.h"
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
  auto flag = [](bool def, const char* desc) {
    return Json{{"type", "boolean"}, {"default", def}, {"description", desc}};
  };
  return {
      {"type", "object"},
      {"additionalProperties", false},
      {"properties",
       {{"extractor_type", {{"type", "string"}, {"const", "image_extractor"}, {"default", "image_extractor"}}},
        {"enable_thumbnails", flag(true, "Store a JPEG thumbnail of each image with its document (document_blobs).")},
        {"use_cdn", flag(false, "Accepted for compatibility and ignored: thumbnails are served by this server "
                                "through presigned URLs, there is no CDN.")},
        {"run_ocr", flag(true, "Read the text in the image (Tesseract, English): ocr_text, full-text search and "
                               "the text vector.")},
        {"detect_faces", flag(true, "Find frontal faces (OpenCV Haar cascade): faces.")},
        {"thumbnail_size", {{"type", "integer"}, {"minimum", 16}, {"maximum", 2048}, {"default", 320},
                            {"description", "Longest side of the thumbnail, pixels (never scaled up)."}}},
        {"model", {{"type", {"string", "null"}}, {"default", nullptr},
                   {"description", "A neural image model of the models directory (a CLIP-style folder, or an image "
                                   "embedding model such as MobileNet): its vector of each image is written too. "
                                   "With a CLIP folder, text queries are embedded by its text tower into the same "
                                   "space. null: none."}}},
        {"embedding_model", {{"type", "string"}, {"default", kDefaultTextModel},
                             {"description", "Dense text model of the OCR text vector: a built-in text model or a "
                                             "model folder of the models directory."}}}}}};
}

// Media errors name the bound or the damage at "image"; as an item error the
// location is the extractor's input.
Status AtInput(const Status& st) {
  if (st.code() != StatusCode::kValidation || !st.details().is_object()) return st;
  const Json& errs = st.details().value("validation_errors", Json::array());
  if (errs.empty()) return st;
  return Status::Invalid("inputs.image", errs[0].value("message", st.message()), errs[0].value("type", "value_error"));
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
  return it != params.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct Settings {
  bool thumbnails = true;
  bool ocr = true;
  bool faces = true;
  int thumbnail_size = 320;
};

class ImageRun : public ExtractorRun {
 public:
  ImageRun(Settings s, media::MediaLimits limits, std::shared_ptr<Embedder> embedder,
           std::shared_ptr<ImageEmbedder> image_model, std::shared_ptr<Embedder> image_model_text)
      : s_(s),
        limits_(limits),
        embedder_(std::move(embedder)),
        image_model_(std::move(image_model)),
        image_model_text_(std::move(image_model_text)) {}

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
    if (!decoded.ok()) return AtInput(decoded.status());
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
    if (s_.ocr) {
      ASSIGN_OR_RETURN(std::string text, Ocr(img.bgr));
      d.fields["ocr_text"] = text;
      if (!text.empty()) {
        ASSIGN_OR_RETURN(auto v, embedder_->Embed({text}, EmbedRole::kPassage));
        d.vectors.emplace_back(StorageName(kName, kVersion, "text"), std::move(v[0]));
      }
      d.searchable_text = std::move(text);
    }
    if (s_.faces) {
      if (!faces_) {
        ASSIGN_OR_RETURN(faces_, media::FaceDetector::Create());
      }
      ASSIGN_OR_RETURN(auto boxes, faces_->Detect(img.bgr));
      Json list = Json::array();
      for (const auto& f : boxes) {
        list.push_back({{"bbox", {f.bbox.x, f.bbox.y, f.bbox.x + f.bbox.width, f.bbox.y + f.bbox.height}},
                        {"score", f.score}});
      }
      d.fields["faces"] = std::move(list);
    }
    d.vectors.emplace_back(StorageName(kName, kVersion, "visual"), media::VisualEmbedding(img.bgr));
    d.vectors.emplace_back(StorageName(kName, kVersion, "phash"), HashVector(hash));
    RETURN_IF_ERROR(EmbedWithModel(img.bgr, d));
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
  // The OCR engine is made on first use (~100 ms) and kept for the run's
  // later items: a run is used by one thread at a time, as Tesseract needs.
  Result<std::string> Ocr(const cv::Mat& bgr) {
    if (!ocr_) {
      ASSIGN_OR_RETURN(ocr_, media::OcrEngine::Create("eng"));
    }
    ASSIGN_OR_RETURN(media::OcrResult r, ocr_->Recognize(bgr));
    return std::move(r.text);
  }

  // The configured neural image model's vector, when there is one.
  Status EmbedWithModel(const cv::Mat& bgr, ExtractedDocument& d) {
    if (!image_model_) return Status::Ok();
    ASSIGN_OR_RETURN(auto v, image_model_->EmbedImages({bgr}));
    if (v.size() != 1) return Status::Internal("the image model returned " + std::to_string(v.size()) + " vectors");
    d.vectors.emplace_back(StorageName(kName, kVersion, "embedding"), std::move(v[0]));
    return Status::Ok();
  }

  // A retriever's query: the bytes of an image (content search) get the
  // image's vectors; anything else is text, embedded like OCR text.
  Status ExtractQuery(const std::string& value, const Emit& emit) {
    ExtractedDocument d;
    d.modality = "image";
    if (!media::SniffImageFormat(value).empty()) {
      auto img = media::DecodeImageBytes(value, limits_);
      if (!img.ok()) return AtInput(img.status());
      d.vectors.emplace_back(StorageName(kName, kVersion, "visual"), media::VisualEmbedding(img->bgr));
      d.vectors.emplace_back(StorageName(kName, kVersion, "phash"), HashVector(media::PerceptualHash(img->bgr)));
      RETURN_IF_ERROR(EmbedWithModel(img->bgr, d));
      if (s_.ocr) {
        ASSIGN_OR_RETURN(std::string text, Ocr(img->bgr));
        if (!text.empty()) {
          ASSIGN_OR_RETURN(auto v, embedder_->Embed({text}, EmbedRole::kQuery));
          d.vectors.emplace_back(StorageName(kName, kVersion, "text"), std::move(v[0]));
        }
        d.searchable_text = std::move(text);
      }
      return emit(std::move(d));
    }
    ASSIGN_OR_RETURN(auto v, embedder_->Embed({value}, EmbedRole::kQuery));
    d.vectors.emplace_back(StorageName(kName, kVersion, "text"), std::move(v[0]));
    if (image_model_text_) {  // a CLIP-style model: text lands in the images' space
      ASSIGN_OR_RETURN(auto tv, image_model_text_->Embed({value}, EmbedRole::kQuery));
      d.vectors.emplace_back(StorageName(kName, kVersion, "embedding"), std::move(tv[0]));
    }
    d.searchable_text = value;
    return emit(std::move(d));
  }

  Settings s_;
  media::MediaLimits limits_;
  std::shared_ptr<Embedder> embedder_;
  std::shared_ptr<ImageEmbedder> image_model_;      // null without `model`
  std::shared_ptr<Embedder> image_model_text_;      // its text tower (CLIP), else null
  std::unique_ptr<media::OcrEngine> ocr_;
  std::unique_ptr<media::FaceDetector> faces_;
};

class ImageExtractor : public Extractor {
 public:
  ImageExtractor(ModelRegistry& models, const media::MediaLimits& limits) : models_(models), limits_(limits) {
    info_.name = kName;
    info_.version = kVersion;
    info_.description =
        "One document per image (JPEG, PNG, WebP, GIF's first frame, TIFF, BMP; EXIF orientation applied): size, "
        "format, EXIF facts, a perceptual hash, the text in the image (OCR), faces, a JPEG thumbnail, a visual "
        "embedding for similar-image search, the hash as a vector for near-duplicate search, and a text embedding "
        "and full-text index of the OCR text.";
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
                      {"description", "Frontal faces: [{bbox: [x1, y1, x2, y2] in upright pixels, score 0..1}], "
                                      "best first."}};
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
    visual.description = "Visual embedding of the image (shape, colour layout and colour histogram features), "
                         "for similar-image search";
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
    text.description = "Dense embedding of ocr_text (" + model + "); only images with text have it";
    text.model = model;
    text.supported_inputs = {"text", "image"};
    VectorOutput lexical;
    lexical.output = "bm25";
    lexical.storage_name = StorageName(kName, kVersion, "bm25");
    lexical.type = "sparse";
    lexical.distance = "bm25";
    lexical.description = "Full-text index of ocr_text (BM25)";
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
    auto model = models_.Get(params.value("embedding_model", std::string(kDefaultTextModel)));
    if (!model.ok()) {
      std::string msg = model.status().message();
      if (auto colon = msg.find(": "); model.status().code() == StatusCode::kValidation && colon != std::string::npos) {
        msg = msg.substr(colon + 2);
      }
      return Status::Invalid(loc + ".embedding_model", msg, "value_error");
    }
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
    s.thumbnail_size = params.value("thumbnail_size", 320);
    ASSIGN_OR_RETURN(auto embedder, models_.Get(params.value("embedding_model", std::string(kDefaultTextModel))));
    std::shared_ptr<ImageEmbedder> image_model;
    std::shared_ptr<Embedder> image_model_text;
    if (std::string name = ImageModelName(params); !name.empty()) {
      ASSIGN_OR_RETURN(image_model, models_.GetImageEmbedder(name));
      if (auto text = models_.Get(name); text.ok()) image_model_text = std::move(*text);
    }
    return std::unique_ptr<ExtractorRun>(
        new ImageRun(s, limits_, std::move(embedder), std::move(image_model), std::move(image_model_text)));
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
