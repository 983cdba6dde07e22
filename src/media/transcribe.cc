#include "media/transcribe.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "media/audio.h"

namespace strata::media {
namespace {

constexpr int64_t kRate = kSpeechSampleRate;
// Speech spans are looked for every 20 s of new audio.
constexpr int64_t kStepSamples = 20 * kRate;
// A span ending this close to the end of the window may go on in audio not
// decoded yet, so it waits for the next window. Longer than the VAD's
// redemption time (8 frames of 96 ms) and the energy segmenter's pause.
constexpr double kMarginSeconds = 2.0;
// The recogniser gets at most 30 s at once: PocketSphinx's search (and its
// memory) grow with the utterance, and read speech rarely goes 30 s without a
// pause. A longer span is cut at its quietest moment in the last 5 s.
constexpr int64_t kMaxPieceSamples = 30 * kRate;
constexpr int64_t kCutSearchSamples = 5 * kRate;
// Silence kept around each span: the recogniser's front end and its silence
// model want a little before the first word and after the last.
constexpr int64_t kPadSamples = kRate / 4;

class Transcriber {
 public:
  Transcriber(const TranscribeOptions& options, SpeechRecognizer* recognizer, VoiceActivityDetector* vad)
      : options_(options), recognizer_(recognizer), vad_(vad) {
    margin_ = static_cast<int64_t>(std::max(kMarginSeconds, options.min_silence_seconds + 1.0) * kRate);
  }

  Status Add(const int16_t* samples, size_t count) {
    buf_.insert(buf_.end(), samples, samples + count);
    total_ += static_cast<int64_t>(count);
    if (static_cast<int64_t>(buf_.size()) - scanned_ >= kStepSamples) return Process(false);
    return Status::Ok();
  }

  Status Finish() { return Process(true); }

  std::vector<TranscriptSegment>& segments() { return segments_; }
  double speech_seconds() const { return static_cast<double>(speech_samples_) / kRate; }
  double duration_seconds() const { return static_cast<double>(total_) / kRate; }

 private:
  // Finds the speech in the window; recognises every span that is complete,
  // then drops the samples nothing will need again.
  Status Process(bool final) {
    const int64_t size = static_cast<int64_t>(buf_.size());
    std::vector<SpeechSpan> spans;
    if (vad_ != nullptr) {
      ASSIGN_OR_RETURN(spans, vad_->Detect(buf_, options_.min_silence_seconds));
    } else {
      spans = EnergySpeechSpans(buf_, options_.silence_db_threshold, options_.min_silence_seconds);
    }
    const int64_t settled = final ? size : std::max<int64_t>(0, size - margin_);
    int64_t keep_from = settled;
    for (const SpeechSpan& span : spans) {
      int64_t a = std::clamp<int64_t>(std::llround(span.start * kRate), 0, size);
      int64_t b = std::clamp<int64_t>(std::llround(span.end * kRate), a, size);
      if (b >= settled && !final) {
        // Still open: recognise whole 30 s pieces of it now (so a talk with
        // no pause does not grow the window), keep the rest for later.
        bool was_cut = false;
        while (settled - a > kMaxPieceSamples) {
          int64_t cut = QuietestCut(a + kMaxPieceSamples - kCutSearchSamples, a + kMaxPieceSamples);
          RETURN_IF_ERROR(Recognise(a, cut, !was_cut, false));
          a = cut;
          was_cut = true;
        }
        // After a forced cut the next piece starts exactly there: padding it
        // with audio already recognised would repeat words.
        keep_from = was_cut ? a : std::max<int64_t>(0, a - kPadSamples);
        break;
      }
      bool was_cut = false;
      while (b - a > kMaxPieceSamples) {
        int64_t cut = QuietestCut(a + kMaxPieceSamples - kCutSearchSamples, a + kMaxPieceSamples);
        RETURN_IF_ERROR(Recognise(a, cut, !was_cut, false));
        a = cut;
        was_cut = true;
      }
      RETURN_IF_ERROR(Recognise(a, b, !was_cut, true));
    }
    buf_.erase(buf_.begin(), buf_.begin() + keep_from);
    start_ += keep_from;
    scanned_ = static_cast<int64_t>(buf_.size());
    return Status::Ok();
  }

  // The middle of the quietest 20 ms frame of [from, to): where a forced cut
  // is least likely to split a word.
  int64_t QuietestCut(int64_t from, int64_t to) const {
    constexpr int64_t kFrame = kRate / 50;
    int64_t best = to;
    double best_energy = INFINITY;
    for (int64_t at = from; at + kFrame <= to; at += kFrame / 2) {
      double e = 0;
      for (int64_t i = at; i < at + kFrame; ++i) e += static_cast<double>(buf_[i]) * buf_[i];
      if (e < best_energy) {
        best_energy = e;
        best = at + kFrame / 2;
      }
    }
    return best;
  }

  // Recognises buf_[a, b), padded on the sides asked (not across a forced
  // cut); times become absolute.
  Status Recognise(int64_t a, int64_t b, bool pad_before, bool pad_after) {
    if (b <= a) return Status::Ok();
    speech_samples_ += b - a;
    int64_t from = pad_before ? std::max<int64_t>(0, a - kPadSamples) : a;
    int64_t to = pad_after ? std::min<int64_t>(static_cast<int64_t>(buf_.size()), b + kPadSamples) : b;
    ASSIGN_OR_RETURN(auto found, recognizer_->Transcribe(buf_.data() + from, static_cast<size_t>(to - from),
                                                         static_cast<double>(start_ + from) / kRate));
    for (TranscriptSegment& s : found) segments_.push_back(std::move(s));
    return Status::Ok();
  }

  const TranscribeOptions& options_;
  SpeechRecognizer* recognizer_;
  VoiceActivityDetector* vad_;
  int64_t margin_ = 0;
  std::vector<int16_t> buf_;  // the window: samples [start_, start_ + size)
  int64_t start_ = 0;         // absolute sample index of buf_[0]
  int64_t scanned_ = 0;       // buf_.size() at the last Process
  int64_t total_ = 0, speech_samples_ = 0;
  std::vector<TranscriptSegment> segments_;
};

}  // namespace

std::vector<TranscriptSegment> GroupWords(std::vector<TranscriptSegment> segments, double max_seconds) {
  if (max_seconds <= 0) return segments;
  std::vector<TranscriptSegment> out;
  for (TranscriptSegment& s : segments) {
    for (TranscriptWord& w : s.words) {
      if (out.empty() || w.end - out.back().start > max_seconds) out.push_back({w.start, w.end, "", {}});
      TranscriptSegment& g = out.back();
      g.end = std::max(g.end, w.end);
      g.text += (g.text.empty() ? "" : " ") + w.word;
      g.words.push_back(std::move(w));
    }
  }
  return out;
}

Result<std::vector<TranscriptSegment>> TranscribeFile(const std::string& path, const MediaLimits& limits,
                                                      const TranscribeOptions& options,
                                                      TranscribeReport* report) {
  std::unique_ptr<SpeechRecognizer> own_recognizer;
  SpeechRecognizer* recognizer = options.recognizer;
  if (recognizer == nullptr) {
    ASSIGN_OR_RETURN(own_recognizer, SpeechRecognizer::Create());
    recognizer = own_recognizer.get();
  }
  std::unique_ptr<VoiceActivityDetector> own_vad;
  VoiceActivityDetector* vad = options.use_vad ? options.vad : nullptr;
  if (options.use_vad && vad == nullptr) {
    auto created = options.models_dir.empty() ? VoiceActivityDetector::Create()
                                              : VoiceActivityDetector::Create(options.models_dir);
    // Missing model or runtime: loudness instead (any other error is real).
    if (!created.ok() && created.status().code() != StatusCode::kUnavailable) return created.status();
    if (created.ok()) {
      own_vad = std::move(created).value();
      vad = own_vad.get();
    }
  }

  Transcriber t(options, recognizer, vad);
  ASSIGN_OR_RETURN(AudioInfo info, DecodeAudio(path, limits, [&](const int16_t* s, size_t n, int64_t) {
                     return t.Add(s, n);
                   }));
  (void)info;
  RETURN_IF_ERROR(t.Finish());
  if (report != nullptr) {
    report->duration_seconds = t.duration_seconds();
    report->speech_seconds = t.speech_seconds();
    report->segmenter = vad != nullptr ? "silero_vad" : "energy";
  }
  return GroupWords(std::move(t.segments()), options.segment_length_seconds);
}

}  // namespace strata::media
