// Splitting a video into segments: by time, by scene cuts, or at silences of
// its audio. All three decide frame by frame while the video streams
// (FrameSegmenter), so a segment's documents can be written before the rest of
// the file is decoded.
//
// Scene cuts use the content score of PySceneDetect's ContentDetector: the
// mean absolute difference of the hue, saturation and value channels between
// consecutive (downscaled) frames, averaged over the three. It was chosen over
// ffmpeg's scdet (luma sum-of-absolute-differences, made relative to the
// previous frame's) because a hard cut between two scenes of similar
// brightness but different colour (red to green) changes hue and saturation a
// lot and luma little, and because it is the score the widely used
// PySceneDetect tunes its default (27) for, on the same 0–255 scale.
//
// The average has a blind spot: a cut that changes only one channel is
// diluted threefold. FFmpeg's testsrc2 pattern cut to solid blue (both
// saturated and bright) moves hue by 54 (of OpenCV's 0–179) but saturation
// and value by about 7, so it scores 22.6 and a fixed threshold of 27 misses
// it; PySceneDetect's own ContentDetector misses it too (21.2 computed its
// way, on full-size frames subsampled rather than area-averaged). So a second, adaptive test runs beside the fixed one,
// after PySceneDetect's AdaptiveDetector: a frame is also a cut when its score
// reaches a lower floor (15 by default) and is at least 3× the highest score
// of the few frames before it. A cut stands out from the frames around it
// however few channels it moves, while motion ramps up over several frames
// and keeps the ratio low. Two departures from AdaptiveDetector, both because
// decisions are made as frames stream: its window is centred (two frames
// each side) and ours looks back only, so we compare against the window's
// highest score rather than its mean, which keeps a burst of motion from
// looking like a cut; and repeated frames (score under 0.5: animation on
// twos or threes, frame-rate conversions) are left out of the window, so the
// zeros they score do not make every real change look like a jump.
#pragma once

#include <cstdint>
#include <deque>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "media/limits.h"
#include "media/speech.h"

namespace strata::media {

// A span of a video: [start, end) in seconds and frames (end_frame is the
// first frame of the next segment, or the frame count for the last one).
struct Segment {
  double start = 0, end = 0;
  int64_t start_frame = 0, end_frame = 0;
};

enum class SplitMethod { kTime, kScene, kSilence };
Result<SplitMethod> ParseSplitMethod(const std::string& name);  // time | scene | silence

// The API's scene_detection_threshold (0–1, default about 0.5) as a
// ContentDetector score: threshold × 54, so 0.5 is PySceneDetect's default 27.
inline constexpr double kContentScorePerThreshold = 54.0;

// ContentDetector's per-frame score (0–255) between two BGR frames of the
// same size.
double ContentScore(const cv::Mat& previous_bgr, const cv::Mat& bgr);

// Hard cuts in a stream of frames.
class SceneDetector {
 public:
  // The adaptive test (see the top of this file): a frame whose score is at
  // least threshold × kAdaptiveFloorPerThreshold (0.5 gives AdaptiveDetector's
  // min_content_val of 15, so one knob moves both tests) and at least
  // kAdaptiveRatio × the highest score of the last kAdaptiveWindow frames that
  // were not repeats (scored kRepeatedFrameScore or more) since the last cut.
  static constexpr double kAdaptiveFloorPerThreshold = 30.0;
  static constexpr double kAdaptiveRatio = 3.0;
  static constexpr size_t kAdaptiveWindow = 4;
  static constexpr double kRepeatedFrameScore = 0.5;

  // A cut is a frame whose content score against the previous frame is at
  // least threshold × kContentScorePerThreshold, or passes the adaptive test,
  // at least min_scene_seconds after the previous cut (so the frames of a
  // flash or of a fast dissolve do not make scenes of their own: they join
  // the scene they start; PySceneDetect's min_scene_len is 15 frames).
  explicit SceneDetector(double threshold = 0.5, double min_scene_seconds = 0.6);
  // The next frame (BGR, any fixed size): true when a new scene starts at it.
  bool Feed(const cv::Mat& bgr, double time);
  double last_score() const { return last_score_; }

 private:
  double content_threshold_;
  double adaptive_floor_;
  double min_scene_seconds_;
  cv::Mat prev_hsv_, hsv_, diff_;
  std::deque<double> recent_;  // the adaptive window: scores of the last non-repeated frames
  double last_cut_ = 0;
  double last_score_ = 0;
};

struct SplitOptions {
  SplitMethod method = SplitMethod::kTime;
  double time_split_interval = 10;       // kTime: a segment every this many seconds
  double scene_detection_threshold = 0.5;  // kScene
  double min_scene_seconds = 0.6;          // kScene
  std::vector<double> silence_cuts;        // kSilence: cut times, ascending (SilenceCuts)
  // kScene and kSilence: a segment longer than this is cut (into pieces of
  // this length; the last one shorter). 0 = unbounded. Time segments are
  // exactly time_split_interval long whatever this says.
  double max_segment_duration = 30;
};

// Decides frame by frame where segments start.
class FrameSegmenter {
 public:
  explicit FrameSegmenter(SplitOptions options);
  // The next frame (BGR at the analysis size; only kScene looks at pixels):
  // true when it starts a new segment. The first frame never does.
  bool StartsSegment(const cv::Mat& small_bgr, double time);
  double last_scene_score() const { return scenes_.last_score(); }

 private:
  SplitOptions opts_;
  SceneDetector scenes_;
  bool first_ = true;
  double segment_start_ = 0;
  size_t next_silence_ = 0;
};

// Speech spans of a file's audio by loudness (EnergySpeechSpans of audio.h),
// decoded and measured 30 s at a time so that memory stays flat on long
// files; spans that meet across two windows are joined. An empty list when
// the file has no audio stream.
Result<std::vector<SpeechSpan>> EnergySpeechSpansOfFile(const std::string& path, const MediaLimits& limits,
                                                         double silence_db_threshold, double min_silence_seconds);

// Cut times in the middle of the silences between speech spans that last at
// least min_silence_seconds (silence before the first and after the last
// span is left to the first and last segment).
std::vector<double> SilenceCuts(const std::vector<SpeechSpan>& speech, double min_silence_seconds = 0.5);

// Segments of a stream of `duration` seconds at `fps` cut at `cuts`
// (ascending, in (0, duration)), long ones divided as FrameSegmenter does.
// The same list FrameSegmenter's decisions make for a constant frame rate.
std::vector<Segment> SegmentsFromCuts(const std::vector<double>& cuts, double duration, double fps,
                                      double max_segment_duration = 0);
// Cuts every `interval` seconds.
std::vector<double> TimeCuts(double duration, double interval);

// Picks a segment's keyframe while the segment streams: the kept frame
// nearest the segment's middle. It keeps at most kSlots frames evenly spaced
// over the segment so far (when full, every other one is dropped and the
// spacing doubles), so memory is bounded whatever the segment's length and
// the frame chosen is within a sixth of the segment of its middle (exactly
// the middle frame for segments shorter than kSlots × initial spacing).
class MiddleFramePicker {
 public:
  static constexpr size_t kSlots = 6;
  explicit MiddleFramePicker(double initial_spacing_seconds = 0.2) : initial_spacing_(initial_spacing_seconds) {}
  void Reset(double segment_start);
  // Whether the frame at `time` is to be kept (then call Keep with it).
  bool Wants(double time) const;
  void Keep(double time, int64_t index, cv::Mat frame);
  struct Picked {
    double time = 0;
    int64_t index = 0;
    cv::Mat frame;
  };
  // The kept frame nearest (start + end) / 2; nullopt when none was kept.
  std::optional<Picked> Pick(double end) const;

 private:
  double initial_spacing_;
  double start_ = 0;
  double spacing_ = 0;
  std::vector<Picked> kept_;
};

}  // namespace strata::media
