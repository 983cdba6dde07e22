#include "media/scenes.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>

#include "media/audio.h"
#include "media/video.h"

namespace strata::media {

Result<SplitMethod> ParseSplitMethod(const std::string& name) {
  if (name == "time") return SplitMethod::kTime;
  if (name == "scene") return SplitMethod::kScene;
  if (name == "silence") return SplitMethod::kSilence;
  return Status::Invalid("split_method", "must be time, scene or silence, got '" + name + "'", "enum");
}

namespace {

// Mean over all pixels and the three channels of |a - b| (both 8-bit, 3
// channels): PySceneDetect's (delta_h + delta_s + delta_v) / 3.
double MeanAbsDiff(const cv::Mat& a, const cv::Mat& b, cv::Mat& scratch) {
  cv::absdiff(a, b, scratch);
  cv::Scalar m = cv::mean(scratch);
  return (m[0] + m[1] + m[2]) / 3.0;
}

}  // namespace

double ContentScore(const cv::Mat& previous_bgr, const cv::Mat& bgr) {
  cv::Mat a, b, d;
  cv::cvtColor(previous_bgr, a, cv::COLOR_BGR2HSV);
  cv::cvtColor(bgr, b, cv::COLOR_BGR2HSV);
  return MeanAbsDiff(a, b, d);
}

SceneDetector::SceneDetector(double threshold, double min_scene_seconds)
    : content_threshold_(threshold * kContentScorePerThreshold),
      adaptive_floor_(threshold * kAdaptiveFloorPerThreshold),
      min_scene_seconds_(min_scene_seconds) {}

bool SceneDetector::Feed(const cv::Mat& bgr, double time) {
  cv::cvtColor(bgr, hsv_, cv::COLOR_BGR2HSV);
  bool cut = false;
  if (prev_hsv_.empty() || prev_hsv_.size() != hsv_.size()) {
    last_score_ = 0;
    last_cut_ = time;
    recent_.clear();
  } else {
    last_score_ = MeanAbsDiff(prev_hsv_, hsv_, diff_);
    // An empty window (a still since the last cut) counts as calm.
    const double recent_high = recent_.empty() ? 0 : *std::max_element(recent_.begin(), recent_.end());
    const bool fixed = last_score_ >= content_threshold_;
    const bool adaptive = last_score_ >= adaptive_floor_ && last_score_ >= kAdaptiveRatio * recent_high;
    if ((fixed || adaptive) && time - last_cut_ >= min_scene_seconds_) {
      cut = true;
      last_cut_ = time;
      // The new scene's motion is measured afresh.
      recent_.clear();
    } else if (last_score_ >= kRepeatedFrameScore) {
      recent_.push_back(last_score_);
      if (recent_.size() > kAdaptiveWindow) recent_.pop_front();
    }
  }
  std::swap(prev_hsv_, hsv_);
  return cut;
}

FrameSegmenter::FrameSegmenter(SplitOptions options)
    : opts_(std::move(options)), scenes_(opts_.scene_detection_threshold, opts_.min_scene_seconds) {}

bool FrameSegmenter::StartsSegment(const cv::Mat& small_bgr, double time) {
  bool cut = false;
  switch (opts_.method) {
    case SplitMethod::kTime:
      // Boundaries at k × interval from the stream's start, whatever the
      // previous segment's first frame was (no drift on odd frame rates).
      cut = !first_ && opts_.time_split_interval > 0 &&
            std::floor(time / opts_.time_split_interval + 1e-9) > std::floor(segment_start_ / opts_.time_split_interval + 1e-9);
      break;
    case SplitMethod::kScene:
      cut = scenes_.Feed(small_bgr, time) && !first_;
      break;
    case SplitMethod::kSilence:
      while (next_silence_ < opts_.silence_cuts.size() && opts_.silence_cuts[next_silence_] <= time) {
        if (!first_) cut = true;
        ++next_silence_;
      }
      break;
  }
  if (!cut && !first_ && opts_.method != SplitMethod::kTime && opts_.max_segment_duration > 0 &&
      time - segment_start_ >= opts_.max_segment_duration - 1e-9) {
    cut = true;
  }
  if (first_ || cut) segment_start_ = time;
  first_ = false;
  return cut;
}

Result<std::vector<SpeechSpan>> EnergySpeechSpansOfFile(const std::string& path, const MediaLimits& limits,
                                                         double silence_db_threshold, double min_silence_seconds) {
  ASSIGN_OR_RETURN(MediaProbe probe, ProbeMedia(path));
  std::vector<SpeechSpan> spans;
  if (!probe.has_audio) return spans;
  // 30 s windows: a whole number of EnergySpeechSpans' 20 ms frames.
  constexpr size_t kWindow = static_cast<size_t>(kSpeechSampleRate) * 30;
  std::vector<int16_t> window;
  window.reserve(kWindow);
  int64_t window_start = 0;
  auto measure = [&]() {
    const double offset = static_cast<double>(window_start) / kSpeechSampleRate;
    for (SpeechSpan s : EnergySpeechSpans(window.data(), window.size(), silence_db_threshold, min_silence_seconds)) {
      s.start += offset;
      s.end += offset;
      if (!spans.empty() && s.start - spans.back().end < min_silence_seconds) {
        spans.back().end = std::max(spans.back().end, s.end);
      } else {
        spans.push_back(s);
      }
    }
    window_start += static_cast<int64_t>(window.size());
    window.clear();
  };
  auto decoded = DecodeAudio(path, limits, [&](const int16_t* samples, size_t count, int64_t) -> Status {
    while (count > 0) {
      size_t take = std::min(count, kWindow - window.size());
      window.insert(window.end(), samples, samples + take);
      samples += take;
      count -= take;
      if (window.size() == kWindow) measure();
    }
    return Status::Ok();
  });
  if (!decoded.ok()) return decoded.status();
  if (!window.empty()) measure();
  return spans;
}

std::vector<double> SilenceCuts(const std::vector<SpeechSpan>& speech, double min_silence_seconds) {
  std::vector<double> cuts;
  for (size_t i = 1; i < speech.size(); ++i) {
    double gap_start = speech[i - 1].end, gap_end = speech[i].start;
    if (gap_end - gap_start >= min_silence_seconds) cuts.push_back((gap_start + gap_end) / 2);
  }
  return cuts;
}

std::vector<double> TimeCuts(double duration, double interval) {
  std::vector<double> cuts;
  if (interval <= 0) return cuts;
  for (int64_t k = 1; k * interval < duration - 1e-9; ++k) cuts.push_back(static_cast<double>(k) * interval);
  return cuts;
}

std::vector<Segment> SegmentsFromCuts(const std::vector<double>& cuts, double duration, double fps,
                                      double max_segment_duration) {
  std::vector<Segment> out;
  if (duration <= 0 || fps <= 0) return out;
  // A cut at time c starts a segment at the first frame at or after c.
  auto frame_at = [&](double t) { return static_cast<int64_t>(std::ceil(t * fps - 1e-6)); };
  const int64_t frames = frame_at(duration);
  std::vector<double> bounds = {0};
  for (double c : cuts) {
    if (c > bounds.back() && c < duration) bounds.push_back(c);
  }
  bounds.push_back(duration);
  for (size_t i = 0; i + 1 < bounds.size(); ++i) {
    int64_t f0 = frame_at(bounds[i]), f1 = std::min(frames, frame_at(bounds[i + 1]));
    while (f0 < f1) {
      int64_t f = f1;
      if (max_segment_duration > 0) f = std::min(f1, frame_at(static_cast<double>(f0) / fps + max_segment_duration));
      Segment s;
      s.start_frame = f0;
      s.end_frame = f;
      s.start = static_cast<double>(f0) / fps;
      s.end = f == frames ? duration : static_cast<double>(f) / fps;
      out.push_back(s);
      f0 = f;
    }
  }
  return out;
}

void MiddleFramePicker::Reset(double segment_start) {
  start_ = segment_start;
  spacing_ = initial_spacing_;
  kept_.clear();
}

bool MiddleFramePicker::Wants(double time) const {
  if (kept_.empty()) return true;
  return time - kept_.back().time >= spacing_ - 1e-9;
}

void MiddleFramePicker::Keep(double time, int64_t index, cv::Mat frame) {
  kept_.push_back({time, index, std::move(frame)});
  if (kept_.size() > kSlots) {
    // Every other frame goes: the rest stay evenly spaced, twice as far apart.
    size_t w = 0;
    for (size_t r = 0; r < kept_.size(); r += 2) kept_[w++] = std::move(kept_[r]);
    kept_.resize(w);
    spacing_ *= 2;
  }
}

std::optional<MiddleFramePicker::Picked> MiddleFramePicker::Pick(double end) const {
  if (kept_.empty()) return std::nullopt;
  const double middle = (start_ + end) / 2;
  const Picked* best = &kept_.front();
  for (const auto& k : kept_) {
    if (std::abs(k.time - middle) < std::abs(best->time - middle)) best = &k;
  }
  return *best;
}

}  // namespace strata::media
