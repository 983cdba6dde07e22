// Streaming video decoding with FFmpeg (libavformat/libavcodec, frame and
// slice threads): frames are handed to a callback one at a time, already
// scaled down to a small analysis size, and converted to full-size BGR only
// when the callback asks. Nothing but the frame being handed over (and the
// decoder's own reference frames) is held, so memory stays flat on an
// hour-long file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <opencv2/core.hpp>
#include <string>

#include "core/status.h"
#include "media/limits.h"

namespace strata::media {

// What the container and its streams declare, read without decoding.
struct MediaProbe {
  std::string format;  // libavformat's short name: "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "gif", ...
  double duration_seconds = 0;  // the container's (else the longest stream's); 0 = unknown
  bool has_video = false;
  bool has_audio = false;
  // The best video stream (when has_video).
  int width = 0, height = 0;
  double fps = 0;               // average frame rate (else the stream's base rate); 0 = unknown
  int64_t frame_count = 0;      // as declared; 0 = unknown
  std::string video_codec;
};

// InvalidArgument when FFmpeg cannot read the file as a media container.
// Limits are not checked here (DecodeVideo does).
Result<MediaProbe> ProbeMedia(const std::string& path);

struct VideoDecodeOptions {
  // Size of VideoFrame::small (BGR). Scene scores need little more than the
  // colour layout: 160×90 is what scene detectors typically work on and costs
  // little to produce.
  int analysis_width = 160;
  int analysis_height = 90;
  // VideoFrame::Full() scales frames larger than this (long side) down; keeps
  // a keyframe's buffer bounded for 4K sources. 0 = never.
  int full_max_side = 1280;
  // Decoder threads (frame + slice threading); 0 = FFmpeg's choice (cores).
  int threads = 0;
  // Decode key frames only (the decoder discards the others before decoding
  // them): for callers that only sample the video.
  bool keyframes_only = false;
};

class VideoFrame {
 public:
  int64_t index = 0;   // 0-based, in presentation order, counting decoded frames
  double time = 0;     // presentation time in seconds from the stream's start
  bool key_frame = false;
  cv::Mat small;       // analysis_width × analysis_height, BGR; reused for the next frame: clone to keep

  // The frame in full (bounded by full_max_side), BGR. Valid during the
  // callback only; clone it to keep it.
  Result<cv::Mat> Full() const;

 private:
  friend class VideoDecoder;
  std::function<Result<cv::Mat>()> full_;
};

struct VideoInfo {
  MediaProbe probe;
  int64_t frames_decoded = 0;
  double last_frame_time = 0;
};

// Decodes the file's best video stream and hands every frame to `sink`, which
// may stop the decode by returning an error (returned as is). Errors
// (InvalidArgument): not a media file, no video stream, width × height over
// limits.max_pixels or a declared duration over limits.max_duration_seconds
// (both checked from the header, before decoding), frames past the duration
// bound, a stream that cannot be decoded, a file that ends well before the
// duration it declares (truncated).
using FrameSink = std::function<Status(const VideoFrame& frame)>;
Result<VideoInfo> DecodeVideo(const std::string& path, const MediaLimits& limits, const VideoDecodeOptions& options,
                              const FrameSink& sink);

}  // namespace strata::media
