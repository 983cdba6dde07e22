#include "media/speech.h"

#include <gtest/gtest.h>

#include <memory>

#include "media/audio_test_util.h"

namespace strata::media {
namespace {

using testing::ContentWordRecall;

const std::vector<std::string> kSentences = {
    "Please send the report to the office before noon.",
    "We will meet at the library tomorrow morning.",
    "Today the weather is sunny and warm in the city.",
};

// One recogniser and one recording for the suite: loading PocketSphinx's
// model and synthesising speech are the slow parts.
class SpeechRecognizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::HaveTool("ffmpeg") || !testing::HaveTool("espeak-ng")) {
      skip_ = "ffmpeg and espeak-ng make the speech fixture; one is not installed";
      return;
    }
    auto r = SpeechRecognizer::Create();
    if (!r.ok()) {
      skip_ = r.status().ToString();
      return;
    }
    recognizer_ = std::move(r).value().release();
    dir_ = new testing::TempDir;
    auto f = testing::MakeSpeechFixture(*dir_, kSentences, {1.0, 1.5});
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    fixture_ = new testing::SpeechFixture(*f);
    auto pcm = testing::DecodeAll(fixture_->wav);
    ASSERT_TRUE(pcm.ok()) << pcm.status().ToString();
    pcm_ = new std::vector<int16_t>(std::move(pcm).value());
  }
  static void TearDownTestSuite() {
    delete recognizer_;
    delete pcm_;
    delete fixture_;
    delete dir_;
    recognizer_ = nullptr, pcm_ = nullptr, fixture_ = nullptr, dir_ = nullptr;
  }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_NE(pcm_, nullptr);
  }

  static inline std::string skip_;
  static inline SpeechRecognizer* recognizer_ = nullptr;
  static inline testing::TempDir* dir_ = nullptr;
  static inline testing::SpeechFixture* fixture_ = nullptr;
  static inline std::vector<int16_t>* pcm_ = nullptr;
};

TEST_F(SpeechRecognizerTest, TranscribesSynthesisedSpeechWithWordTimes) {
  auto r = recognizer_->Transcribe(pcm_->data(), pcm_->size(), 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string all;
  double last_start = -1;
  for (const TranscriptSegment& s : *r) {
    ASSERT_FALSE(s.words.empty());
    EXPECT_LE(s.start, s.end);
    all += s.text + " ";
    for (const TranscriptWord& w : s.words) {
      // Fillers and pronunciation variants never reach the caller.
      EXPECT_EQ(w.word.find_first_of("<[(+"), std::string::npos) << w.word;
      EXPECT_GE(w.start, s.start);
      EXPECT_LE(w.end, s.end);
      EXPECT_GE(w.start, last_start);  // in order
      EXPECT_LE(w.end, fixture_->duration + 0.01);
      EXPECT_GE(w.confidence, 0.0f);
      EXPECT_LE(w.confidence, 1.0f);
      last_start = w.start;
    }
  }
  double recall = ContentWordRecall(kSentences, all);
  std::cout << "[ heard    ] " << all << "\n[ recall   ] " << recall << " of content words\n";
  // PocketSphinx's general English model on espeak-ng's synthetic voice:
  // about half of these content words come back exactly (measured 0.53;
  // "report" is heard as "reports", "office" as "officers").
  EXPECT_GE(recall, 0.4) << all;
  // The 1-1.5 s pauses between the sentences split the transcript.
  EXPECT_GE(r->size(), 2u);
  // Words of the first sentence lie within (or next to) its span.
  const TranscriptWord& first = r->front().words.front();
  EXPECT_NEAR(first.start, fixture_->truth[0].start, 0.5);
}

TEST_F(SpeechRecognizerTest, OffsetShiftsEveryTime) {
  // The first sentence alone, said to start at 100 s.
  const SpeechSpan& s0 = fixture_->truth[0];
  size_t from = static_cast<size_t>(std::max(0.0, s0.start - 0.3) * kSpeechSampleRate);
  size_t to = static_cast<size_t>((s0.end + 0.3) * kSpeechSampleRate);
  auto r = recognizer_->Transcribe(pcm_->data() + from, to - from, 100.0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_FALSE(r->empty());
  for (const TranscriptSegment& s : *r) {
    EXPECT_GE(s.start, 100.0);
    EXPECT_LE(s.end, 100.0 + static_cast<double>(to - from) / kSpeechSampleRate + 0.01);
  }
}

TEST_F(SpeechRecognizerTest, SilenceAndTinyInputsGiveNoWords) {
  // The fixture's first second is faint noise only.
  auto r = recognizer_->Transcribe(pcm_->data(), kSpeechSampleRate / 2, 0);
  ASSERT_TRUE(r.ok());
  size_t words = 0;
  for (const auto& s : *r) words += s.words.size();
  EXPECT_LE(words, 1u);
  r = recognizer_->Transcribe(pcm_->data(), 100, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  // The decoder is reusable after all that.
  size_t first_end = static_cast<size_t>((fixture_->truth[0].end + 0.2) * kSpeechSampleRate);
  r = recognizer_->Transcribe(pcm_->data(), first_end, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->empty());
}

}  // namespace
}  // namespace strata::media
