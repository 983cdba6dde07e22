#include "media/audio.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "media/audio_test_util.h"

namespace strata::media {
namespace {

using testing::DecodeAll;
using testing::Ffmpeg;
using testing::Quote;
using testing::TempDir;

class AudioDecodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::HaveTool("ffmpeg")) GTEST_SKIP() << "the ffmpeg CLI is not installed (it makes the fixtures)";
  }
  // A 440 Hz tone of `seconds` in `name` (format from the extension) with
  // the encoder options in `codec`.
  std::string Tone(const std::string& name, double seconds, const std::string& codec = "",
                   int rate = 44100, int channels = 2) {
    std::string path = dir_ / name;
    EXPECT_TRUE(Ffmpeg("-f lavfi -i sine=f=440:r=" + std::to_string(rate) + ":d=" + std::to_string(seconds) +
                       " -ac " + std::to_string(channels) + " " + codec + " " + Quote(path)));
    return path;
  }
  TempDir dir_;
};

// Counts upward zero crossings per second: a pure tone's frequency.
double Frequency(const std::vector<int16_t>& s) {
  int crossings = 0;
  for (size_t i = 1; i < s.size(); ++i) crossings += s[i - 1] < 0 && s[i] >= 0;
  return crossings / (static_cast<double>(s.size()) / kSpeechSampleRate);
}

TEST_F(AudioDecodeTest, ResamplesToSixteenKilohertzMonoInOrderedChunks) {
  std::string wav = Tone("tone.wav", 2.5, "", 44100, 2);
  std::vector<int16_t> all;
  int chunks = 0;
  auto info = DecodeAudio(wav, {}, [&](const int16_t* s, size_t n, int64_t start) {
    EXPECT_EQ(start, static_cast<int64_t>(all.size()));
    EXPECT_LE(n, size_t{kSpeechSampleRate});
    all.insert(all.end(), s, s + n);
    ++chunks;
    return Status::Ok();
  });
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->source_sample_rate, 44100);
  EXPECT_EQ(info->source_channels, 2);
  EXPECT_EQ(info->codec, "pcm_s16le");
  EXPECT_NEAR(info->duration_seconds, 2.5, 0.01);
  EXPECT_NEAR(static_cast<double>(all.size()), 2.5 * kSpeechSampleRate, 2);
  EXPECT_GE(chunks, 3);
  EXPECT_NEAR(Frequency(all), 440, 5);
  // lavfi's sine has amplitude 1/8 of full scale, spread at -3 dB over both
  // channels by the -ac 2 upmix; the downmix averages the pair back.
  int peak = 0;
  for (int16_t v : all) peak = std::max(peak, std::abs(static_cast<int>(v)));
  EXPECT_NEAR(peak, 32768 / 8 * M_SQRT1_2, 100);
}

TEST_F(AudioDecodeTest, ReadsCompressedFormatsAndVideoSoundtracks) {
  struct Case {
    std::string name, codec;
  } cases[] = {
      {"a.mp3", "-c:a libmp3lame"}, {"a.ogg", "-c:a libvorbis"}, {"a.flac", "-c:a flac"},
      {"a.m4a", "-c:a aac"},        {"a.opus", "-c:a libopus"},
  };
  for (const Case& c : cases) {
    std::string path = Tone(c.name, 2.0, c.codec);
    auto pcm = DecodeAll(path);
    ASSERT_TRUE(pcm.ok()) << c.name << ": " << pcm.status().ToString();
    // Lossy codecs pad a few ms (encoder delay); the tone stays the tone.
    EXPECT_NEAR(static_cast<double>(pcm->size()) / kSpeechSampleRate, 2.0, 0.08) << c.name;
    EXPECT_NEAR(Frequency(*pcm), 440, 8) << c.name;
  }
  for (std::string name : {"v.mp4", "v.mkv"}) {
    std::string path = dir_ / name;
    ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc=size=64x48:rate=10:d=2 -f lavfi -i sine=f=440:d=2 "
                       "-c:v mpeg4 -c:a aac -shortest " + Quote(path)));
    auto pcm = DecodeAll(path);
    ASSERT_TRUE(pcm.ok()) << name << ": " << pcm.status().ToString();
    EXPECT_NEAR(static_cast<double>(pcm->size()) / kSpeechSampleRate, 2.0, 0.1) << name;
    EXPECT_NEAR(Frequency(*pcm), 440, 8) << name;
  }
}

TEST_F(AudioDecodeTest, BadFilesAreCleanErrors) {
  // Text that claims to be a WAV.
  std::string text = dir_ / "notes.wav";
  std::ofstream(text) << "these are meeting notes, not audio\n";
  auto r = DecodeAll(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kValidation);

  // An M4A cut in half: the index (moov) is written last, so nothing is left to read.
  std::string m4a = Tone("full.m4a", 2.0, "-c:a aac");
  std::string cut = dir_ / "cut.m4a";
  {
    std::ifstream in(m4a, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  r = DecodeAll(cut);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kValidation);

  // A WAV header and nothing after it.
  std::string wav = Tone("tone.wav", 1.0);
  std::string header = dir_ / "header.wav";
  {
    std::ifstream in(wav, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(header, std::ios::binary) << bytes.substr(0, 60);
  }
  r = DecodeAll(header);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kValidation);

  // Random bytes behind an MP3 name.
  std::string noise = dir_ / "noise.mp3";
  ASSERT_TRUE(testing::Run("head -c 20000 /dev/urandom > " + Quote(noise)));
  r = DecodeAll(noise);
  EXPECT_FALSE(r.ok());

  // A video without a soundtrack.
  std::string silent = dir_ / "silent.mp4";
  ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc=size=64x48:rate=10:d=1 -c:v mpeg4 " + Quote(silent)));
  r = DecodeAll(silent);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kValidation);
  EXPECT_NE(r.status().ToString().find("no audio stream"), std::string::npos) << r.status().ToString();

  // A playlist that would make FFmpeg open another file: refused by format.
  std::string playlist = dir_ / "list.wav";
  std::ofstream(playlist) << "ffconcat version 1.0\nfile '" << wav << "'\n";
  r = DecodeAll(playlist);
  EXPECT_FALSE(r.ok());
}

TEST_F(AudioDecodeTest, DurationCapFromTheHeaderAndWhileDecoding) {
  MediaLimits limits;
  limits.max_duration_seconds = 2;
  std::string wav = Tone("long.wav", 3.0);
  int calls = 0;
  auto r = DecodeAudio(wav, limits, [&](const int16_t*, size_t, int64_t) {
    ++calls;
    return Status::Ok();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("max_duration_seconds"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(calls, 0);  // refused from the declared duration, before decoding

  // A Matroska file whose header says 1 s but holds 4 s: the decoded samples
  // cross the bound and decoding stops there.
  std::string mkv = Tone("liar.mkv", 4.0, "-c:a flac -write_crc32 0", 16000, 1);
  std::string bytes;
  {
    std::ifstream in(mkv, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  // Segment Info's Duration element: ID 0x4489, size 8, a big-endian double in ms.
  size_t at = bytes.find(std::string("\x44\x89\x88", 3));
  ASSERT_NE(at, std::string::npos);
  double one_second = 1000.0;
  uint64_t bits;
  std::memcpy(&bits, &one_second, 8);
  for (int i = 0; i < 8; ++i) bytes[at + 3 + i] = static_cast<char>(bits >> (56 - 8 * i));
  std::string liar = dir_ / "liar2.mkv";
  std::ofstream(liar, std::ios::binary) << bytes;

  int64_t decoded = 0;
  r = DecodeAudio(liar, limits, [&](const int16_t*, size_t n, int64_t) {
    decoded += static_cast<int64_t>(n);
    return Status::Ok();
  });
  ASSERT_FALSE(r.ok()) << "a 4 s file passed a 2 s bound";
  EXPECT_NE(r.status().ToString().find("max_duration_seconds"), std::string::npos) << r.status().ToString();
  EXPECT_LE(decoded, 2 * kSpeechSampleRate);
  EXPECT_GT(decoded, 0);  // it did get past the (lying) header check

  // Within the bound it decodes.
  limits.max_duration_seconds = 5;
  EXPECT_TRUE(DecodeAll(liar, limits).ok());
}

TEST_F(AudioDecodeTest, TheSinkCanStopTheDecode) {
  std::string wav = Tone("tone.wav", 3.0);
  int calls = 0;
  auto r = DecodeAudio(wav, {}, [&](const int16_t*, size_t, int64_t) {
    return ++calls == 2 ? Status::Internal("enough") : Status::Ok();
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "enough");
  EXPECT_EQ(calls, 2);
}

TEST(EnergySpeechSpansTest, FindsLoudStretchesAndBridgesShortPauses) {
  // 1 s quiet, 1 s tone, 0.2 s quiet, 0.5 s tone, 1 s quiet, 0.8 s tone, 0.5 s quiet.
  std::vector<int16_t> s;
  auto quiet = [&](double sec) { s.insert(s.end(), static_cast<size_t>(sec * kSpeechSampleRate), 3); };
  auto tone = [&](double sec) {
    for (int i = 0; i < static_cast<int>(sec * kSpeechSampleRate); ++i) {
      s.push_back(static_cast<int16_t>(8000 * std::sin(2 * M_PI * 300 * i / kSpeechSampleRate)));
    }
  };
  quiet(1), tone(1), quiet(0.2), tone(0.5), quiet(1), tone(0.8), quiet(0.5);
  auto spans = EnergySpeechSpans(s, -40, 0.5);
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_NEAR(spans[0].start, 1.0, 0.03);
  EXPECT_NEAR(spans[0].end, 2.7, 0.03);
  EXPECT_NEAR(spans[1].start, 3.7, 0.03);
  EXPECT_NEAR(spans[1].end, 4.5, 0.03);
  // A shorter minimum pause splits the first span in two.
  EXPECT_EQ(EnergySpeechSpans(s, -40, 0.1).size(), 3u);
  // A threshold above the tone's level hears nothing.
  EXPECT_TRUE(EnergySpeechSpans(s, -3, 0.5).empty());
  EXPECT_TRUE(EnergySpeechSpans(std::vector<int16_t>{}).empty());
}

}  // namespace
}  // namespace strata::media
