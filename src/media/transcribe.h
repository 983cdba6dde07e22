// The speech pipeline the extractors call: decode a file's audio in chunks,
// find where the speech is (Silero VAD, or loudness when the model is not
// there), recognise each stretch of speech, and return timed segments of
// words. Memory stays bounded whatever the file's length: only a rolling
// window of samples around the speech being found is kept.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "media/limits.h"
#include "media/speech.h"

namespace strata::media {

struct TranscribeOptions {
  // Words are grouped into segments no longer than this many seconds (a word
  // longer than that is a segment of its own). 0: one segment per phrase, as
  // the recogniser splits them at pauses.
  double segment_length_seconds = 0;
  // Find speech with Silero VAD when its model and ONNX Runtime are there;
  // false, or either missing: by loudness (EnergySpeechSpans) with the two
  // settings below.
  bool use_vad = true;
  double silence_db_threshold = -40.0;
  double min_silence_seconds = 0.5;
  // Reused when given (creating either costs time, PocketSphinx's model most:
  // a worker keeps its own); created for the call when null. Neither is
  // thread-safe, so each belongs to one thread.
  SpeechRecognizer* recognizer = nullptr;
  VoiceActivityDetector* vad = nullptr;
  // Where the Silero model is looked for when `vad` is null ("" = the
  // default models directory).
  std::string models_dir;
};

// What a run found, for callers that record it.
struct TranscribeReport {
  double duration_seconds = 0;  // decoded
  double speech_seconds = 0;    // inside the speech spans recognised
  std::string segmenter;        // "silero_vad" or "energy"
};

// InvalidArgument-style errors from DecodeAudio for bad files (no audio,
// corrupt, over limits.max_duration_seconds); Unavailable when PocketSphinx's
// model is missing. Segment and word times are seconds from the file's start.
Result<std::vector<TranscriptSegment>> TranscribeFile(const std::string& path, const MediaLimits& limits,
                                                      const TranscribeOptions& options,
                                                      TranscribeReport* report = nullptr);

// Regroups words into segments of at most `max_seconds` each (see
// TranscribeOptions::segment_length_seconds; <= 0 returns `segments` as is).
std::vector<TranscriptSegment> GroupWords(std::vector<TranscriptSegment> segments, double max_seconds);

}  // namespace strata::media
