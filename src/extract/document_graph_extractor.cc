#include "extract/document_graph_extractor.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "extract/extractor_errors.h"
#include "extract/feature_uri.h"
#include "extract/parameters.h"
#include "extract/models/model_registry.h"
#include "media/image.h"
#include "media/ocr.h"
#include "media/pdf.h"
#include "media/pdf_layout.h"

namespace strata::extract {

namespace {

constexpr const char* kName = "document_graph_extractor";
constexpr const char* kVersion = "v1";
constexpr const char* kLoc = "inputs.pdf";
// Tesseract reads best with capital letters ~30 px tall (its documentation,
// "Improving the quality of the output": at least 300 dpi); pages without a
// text layer are rendered at least this fine for OCR.
constexpr double kOcrDpi = 300;
constexpr int kThumbnailQuality = 80;

Json ParameterSchema() {
  return {
      {"type", "object"},
      {"additionalProperties", false},
      {"properties",
       {{"extractor_type",
         {{"type", "string"}, {"const", "document_graph_extractor"}, {"default", "document_graph_extractor"}}},
        {"use_layout_detection",
         BoolParam(true, "Classify blocks as header, paragraph, table, list or footer (rules on fonts, alignment and "
                    "position). When false every block is a paragraph.")},
        {"render_dpi", {{"type", "integer"}, {"minimum", 36}, {"maximum", 600}, {"default", 150},
                        {"description", "Resolution of the page images (thumbnails), dots per inch."}}},
        {"run_text_embedding", BoolParam(true, "Embed each block's text (embedding_model).")},
        {"generate_thumbnails",
         BoolParam(true, "Store the rendered page (JPEG at render_dpi) with each of its blocks (document_blobs).")},
        {"run_ocr", BoolParam(true, "Read pages that have no text layer (scans) with OCR (Tesseract, English, 300 dpi).")},
        {"use_vlm_correction",
         BoolParam(false, "Correct low-confidence blocks with a vision-language model: not available in Strata (no VLM "
                     "provider); true is refused.")},
        {"min_confidence_for_vlm", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}, {"default", 0.7},
                                    {"description", "Blocks below this confidence would go to the VLM: accepted, "
                                                    "no effect (no VLM)."}}},
        {"vlm_provider", {{"type", {"string", "null"}}, {"default", nullptr},
                          {"description", "Accepted for compatibility and ignored (no VLM)."}}},
        {"vlm_model", {{"type", {"string", "null"}}, {"default", nullptr},
                       {"description", "Accepted for compatibility and ignored (no VLM)."}}},
        {"embedding_model", {{"type", "string"}, {"default", kDefaultTextModel},
                             {"description", "Dense text model of the block vectors: 'glove-100d' (built in) or a "
                                             "model folder of the models directory."}}}}}};
}

// To `per` parts of a unit (100: hundredths); dividing by an integer count
// gives the double nearest the decimal (117.1, not 117.10000000000001).
double Round(double v, double per) { return std::round(v * per) / per; }

struct Settings {
  bool classify = true;
  int render_dpi = 150;
  bool embed = true;
  bool thumbnails = true;
  bool ocr = true;
};

class DocumentGraphRun : public ExtractorRun {
 public:
  DocumentGraphRun(Settings s, media::MediaLimits limits, std::shared_ptr<Embedder> embedder)
      : s_(s), limits_(limits), embedder_(std::move(embedder)), vector_name_(StorageName(kName, kVersion, "embedding")) {}

  Status Extract(const ExtractItem& item, const Emit& emit) override {
    const InputValue* in = item.Find("pdf");
    if (in == nullptr || (!in->is_blob() && in->value.is_null())) {
      return Status::Invalid(kLoc, "the source has no value for input 'pdf'", "missing");
    }
    if (!in->is_blob()) {
      if (!in->value.is_string()) {
        return Status::Invalid(kLoc, "input 'pdf' must be a PDF file (a blob), got " + std::string(in->value.type_name()),
                               "type_error");
      }
      return ExtractQuery(in->value.get_ref<const std::string&>(), emit);
    }
    if (in->size_bytes == 0) return Status::Invalid(kLoc, "the PDF file is empty (0 bytes)", "empty");
    ASSIGN_OR_RETURN(auto doc, media::PdfDocument::Open(in->blob_path, limits_));
    const int n = doc->page_count();
    // Each page's text is read once; the pages around it are kept for the
    // running headers and footers they repeat.
    media::LayoutPage prev, cur, next;
    ASSIGN_OR_RETURN(cur, doc->ReadPage(0));
    if (n > 1) {
      ASSIGN_OR_RETURN(next, doc->ReadPage(1));
    }
    int emitted = 0;
    for (int i = 0; i < n; ++i) {
      if (i > 0) {
        prev = std::move(cur);
        cur = std::move(next);
        next = media::LayoutPage{};
        if (i + 1 < n) {
          ASSIGN_OR_RETURN(next, doc->ReadPage(i + 1));
        }
      }
      RETURN_IF_ERROR(Page(*doc, i, i > 0 ? &prev : nullptr, cur, i + 1 < n ? &next : nullptr, emit, emitted));
    }
    if (emitted == 0) {
      return Status::Invalid(kLoc,
                             s_.ocr ? "no text: the PDF's pages have no text layer and OCR found none"
                                    : "no text: the PDF's pages have no text layer (scans?) and run_ocr is false",
                             "empty");
    }
    return Status::Ok();
  }

 private:
  Status Page(const media::PdfDocument& doc, int index, const media::LayoutPage* prev, const media::LayoutPage& page,
              const media::LayoutPage* next, const Emit& emit, int& emitted) {
    media::LayoutOptions opts;
    opts.classify = s_.classify;
    std::vector<media::LayoutBlock> blocks;
    std::string source = "text_layer";
    cv::Mat image;  // the page at render_dpi, once rendered
    if (page.words.empty()) {
      if (!s_.ocr) return Status::Ok();
      // A scan: one rendering, fine enough for OCR; the page image is
      // scaled down from it.
      ASSIGN_OR_RETURN(cv::Mat fine, doc.Render(index, std::max<double>(s_.render_dpi, kOcrDpi)));
      if (!ocr_) {
        ASSIGN_OR_RETURN(ocr_, media::OcrEngine::Create("eng"));
      }
      ASSIGN_OR_RETURN(media::OcrResult ocr, ocr_->Recognize(fine));
      const double dpi = fine.cols * 72.0 / page.width;  // lower than asked when the pixel bound applied
      media::LayoutPage read{page.width, page.height, media::WordsFromOcr(ocr, dpi)};
      blocks = media::AnalyzeLayout(read, {}, opts);
      source = "ocr";
      if (s_.thumbnails && !blocks.empty()) {
        const double scale = std::min(1.0, s_.render_dpi / dpi);
        if (scale < 1.0) {
          cv::resize(fine, image, cv::Size(), scale, scale, cv::INTER_AREA);
        } else {
          image = std::move(fine);
        }
      }
    } else {
      blocks = media::AnalyzeLayout(page, {prev, next}, opts);
    }
    if (blocks.empty()) return Status::Ok();

    std::string jpeg;
    if (s_.thumbnails) {
      if (image.empty()) {
        ASSIGN_OR_RETURN(image, doc.Render(index, s_.render_dpi));
      }
      ASSIGN_OR_RETURN(jpeg, media::EncodeThumbnail(image, std::max(image.cols, image.rows), kThumbnailQuality));
    }
    std::vector<std::vector<float>> vectors;
    if (s_.embed) {
      std::vector<std::string> texts;
      for (const auto& b : blocks) texts.push_back(b.text);
      ASSIGN_OR_RETURN(vectors, embedder_->Embed(texts, EmbedRole::kPassage));
    }
    const int page_number = index + 1;
    for (size_t k = 0; k < blocks.size(); ++k) {
      media::LayoutBlock& b = blocks[k];
      ExtractedDocument d;
      d.modality = "pdf";
      d.fields = {{"text", b.text},
                  {"object_type", b.object_type},
                  {"bbox", {Round(b.box.x1, 100), Round(b.box.y1, 100), Round(b.box.x2, 100), Round(b.box.y2, 100)}},
                  {"page_number", page_number},
                  {"block_index", static_cast<int>(k)},
                  {"confidence_score", Round(b.confidence, 10000)},
                  {"confidence_tag", b.confidence_tag},
                  {"page_width", Round(page.width, 100)},
                  {"page_height", Round(page.height, 100)},
                  {"source", source}};
      d.position = {{"page_number", page_number}, {"block_index", static_cast<int>(k)}};
      if (s_.embed) d.vectors.emplace_back(vector_name_, std::move(vectors[k]));
      d.searchable_text = b.text;
      if (s_.thumbnails) {
        ExtractedBlob blob;
        blob.field = "page_thumbnail";
        blob.role = "thumbnail";
        blob.type = "image";
        blob.mime_type = "image/jpeg";
        blob.filename = "page_" + std::to_string(page_number) + ".jpg";
        blob.bytes = jpeg;  // the same bytes for the page's blocks: stored once (content-addressed)
        d.blobs.push_back(std::move(blob));
      }
      RETURN_IF_ERROR(emit(std::move(d)));
      ++emitted;
    }
    return Status::Ok();
  }

  // A retriever's text query: its vector and full-text terms.
  Status ExtractQuery(const std::string& text, const Emit& emit) {
    ExtractedDocument d;
    d.modality = "pdf";
    if (s_.embed) {
      ASSIGN_OR_RETURN(auto v, embedder_->Embed({text}, EmbedRole::kQuery));
      d.vectors.emplace_back(vector_name_, std::move(v[0]));
    }
    d.searchable_text = text;
    return emit(std::move(d));
  }

  Settings s_;
  media::MediaLimits limits_;
  std::shared_ptr<Embedder> embedder_;
  std::string vector_name_;
  // Made on the first scanned page (~100 ms) and kept: a run is used by one
  // thread at a time, as Tesseract needs.
  std::unique_ptr<media::OcrEngine> ocr_;
};

class DocumentGraphExtractor : public Extractor {
 public:
  DocumentGraphExtractor(ModelRegistry& models, const media::MediaLimits& limits) : models_(models), limits_(limits) {
    info_.name = kName;
    info_.version = kVersion;
    info_.description =
        "One document per layout block of a PDF (header, paragraph, table, list, footer) with its text, page "
        "number, bounding box in points and a confidence; pages without a text layer are read by OCR; each block "
        "carries its rendered page as a thumbnail, a text embedding and a full-text index entry.";
    info_.input_types = {"pdf"};
    info_.input_schema = {
        {"pdf", {{"type", "pdf"}, {"required", true},
                 {"description", "A PDF blob (application/pdf), recognised by its content."}}}};
    info_.parameter_schema = ParameterSchema();
    info_.position_fields = {"page_number", "block_index"};
    info_.locked_parameters = {"embedding_model"};
    info_.emits_blobs = true;
  }

  const ExtractorInfo& info() const override { return info_; }

  Json OutputSchema(const Json& params) const override {
    auto field = [](const char* type, const char* desc) { return Json{{"type", type}, {"description", desc}}; };
    return {
        {"text", field("text", "The block's text: lines joined by a space; list items one a line; table rows one a "
                               "line, cells separated by a tab.")},
        {"object_type", {{"type", "string"},
                         {"enum", {"header", "paragraph", "table", "list", "footer"}},
                         {"description", "What the block is (paragraph for all when use_layout_detection is false)."}}},
        {"bbox", {{"type", "array"},
                  {"items", {{"type", "number"}}},
                  {"description", "[x1, y1, x2, y2] in PDF points (1/72 inch), origin at the page's top-left."}}},
        {"page_number", field("integer", "The page, from 1.")},
        {"block_index", field("integer", "Position of the block in its page's reading order, from 0.")},
        {"confidence_score", field("number", "0..1: how clear the evidence for object_type is (times the OCR "
                                             "confidence for OCR'd pages).")},
        {"confidence_tag", field("string", "A (>= 0.85), B (>= 0.70), C (>= 0.50) or D.")},
        {"page_width", field("number", "Page width in points.")},
        {"page_height", field("number", "Page height in points.")},
        {"source", {{"type", "string"},
                    {"enum", {"text_layer", "ocr"}},
                    {"description", "Where the text comes from: the PDF's text layer or OCR of the rendered page."}}}};
  }

  Result<std::vector<VectorOutput>> VectorOutputs(const Json& params) const override {
    std::vector<VectorOutput> out;
    if (params.value("run_text_embedding", true)) {
      std::string model = params.value("embedding_model", std::string(kDefaultTextModel));
      ASSIGN_OR_RETURN(auto embedder, models_.Get(model));
      VectorOutput dense;
      dense.output = UriOutputName(model);
      dense.storage_name = StorageName(kName, kVersion, "embedding");
      dense.dimensions = embedder->dimensions();
      dense.distance = embedder->distance();
      dense.description = "Dense embedding of the block's text (" + model + ")";
      dense.model = model;
      dense.supported_inputs = {"text"};
      out.push_back(dense);
    }
    VectorOutput lexical;
    lexical.output = "bm25";
    lexical.storage_name = StorageName(kName, kVersion, "bm25");
    lexical.type = "sparse";
    lexical.distance = "bm25";
    lexical.description = "Full-text index of the block's text (BM25, Porter stemming)";
    lexical.supported_inputs = {"text"};
    out.push_back(lexical);
    return out;
  }

  Status CheckParameters(const Json& params, const std::string& loc) const override {
    if (params.value("use_vlm_correction", false)) {
      return Status::Invalid(loc + ".use_vlm_correction",
                             "no VLM is available here: Strata runs no vision-language model; leave it false",
                             "value_error");
    }
    RETURN_IF_ERROR(CheckTextModel(models_, params, loc));
    return Status::Ok();
  }

  Result<std::unique_ptr<ExtractorRun>> Start(const Json& params) const override {
    Settings s;
    s.classify = params.value("use_layout_detection", true);
    s.render_dpi = params.value("render_dpi", 150);
    s.embed = params.value("run_text_embedding", true);
    s.thumbnails = params.value("generate_thumbnails", true);
    s.ocr = params.value("run_ocr", true);
    std::shared_ptr<Embedder> embedder;
    if (s.embed) {
      ASSIGN_OR_RETURN(embedder, models_.Get(params.value("embedding_model", std::string(kDefaultTextModel))));
    }
    return std::unique_ptr<ExtractorRun>(new DocumentGraphRun(s, limits_, std::move(embedder)));
  }

 private:
  ModelRegistry& models_;
  media::MediaLimits limits_;
  ExtractorInfo info_;
};

}  // namespace

std::unique_ptr<Extractor> MakeDocumentGraphExtractor(ModelRegistry& models, const media::MediaLimits& limits) {
  return std::make_unique<DocumentGraphExtractor>(models, limits);
}

}  // namespace strata::extract
