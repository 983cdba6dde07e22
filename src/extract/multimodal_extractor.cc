#include "extract/multimodal_extractor.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "extract/extractor_errors.h"
#include "extract/feature_uri.h"
#include "extract/parameters.h"
#include "extract/models/model_registry.h"
#include "extract/visual_description.h"
#include "media/image.h"
#include "media/ocr.h"
#include "media/scenes.h"
#include "media/speech.h"
#include "media/transcribe.h"
#include "media/video.h"
#include "media/visual_features.h"


namespace strata::extract {

namespace {

constexpr const char* kName = "multimodal_extractor";
constexpr const char* kVersion = "v1";
// The URI output of the keyframe embedding: the name of what makes it
// (media::VisualEmbedding), as text outputs are named by their model.
constexpr const char* kVisualOutput = "visual_features";
constexpr int kThumbnailSide = 320;
// Silences shorter than this do not split a segment (a pause between words).
constexpr double kMinSilenceSeconds = 0.5;

Json ParameterSchema() {
  return {
      {"type", "object"},
      {"additionalProperties", false},
      {"properties",
       {{"extractor_type", {{"type", "string"}, {"const", kName}, {"default", kName}}},
        {"split_method", {{"type", "string"}, {"enum", {"time", "scene", "silence"}}, {"default", "time"},
                          {"description", "How a video is cut into segments: every time_split_interval seconds "
                                          "(time), at hard cuts between shots (scene), or in the middle of the "
                                          "silences of its sound track (silence)."}}},
        {"time_split_interval", NumberParam(10, 0.5, 86400, "split_method time: seconds per segment.")},
        {"scene_detection_threshold",
         NumberParam(0.5, 0.01, 1, "split_method scene: how different two consecutive frames must be to be a cut (0-1; "
                              "0.5 is PySceneDetect's ContentDetector default of 27 on its 0-255 scale).")},
        {"max_segment_duration",
         NumberParam(30, 0.5, 86400, "split_method scene and silence: longer segments are cut every this many seconds.")},
        {"silence_db_threshold",
         NumberParam(-40, -100, 0, "split_method silence: sound below this level (dBFS, 20 ms RMS) is silence.")},
        {"run_transcription", BoolParam(true, "Transcribe the speech (PocketSphinx, US English) and give each segment "
                                            "the words spoken in it.")},
        {"transcription_language", {{"type", "string"}, {"default", "en"},
                                    {"description", "Language of the speech. Only English ('en') is available."}}},
        {"run_transcription_embedding",
         BoolParam(true, "Embed each segment's transcript and on-screen text with the text model (embedding_model).")},
        {"run_multimodal_embedding",
         BoolParam(true, "Embed each segment's keyframe (hand-made visual features: colour, texture and layout; no "
                       "neural image model ships here).")},
        {"run_ocr", BoolParam(false, "Read the text on screen in each segment's keyframe (Tesseract, English).")},
        {"detect_objects", BoolParam(true, "Find objects of the 80 COCO classes in each segment's keyframe "
                                         "(CenterNet): objects (filter: objects.label), and a caption naming them "
                                         "that the text embedding and full-text index include.")},
        {"detect_faces", BoolParam(true, "Find faces in each segment's keyframe (BlazeFace): faces. A tier-2 "
                                       "face_identity_extractor collection over document_blobs.thumbnail gives one "
                                       "document per face with an identity vector.")},
        {"enable_thumbnails", BoolParam(true, "Store a JPEG thumbnail (320 px) of each segment's keyframe.")},
        {"segment_length_seconds",
         NumberParam(120, 1, 86400, "Audio inputs: transcript segments are grouped into documents of at most this many "
                               "seconds.")},
        {"embedding_model", {{"type", "string"}, {"default", kDefaultTextModel},
                             {"description", "Text model of the transcription embedding: 'glove-100d' (built in) or "
                                             "a model folder of the models directory."}}},
        {"run_video_description",
         BoolParam(false, "Describe each segment with a vision-language model: no such model is available here, so "
                        "only false is accepted.")},
        {"description_prompt", InertParam({"string", "null"}, "For run_video_description; inert here.")},
        {"generation_config", InertParam({"object", "null"}, "For run_video_description; inert here.")},
        {"use_cdn", BoolParam(false, "Accepted for compatibility; inert (thumbnails are served by this server).")},
        {"response_shape", InertParam({"null"}, "LLM structured extraction: not available here (no LLM provider).")},
        {"output_dimensionality",
         InertParam({"integer", "null"}, "Accepted for compatibility; inert (the visual embedding has a fixed size).")},
        {"task_type", InertParam({"string", "null"}, "Accepted for compatibility; inert.")}}}};
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct Word {
  double start = 0, end = 0;
  std::string text;
};

// The words not taken yet whose middle falls before `end` (all of them for
// the last segment), joined by spaces: segments come in time order, so each
// word goes to the segment it is mostly spoken in. `next` walks forward.
std::string WordsBefore(const std::vector<Word>& words, size_t& next, double end, bool last) {
  std::string out;
  for (; next < words.size(); ++next) {
    const Word& w = words[next];
    if (!last && (w.start + w.end) / 2 >= end) break;
    if (!out.empty()) out += ' ';
    out += w.text;
  }
  return out;
}

struct Settings {
  media::SplitOptions split;
  double silence_db = -40;
  bool transcribe = true;
  bool text_embedding = true;
  bool visual_embedding = true;
  bool ocr = false;
  bool objects = true;
  bool faces = true;
  bool thumbnails = true;
  double segment_length = 120;
};

// The models of a run, shared with the process's other runs; null when not asked for.
struct RunModels {
  std::shared_ptr<Embedder> text;
  std::shared_ptr<ObjectDetector> objects;
  std::shared_ptr<const FaceDetector> faces;
};

// Objects keep CenterNet's default bounds (as image_extractor's defaults).
constexpr float kObjectMinScore = 0.3f;
constexpr int kMaxObjects = 20;

class MultimodalRun : public ExtractorRun {
 public:
  MultimodalRun(Settings s, media::MediaLimits limits, RunModels models, std::unique_ptr<media::OcrEngine> ocr,
                std::string models_dir)
      : s_(std::move(s)),
        limits_(limits),
        m_(std::move(models)),
        ocr_(std::move(ocr)),
        models_dir_(std::move(models_dir)) {}

  Status Extract(const ExtractItem& item, const Emit& emit) override {
    const InputValue* video = item.Find("video");
    const InputValue* audio = item.Find("audio");
    for (const InputValue* in : {video, audio}) {
      if (in != nullptr && !in->is_blob() && in->value.is_string()) return ExtractQuery(in->value, emit);
    }
    if (video != nullptr && video->is_blob()) return ExtractVideo(*video, emit);
    if (audio != nullptr && audio->is_blob()) return ExtractAudio(*audio, emit);
    const InputValue* given = video != nullptr ? video : audio;
    if (given == nullptr || given->value.is_null()) {
      return Status::Invalid("inputs.video", "the source has no value for input 'video' or 'audio'", "missing");
    }
    return Status::Invalid("inputs." + given->name,
                           "input '" + given->name + "' must be a media file (a blob), got " +
                               std::string(given->value.type_name()),
                           "type_error");
  }

 private:
  // A search query: its text embedding, or, when it is an image's bytes, its
  // visual embedding.
  Status ExtractQuery(const Json& value, const Emit& emit) {
    const std::string& text = value.get_ref<const std::string&>();
    ExtractedDocument d;
    if (s_.visual_embedding) {
      auto img = media::DecodeImageBytes(text, limits_);
      if (img.ok()) {
        d.vectors.emplace_back(StorageName(kName, kVersion, "multimodal"), media::VisualEmbedding(img->bgr));
        return emit(std::move(d));
      }
    }
    if (s_.text_embedding && m_.text) {
      ASSIGN_OR_RETURN(auto v, m_.text->Embed({text}, EmbedRole::kQuery));
      d.vectors.emplace_back(StorageName(kName, kVersion, "transcription"), std::move(v[0]));
    }
    d.searchable_text = text;
    return emit(std::move(d));
  }

  // The whole sound track transcribed once, in segments of at most
  // `segment_length` seconds (0: as the recogniser phrases it). The
  // recogniser (and the voice activity model, when it is there) is created on
  // first use and kept for the run's later items.
  Result<std::vector<media::TranscriptSegment>> Transcribe(const std::string& path, double segment_length) {
    if (!recognizer_) {
      ASSIGN_OR_RETURN(recognizer_, media::SpeechRecognizer::Create());
      auto vad = media::VoiceActivityDetector::Create();
      if (vad.ok()) vad_ = std::move(*vad);  // else speech is found by loudness
    }
    media::TranscribeOptions o;
    o.segment_length_seconds = segment_length;
    o.use_vad = vad_ != nullptr;
    o.vad = vad_.get();
    o.recognizer = recognizer_.get();
    o.silence_db_threshold = s_.silence_db;
    o.models_dir = models_dir_;
    return media::TranscribeFile(path, limits_, o);
  }

  Result<std::vector<Word>> Words(const std::string& path, bool has_audio) {
    std::vector<Word> words;
    if (!s_.transcribe || !has_audio) return words;
    ASSIGN_OR_RETURN(auto segments, Transcribe(path, 0));
    for (const auto& seg : segments) {
      if (seg.words.empty() && !seg.text.empty()) {
        words.push_back({seg.start, seg.end, seg.text});
        continue;
      }
      for (const auto& w : seg.words) words.push_back({w.start, w.end, w.word});
    }
    std::stable_sort(words.begin(), words.end(), [](const Word& a, const Word& b) { return a.start < b.start; });
    return words;
  }

  Status ExtractVideo(const InputValue& in, const Emit& emit) {
    if (in.size_bytes == 0) return Status::Invalid("inputs.video", "the video blob is empty (0 bytes)", "empty");
    ASSIGN_OR_RETURN(media::MediaProbe probe, media::ProbeMedia(in.blob_path));
    // A sound file given as the video: its transcript segments.
    if (!probe.has_video && probe.has_audio) return ExtractAudio(in, emit);
    if (!probe.has_video) return Status::Invalid("inputs.video", "the file has no video or audio stream", "value_error");
    if (probe.duration_seconds > limits_.max_duration_seconds) {
      return Status::Invalid("inputs.video", "the video lasts " + std::to_string(std::lround(probe.duration_seconds)) +
                                                 " s, over the bound of " +
                                                 std::to_string(std::lround(limits_.max_duration_seconds)) +
                                                 " s (max_duration_seconds)",
                             "value_error");
    }
    if (static_cast<int64_t>(probe.width) * probe.height > limits_.max_pixels) {
      return Status::Invalid("inputs.video", "the video's frames are over the bound of " +
                                                 std::to_string(limits_.max_pixels) + " pixels (max_pixels)",
                             "value_error");
    }
    ASSIGN_OR_RETURN(std::vector<Word> words, Words(in.blob_path, probe.has_audio));
    media::SplitOptions split = s_.split;
    if (split.method == media::SplitMethod::kSilence && probe.has_audio) {
      ASSIGN_OR_RETURN(auto spans,
                       media::EnergySpeechSpansOfFile(in.blob_path, limits_, s_.silence_db, kMinSilenceSeconds));
      split.silence_cuts = media::SilenceCuts(spans, kMinSilenceSeconds);
    }
    media::FrameSegmenter segmenter(split);
    media::MiddleFramePicker picker;
    const bool want_keyframe = s_.thumbnails || s_.visual_embedding || s_.ocr || s_.objects || s_.faces;
    const double fps = probe.fps > 0 ? probe.fps : 25.0;

    struct Open {
      double start = 0;
      int64_t start_frame = 0;
      int index = 0;
    } open;
    size_t next_word = 0;
    bool started = false;
    const int width = probe.width, height = probe.height;

    auto close = [&](double end, int64_t end_frame, bool last) -> Status {
      ExtractedDocument d;
      d.modality = "video";
      std::string transcript = WordsBefore(words, next_word, end, last);
      std::string ocr_text, caption;
      Json keyframe_time = nullptr, objects = Json::array(), faces = Json::array();
      if (auto kf = want_keyframe ? picker.Pick(end) : std::nullopt; kf.has_value()) {
        keyframe_time = kf->time;
        if (s_.thumbnails) {
          ASSIGN_OR_RETURN(std::string jpeg, media::EncodeThumbnail(kf->frame, kThumbnailSide));
          ExtractedBlob b;
          b.field = "thumbnail";
          b.role = "thumbnail";
          b.type = "image";
          b.mime_type = "image/jpeg";
          b.bytes = std::move(jpeg);
          d.blobs.push_back(std::move(b));
        }
        if (s_.visual_embedding) {
          d.vectors.emplace_back(StorageName(kName, kVersion, "multimodal"), media::VisualEmbedding(kf->frame));
        }
        if (ocr_) {
          ASSIGN_OR_RETURN(media::OcrResult r, ocr_->Recognize(kf->frame));
          ocr_text = media::ConfidentText(r);
        }
        if (m_.objects) {
          ASSIGN_OR_RETURN(auto found, m_.objects->Detect({kf->frame}, kObjectMinScore, kMaxObjects));
          objects = ObjectsJson(found[0]);
          caption = ObjectCaption(found[0], "A scene with");
        }
        if (m_.faces) {
          ASSIGN_OR_RETURN(auto found, m_.faces->Detect(kf->frame));
          faces = FacesJson(found, kf->frame.cols, kf->frame.rows);
        }
      }
      std::string text = transcript;
      if (std::string seen = DescriptionText(caption, ocr_text); !seen.empty()) {
        text += (text.empty() ? "" : "\n") + seen;
      }
      if (s_.text_embedding && !text.empty()) {
        ASSIGN_OR_RETURN(auto v, m_.text->Embed({text}, EmbedRole::kPassage));
        d.vectors.emplace_back(StorageName(kName, kVersion, "transcription"), std::move(v[0]));
      }
      d.fields = {{"segment_index", open.index},
                  {"start_time", open.start},
                  {"end_time", end},
                  {"duration", end - open.start},
                  {"start_frame", open.start_frame},
                  {"end_frame", end_frame},
                  {"fps", fps},
                  {"width", width},
                  {"height", height},
                  {"keyframe_time", keyframe_time},
                  {"transcription", transcript},
                  {"ocr_text", ocr_text}};
      if (s_.objects) {
        d.fields["objects"] = std::move(objects);
        d.fields["caption"] = caption;
      }
      if (s_.faces) d.fields["faces"] = std::move(faces);
      d.position = {{"segment_index", open.index}};
      d.searchable_text = std::move(text);
      return emit(std::move(d));
    };

    media::VideoDecodeOptions vopts;
    auto info = media::DecodeVideo(in.blob_path, limits_, vopts, [&](const media::VideoFrame& f) -> Status {
      if (segmenter.StartsSegment(f.small, f.time) && started) {
        RETURN_IF_ERROR(close(f.time, f.index, false));
        open = {f.time, f.index, open.index + 1};
        picker.Reset(f.time);
      }
      if (!started) {
        started = true;
        open = {f.time, f.index, 0};
        picker.Reset(f.time);
      }
      if (want_keyframe && picker.Wants(f.time)) {
        ASSIGN_OR_RETURN(cv::Mat full, f.Full());
        picker.Keep(f.time, f.index, std::move(full));
      }
      return Status::Ok();
    });
    if (!info.ok()) return info.status();
    // The last segment ends with its last frame's display time, or the
    // declared duration when that is a little later (a final frame shown
    // longer than 1/fps).
    double end = info->last_frame_time + 1.0 / fps;
    if (probe.duration_seconds > end && probe.duration_seconds - end < 1.0) end = probe.duration_seconds;
    return close(end, info->frames_decoded, true);
  }

  Status ExtractAudio(const InputValue& in, const Emit& emit) {
    const std::string loc = "inputs." + in.name;
    if (in.size_bytes == 0) return Status::Invalid(loc, "the audio blob is empty (0 bytes)", "empty");
    ASSIGN_OR_RETURN(media::MediaProbe probe, media::ProbeMedia(in.blob_path));
    if (!probe.has_audio) return Status::Invalid(loc, "the file has no audio stream", "value_error");
    if (probe.duration_seconds > limits_.max_duration_seconds) {
      return Status::Invalid(loc, "the audio lasts " + std::to_string(std::lround(probe.duration_seconds)) +
                                                 " s, over the bound of " +
                                                 std::to_string(std::lround(limits_.max_duration_seconds)) +
                                                 " s (max_duration_seconds)",
                             "value_error");
    }
    std::vector<media::TranscriptSegment> groups;
    if (s_.transcribe) {
      ASSIGN_OR_RETURN(groups, Transcribe(in.blob_path, s_.segment_length));
    } else {
      // Without a transcript, fixed windows of segment_length_seconds.
      for (double t = 0; t < probe.duration_seconds; t += s_.segment_length) {
        media::TranscriptSegment w;
        w.start = t;
        w.end = std::min(probe.duration_seconds, t + s_.segment_length);
        groups.push_back(std::move(w));
      }
    }
    int index = 0;
    for (auto& g : groups) {
      ExtractedDocument d;
      d.modality = "audio";
      if (s_.text_embedding && !g.text.empty()) {
        ASSIGN_OR_RETURN(auto v, m_.text->Embed({g.text}, EmbedRole::kPassage));
        d.vectors.emplace_back(StorageName(kName, kVersion, "transcription"), std::move(v[0]));
      }
      d.fields = {{"segment_index", index},
                  {"start_time", g.start},
                  {"end_time", g.end},
                  {"duration", g.end - g.start},
                  {"transcription", g.text}};
      d.position = {{"segment_index", index}};
      d.searchable_text = std::move(g.text);
      ++index;
      RETURN_IF_ERROR(emit(std::move(d)));
    }
    return Status::Ok();
  }

  Settings s_;
  media::MediaLimits limits_;
  RunModels m_;
  std::unique_ptr<media::OcrEngine> ocr_;
  std::string models_dir_;
  std::unique_ptr<media::SpeechRecognizer> recognizer_;
  std::unique_ptr<media::VoiceActivityDetector> vad_;
};

class MultimodalExtractor : public Extractor {
 public:
  MultimodalExtractor(ModelRegistry& models, const media::MediaLimits& limits) : models_(models), limits_(limits) {
    info_.name = kName;
    info_.version = kVersion;
    info_.description =
        "Splits a video into segments (by time, scene cuts or silences) and writes one document per segment with "
        "its times, a keyframe thumbnail, the keyframe's visual embedding, objects and faces, the on-screen text "
        "(OCR) and the transcript of its speech, embedded and indexed for full-text search. Audio files become timed transcript "
        "segments.";
    info_.input_types = {"video", "audio", "gif"};
    // One input for both kinds of media: the collection layer maps every
    // declared input and refuses a source that lacks one, so a separate
    // optional `audio` input would make every video-only bucket invalid. The
    // file's own streams tell video from audio. (Extract also reads an input
    // named "audio" when one is given.)
    info_.input_schema = {
        {"video", {{"type", "video"}, {"required", true},
                   {"description", "A video blob (mp4, mkv, webm, mov, avi; an animated GIF declared as video), or "
                                   "an audio blob (wav, mp3, ogg, flac, m4a), which gives timed transcript "
                                   "segments."}}}};
    info_.parameter_schema = ParameterSchema();
    info_.position_fields = {"segment_index"};
    info_.locked_parameters = {"embedding_model"};
    info_.emits_blobs = true;
  }

  const ExtractorInfo& info() const override { return info_; }

  Json OutputSchema(const Json& params) const override {
    auto field = [](const char* type, const char* desc) { return Json{{"type", type}, {"description", desc}}; };
    return {
        {"segment_index", field("integer", "Position of the segment in its source (0-based).")},
        {"start_time", field("number", "Start of the segment, seconds from the start of the media.")},
        {"end_time", field("number", "End of the segment (exclusive), seconds.")},
        {"duration", field("number", "end_time - start_time, seconds.")},
        {"start_frame", field("integer", "First frame of the segment (0-based, decoded order).")},
        {"end_frame", field("integer", "First frame after the segment (the frame count for the last one).")},
        {"fps", field("number", "Average frame rate of the video.")},
        {"width", field("integer", "Frame width in pixels.")},
        {"height", field("integer", "Frame height in pixels.")},
        {"keyframe_time", field("number", "Time of the keyframe: the kept frame nearest the segment's middle.")},
        {"transcription", field("text", "The words spoken in the segment (PocketSphinx, US English).")},
        {"ocr_text", field("text", "Text read on the keyframe (run_ocr).")},
        {"objects", {{"type", "array"}, {"items", {{"type", "object"}}},
                     {"description", "Objects on the keyframe (detect_objects; CenterNet, COCO classes): [{label, "
                                     "score, bbox: [x1, y1, x2, y2] in frame pixels}], strongest first."}}},
        {"caption", field("text", "A sentence naming the keyframe's objects (\"A scene with two people and a "
                                  "car.\"); empty when none.")},
        {"faces", {{"type", "array"}, {"items", {{"type", "object"}}},
                   {"description", "Faces on the keyframe (detect_faces; BlazeFace): [{bbox, score}], best first."}}}};
  }

  Result<std::vector<VectorOutput>> VectorOutputs(const Json& params) const override {
    std::string model = params.value("embedding_model", std::string(kDefaultTextModel));
    ASSIGN_OR_RETURN(auto embedder, models_.Get(model));
    VectorOutput visual;
    visual.output = kVisualOutput;
    visual.storage_name = StorageName(kName, kVersion, "multimodal");
    visual.dimensions = media::kVisualEmbeddingDimensions;
    visual.distance = "cosine";
    visual.description = "Visual embedding of each segment's keyframe (colour, texture and layout features)";
    visual.model = kVisualOutput;
    visual.supported_inputs = {"image", "video"};
    VectorOutput text;
    text.output = UriOutputName(model);
    text.storage_name = StorageName(kName, kVersion, "transcription");
    text.dimensions = embedder->dimensions();
    text.distance = embedder->distance();
    text.description = "Dense embedding of each segment's transcript, caption and on-screen text (" + model + ")";
    text.model = model;
    text.supported_inputs = {"text"};
    VectorOutput lexical;
    lexical.output = "bm25";
    lexical.storage_name = StorageName(kName, kVersion, "bm25");
    lexical.type = "sparse";
    lexical.distance = "bm25";
    lexical.description = "Full-text index of each segment's transcript, caption and on-screen text (BM25)";
    lexical.supported_inputs = {"text"};
    return std::vector<VectorOutput>{visual, text, lexical};
  }

  Status CheckParameters(const Json& params, const std::string& loc) const override {
    const std::string lang = Lower(params.value("transcription_language", "en"));
    if (lang != "en" && lang != "en-us" && lang != "english") {
      return Status::Invalid(loc + ".transcription_language",
                             "only English ('en') is available: the speech model here is PocketSphinx's US English "
                             "model",
                             "value_error");
    }
    if (params.value("run_video_description", false)) {
      return Status::Invalid(loc + ".run_video_description", "no video description model is available here",
                             "value_error");
    }
    RETURN_IF_ERROR(CheckTextModel(models_, params, loc));
    return Status::Ok();
  }

  Result<std::unique_ptr<ExtractorRun>> Start(const Json& params) const override {
    Settings s;
    ASSIGN_OR_RETURN(s.split.method, media::ParseSplitMethod(params.value("split_method", "time")));
    s.split.time_split_interval = params.value("time_split_interval", 10.0);
    s.split.scene_detection_threshold = params.value("scene_detection_threshold", 0.5);
    s.split.max_segment_duration = params.value("max_segment_duration", 30.0);
    s.silence_db = params.value("silence_db_threshold", -40.0);
    s.transcribe = params.value("run_transcription", true);
    s.text_embedding = params.value("run_transcription_embedding", true);
    s.visual_embedding = params.value("run_multimodal_embedding", true);
    s.ocr = params.value("run_ocr", false);
    s.objects = params.value("detect_objects", true);
    s.faces = params.value("detect_faces", true);
    s.thumbnails = params.value("enable_thumbnails", true);
    s.segment_length = params.value("segment_length_seconds", 120.0);
    RunModels m;
    if (s.text_embedding) {
      ASSIGN_OR_RETURN(m.text, models_.Get(params.value("embedding_model", std::string(kDefaultTextModel))));
    }
    if (s.objects) {
      ASSIGN_OR_RETURN(m.objects, models_.GetObjectDetector(kObjectDetectionModel));
    }
    if (s.faces) {
      ASSIGN_OR_RETURN(m.faces, models_.GetFaceDetector(kFaceDetectionModel));
    }
    std::unique_ptr<media::OcrEngine> ocr;
    if (s.ocr) {
      ASSIGN_OR_RETURN(ocr, media::OcrEngine::Create("eng"));
    }
    return std::unique_ptr<ExtractorRun>(new MultimodalRun(std::move(s), limits_, std::move(m), std::move(ocr), models_.models_dir()));
  }

 private:
  ModelRegistry& models_;
  media::MediaLimits limits_;
  ExtractorInfo info_;
};

}  // namespace

std::unique_ptr<Extractor> MakeMultimodalExtractor(ModelRegistry& models, const media::MediaLimits& limits) {
  return std::make_unique<MultimodalExtractor>(models, limits);
}

}  // namespace strata::extract
