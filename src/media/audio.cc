#include "media/audio.h"

#include <algorithm>
#include <cmath>
#include <memory>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

namespace strata::media {
namespace {

// Every bad file ends here: one validation error the engine records per item.
Status BadAudio(const std::string& message, const std::string& type = "invalid_media") {
  return Status::Invalid("media", "audio: " + message, type);
}

std::string AvError(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof(buf));
  return buf;
}

// Demuxers a stored object may be read with. FFmpeg otherwise picks any of its
// ~300 by probing, including playlists (hls, concat) that open further files
// or URLs named inside the file: a text file uploaded as "audio" must not make
// the server read /etc/passwd or fetch from the network. av_match_list matches
// these against a demuxer's comma-separated names ("mov" also covers mp4/m4a).
constexpr const char* kAllowedDemuxers =
    "wav,w64,mp3,ogg,flac,aac,mov,matroska,webm,avi,asf,flv,mpegts,mpeg,aiff,caf,au,amr,"
    "ac3,eac3,dts,wv,ape,tta,mpc,mpc8,gsm,voc,xwma";

// 16000 samples: the sink sees one second at a time (32 KB), whatever size the
// codec's frames are.
constexpr size_t kChunkSamples = kSpeechSampleRate;

struct FormatCloser {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct CodecFreer {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct SwrFreer {
  void operator()(SwrContext* s) const { swr_free(&s); }
};
struct PacketFreer {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameFreer {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};

// Resamples decoded frames to 16 kHz mono s16 and hands full chunks to the
// sink, counting samples against the duration bound as they come.
class PcmWriter {
 public:
  PcmWriter(const PcmSink& sink, int64_t max_samples, double max_seconds)
      : sink_(sink), max_samples_(max_samples), max_seconds_(max_seconds) {
    chunk_.reserve(kChunkSamples);
  }
  ~PcmWriter() {
    av_channel_layout_uninit(&in_layout_);
    av_channel_layout_uninit(&frame_layout_);
  }
  PcmWriter(const PcmWriter&) = delete;
  PcmWriter& operator=(const PcmWriter&) = delete;

  Status Write(const AVFrame* frame) {
    RETURN_IF_ERROR(Configure(frame));
    return Convert(const_cast<const uint8_t**>(frame->extended_data), frame->nb_samples);
  }

  // Drains the resampler's delay and the last partial chunk.
  Status Finish() {
    if (swr_ != nullptr) RETURN_IF_ERROR(Convert(nullptr, 0));
    return Emit();
  }

  int64_t samples() const { return emitted_ + static_cast<int64_t>(chunk_.size()); }

 private:
  // (Re)creates the resampler for the frame's format: set from the first
  // frame rather than the codec's parameters because some decoders only know
  // their output layout once they decode, and a stream may change it midway.
  Status Configure(const AVFrame* frame) {
    if (swr_ != nullptr && frame->format == in_format_ && frame->sample_rate == in_rate_ &&
        av_channel_layout_compare(&frame->ch_layout, &frame_layout_) == 0) {
      return Status::Ok();
    }
    if (frame->sample_rate <= 0 || frame->ch_layout.nb_channels <= 0) {
      return BadAudio("the decoder produced frames without a sample rate or channels");
    }
    if (swr_ != nullptr) RETURN_IF_ERROR(Convert(nullptr, 0));  // flush the old format
    av_channel_layout_uninit(&in_layout_);
    av_channel_layout_uninit(&frame_layout_);
    if (av_channel_layout_copy(&frame_layout_, &frame->ch_layout) < 0) {
      return Status::Internal("audio: out of memory copying a channel layout");
    }
    if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
      // Only a channel count: assume the usual layout for it so the downmix
      // has positions to work with.
      av_channel_layout_default(&in_layout_, frame->ch_layout.nb_channels);
    } else if (av_channel_layout_copy(&in_layout_, &frame->ch_layout) < 0) {
      return Status::Internal("audio: out of memory copying a channel layout");
    }
    in_format_ = frame->format;
    in_rate_ = frame->sample_rate;
    AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
    SwrContext* swr = nullptr;
    int rc = swr_alloc_set_opts2(&swr, &mono, AV_SAMPLE_FMT_S16, kSpeechSampleRate, &in_layout_,
                                 static_cast<AVSampleFormat>(in_format_), in_rate_, 0, nullptr);
    swr_.reset(swr);
    if (rc >= 0 && in_layout_.nb_channels == 2) {
      // A stereo pair is averaged, so speech present in both channels keeps
      // its level (FFmpeg's default downmix is 3 dB quieter, which would
      // shift every dB threshold applied later).
      const double average[2] = {0.5, 0.5};
      rc = swr_set_matrix(swr_.get(), average, 2);
    }
    if (rc < 0 || (rc = swr_init(swr_.get())) < 0) {
      return BadAudio("cannot convert this stream's samples (" + AvError(rc) + ")");
    }
    return Status::Ok();
  }

  Status Convert(const uint8_t** in, int in_samples) {
    for (;;) {
      int room = swr_get_out_samples(swr_.get(), in_samples);
      if (room <= 0) return Status::Ok();
      buffer_.resize(static_cast<size_t>(room));
      uint8_t* out = reinterpret_cast<uint8_t*>(buffer_.data());
      int got = swr_convert(swr_.get(), &out, room, in, in_samples);
      if (got < 0) return BadAudio("resampling failed (" + AvError(got) + ")");
      RETURN_IF_ERROR(Append(buffer_.data(), static_cast<size_t>(got)));
      // With input, one call converts all of it; a flush (no input) repeats
      // until the resampler has nothing left.
      if (in != nullptr || got == 0) return Status::Ok();
    }
  }

  Status Append(const int16_t* data, size_t count) {
    if (samples() + static_cast<int64_t>(count) > max_samples_) {
      return BadAudio("the audio runs past max_duration_seconds (" +
                          std::to_string(static_cast<int64_t>(max_seconds_)) + " s)",
                      "limit_exceeded");
    }
    while (count > 0) {
      size_t take = std::min(count, kChunkSamples - chunk_.size());
      chunk_.insert(chunk_.end(), data, data + take);
      data += take;
      count -= take;
      if (chunk_.size() == kChunkSamples) RETURN_IF_ERROR(Emit());
    }
    return Status::Ok();
  }

  Status Emit() {
    if (chunk_.empty()) return Status::Ok();
    Status st = sink_(chunk_.data(), chunk_.size(), emitted_);
    emitted_ += static_cast<int64_t>(chunk_.size());
    chunk_.clear();
    return st;
  }

  const PcmSink& sink_;
  int64_t max_samples_;
  double max_seconds_;
  std::unique_ptr<SwrContext, SwrFreer> swr_;
  int in_format_ = -1, in_rate_ = 0;
  // What the frames say (to notice a change) and what the resampler was told.
  AVChannelLayout frame_layout_{}, in_layout_{};
  std::vector<int16_t> buffer_, chunk_;
  int64_t emitted_ = 0;

};

}  // namespace

Result<AudioInfo> DecodeAudio(const std::string& path, const MediaLimits& limits, const PcmSink& sink) {
  AVFormatContext* raw = avformat_alloc_context();
  if (raw == nullptr) return Status::Internal("audio: out of memory");
  raw->format_whitelist = av_strdup(kAllowedDemuxers);
  AVDictionary* options = nullptr;
  av_dict_set(&options, "protocol_whitelist", "file", 0);
  int rc = avformat_open_input(&raw, path.c_str(), nullptr, &options);  // frees raw on failure
  av_dict_free(&options);
  if (rc < 0) return BadAudio("not a readable audio or video file (" + AvError(rc) + ")");
  std::unique_ptr<AVFormatContext, FormatCloser> format(raw);

  if ((rc = avformat_find_stream_info(format.get(), nullptr)) < 0) {
    return BadAudio("cannot read the stream layout (" + AvError(rc) + ")");
  }
  const AVCodec* codec = nullptr;
  int index = av_find_best_stream(format.get(), AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
  if (index == AVERROR_STREAM_NOT_FOUND) return BadAudio("the file has no audio stream", "no_audio");
  if (index < 0 || codec == nullptr) {
    return BadAudio("no decoder for the audio stream (" + AvError(index) + ")");
  }
  AVStream* stream = format->streams[index];

  AudioInfo info;
  info.codec = codec->name;
  info.source_sample_rate = stream->codecpar->sample_rate;
  info.source_channels = stream->codecpar->ch_layout.nb_channels;
  if (stream->duration > 0 && stream->time_base.den > 0) {
    info.duration_seconds = static_cast<double>(stream->duration) * av_q2d(stream->time_base);
  } else if (format->duration > 0) {
    info.duration_seconds = static_cast<double>(format->duration) / AV_TIME_BASE;
  }
  // The declared length is checked before any decoding; the decoded length
  // is checked again as samples arrive (a header may understate it).
  if (info.duration_seconds > limits.max_duration_seconds) {
    return BadAudio("the file declares " + std::to_string(static_cast<int64_t>(info.duration_seconds)) +
                        " s, over max_duration_seconds (" +
                        std::to_string(static_cast<int64_t>(limits.max_duration_seconds)) + " s)",
                    "limit_exceeded");
  }
  for (unsigned i = 0; i < format->nb_streams; ++i) {
    if (static_cast<int>(i) != index) format->streams[i]->discard = AVDISCARD_ALL;
  }

  std::unique_ptr<AVCodecContext, CodecFreer> decoder(avcodec_alloc_context3(codec));
  if (!decoder) return Status::Internal("audio: out of memory");
  if ((rc = avcodec_parameters_to_context(decoder.get(), stream->codecpar)) < 0 ||
      (rc = avcodec_open2(decoder.get(), codec, nullptr)) < 0) {
    return BadAudio("cannot open the " + info.codec + " decoder (" + AvError(rc) + ")");
  }

  std::unique_ptr<AVPacket, PacketFreer> packet(av_packet_alloc());
  std::unique_ptr<AVFrame, FrameFreer> frame(av_frame_alloc());
  if (!packet || !frame) return Status::Internal("audio: out of memory");
  const double max_samples_d = limits.max_duration_seconds * kSpeechSampleRate;
  const int64_t max_samples = max_samples_d >= 9e18 ? INT64_MAX : static_cast<int64_t>(max_samples_d);
  PcmWriter writer(sink, max_samples, limits.max_duration_seconds);

  // Packets the decoder refuses: a few in a long file are damage FFmpeg
  // conceals (a player would skip them too); a file where most fail is not
  // audio of that codec at all.
  int64_t packets = 0, bad_packets = 0;
  auto drain = [&]() -> Status {
    for (;;) {
      int r = avcodec_receive_frame(decoder.get(), frame.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return Status::Ok();
      if (r < 0) {
        ++bad_packets;
        return Status::Ok();
      }
      Status st = writer.Write(frame.get());
      av_frame_unref(frame.get());
      RETURN_IF_ERROR(st);
    }
  };
  bool read_error = false;
  for (;;) {
    rc = av_read_frame(format.get(), packet.get());
    if (rc == AVERROR_EOF) break;
    if (rc < 0) {
      // A damaged or cut-off container: keep what decoded before it.
      read_error = true;
      break;
    }
    if (packet->stream_index == index) {
      ++packets;
      int sent = avcodec_send_packet(decoder.get(), packet.get());
      if (sent < 0 && sent != AVERROR(EAGAIN)) ++bad_packets;
    }
    av_packet_unref(packet.get());
    RETURN_IF_ERROR(drain());
  }
  avcodec_send_packet(decoder.get(), nullptr);  // flush the decoder's delay
  RETURN_IF_ERROR(drain());
  RETURN_IF_ERROR(writer.Finish());

  if (writer.samples() == 0) {
    return BadAudio(read_error ? "the file is truncated or corrupt: no audio could be decoded"
                               : "the audio stream holds no samples");
  }
  if (packets > 4 && bad_packets * 2 > packets) {
    return BadAudio("the audio stream is corrupt (" + std::to_string(bad_packets) + " of " +
                    std::to_string(packets) + " packets failed to decode)");
  }
  return info;
}

std::vector<SpeechSpan> EnergySpeechSpans(const int16_t* samples, size_t count,
                                          double silence_db_threshold, double min_silence_seconds) {
  // 20 ms frames: short enough to place span edges well, long enough for a
  // stable RMS (the frame size speech front ends use, e.g. WebRTC's VAD).
  constexpr size_t kFrame = kSpeechSampleRate / 50;
  constexpr double kFrameSeconds = static_cast<double>(kFrame) / kSpeechSampleRate;
  std::vector<SpeechSpan> spans;
  bool open = false;
  double start = 0, last_loud_end = 0;
  for (size_t at = 0; at < count; at += kFrame) {
    size_t n = std::min(kFrame, count - at);
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
      double v = samples[at + i];
      sum += v * v;
    }
    double rms = std::sqrt(sum / static_cast<double>(n));
    // dBFS; digital silence is -inf, i.e. below any threshold.
    double db = rms > 0 ? 20.0 * std::log10(rms / 32768.0) : -1e9;
    double t0 = static_cast<double>(at) / kSpeechSampleRate;
    double t1 = static_cast<double>(at + n) / kSpeechSampleRate;
    if (db > silence_db_threshold) {
      if (open && t0 - last_loud_end >= min_silence_seconds) {
        spans.push_back({start, last_loud_end});
        open = false;
      }
      if (!open) {
        open = true;
        start = t0;
      }
      last_loud_end = t1;
    }
  }
  if (open) spans.push_back({start, last_loud_end});
  // A lone click (one or two loud frames) is not speech.
  std::erase_if(spans, [&](const SpeechSpan& s) { return s.end - s.start < 2.5 * kFrameSeconds; });
  return spans;
}

}  // namespace strata::media
