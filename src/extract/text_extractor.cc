#include "extract/text_extractor.h"

#include <sstream>

#include "extract/chunker.h"
#include "extract/extractor_errors.h"
#include "extract/feature_uri.h"
#include "extract/parameters.h"
#include "extract/models/model_registry.h"
#include "extract/transcript.h"

namespace strata::extract {

namespace {

constexpr int kEmbedBatch = 32;
constexpr int64_t kMaxUnsplitBytes = 8ll << 20;  // split_by none: one chunk of at most 8 MiB
constexpr int64_t kMaxTranscriptBytes = 64ll << 20;  // split_by time_segments reads the transcript whole

Json ParameterSchema() {
  return {
      {"type", "object"},
      {"additionalProperties", false},
      {"properties",
       {{"extractor_type", {{"type", "string"}, {"const", "text_extractor"}, {"default", "text_extractor"}}},
        {"source_type", {{"type", "string"}, {"enum", {"text"}}, {"default", "text"},
                         {"description", "Source content type. Only plain text here ('youtube' needs network access)."}}},
        {"split_by", {{"type", "string"},
                      {"enum", {"characters", "words", "sentences", "paragraphs", "time_segments", "none"}},
                      {"default", "none"},
                      {"description", "Strategy for splitting text into multiple documents. time_segments reads a "
                                      "timed transcript (WebVTT, SRT, or JSON [{start, end, text}]) and groups its "
                                      "cues into segments of segment_length_seconds."}}},
        {"segment_length_seconds", {{"type", "number"}, {"exclusiveMinimum", 0}, {"maximum", 86400}, {"default", 120},
                                    {"description", "split_by time_segments: the longest span of one segment."}}},
        {"chunk_size", {{"type", "integer"}, {"minimum", 1}, {"maximum", 10000}, {"default", 1000},
                        {"description", "Units (characters, words, sentences, paragraphs) per chunk."}}},
        {"chunk_overlap", {{"type", "integer"}, {"minimum", 0}, {"maximum", 5000}, {"default", 0},
                           {"description", "Units shared by consecutive chunks; less than chunk_size."}}},
        {"embedding_model", StringParam(kDefaultTextModel,
                                "Dense text model: 'use-lite' (Universal Sentence Encoder lite, 512-d, the "
                                "default), 'glove-100d' (GloVe word vectors, 100-d: lighter and much faster, "
                                "weaker on paraphrases), or the name of a model folder (ONNX or HTTP "
                                "provider) in the models directory.")},
        {"detect_language", {{"type", "boolean"}, {"default", true},
                             {"description", "Identify each chunk's language (fastText lid.176)."}}},
        {"response_shape", {{"type", {"null"}}, {"default", nullptr},
                            {"description", "LLM structured extraction: not available in Strata (no LLM provider)."}}}}}};
}

class TextRun : public ExtractorRun {
 public:
  // segment_seconds > 0: split_by time_segments (opts are then unused).
  TextRun(ChunkOptions opts, double segment_seconds, std::shared_ptr<Embedder> embedder,
          std::shared_ptr<LanguageId> lang, std::string vector_name)
      : opts_(opts),
        segment_seconds_(segment_seconds),
        embedder_(std::move(embedder)),
        lang_(std::move(lang)),
        vector_name_(std::move(vector_name)) {}

  Status Extract(const ExtractItem& item, const Emit& emit) override {
    const InputValue* in = item.Find("text");
    if (in == nullptr || (!in->is_blob() && in->value.is_null())) {
      return Status::Invalid("inputs.text", "the source has no value for input 'text'", "missing");
    }
    if (!in->is_blob() && !in->value.is_string()) {
      return Status::Invalid("inputs.text", "input 'text' must be a string, got " + std::string(in->value.type_name()),
                             "type_error");
    }
    if (in->is_blob() && in->size_bytes == 0) {
      return Status::Invalid("inputs.text", "the text blob is empty (0 bytes)", "empty");
    }
    if (segment_seconds_ > 0) return ExtractTimeSegments(*in, emit);
    // Two passes over the stream: the first counts chunks (total_chunks is a
    // field of every chunk) and validates UTF-8 before anything is emitted.
    ASSIGN_OR_RETURN(auto counting, in->OpenText());
    ASSIGN_OR_RETURN(int64_t total, CountChunks(*counting, opts_));
    if (total == 0) return Status::Invalid("inputs.text", "the text is empty or only whitespace", "empty");
    ASSIGN_OR_RETURN(auto stream, in->OpenText());
    total_ = total;
    pending_.clear();
    RETURN_IF_ERROR(ChunkText(*stream, opts_, [&](int64_t index, std::string_view text) -> Status {
      pending_.emplace_back(index, std::string(text));
      if (pending_.size() >= kEmbedBatch) return Flush(emit);
      return Status::Ok();
    }));
    return Flush(emit);
  }

 private:
  // A transcript is small next to its media (an hour of speech is ~60 KB of
  // text), so it is read whole: cues must be sorted and grouped anyway.
  Status ExtractTimeSegments(const InputValue& in, const Emit& emit) {
    if (in.is_blob() && in.size_bytes > kMaxTranscriptBytes) {
      return Status::Invalid("inputs.text", "a transcript for split_by time_segments is at most " +
                                                std::to_string(kMaxTranscriptBytes >> 20) + " MiB",
                             "too_large");
    }
    ASSIGN_OR_RETURN(auto stream, in.OpenText());
    std::ostringstream text;
    text << stream->rdbuf();
    ASSIGN_OR_RETURN(auto cues, ParseTranscript(text.str()));
    segments_ = GroupCues(std::move(cues), segment_seconds_);
    if (segments_.empty()) return Status::Invalid("inputs.text", "the transcript's cues hold no text", "empty");
    total_ = static_cast<int64_t>(segments_.size());
    pending_.clear();
    for (size_t i = 0; i < segments_.size(); ++i) {
      pending_.emplace_back(static_cast<int64_t>(i), segments_[i].text);
      if (pending_.size() >= kEmbedBatch) RETURN_IF_ERROR(Flush(emit));
    }
    RETURN_IF_ERROR(Flush(emit));
    segments_.clear();
    return Status::Ok();
  }

  Status Flush(const Emit& emit) {
    if (pending_.empty()) return Status::Ok();
    std::vector<std::string> texts;
    texts.reserve(pending_.size());
    for (const auto& p : pending_) texts.push_back(p.second);
    ASSIGN_OR_RETURN(auto vectors, embedder_->Embed(texts, EmbedRole::kPassage));
    for (size_t i = 0; i < pending_.size(); ++i) {
      ExtractedDocument d;
      d.fields = {{"chunk_index", pending_[i].first}, {"chunk_text", pending_[i].second}, {"total_chunks", total_}};
      if (lang_) {
        auto det = lang_->Detect(pending_[i].second);
        d.fields["language"] = det.language;
      }
      if (!segments_.empty()) {
        const Cue& seg = segments_[static_cast<size_t>(pending_[i].first)];
        d.fields["start_time"] = seg.start;
        d.fields["end_time"] = seg.end;
      }
      if (embedder_->Truncates(pending_[i].second)) d.fields["embedding_truncated"] = true;
      d.position = {{"chunk_index", pending_[i].first}};
      d.vectors.emplace_back(vector_name_, std::move(vectors[i]));
      d.searchable_text = std::move(pending_[i].second);
      RETURN_IF_ERROR(emit(std::move(d)));
    }
    pending_.clear();
    return Status::Ok();
  }

  ChunkOptions opts_;
  double segment_seconds_ = 0;
  std::vector<Cue> segments_;  // time_segments: the segments of the current item
  std::shared_ptr<Embedder> embedder_;
  std::shared_ptr<LanguageId> lang_;
  std::string vector_name_;
  int64_t total_ = 0;
  std::vector<std::pair<int64_t, std::string>> pending_;
};

class TextExtractor : public Extractor {
 public:
  explicit TextExtractor(ModelRegistry& models) : models_(models) {
    info_.name = "text_extractor";
    info_.version = "v1";
    info_.description =
        "Splits text into chunks and embeds each (Universal Sentence Encoder lite, 512-d, by default; GloVe "
        "100-d or a model you bring by choice); each chunk is also indexed for full-text (BM25) search and tagged with its language.";
    info_.input_types = {"text", "string"};
    info_.input_schema = {{"text", {{"type", "text"}, {"required", true}, {"description", "The text to split and embed."}}}};
    info_.parameter_schema = ParameterSchema();
    info_.position_fields = {"chunk_index"};
    info_.locked_parameters = {"embedding_model"};
  }

  const ExtractorInfo& info() const override { return info_; }

  Json OutputSchema(const Json& params) const override {
    Json out = {{"chunk_index", {{"type", "integer"}, {"description", "Position of the chunk in its source (0-based)."}}},
                {"chunk_text", {{"type", "text"}, {"description", "The chunk's text."}}},
                {"total_chunks", {{"type", "integer"}, {"description", "Number of chunks of the source."}}}};
    if (params.value("detect_language", true)) {
      out["language"] = {{"type", "string"}, {"description", "ISO 639 code of the chunk's language (fastText lid.176)."}};
    }
    out["embedding_truncated"] = {{"type", "boolean"},
                                  {"description", "Present (true) when the chunk has more tokens than the embedding "
                                                  "model reads: its embedding covers the chunk's start only."}};
    if (params.value("split_by", "none") == "time_segments") {
      out["start_time"] = {{"type", "number"}, {"description", "Start of the segment, in seconds."}};
      out["end_time"] = {{"type", "number"}, {"description", "End of the segment, in seconds."}};
    }
    return out;
  }

  Result<std::vector<VectorOutput>> VectorOutputs(const Json& params) const override {
    std::string model = params.value("embedding_model", std::string(kDefaultTextModel));
    ASSIGN_OR_RETURN(auto embedder, models_.Get(model));
    VectorOutput dense;
    dense.output = UriOutputName(model);
    dense.storage_name = StorageName(info_.name, info_.version, "embedding");
    dense.dimensions = embedder->dimensions();
    dense.distance = embedder->distance();
    dense.description = "Dense embedding of chunk_text (" + model + ")";
    dense.model = model;
    dense.supported_inputs = {"text"};
    VectorOutput lexical;
    lexical.output = "bm25";
    lexical.storage_name = StorageName(info_.name, info_.version, "bm25");
    lexical.type = "sparse";
    lexical.distance = "bm25";
    lexical.description = "Full-text index of chunk_text (BM25, Porter stemming)";
    lexical.supported_inputs = {"text"};
    return std::vector<VectorOutput>{dense, lexical};
  }

  Status CheckParameters(const Json& params, const std::string& loc) const override {
    const std::string split_by = params.value("split_by", "none");
    if (params.value("chunk_overlap", 0) >= params.value("chunk_size", 1000) && split_by != "none" &&
        split_by != "time_segments") {
      return Status::Invalid(loc + ".chunk_overlap", "must be less than chunk_size", "value_error");
    }
    return CheckTextModel(models_, params, loc);
  }

  Result<std::unique_ptr<ExtractorRun>> Start(const Json& params) const override {
    ChunkOptions opts;
    double segment_seconds = 0;
    if (params.value("split_by", "none") == "time_segments") {
      segment_seconds = params.value("segment_length_seconds", 120.0);
    } else {
      ASSIGN_OR_RETURN(opts.split_by, ParseSplitBy(params.value("split_by", "none")));
    }
    opts.chunk_size = params.value("chunk_size", 1000);
    opts.chunk_overlap = params.value("chunk_overlap", 0);
    opts.max_none_bytes = kMaxUnsplitBytes;
    ASSIGN_OR_RETURN(auto embedder, models_.Get(params.value("embedding_model", std::string(kDefaultTextModel))));
    std::shared_ptr<LanguageId> lang;
    if (params.value("detect_language", true)) {
      ASSIGN_OR_RETURN(lang, models_.LanguageIdModel());
    }
    return std::unique_ptr<ExtractorRun>(
        new TextRun(opts, segment_seconds, std::move(embedder), std::move(lang),
                    StorageName(info_.name, info_.version, "embedding")));
  }

 private:

  ModelRegistry& models_;
  ExtractorInfo info_;
};

}  // namespace

std::unique_ptr<Extractor> MakeTextExtractor(ModelRegistry& models) { return std::make_unique<TextExtractor>(models); }

}  // namespace strata::extract
