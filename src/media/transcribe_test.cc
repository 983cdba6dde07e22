#include "media/transcribe.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "media/audio_test_util.h"

namespace strata::media {
namespace {

using testing::ContentWordRecall;

const std::vector<std::string> kSentences = {
    "Please send the report to the office before noon.",
    "We need more time to finish the project.",
    "Today the weather is sunny and warm in the city.",
};

class TranscribeTest : public ::testing::Test {
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
    auto f = testing::MakeSpeechFixture(*dir_, kSentences, {1.0, 1.5, 2.0});
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    fixture_ = new testing::SpeechFixture(*f);
  }
  static void TearDownTestSuite() {
    delete recognizer_;
    delete fixture_;
    delete dir_;
    recognizer_ = nullptr, fixture_ = nullptr, dir_ = nullptr;
  }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
    ASSERT_NE(fixture_, nullptr);
    options_.recognizer = recognizer_;
  }
  static std::string Text(const std::vector<TranscriptSegment>& segments) {
    std::string all;
    for (const auto& s : segments) all += s.text + " ";
    return all;
  }

  TranscribeOptions options_;
  static inline std::string skip_;
  static inline SpeechRecognizer* recognizer_ = nullptr;
  static inline testing::TempDir* dir_ = nullptr;
  static inline testing::SpeechFixture* fixture_ = nullptr;
};

TEST_F(TranscribeTest, TranscribesAFileWithTimesInsideTheAudio) {
  TranscribeReport report;
  auto r = TranscribeFile(fixture_->wav, {}, options_, &report);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string all = Text(*r);
  double recall = ContentWordRecall(kSentences, all);
  std::cout << "[ heard    ] " << all << "\n[ recall   ] " << recall << " of content words ("
            << report.segmenter << ")\n";
  // PocketSphinx hears about 5 content words in 8 of these sentences in
  // this voice (measured 0.625).
  EXPECT_GE(recall, 0.5) << all;
  EXPECT_NEAR(report.duration_seconds, fixture_->duration, 0.01);
  // Only the speech (plus the segmenter's slack) went to the recogniser.
  double speech = 0;
  for (const SpeechSpan& s : fixture_->truth) speech += s.end - s.start;
  EXPECT_LT(report.speech_seconds, speech + 1.5);
  EXPECT_GT(report.speech_seconds, speech - 0.5);
  ASSERT_GE(r->size(), 2u);
  double last_end = 0;
  for (const TranscriptSegment& s : *r) {
    EXPECT_GE(s.start, 0);
    EXPECT_LE(s.end, fixture_->duration + 0.01);
    EXPECT_GE(s.start, last_end - 0.01);
    last_end = s.end;
    // Each segment lies in (or at the edge of) a spoken sentence.
    bool inside = false;
    for (const SpeechSpan& t : fixture_->truth) inside |= s.start >= t.start - 0.5 && s.end <= t.end + 0.5;
    EXPECT_TRUE(inside) << s.text << " at " << s.start << "-" << s.end;
  }
}

TEST_F(TranscribeTest, SegmentLengthBoundsEachSegment) {
  options_.segment_length_seconds = 1.5;
  auto r = TranscribeFile(fixture_->wav, {}, options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GE(r->size(), 3u);
  for (const TranscriptSegment& s : *r) {
    ASSERT_FALSE(s.words.empty());
    if (s.words.size() > 1) {
      EXPECT_LE(s.end - s.start, 1.5) << s.text;
    }
    EXPECT_EQ(s.start, s.words.front().start);
  }
  // One long segment of everything when the bound exceeds the file.
  auto one = GroupWords(*r, 1000);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].start, r->front().start);
  EXPECT_EQ(one[0].end, r->back().end);
}

TEST_F(TranscribeTest, LoudnessFallbackWithoutTheVad) {
  options_.use_vad = false;
  TranscribeReport report;
  auto r = TranscribeFile(fixture_->wav, {}, options_, &report);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(report.segmenter, "energy");
  EXPECT_GE(ContentWordRecall(kSentences, Text(*r)), 0.5) << Text(*r);
  // A models directory without the Silero model falls back the same way
  // (shown on a second of noise: nothing to recognise).
  testing::TempDir empty;
  options_.use_vad = true;
  options_.models_dir = empty.path();
  std::string noise = *dir_ / "noise.wav";
  testing::WriteWav(noise, std::vector<int16_t>(kSpeechSampleRate, 5));
  r = TranscribeFile(noise, {}, options_, &report);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(report.segmenter, "energy");
}

TEST_F(TranscribeTest, SpeechFarIntoALongFileKeepsItsTime) {
  // 75 s of faint noise with one sentence at 3 s and one at 60 s: the window
  // moves on several times between them and times stay absolute.
  auto a = testing::DecodeAll(fixture_->wav);
  ASSERT_TRUE(a.ok());
  const SpeechSpan& first = fixture_->truth[0];
  std::vector<int16_t> sentence(a->begin() + static_cast<long>(first.start * kSpeechSampleRate),
                                a->begin() + static_cast<long>(first.end * kSpeechSampleRate));
  std::vector<int16_t> pcm(75 * kSpeechSampleRate);
  for (size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<int16_t>((i * 7919) % 41) - 20;
  std::copy(sentence.begin(), sentence.end(), pcm.begin() + 3 * kSpeechSampleRate);
  std::copy(sentence.begin(), sentence.end(), pcm.begin() + 60 * kSpeechSampleRate);
  std::string path = *dir_ / "long.wav";
  testing::WriteWav(path, pcm);
  auto r = TranscribeFile(path, {}, options_);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GE(r->size(), 2u) << Text(*r);
  double len = first.end - first.start;
  EXPECT_GE(r->front().start, 3.0 - 0.3);
  EXPECT_LE(r->front().end, 3.0 + len + 0.3);
  EXPECT_GE(r->back().start, 60.0 - 0.3);
  EXPECT_LE(r->back().end, 60.0 + len + 0.3);
  for (const auto& s : *r) EXPECT_TRUE(s.end < 3.0 + len + 0.3 || s.start > 60.0 - 0.3) << s.text;
}

TEST_F(TranscribeTest, BadFilesAreCleanErrors) {
  std::string text = *dir_ / "notes.wav";
  std::ofstream(text) << "not audio at all\n";
  auto r = TranscribeFile(text, {}, options_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kValidation);

  std::string cut = *dir_ / "cut.m4a";
  ASSERT_TRUE(testing::Ffmpeg("-i " + testing::Quote(fixture_->wav) + " -c:a aac " +
                              testing::Quote(*dir_ / "full.m4a")));
  {
    std::ifstream in(*dir_ / "full.m4a", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  }
  r = TranscribeFile(cut, {}, options_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kValidation);

  std::string video = *dir_ / "mute.mkv";
  ASSERT_TRUE(testing::Ffmpeg("-f lavfi -i testsrc=size=64x48:rate=5:d=1 -c:v mpeg4 " + testing::Quote(video)));
  r = TranscribeFile(video, {}, options_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kValidation);

  MediaLimits limits;
  limits.max_duration_seconds = fixture_->duration / 2;
  r = TranscribeFile(fixture_->wav, limits, options_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("max_duration_seconds"), std::string::npos);
}

TEST(GroupWordsTest, PacksWordsUpToTheBound) {
  std::vector<TranscriptSegment> in(2);
  for (int i = 0; i < 6; ++i) {
    in[i / 3].words.push_back({"w" + std::to_string(i), i * 1.0, i * 1.0 + 0.8, 1.0f});
  }
  auto out = GroupWords(in, 2.0);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].text, "w0 w1");
  EXPECT_EQ(out[1].text, "w2 w3");
  EXPECT_DOUBLE_EQ(out[2].start, 4.0);
  EXPECT_DOUBLE_EQ(out[2].end, 5.8);
  EXPECT_EQ(GroupWords(in, 0).size(), 2u);
}

}  // namespace
}  // namespace strata::media
