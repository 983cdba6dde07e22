// Segmenting videos: scene cuts found within ±0.2 s of the true cuts of
// fixtures joined from lavfi sources (also cuts that move only hue, found by
// the adaptive test), no spurious cut on a static shot, on a slow pan, on
// moving content or on motion with repeated frames; time splits exact to the
// frame; long scenes cut at max_segment_duration; silence splits in the
// middle of the pauses of espeak-ng speech; and the keyframe picker's bounded
// choice of the middle.
#include "media/scenes.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "media/video.h"
#include "media/video_test_util.h"

namespace strata::media {
namespace {

using video_testing::Ffmpeg;
using video_testing::HaveFfmpeg;
using video_testing::MakeShotsVideo;
using video_testing::Shot;
using video_testing::TempDir;

#define REQUIRE_FFMPEG() \
  if (!HaveFfmpeg()) GTEST_SKIP() << "the ffmpeg command line is not installed (it makes the fixtures)"

// The times at which segments start (the first excluded) when `path` is
// split with `opts`.
// `quiet_score`, when given, receives the highest content score of the
// frames that did not start a segment; `cut_scores` the scores of those that
// did.
std::vector<double> SegmentStarts(const std::string& path, const SplitOptions& opts,
                                  std::vector<int64_t>* frames = nullptr, double* quiet_score = nullptr,
                                  std::vector<double>* cut_scores = nullptr) {
  FrameSegmenter seg(opts);
  std::vector<double> starts;
  auto info = DecodeVideo(path, {}, {}, [&](const VideoFrame& f) -> Status {
    if (seg.StartsSegment(f.small, f.time)) {
      starts.push_back(f.time);
      if (frames) frames->push_back(f.index);
      if (cut_scores) cut_scores->push_back(seg.last_scene_score());
    } else if (quiet_score) {
      *quiet_score = std::max(*quiet_score, seg.last_scene_score());
    }
    return Status::Ok();
  });
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  return starts;
}

SplitOptions SceneSplit(double threshold = 0.5) {
  SplitOptions o;
  o.method = SplitMethod::kScene;
  o.scene_detection_threshold = threshold;
  o.max_segment_duration = 0;
  return o;
}

void ExpectCutsNear(const std::vector<double>& found, const std::vector<double>& truth) {
  ASSERT_EQ(found.size(), truth.size()) << ::testing::PrintToString(found);
  for (size_t i = 0; i < truth.size(); ++i) EXPECT_NEAR(found[i], truth[i], 0.2) << "cut " << i;
}

TEST(Scenes, HardCutsFoundWithinAFifthOfASecond) {
  REQUIRE_FFMPEG();
  TempDir dir;
  std::string path = dir / "cuts.mp4";
  ASSERT_TRUE(MakeShotsVideo(path, {{"testsrc2", 3}, {"smptebars", 2.5}, {"color=c=red", 2.5}, {"mandelbrot", 3},
                                    {"color=c=0x2050a0", 2}}));
  ExpectCutsNear(SegmentStarts(path, SceneSplit()), {3.0, 5.5, 8.0, 11.0});
}

TEST(Scenes, CutsBetweenSimilarlyBrightColours) {
  REQUIRE_FFMPEG();
  TempDir dir;
  std::string path = dir / "colours.mp4";
  // Red to green to blue: luma changes little, hue a lot.
  ASSERT_TRUE(MakeShotsVideo(path, {{"color=c=0xc03030", 2}, {"color=c=0x30a030", 2}, {"color=c=0x3030c0", 2}}));
  ExpectCutsNear(SegmentStarts(path, SceneSplit()), {2.0, 4.0});
}

TEST(Scenes, CutThatMovesOnlyHueIsFound) {
  REQUIRE_FFMPEG();
  TempDir dir;
  std::string path = dir / "hue.mp4";
  // testsrc2's colours are saturated and bright like pure blue: across the
  // cut hue moves a lot, saturation and value little.
  ASSERT_TRUE(MakeShotsVideo(path, {{"testsrc2", 3}, {"color=c=blue", 2}, {"testsrc2", 2}}));
  std::vector<double> scores;
  ExpectCutsNear(SegmentStarts(path, SceneSplit(), nullptr, nullptr, &scores), {3.0, 5.0});
  // Both cuts score under the fixed threshold (27): the adaptive test finds them.
  for (double s : scores) EXPECT_LT(s, 0.5 * kContentScorePerThreshold);
  std::printf("content score at the hue-only cuts: %s\n", ::testing::PrintToString(scores).c_str());
}

// Uniform BGR frames whose content scores are known: pure green is HSV (60,
// 255, 255) and pure blue (120, 255, 255), so green to blue scores 60 / 3 =
// 20, under the fixed threshold (27) and over the adaptive floor (15); a
// green `v_drop` levels darker scores v_drop / 3.
cv::Mat Green(int v_drop = 0) { return cv::Mat(90, 160, CV_8UC3, cv::Scalar(0, 255 - v_drop, 0)); }
cv::Mat Blue() { return cv::Mat(90, 160, CV_8UC3, cv::Scalar(255, 0, 0)); }

TEST(Scenes, AdaptiveTestFindsACutThatStandsOut) {
  EXPECT_NEAR(ContentScore(Green(), Blue()), 20.0, 0.01);
  // 2 s of green flickering by `flicker` levels (scores flicker / 3), ending
  // on full green, then one frame of `last`: the cuts found.
  auto cuts = [](double threshold, int flicker, const cv::Mat& last) {
    SceneDetector d(threshold, 0.6);
    std::vector<int> found;
    for (int i = 0; i < 50; ++i) {
      if (d.Feed(i % 2 ? Green() : Green(flicker), i / 25.0)) found.push_back(i);
    }
    if (d.Feed(last, 2.0)) found.push_back(50);
    return found;
  };
  // After a calm shot (scores 1.7) the hue-only change (20) is a cut.
  EXPECT_EQ(cuts(0.5, 5, Blue()), std::vector<int>{50});
  // After a busy one (scores 8) it does not stand out threefold: no cut.
  EXPECT_TRUE(cuts(0.5, 24, Blue()).empty());
  // Under the floor (a change of 12 after calm): no cut.
  EXPECT_TRUE(cuts(0.5, 5, Green(36)).empty());
  // The threshold moves the floor too: at 0.8 it is 24, over 20.
  EXPECT_TRUE(cuts(0.8, 5, Blue()).empty());
  EXPECT_EQ(cuts(0.3, 5, Blue()), std::vector<int>{50});
}

TEST(Scenes, RepeatedFramesDoNotMakeMotionLookLikeCuts) {
  // Big motion animated on threes: each change scores 20 and is followed by
  // two repeated frames scoring 0. The repeats stay out of the adaptive
  // window, so no change stands out from the ones before it.
  SceneDetector d(0.5, 0.6);
  std::vector<int> found;
  for (int i = 0; i < 250; ++i) {
    if (d.Feed((i / 3) % 2 ? Blue() : Green(), i / 25.0)) found.push_back(i);
  }
  EXPECT_TRUE(found.empty()) << ::testing::PrintToString(found);
}

TEST(Scenes, NoSpuriousCutOnStaticShotSlowPanOrMotion) {
  REQUIRE_FFMPEG();
  TempDir dir;
  std::string still = dir / "still.mp4";
  ASSERT_TRUE(MakeShotsVideo(still, {{"smptebars", 2}, {"color=c=0x336699", 6}, {"testsrc2", 2}}));
  ExpectCutsNear(SegmentStarts(still, SceneSplit()), {2.0, 8.0});

  // A slow pan (50 px/s) across colour bars twice the frame's width.
  std::string pan = dir / "pan.mp4";
  ASSERT_TRUE(Ffmpeg("-f lavfi -i smptehdbars=s=1280x360:r=25:d=6 -vf \"crop=640:360:x='t*50':y=0\" " +
                     video_testing::VideoEncoderArgs() + " \"" + pan + "\""));
  double pan_score = 0;
  EXPECT_TRUE(SegmentStarts(pan, SceneSplit(), nullptr, &pan_score).empty());

  // testsrc2's moving pattern and counter for 6 s.
  std::string moving = dir / "moving.mp4";
  ASSERT_TRUE(MakeShotsVideo(moving, {{"testsrc2", 6}}));
  double moving_score = 0;
  EXPECT_TRUE(SegmentStarts(moving, SceneSplit(), nullptr, &moving_score).empty());
  // Far below the default threshold's 27, not just under it.
  EXPECT_LT(pan_score, 10);
  EXPECT_LT(moving_score, 10);
  std::printf("highest content score: slow pan %.1f, moving pattern %.1f (cut at %.1f)\n", pan_score, moving_score,
              0.5 * kContentScorePerThreshold);
}

TEST(Scenes, ThresholdControlsSensitivity) {
  // Frames that change by a known content score: a gray level step of 40
  // changes V by 40 and H, S by 0, so the score is 40 / 3 ≈ 13.3.
  cv::Mat a(90, 160, CV_8UC3, cv::Scalar(100, 100, 100)), b(90, 160, CV_8UC3, cv::Scalar(140, 140, 140));
  EXPECT_NEAR(ContentScore(a, b), 40.0 / 3, 0.01);
  SceneDetector loose(0.2, 0.5), strict(0.5, 0.5);  // 10.8 and 27 on the content scale
  EXPECT_FALSE(loose.Feed(a, 0));
  EXPECT_FALSE(strict.Feed(a, 0));
  EXPECT_TRUE(loose.Feed(b, 1));
  EXPECT_FALSE(strict.Feed(b, 1));
}

TEST(Scenes, MinSceneLengthSwallowsAFlash) {
  cv::Mat dark(90, 160, CV_8UC3, cv::Scalar(20, 20, 20)), white(90, 160, CV_8UC3, cv::Scalar(255, 255, 255));
  SceneDetector d(0.5, 0.6);
  std::vector<int> cuts;
  for (int i = 0; i < 100; ++i) {
    const cv::Mat& f = i == 50 ? white : dark;  // one white frame at 2 s
    if (d.Feed(f, i / 25.0)) cuts.push_back(i);
  }
  // Into the flash is a cut; back out of it, 0.04 s later, is not.
  EXPECT_EQ(cuts, std::vector<int>{50});
}

TEST(Scenes, TimeSplitIsExact) {
  SplitOptions o;
  o.method = SplitMethod::kTime;
  o.time_split_interval = 10;
  o.max_segment_duration = 4;  // does not apply to time splits
  FrameSegmenter seg(o);
  std::vector<int> starts;
  cv::Mat frame(90, 160, CV_8UC3, cv::Scalar(0, 0, 0));
  for (int i = 0; i < 625; ++i) {
    if (seg.StartsSegment(frame, i / 25.0)) starts.push_back(i);
  }
  EXPECT_EQ(starts, (std::vector<int>{250, 500}));

  auto segs = SegmentsFromCuts(TimeCuts(25, 10), 25, 25);
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[0].start_frame, 0);
  EXPECT_EQ(segs[0].end_frame, 250);
  EXPECT_DOUBLE_EQ(segs[1].start, 10);
  EXPECT_DOUBLE_EQ(segs[1].end, 20);
  EXPECT_EQ(segs[2].start_frame, 500);
  EXPECT_EQ(segs[2].end_frame, 625);
  EXPECT_DOUBLE_EQ(segs[2].end, 25);
}

TEST(Scenes, TimeSplitOfARealVideo) {
  REQUIRE_FFMPEG();
  TempDir dir;
  std::string path = dir / "twelve.mp4";
  ASSERT_TRUE(MakeShotsVideo(path, {{"testsrc2", 12}}));
  SplitOptions o;
  o.method = SplitMethod::kTime;
  o.time_split_interval = 5;
  std::vector<int64_t> frames;
  auto starts = SegmentStarts(path, o, &frames);
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_NEAR(starts[0], 5.0, 1e-6);
  EXPECT_NEAR(starts[1], 10.0, 1e-6);
  EXPECT_EQ(frames, (std::vector<int64_t>{125, 250}));
}

TEST(Scenes, LongScenesAreCutAtMaxSegmentDuration) {
  SplitOptions o = SceneSplit();
  o.max_segment_duration = 3;
  FrameSegmenter seg(o);
  cv::Mat frame(90, 160, CV_8UC3, cv::Scalar(10, 200, 10));
  std::vector<int> starts;
  for (int i = 0; i < 250; ++i) {  // one 10 s static scene
    if (seg.StartsSegment(frame, i / 25.0)) starts.push_back(i);
  }
  EXPECT_EQ(starts, (std::vector<int>{75, 150, 225}));

  auto segs = SegmentsFromCuts({}, 10, 25, 3);
  ASSERT_EQ(segs.size(), 4u);
  EXPECT_EQ(segs[1].start_frame, 75);
  EXPECT_EQ(segs[3].start_frame, 225);
  EXPECT_DOUBLE_EQ(segs[3].end, 10);
}

TEST(Scenes, SilenceCutsSitInTheMiddleOfPauses) {
  std::vector<SpeechSpan> speech = {{0.5, 2.0}, {3.0, 4.0}, {4.2, 6.0}, {8.0, 9.0}};
  // The 0.2 s pause is shorter than 0.5 s: no cut there.
  EXPECT_EQ(SilenceCuts(speech, 0.5), (std::vector<double>{2.5, 7.0}));
  EXPECT_TRUE(SilenceCuts({}, 0.5).empty());
}

TEST(Scenes, SilenceSplitOfSpokenAudio) {
  REQUIRE_FFMPEG();
  if (!video_testing::HaveEspeak()) GTEST_SKIP() << "espeak-ng is not installed (it speaks the fixture)";
  TempDir dir;
  ASSERT_TRUE(video_testing::Speak("The weather is lovely today.", dir / "a.wav"));
  ASSERT_TRUE(video_testing::Speak("Let us walk to the harbour.", dir / "b.wav"));
  ASSERT_TRUE(video_testing::Speak("Then we will have dinner.", dir / "c.wav"));
  // a, 2 s of silence, b, 2 s of silence, c; resampled to 16 kHz first so
  // the known lengths are exact.
  std::string wav = dir / "talk.wav";
  ASSERT_TRUE(Ffmpeg("-i \"" + (dir / "a.wav") + "\" -i \"" + (dir / "b.wav") + "\" -i \"" + (dir / "c.wav") +
                     "\" -filter_complex \"[0:a]aresample=16000,apad=pad_dur=2[a];[1:a]aresample=16000,apad=pad_dur=2[b];"
                     "[2:a]aresample=16000[c];[a][b][c]concat=n=3:v=0:a=1[o]\" -map \"[o]\" -ac 1 \"" + wav + "\""));
  auto length = [&](const std::string& f) {
    auto p = ProbeMedia(f);
    EXPECT_TRUE(p.ok());
    return p.ok() ? p->duration_seconds : 0.0;
  };
  const double a = length(dir / "a.wav"), b = length(dir / "b.wav");
  auto spans = EnergySpeechSpansOfFile(wav, {}, -40, 0.5);
  ASSERT_TRUE(spans.ok()) << spans.status().ToString();
  auto cuts = SilenceCuts(*spans, 0.5);
  // Pauses are [a, a + 2] and [a + 2 + b, a + 4 + b], give or take the quiet
  // espeak-ng leaves around its words.
  ASSERT_EQ(cuts.size(), 2u) << ::testing::PrintToString(cuts);
  EXPECT_NEAR(cuts[0], a + 1.0, 0.35);
  EXPECT_NEAR(cuts[1], a + 2 + b + 1.0, 0.35);

  // The same cuts split a video with that sound track.
  std::string video = dir / "talk.mp4";
  ASSERT_TRUE(MakeShotsVideo(video, {{"color=c=gray", length(wav)}}, wav));
  auto from_video = EnergySpeechSpansOfFile(video, {}, -40, 0.5);
  ASSERT_TRUE(from_video.ok()) << from_video.status().ToString();
  SplitOptions o;
  o.method = SplitMethod::kSilence;
  o.silence_cuts = SilenceCuts(*from_video, 0.5);
  auto starts = SegmentStarts(video, o);
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_NEAR(starts[0], cuts[0], 0.1);
  EXPECT_NEAR(starts[1], cuts[1], 0.1);
}

TEST(Scenes, MiddleFramePickerStaysNearTheMiddleWithBoundedMemory) {
  for (int frames : {3, 20, 75, 250, 750, 2000}) {
    MiddleFramePicker p(0.2);
    p.Reset(10.0);
    int kept = 0;
    for (int i = 0; i < frames; ++i) {
      double t = 10.0 + i / 25.0;
      if (p.Wants(t)) {
        p.Keep(t, i, cv::Mat(2, 2, CV_8UC3, cv::Scalar(i % 256, 0, 0)));
        ++kept;
      }
    }
    double end = 10.0 + frames / 25.0;
    auto picked = p.Pick(end);
    ASSERT_TRUE(picked.has_value());
    double length = end - 10.0;
    EXPECT_LE(std::abs(picked->time - (10.0 + end) / 2), length / 6 + 0.04 + 1e-9) << frames;
    EXPECT_EQ(picked->frame.at<cv::Vec3b>(0, 0)[0], picked->index % 256);
    // Captures grow with the logarithm of the length, not the length.
    EXPECT_LE(kept, 40) << frames;
  }
}

}  // namespace
}  // namespace strata::media
