// Audio decoding with FFmpeg to what speech models take: 16 kHz mono signed
// 16-bit PCM, delivered in chunks so that an hour of audio never sits in
// memory at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "media/limits.h"
#include "media/speech.h"

namespace strata::media {

inline constexpr int kSpeechSampleRate = 16000;

struct AudioInfo {
  double duration_seconds = 0;  // as the container declares it (0 = unknown)
  int source_sample_rate = 0;
  int source_channels = 0;
  std::string codec;
};

// Reads the file's best audio stream; `sink` receives consecutive chunks of
// 16 kHz mono samples (start_sample counts from the stream's start) and may
// stop the decode early by returning an error, which Decode returns.
// InvalidArgument when the file has no audio stream, is corrupt, or runs past
// limits.max_duration_seconds.
using PcmSink = std::function<Status(const int16_t* samples, size_t count, int64_t start_sample)>;
Result<AudioInfo> DecodeAudio(const std::string& path, const MediaLimits& limits, const PcmSink& sink);

// Speech found by loudness alone, the fallback when the Silero model is not
// there (and the video extractor's `split_method: silence`): 20 ms frames whose
// RMS level (dB relative to full scale) is above silence_db_threshold are
// sound; sound separated by less than min_silence_seconds of quiet is one span.
// Spans are in seconds from samples[0].
std::vector<SpeechSpan> EnergySpeechSpans(const int16_t* samples, size_t count,
                                          double silence_db_threshold = -40.0,
                                          double min_silence_seconds = 0.5);
inline std::vector<SpeechSpan> EnergySpeechSpans(const std::vector<int16_t>& samples,
                                                 double silence_db_threshold = -40.0,
                                                 double min_silence_seconds = 0.5) {
  return EnergySpeechSpans(samples.data(), samples.size(), silence_db_threshold, min_silence_seconds);
}

}  // namespace strata::media
