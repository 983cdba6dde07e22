#include "media/video.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <mutex>

namespace strata::media {

namespace {

std::string AvError(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

Status Bad(const std::string& message) { return Status::Invalid("inputs.video", message, "value_error"); }

struct FormatCloser {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct CodecCloser {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsFree {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using FormatPtr = std::unique_ptr<AVFormatContext, FormatCloser>;

Result<FormatPtr> OpenInput(const std::string& path) {
  // FFmpeg logs every damaged packet of every upload to stderr; the status
  // returned says what matters, so only fatal messages are let through.
  static std::once_flag quiet;
  std::call_once(quiet, [] { av_log_set_level(AV_LOG_FATAL); });
  AVFormatContext* raw = nullptr;
  int err = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (err < 0) return Bad("not a video or audio file FFmpeg can read (" + AvError(err) + ")");
  FormatPtr fmt(raw);
  // Bounded probing: enough for the streams' parameters of real files, and a
  // corrupt file cannot make us read far.
  err = avformat_find_stream_info(fmt.get(), nullptr);
  if (err < 0) return Bad("the media file's streams cannot be read (" + AvError(err) + ")");
  return fmt;
}

double Seconds(int64_t ts, AVRational base) {
  if (ts == AV_NOPTS_VALUE) return 0;
  return static_cast<double>(ts) * av_q2d(base);
}

MediaProbe Describe(AVFormatContext* fmt) {
  MediaProbe p;
  p.format = fmt->iformat != nullptr && fmt->iformat->name != nullptr ? fmt->iformat->name : "";
  if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0) {
    p.duration_seconds = static_cast<double>(fmt->duration) / AV_TIME_BASE;
  }
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    const AVStream* s = fmt->streams[i];
    if (s->duration != AV_NOPTS_VALUE && s->duration > 0 && p.duration_seconds == 0) {
      p.duration_seconds = std::max(p.duration_seconds, Seconds(s->duration, s->time_base));
    }
    if (s->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) p.has_audio = true;
  }
  int vi = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (vi >= 0) {
    const AVStream* s = fmt->streams[vi];
    // Cover art (an attached picture) is a one-frame "video" stream of an audio file.
    if ((s->disposition & AV_DISPOSITION_ATTACHED_PIC) == 0) {
      p.has_video = true;
      p.width = s->codecpar->width;
      p.height = s->codecpar->height;
      AVRational rate = s->avg_frame_rate.num > 0 && s->avg_frame_rate.den > 0 ? s->avg_frame_rate : s->r_frame_rate;
      if (rate.num > 0 && rate.den > 0) p.fps = av_q2d(rate);
      p.frame_count = s->nb_frames;
      const AVCodecDescriptor* d = avcodec_descriptor_get(s->codecpar->codec_id);
      p.video_codec = d != nullptr ? d->name : "";
    }
  }
  return p;
}

}  // namespace

Result<cv::Mat> VideoFrame::Full() const {
  if (!full_) return Status::Internal("this frame has no full-size source");
  return full_();
}

Result<MediaProbe> ProbeMedia(const std::string& path) {
  ASSIGN_OR_RETURN(auto fmt, OpenInput(path));
  return Describe(fmt.get());
}

// Owns the FFmpeg state of one decode.
class VideoDecoder {
 public:
  VideoDecoder(const MediaLimits& limits, const VideoDecodeOptions& options) : limits_(limits), opts_(options) {}

  Result<VideoInfo> Run(const std::string& path, const FrameSink& sink) {
    ASSIGN_OR_RETURN(fmt_, OpenInput(path));
    VideoInfo info;
    info.probe = Describe(fmt_.get());
    const MediaProbe& p = info.probe;
    if (!p.has_video) return Bad("the file has no video stream");
    if (p.width <= 0 || p.height <= 0) return Bad("the video stream declares no frame size");
    if (static_cast<int64_t>(p.width) * p.height > limits_.max_pixels) {
      return Bad("the video's frames are " + std::to_string(p.width) + "x" + std::to_string(p.height) +
                 " pixels, over the bound of " + std::to_string(limits_.max_pixels) + " pixels (max_pixels)");
    }
    if (p.duration_seconds > limits_.max_duration_seconds) {
      return Bad("the video lasts " + std::to_string(static_cast<int64_t>(p.duration_seconds)) +
                 " s, over the bound of " + std::to_string(static_cast<int64_t>(limits_.max_duration_seconds)) +
                 " s (max_duration_seconds)");
    }
    stream_ = av_find_best_stream(fmt_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    AVStream* st = fmt_->streams[stream_];
    // Only the video stream's packets are wanted: the demuxer drops the rest.
    for (unsigned i = 0; i < fmt_->nb_streams; ++i) {
      if (static_cast<int>(i) != stream_) fmt_->streams[i]->discard = AVDISCARD_ALL;
    }
    const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (codec == nullptr) return Bad("no decoder for the video codec '" + p.video_codec + "'");
    ctx_.reset(avcodec_alloc_context3(codec));
    if (!ctx_) return Status::Internal("out of memory allocating a decoder");
    int err = avcodec_parameters_to_context(ctx_.get(), st->codecpar);
    if (err < 0) return Bad("the video stream's parameters are invalid (" + AvError(err) + ")");
    ctx_->thread_count = opts_.threads;
    ctx_->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    if (opts_.keyframes_only) ctx_->skip_frame = AVDISCARD_NONKEY;
    err = avcodec_open2(ctx_.get(), codec, nullptr);
    if (err < 0) return Bad("the video decoder cannot start (" + AvError(err) + ")");
    time_base_ = st->time_base;
    start_ts_ = st->start_time;
    fps_ = p.fps > 0 ? p.fps : 25.0;

    std::unique_ptr<AVPacket, PacketFree> pkt(av_packet_alloc());
    std::unique_ptr<AVFrame, FrameFree> frame(av_frame_alloc());
    if (!pkt || !frame) return Status::Internal("out of memory allocating a frame");
    bool eof = false;
    int read_errors = 0;
    while (!eof) {
      err = av_read_frame(fmt_.get(), pkt.get());
      if (err == AVERROR_EOF) {
        eof = true;
        err = avcodec_send_packet(ctx_.get(), nullptr);  // drain
      } else if (err < 0) {
        // A damaged packet in the container: stop reading, keep what decoded.
        if (++read_errors > 8) break;
        continue;
      } else {
        if (pkt->stream_index != stream_) {
          av_packet_unref(pkt.get());
          continue;
        }
        err = avcodec_send_packet(ctx_.get(), pkt.get());
        av_packet_unref(pkt.get());
        if (err < 0 && err != AVERROR(EAGAIN)) {
          // Corrupt data: the decoder resynchronises on the next key frame.
          ++decode_errors_;
          continue;
        }
      }
      while (true) {
        err = avcodec_receive_frame(ctx_.get(), frame.get());
        if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) break;
        if (err < 0) {
          ++decode_errors_;
          break;
        }
        Status s = Deliver(frame.get(), sink);
        av_frame_unref(frame.get());
        if (!s.ok()) return s;
      }
    }
    if (count_ == 0) return Bad("no frame of the video could be decoded (corrupt or truncated file)");
    info.frames_decoded = count_;
    info.last_frame_time = last_time_;
    // A file cut short keeps its header's duration: more than a second (and
    // a tenth) missing is a truncated file, not rounding.
    if (!opts_.keyframes_only && p.duration_seconds > 0) {
      double covered = last_time_ + 1.0 / fps_;
      if (covered < p.duration_seconds * 0.9 && p.duration_seconds - covered > 1.0) {
        return Bad("the video is truncated or corrupt: it declares " + Fixed(p.duration_seconds) +
                   " s but frames stop at " + Fixed(covered) + " s");
      }
    }
    return info;
  }

 private:
  static std::string Fixed(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
  }

  Status Deliver(AVFrame* f, const FrameSink& sink) {
    if (f->width <= 0 || f->height <= 0) return Status::Ok();
    if (static_cast<int64_t>(f->width) * f->height > limits_.max_pixels) {
      return Bad("a frame is " + std::to_string(f->width) + "x" + std::to_string(f->height) +
                 " pixels, over the bound of " + std::to_string(limits_.max_pixels) + " pixels (max_pixels)");
    }
    int64_t ts = f->best_effort_timestamp;
    double t;
    if (ts == AV_NOPTS_VALUE) {
      t = count_ == 0 ? 0 : last_time_ + 1.0 / fps_;
    } else {
      t = Seconds(ts - (start_ts_ == AV_NOPTS_VALUE ? 0 : start_ts_), time_base_);
      // Timestamps that go backwards (broken muxing) keep the order of frames.
      if (count_ > 0 && t <= last_time_) t = last_time_ + 1e-3;
    }
    if (t > limits_.max_duration_seconds) {
      return Bad("the video runs past the bound of " + std::to_string(static_cast<int64_t>(limits_.max_duration_seconds)) +
                 " s (max_duration_seconds)");
    }
    VideoFrame vf;
    vf.index = count_;
    vf.time = t;
    vf.key_frame = f->key_frame != 0 || f->pict_type == AV_PICTURE_TYPE_I;
    RETURN_IF_ERROR(Scale(f, opts_.analysis_width, opts_.analysis_height, small_sws_, small_key_, small_));
    vf.small = small_;
    vf.full_ = [this, f]() -> Result<cv::Mat> {
      int w = f->width, h = f->height;
      if (opts_.full_max_side > 0 && std::max(w, h) > opts_.full_max_side) {
        double s = static_cast<double>(opts_.full_max_side) / std::max(w, h);
        w = std::max(2, static_cast<int>(std::lround(w * s)));
        h = std::max(2, static_cast<int>(std::lround(h * s)));
      }
      cv::Mat out;
      RETURN_IF_ERROR(Scale(f, w, h, full_sws_, full_key_, out));
      return out;
    };
    ++count_;
    last_time_ = t;
    return sink(vf);
  }

  // Converts `f` to w × h BGR in `out` (reallocated only when its size
  // changes), recreating the scaler when the source's format or size changes
  // mid-stream.
  struct SwsKey {
    int sw = 0, sh = 0, fmt = -1, dw = 0, dh = 0;
    bool operator==(const SwsKey&) const = default;
  };
  Status Scale(const AVFrame* f, int w, int h, std::unique_ptr<SwsContext, SwsFree>& sws, SwsKey& key,
               cv::Mat& out) {
    SwsKey want{f->width, f->height, f->format, w, h};
    if (!sws || !(key == want)) {
      // Area averaging for the small frames (no aliasing flicker in the scene
      // scores); bilinear for the full-size ones (usually a plain conversion).
      int flags = (w * 2 <= f->width) ? SWS_AREA : SWS_BILINEAR;
      sws.reset(sws_getContext(f->width, f->height, static_cast<AVPixelFormat>(f->format), w, h, AV_PIX_FMT_BGR24,
                               flags, nullptr, nullptr, nullptr));
      if (!sws) return Bad("the video's pixel format cannot be converted");
      key = want;
    }
    if (out.rows != h || out.cols != w || out.type() != CV_8UC3 || !out.isContinuous()) out.create(h, w, CV_8UC3);
    uint8_t* dst[4] = {out.data, nullptr, nullptr, nullptr};
    int stride[4] = {static_cast<int>(out.step[0]), 0, 0, 0};
    sws_scale(sws.get(), f->data, f->linesize, 0, f->height, dst, stride);
    return Status::Ok();
  }

  MediaLimits limits_;
  VideoDecodeOptions opts_;
  FormatPtr fmt_;
  std::unique_ptr<AVCodecContext, CodecCloser> ctx_;
  int stream_ = -1;
  AVRational time_base_{1, 1};
  int64_t start_ts_ = AV_NOPTS_VALUE;
  double fps_ = 25;
  int64_t count_ = 0;
  double last_time_ = 0;
  int decode_errors_ = 0;
  std::unique_ptr<SwsContext, SwsFree> small_sws_, full_sws_;
  SwsKey small_key_, full_key_;
  cv::Mat small_;
};

Result<VideoInfo> DecodeVideo(const std::string& path, const MediaLimits& limits, const VideoDecodeOptions& options,
                              const FrameSink& sink) {
  if (options.analysis_width <= 0 || options.analysis_height <= 0) {
    return Status::Internal("DecodeVideo: the analysis size must be positive");
  }
  VideoDecoder d(limits, options);
  return d.Run(path, sink);
}

}  // namespace strata::media
