#include <gtest/gtest.h>

#include <filesystem>

#include "media/audio_test_util.h"
#include "media/speech.h"

namespace strata::media {
namespace {

class VadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto v = VoiceActivityDetector::Create();
    if (!v.ok()) GTEST_SKIP() << "Silero VAD unavailable: " << v.status().ToString();
    vad_ = std::move(v).value();
  }
  std::unique_ptr<VoiceActivityDetector> vad_;
};

TEST_F(VadTest, FindsEachSentenceWithinAFewHundredMilliseconds) {
  if (!testing::HaveTool("ffmpeg") || !testing::HaveTool("espeak-ng")) {
    GTEST_SKIP() << "ffmpeg and espeak-ng make the speech fixture; one is not installed";
  }
  testing::TempDir dir;
  auto f = testing::MakeSpeechFixture(
      dir,
      {"The quick brown fox jumps over the lazy dog.", "Please call Stella and ask her to bring these things.",
       "Today the weather is sunny and warm in the city.", "We will meet at the library tomorrow morning."},
      {1.0, 2.0, 1.5});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  auto pcm = testing::DecodeAll(f->wav);
  ASSERT_TRUE(pcm.ok());
  auto spans = vad_->Detect(*pcm, 0.3);
  ASSERT_TRUE(spans.ok()) << spans.status().ToString();
  ASSERT_EQ(spans->size(), f->truth.size());
  for (size_t i = 0; i < spans->size(); ++i) {
    EXPECT_NEAR((*spans)[i].start, f->truth[i].start, 0.3) << "sentence " << i;
    EXPECT_NEAR((*spans)[i].end, f->truth[i].end, 0.3) << "sentence " << i;
  }
  // A merge gap longer than the pauses makes one span of everything.
  spans = vad_->Detect(*pcm, 2.5);
  ASSERT_TRUE(spans.ok());
  ASSERT_EQ(spans->size(), 1u);
  EXPECT_NEAR(spans->front().start, f->truth.front().start, 0.3);
  EXPECT_NEAR(spans->front().end, f->truth.back().end, 0.3);
}

TEST_F(VadTest, ToneAndSilenceAreNotSpeech) {
  std::vector<int16_t> s(3 * kSpeechSampleRate, 0);
  auto spans = vad_->Detect(s);
  ASSERT_TRUE(spans.ok());
  EXPECT_TRUE(spans->empty());
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<int16_t>(6000 * std::sin(2 * M_PI * 1000 * i / 16000.0));
  spans = vad_->Detect(s);
  ASSERT_TRUE(spans.ok());
  EXPECT_TRUE(spans->empty());
  EXPECT_TRUE(vad_->Detect({}).ok());
}

TEST(VadCreateTest, MissingModelIsUnavailable) {
  testing::TempDir empty;
  auto v = VoiceActivityDetector::Create(empty.path());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnavailable);
  // Another file in the model's place is refused, not run.
  std::filesystem::create_directories(empty / "silero-vad");
  std::ofstream(empty / "silero-vad/silero_vad.onnx") << "not a model";
  v = VoiceActivityDetector::Create(empty.path());
  EXPECT_FALSE(v.ok());
}

}  // namespace
}  // namespace strata::media
