// SpeechRecognizer on PocketSphinx 5prealpha with Debian's US English model
// (pocketsphinx-en-us: the en-us continuous acoustic model, the CMU
// pronouncing dictionary and a general 3-gram language model).
#include "media/speech.h"

#include <pocketsphinx.h>

#include <filesystem>
#include <string_view>

#include "media/audio.h"

namespace strata::media {
namespace {

namespace fs = std::filesystem;

// PocketSphinx's default front end computes 100 feature frames a second
// (-frate 100), so a segment's frame numbers are hundredths of a second.
constexpr double kFramesPerSecond = 100.0;
// Words further apart than this start a new segment: longer than the gaps
// between words of one phrase, shorter than a sentence break (espeak-ng and
// read speech pause 0.3-0.8 s between sentences).
constexpr double kPauseSeconds = 0.5;

struct ModelFiles {
  std::string hmm, lm, dict;
};

// Where Debian's pocketsphinx-en-us puts the model (and where a build from
// source installs it), checked file by file.
Result<ModelFiles> FindModel() {
  const char* roots[] = {"/usr/share/pocketsphinx/model/en-us", "/usr/local/share/pocketsphinx/model/en-us"};
  std::error_code ec;
  for (const char* root : roots) {
    ModelFiles m{(fs::path(root) / "en-us").string(), (fs::path(root) / "en-us.lm.bin").string(),
                 (fs::path(root) / "cmudict-en-us.dict").string()};
    if (fs::is_regular_file(fs::path(m.hmm) / "mdef", ec) && fs::is_regular_file(m.lm, ec) &&
        fs::is_regular_file(m.dict, ec)) {
      return m;
    }
  }
  return Status::Unavailable(
      "speech recognition: PocketSphinx's en-us model is not installed (apt-get install pocketsphinx-en-us)");
}

// Fillers and markers the decoder emits besides words: sentence bounds
// (<s>, </s>), silence (<sil>) and noise models ([NOISE], ++GARBAGE++).
bool IsFiller(std::string_view w) {
  return w.empty() || w.front() == '<' || w.front() == '[' || w.front() == '+';
}

// "read(2)" -> "read": the dictionary's alternative pronunciations.
std::string BaseWord(std::string_view w) {
  size_t paren = w.find('(');
  if (paren != std::string_view::npos && paren > 0 && w.back() == ')') w = w.substr(0, paren);
  return std::string(w);
}

class PocketSphinxRecognizer final : public SpeechRecognizer {
 public:
  explicit PocketSphinxRecognizer(ps_decoder_t* ps) : ps_(ps) {}
  ~PocketSphinxRecognizer() override { ps_free(ps_); }
  PocketSphinxRecognizer(const PocketSphinxRecognizer&) = delete;
  PocketSphinxRecognizer& operator=(const PocketSphinxRecognizer&) = delete;

  Result<std::vector<TranscriptSegment>> Transcribe(const int16_t* samples, size_t count,
                                                    double offset_seconds) override {
    std::vector<TranscriptSegment> segments;
    // Under a tenth of a second holds no word (and the front end needs a few
    // frames to start).
    if (count < static_cast<size_t>(kSpeechSampleRate / 10)) return segments;
    if (ps_start_utt(ps_) < 0) return Status::Internal("speech recognition: cannot start an utterance");
    // full_utt: the whole utterance at once, so cepstral mean normalisation
    // uses all of it rather than a running estimate.
    if (ps_process_raw(ps_, samples, count, FALSE, TRUE) < 0) {
      ps_end_utt(ps_);
      return Status::Internal("speech recognition: decoding failed");
    }
    if (ps_end_utt(ps_) < 0) return Status::Internal("speech recognition: cannot end the utterance");

    logmath_t* lmath = ps_get_logmath(ps_);
    std::vector<TranscriptWord> words;
    for (ps_seg_t* seg = ps_seg_iter(ps_); seg != nullptr; seg = ps_seg_next(seg)) {
      const char* text = ps_seg_word(seg);
      if (text == nullptr || IsFiller(text)) continue;
      int sf = 0, ef = 0;
      ps_seg_frames(seg, &sf, &ef);
      int32 ascr = 0, lscr = 0, lback = 0;
      // The word's posterior probability from the lattice (log domain).
      double p = logmath_exp(lmath, ps_seg_prob(seg, &ascr, &lscr, &lback));
      TranscriptWord w;
      w.word = BaseWord(text);
      w.start = offset_seconds + sf / kFramesPerSecond;
      w.end = offset_seconds + (ef + 1) / kFramesPerSecond;
      w.confidence = static_cast<float>(p < 0 ? 0 : p > 1 ? 1 : p);
      words.push_back(std::move(w));
    }
    // (The iterator frees itself when ps_seg_next reaches the end.)
    for (TranscriptWord& w : words) {
      if (segments.empty() || w.start - segments.back().end > kPauseSeconds) {
        segments.push_back({w.start, w.end, "", {}});
      }
      TranscriptSegment& s = segments.back();
      s.end = w.end;
      s.text += (s.text.empty() ? "" : " ") + w.word;
      s.words.push_back(std::move(w));
    }
    return segments;
  }

 private:
  ps_decoder_t* ps_;
};

}  // namespace

Result<std::unique_ptr<SpeechRecognizer>> SpeechRecognizer::Create() {
  ASSIGN_OR_RETURN(ModelFiles model, FindModel());
  // -logfn /dev/null: PocketSphinx logs every utterance's search statistics
  // to stderr otherwise.
  cmd_ln_t* config = cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", model.hmm.c_str(), "-lm", model.lm.c_str(),
                                 "-dict", model.dict.c_str(), "-logfn", "/dev/null", nullptr);
  if (config == nullptr) return Status::Internal("speech recognition: bad PocketSphinx configuration");
  ps_decoder_t* ps = ps_init(config);
  cmd_ln_free_r(config);  // the decoder holds its own reference
  if (ps == nullptr) return Status::Unavailable("speech recognition: PocketSphinx could not load its model");
  return std::unique_ptr<SpeechRecognizer>(new PocketSphinxRecognizer(ps));
}

}  // namespace strata::media
