// Streaming video decoding on fixtures made at test time with ffmpeg's lavfi
// sources: every frame once, in order, with its time; the analysis and
// full-size conversions show the frame's true colour; key-frame-only decoding
// decodes fewer frames; and the bounds (pixels, duration) and broken files
// (truncated, a text file named .mp4, no video stream) end in clean errors.
#include "media/video.h"

#include <gtest/gtest.h>

#include "media/video_test_util.h"

namespace strata::media {
namespace {

using video_testing::Ffmpeg;
using video_testing::HaveFfmpeg;
using video_testing::TempDir;
using video_testing::VideoEncoderArgs;

#define REQUIRE_FFMPEG() \
  if (!HaveFfmpeg()) GTEST_SKIP() << "the ffmpeg command line is not installed (it makes the fixtures)"

// A 4 s, 25 fps, 640×360 video: 2 s red, then 2 s blue.
std::string RedThenBlue(const TempDir& dir) {
  std::string out = dir / "rb.mp4";
  bool ok = video_testing::MakeShotsVideo(out, {{"color=c=red", 2}, {"color=c=blue", 2}});
  EXPECT_TRUE(ok) << "ffmpeg could not make the fixture";
  return out;
}

TEST(Video, ProbeDescribesStreams) {
  REQUIRE_FFMPEG();
  TempDir dir;
  auto path = RedThenBlue(dir);
  auto p = ProbeMedia(path);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->has_video);
  EXPECT_FALSE(p->has_audio);
  EXPECT_EQ(p->width, 640);
  EXPECT_EQ(p->height, 360);
  EXPECT_NEAR(p->fps, 25.0, 1e-6);
  EXPECT_NEAR(p->duration_seconds, 4.0, 0.1);
}

TEST(Video, DecodesEveryFrameInOrderWithTimesAndColours) {
  REQUIRE_FFMPEG();
  TempDir dir;
  auto path = RedThenBlue(dir);
  int64_t expected_index = 0;
  double last = -1;
  int full_checked = 0;
  VideoDecodeOptions opts;
  auto info = DecodeVideo(path, {}, opts, [&](const VideoFrame& f) -> Status {
    EXPECT_EQ(f.index, expected_index++);
    EXPECT_GT(f.time, last);
    EXPECT_NEAR(f.time, static_cast<double>(f.index) / 25.0, 1e-3);
    last = f.time;
    EXPECT_EQ(f.small.cols, 160);
    EXPECT_EQ(f.small.rows, 90);
    // Red (BGR 0,0,255) for the first 2 s, blue after.
    cv::Vec3b px = f.small.at<cv::Vec3b>(45, 80);
    if (f.time < 1.9) {
      EXPECT_GT(px[2], 200);
      EXPECT_LT(px[0], 60);
    } else if (f.time > 2.1) {
      EXPECT_GT(px[0], 200);
      EXPECT_LT(px[2], 60);
    }
    if (f.index == 10 || f.index == 80) {
      auto full = f.Full();
      EXPECT_TRUE(full.ok());
      if (full.ok()) {
        EXPECT_EQ(full->cols, 640);
        EXPECT_EQ(full->rows, 360);
        cv::Vec3b c = full->at<cv::Vec3b>(180, 320);
        EXPECT_GT(c[f.index == 10 ? 2 : 0], 200);
        ++full_checked;
      }
    }
    return Status::Ok();
  });
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->frames_decoded, 100);
  EXPECT_EQ(expected_index, 100);
  EXPECT_NEAR(info->last_frame_time, 3.96, 1e-3);
  EXPECT_EQ(full_checked, 2);
}

TEST(Video, FullFramesAreBoundedByFullMaxSide) {
  REQUIRE_FFMPEG();
  TempDir dir;
  auto path = RedThenBlue(dir);
  VideoDecodeOptions opts;
  opts.full_max_side = 320;
  bool checked = false;
  auto info = DecodeVideo(path, {}, opts, [&](const VideoFrame& f) -> Status {
    if (checked) return Status::Ok();
    auto full = f.Full();
    EXPECT_TRUE(full.ok());
    if (full.ok()) {
      EXPECT_EQ(full->cols, 320);
      EXPECT_EQ(full->rows, 180);
    }
    checked = true;
    return Status::Ok();
  });
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(checked);
}

TEST(Video, SinkErrorStopsTheDecode) {
  REQUIRE_FFMPEG();
  TempDir dir;
  auto path = RedThenBlue(dir);
  int seen = 0;
  auto info = DecodeVideo(path, {}, {}, [&](const VideoFrame& f) -> Status {
    if (++seen == 5) return Status::Internal("enough");
    return Status::Ok();
  });
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().message(), "enough");
  EXPECT_EQ(seen, 5);
}

TEST(Video, KeyframesOnlyDecodesFewerFrames) {
  REQUIRE_FFMPEG();
  TempDir dir;
  std::string path = dir / "gop.mp4";
  // A key frame every 25 frames (1 s) over 4 s.
  ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc2=s=320x240:r=25:d=4 " + VideoEncoderArgs() + " -g 25 -keyint_min 25 \"" +
                     path + "\""));
  VideoDecodeOptions opts;
  opts.keyframes_only = true;
  std::vector<double> times;
  auto info = DecodeVideo(path, {}, opts, [&](const VideoFrame& f) -> Status {
    times.push_back(f.time);
    EXPECT_TRUE(f.key_frame);
    return Status::Ok();
  });
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  ASSERT_EQ(times.size(), 4u);
  for (size_t i = 0; i < times.size(); ++i) EXPECT_NEAR(times[i], static_cast<double>(i), 1e-3);
}

TEST(Video, GifDecodesAsVideo) {
  REQUIRE_FFMPEG();
  TempDir dir;
  std::string path = dir / "anim.gif";
  ASSERT_TRUE(Ffmpeg("-f lavfi -i testsrc2=s=160x120:r=10:d=2 \"" + path + "\""));
  int64_t frames = 0;
  auto info = DecodeVideo(path, {}, {}, [&](const VideoFrame& f) -> Status {
    ++frames;
    return Status::Ok();
  });
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(frames, 20);
  EXPECT_EQ(info->probe.format, "gif");
}

TEST(Video, PixelBoundIsCheckedBeforeDecoding) {
  REQUIRE_FFMPEG();
  TempDir dir;
  auto path = RedThenBlue(dir);
  MediaLimits limits;
  limits.max_pixels = 640 * 360 - 1;
  int frames = 0;
  auto info = DecodeVideo(path, limits, {}, [&](const VideoFrame&) -> Status {
    ++frames;
    return Status::Ok();
  });
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), StatusCode::kValidation);
  EXPECT_NE(info.status().ToString().find("max_pixels"), std::string::npos) << info.status().ToString();
  EXPECT_EQ(frames, 0);
}

TEST(Video, DurationBoundIsCheckedBeforeDecoding) {
  REQUIRE_FFMPEG();
  TempDir dir;
  auto path = RedThenBlue(dir);
  MediaLimits limits;
  limits.max_duration_seconds = 3;
  int frames = 0;
  auto info = DecodeVideo(path, limits, {}, [&](const VideoFrame&) -> Status {
    ++frames;
    return Status::Ok();
  });
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.status().code(), StatusCode::kValidation);
  EXPECT_NE(info.status().ToString().find("max_duration_seconds"), std::string::npos) << info.status().ToString();
  EXPECT_EQ(frames, 0);
}

TEST(Video, TruncatedAndFakeFilesAreCleanErrors) {
  REQUIRE_FFMPEG();
  TempDir dir;
  auto path = RedThenBlue(dir);
  std::string bytes = video_testing::ReadFile(path);
  auto decode = [](const std::string& p) {
    return DecodeVideo(p, {}, {}, [](const VideoFrame&) { return Status::Ok(); });
  };
  // ffmpeg writes the index (moov) last: half a file has none.
  video_testing::WriteFile(dir / "half.mp4", bytes.substr(0, bytes.size() / 2));
  auto half = decode(dir / "half.mp4");
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.status().code(), StatusCode::kValidation);

  // With the index first (faststart), a truncated file still opens: the
  // missing frames are noticed against the declared duration.
  std::string fast = dir / "fast.mp4";
  ASSERT_TRUE(video_testing::MakeShotsVideo(fast, {{"testsrc2", 6}}, "", "-movflags +faststart"));
  std::string fb = video_testing::ReadFile(fast);
  video_testing::WriteFile(dir / "fast_cut.mp4", fb.substr(0, fb.size() / 3));
  auto cut = decode(dir / "fast_cut.mp4");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), StatusCode::kValidation);
  EXPECT_NE(cut.status().message().find("truncated"), std::string::npos) << cut.status().ToString();

  video_testing::WriteFile(dir / "notes.mp4", "These are my notes, not a video.\n");
  auto fake = decode(dir / "notes.mp4");
  ASSERT_FALSE(fake.ok());
  EXPECT_EQ(fake.status().code(), StatusCode::kValidation);

  video_testing::WriteFile(dir / "empty.mp4", "");
  EXPECT_FALSE(decode(dir / "empty.mp4").ok());

  std::string wav = dir / "tone.wav";
  ASSERT_TRUE(Ffmpeg("-f lavfi -i sine=f=440:d=1 \"" + wav + "\""));
  auto audio_only = decode(wav);
  ASSERT_FALSE(audio_only.ok());
  EXPECT_NE(audio_only.status().message().find("no video stream"), std::string::npos);
}

}  // namespace
}  // namespace strata::media
