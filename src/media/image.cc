#include "media/image.h"

#include <exiv2/exiv2.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>

#include "media/image_header.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
}

namespace strata::media {

namespace {

Status Corrupt(const std::string& format, const std::string& why) {
  return Status::Invalid("image", "corrupt " + format + " file: " + why, "corrupt_media");
}

// ---- EXIF ---------------------------------------------------------------

// EXIF strings are whatever the camera wrote: keep printable UTF-8 only (JSON
// output must be valid UTF-8) and drop the NUL padding many cameras add.
std::string CleanText(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (!ok) {
      ++i;
      continue;
    }
    if (n > 1 || c >= 0x20 || c == '\n' || c == '\t') out.append(s, i, n);
    i += n;
  }
  size_t b = out.find_first_not_of(" \t\n"), e = out.find_last_not_of(" \t\n");
  return b == std::string::npos ? "" : out.substr(b, e - b + 1);
}

// A rational EXIF value as a double; NaN when absent or its denominator is 0.
double Rational(const Exiv2::Exifdatum& d, long index = 0) {
  if (index >= d.count()) return NAN;
  Exiv2::Rational r = d.toRational(index);
  return r.second == 0 ? NAN : static_cast<double>(r.first) / r.second;
}

// Degrees, minutes, seconds (EXIF 2.3 §4.6.6, GPSLatitude/GPSLongitude) with
// their N/S, E/W reference, as signed decimal degrees.
std::optional<double> GpsDegrees(const Exiv2::ExifData& exif, const char* key, const char* ref_key, char negative) {
  auto it = exif.findKey(Exiv2::ExifKey(key));
  if (it == exif.end() || it->count() < 3) return std::nullopt;
  double deg = Rational(*it, 0), min = Rational(*it, 1), sec = Rational(*it, 2);
  if (std::isnan(deg) || std::isnan(min) || std::isnan(sec)) return std::nullopt;
  double v = deg + min / 60 + sec / 3600;
  auto ref = exif.findKey(Exiv2::ExifKey(ref_key));
  if (ref != exif.end() && !ref->toString().empty() && ref->toString()[0] == negative) v = -v;
  return v;
}

void InitExiv2() {
  static std::once_flag once;
  std::call_once(once, [] {
    // XMP parsing is thread-safe only after this runs once (exiv2 0.27 docs).
    Exiv2::XmpParser::initialize();
    // Warnings about odd maker notes go to stderr otherwise; a broken EXIF
    // block is not an error of the image.
    Exiv2::LogMsg::setLevel(Exiv2::LogMsg::mute);
  });
}

struct ExifFacts {
  int orientation = 1;
  Json metadata = Json::object();
};

// Reads EXIF (and XMP's description) with exiv2. Metadata is a bonus: a file
// exiv2 cannot parse still decodes, without it.
ExifFacts ReadExif(std::string_view bytes) {
  ExifFacts facts;
  InitExiv2();
  try {
    auto image = Exiv2::ImageFactory::open(reinterpret_cast<const Exiv2::byte*>(bytes.data()),
                                           static_cast<long>(bytes.size()));
    if (image.get() == nullptr) return facts;
    image->readMetadata();
    const Exiv2::ExifData& exif = image->exifData();
    auto str = [&](const char* key, const char* name) {
      auto it = exif.findKey(Exiv2::ExifKey(key));
      if (it == exif.end()) return;
      std::string v = CleanText(it->toString());
      if (!v.empty()) facts.metadata[name] = v;
    };
    auto num = [&](const char* key, const char* name) {
      auto it = exif.findKey(Exiv2::ExifKey(key));
      if (it == exif.end()) return;
      double v = Rational(*it);
      if (std::isfinite(v)) facts.metadata[name] = v;
    };
    if (auto it = exif.findKey(Exiv2::ExifKey("Exif.Image.Orientation")); it != exif.end() && it->count() > 0) {
      long o = it->toLong();
      if (o >= 1 && o <= 8) facts.orientation = static_cast<int>(o);
    }
    str("Exif.Image.Make", "make");
    str("Exif.Image.Model", "model");
    str("Exif.Photo.LensModel", "lens_model");
    str("Exif.Photo.DateTimeOriginal", "datetime_original");
    str("Exif.Image.DateTime", "datetime");
    str("Exif.Image.ImageDescription", "description");
    str("Exif.Image.Software", "software");
    str("Exif.Image.Artist", "artist");
    str("Exif.Image.Copyright", "copyright");
    num("Exif.Photo.ExposureTime", "exposure_time");
    num("Exif.Photo.FNumber", "f_number");
    num("Exif.Photo.FocalLength", "focal_length");
    num("Exif.Photo.ExposureBiasValue", "exposure_bias");
    if (auto it = exif.findKey(Exiv2::ExifKey("Exif.Photo.ISOSpeedRatings")); it != exif.end() && it->count() > 0) {
      facts.metadata["iso"] = it->toLong();
    }
    if (auto it = exif.findKey(Exiv2::ExifKey("Exif.Photo.Flash")); it != exif.end() && it->count() > 0) {
      facts.metadata["flash_fired"] = (it->toLong() & 1) != 0;  // bit 0: flash fired (EXIF 2.3 §4.6.5)
    }
    auto lat = GpsDegrees(exif, "Exif.GPSInfo.GPSLatitude", "Exif.GPSInfo.GPSLatitudeRef", 'S');
    auto lon = GpsDegrees(exif, "Exif.GPSInfo.GPSLongitude", "Exif.GPSInfo.GPSLongitudeRef", 'W');
    if (lat && lon && std::abs(*lat) <= 90 && std::abs(*lon) <= 180) {
      facts.metadata["gps_latitude"] = *lat;
      facts.metadata["gps_longitude"] = *lon;
      if (auto alt = exif.findKey(Exiv2::ExifKey("Exif.GPSInfo.GPSAltitude")); alt != exif.end()) {
        double a = Rational(*alt);
        auto ref = exif.findKey(Exiv2::ExifKey("Exif.GPSInfo.GPSAltitudeRef"));
        if (ref != exif.end() && ref->count() > 0 && ref->toLong() == 1) a = -a;  // 1 = below sea level
        if (std::isfinite(a)) facts.metadata["gps_altitude"] = a;
      }
    }
    if (!facts.metadata.contains("description")) {
      const Exiv2::XmpData& xmp = image->xmpData();
      auto it = xmp.findKey(Exiv2::XmpKey("Xmp.dc.description"));
      if (it != xmp.end()) {
        std::string v = CleanText(it->toString());
        // A LangAlt value prints as `lang="x-default" text`.
        if (v.rfind("lang=", 0) == 0 && v.find(' ') != std::string::npos) v = v.substr(v.find(' ') + 1);
        if (!v.empty()) facts.metadata["description"] = v;
      }
    }
  } catch (const std::exception&) {
    // exiv2 throws on what it cannot parse; the pixels may still be fine.
  }
  return facts;
}

// The EXIF orientation tag says how the stored rows map to the upright
// picture (EXIF 2.3 §4.6.4 A, Orientation); these are the inverse transforms,
// the same OpenCV's imread applies.
cv::Mat ApplyOrientation(const cv::Mat& in, int orientation) {
  cv::Mat out;
  switch (orientation) {
    case 2: cv::flip(in, out, 1); break;
    case 3: cv::flip(in, out, -1); break;
    case 4: cv::flip(in, out, 0); break;
    case 5: cv::transpose(in, out); break;
    case 6: cv::transpose(in, out); cv::flip(out, out, 1); break;
    case 7: cv::transpose(in, out); cv::flip(out, out, -1); break;
    case 8: cv::transpose(in, out); cv::flip(out, out, 0); break;
    default: out = in;
  }
  return out;
}

// ---- pixels -------------------------------------------------------------

// Any decoded Mat -> 8-bit BGR. Deeper samples are scaled to 8 bits (16-bit
// PNG/TIFF: /257; float TIFF: 0..1 -> 0..255); transparent pixels are
// composited over white, as a viewer shows them on a page, so a logo's
// transparent background does not turn black.
Result<cv::Mat> ToBgr8(const cv::Mat& src, const std::string& format) {
  if (src.empty()) return Corrupt(format, "no pixels decoded");
  cv::Mat m = src;
  if (m.depth() != CV_8U) {
    double scale = m.depth() == CV_16U ? 1.0 / 257 : m.depth() == CV_16S ? 1.0 / 128
                   : (m.depth() == CV_32F || m.depth() == CV_64F) ? 255.0 : 1.0;
    m.convertTo(m, CV_MAKETYPE(CV_8U, m.channels()), scale);
  }
  cv::Mat bgr;
  switch (m.channels()) {
    case 1: cv::cvtColor(m, bgr, cv::COLOR_GRAY2BGR); break;
    case 3: bgr = m; break;
    case 4: {
      bgr.create(m.size(), CV_8UC3);
      for (int y = 0; y < m.rows; ++y) {
        const uint8_t* s = m.ptr<uint8_t>(y);
        uint8_t* d = bgr.ptr<uint8_t>(y);
        for (int x = 0; x < m.cols; ++x, s += 4, d += 3) {
          int a = s[3];
          for (int c = 0; c < 3; ++c) d[c] = static_cast<uint8_t>((s[c] * a + 255 * (255 - a) + 127) / 255);
        }
      }
      break;
    }
    default: return Corrupt(format, std::to_string(m.channels()) + " channels");
  }
  return bgr;
}

// libjpeg decodes a truncated JPEG without an error (it pads the missing rows
// with gray and prints a warning), so the end is checked here: after the first
// scan's start (SOS) the entropy-coded data cannot hold FF D9 (a data FF is
// stuffed as FF 00, ITU T.81 §B.1.1.5), so an EOI there is the image's end.
// An EOI inside an EXIF thumbnail comes before the SOS and does not count.
bool JpegHasEnd(std::string_view b) {
  size_t at = 2;
  while (at + 4 <= b.size()) {
    if (static_cast<uint8_t>(b[at]) != 0xFF) return false;
    uint8_t marker = static_cast<uint8_t>(b[at + 1]);
    if (marker == 0xFF) {
      ++at;
      continue;
    }
    if (marker == 0xDA) break;
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
      at += 2;
      continue;
    }
    at += 2 + ((static_cast<uint8_t>(b[at + 2]) << 8) | static_cast<uint8_t>(b[at + 3]));
  }
  for (size_t i = b.size(); i-- > at + 1;) {
    if (static_cast<uint8_t>(b[i - 1]) == 0xFF && static_cast<uint8_t>(b[i]) == 0xD9) return true;
  }
  return false;
}

// GIF through libavformat/libavcodec from memory (OpenCV 4.6 has no GIF
// decoder): the first frame, composited as the decoder delivers it.
struct MemoryReader {
  std::string_view data;
  size_t pos = 0;
  static int Read(void* opaque, uint8_t* buf, int size) {
    auto* r = static_cast<MemoryReader*>(opaque);
    size_t n = std::min<size_t>(size, r->data.size() - r->pos);
    if (n == 0) return AVERROR_EOF;
    std::memcpy(buf, r->data.data() + r->pos, n);
    r->pos += n;
    return static_cast<int>(n);
  }
  static int64_t Seek(void* opaque, int64_t offset, int whence) {
    auto* r = static_cast<MemoryReader*>(opaque);
    if (whence == AVSEEK_SIZE) return static_cast<int64_t>(r->data.size());
    int64_t base = (whence & ~AVSEEK_FORCE) == SEEK_CUR ? static_cast<int64_t>(r->pos)
                   : (whence & ~AVSEEK_FORCE) == SEEK_END ? static_cast<int64_t>(r->data.size())
                                                          : 0;
    int64_t to = base + offset;
    if (to < 0 || to > static_cast<int64_t>(r->data.size())) return AVERROR(EINVAL);
    r->pos = static_cast<size_t>(to);
    return to;
  }
};

Result<cv::Mat> DecodeGifFirstFrame(std::string_view bytes, const MediaLimits& limits) {
  MemoryReader reader{bytes};
  constexpr int kBuf = 64 << 10;
  auto* buf = static_cast<uint8_t*>(av_malloc(kBuf));
  AVIOContext* io = avio_alloc_context(buf, kBuf, 0, &reader, &MemoryReader::Read, nullptr, &MemoryReader::Seek);
  AVFormatContext* fmt = avformat_alloc_context();
  AVCodecContext* dec = nullptr;
  AVPacket* pkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  struct Cleanup {
    AVIOContext*& io;
    AVFormatContext*& fmt;
    AVCodecContext*& dec;
    AVPacket*& pkt;
    AVFrame*& frame;
    ~Cleanup() {
      av_frame_free(&frame);
      av_packet_free(&pkt);
      avcodec_free_context(&dec);
      avformat_close_input(&fmt);
      if (io) av_freep(&io->buffer);
      avio_context_free(&io);
    }
  } cleanup{io, fmt, dec, pkt, frame};
  if (!io || !fmt || !pkt || !frame) return Status::Internal("out of memory decoding a GIF");
  fmt->pb = io;
  fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  if (avformat_open_input(&fmt, nullptr, av_find_input_format("gif"), nullptr) < 0) {
    return Corrupt("gif", "libavformat cannot open it");
  }
  if (fmt->nb_streams < 1) return Corrupt("gif", "no image stream");
  AVStream* st = fmt->streams[0];
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec) return Status::Unavailable("FFmpeg was built without a GIF decoder");
  dec = avcodec_alloc_context3(codec);
  if (!dec || avcodec_parameters_to_context(dec, st->codecpar) < 0) return Corrupt("gif", "bad stream parameters");
  dec->max_pixels = limits.max_pixels;
  if (avcodec_open2(dec, codec, nullptr) < 0) return Corrupt("gif", "decoder refused it");
  bool got = false;
  while (!got) {
    int r = av_read_frame(fmt, pkt);
    if (r < 0) {
      avcodec_send_packet(dec, nullptr);  // drain
    } else {
      bool ours = pkt->stream_index == st->index;
      int s = ours ? avcodec_send_packet(dec, pkt) : 0;
      av_packet_unref(pkt);
      if (s < 0 && s != AVERROR(EAGAIN)) return Corrupt("gif", "bad image data");
    }
    int rr = avcodec_receive_frame(dec, frame);
    if (rr == 0) {
      got = true;
    } else if (r < 0 || (rr != AVERROR(EAGAIN))) {
      return Corrupt("gif", "no complete frame");
    }
  }
  if (frame->width <= 0 || frame->height <= 0) return Corrupt("gif", "empty frame");
  cv::Mat bgra(frame->height, frame->width, CV_8UC4);
  SwsContext* sws = sws_getContext(frame->width, frame->height, static_cast<AVPixelFormat>(frame->format),
                                   frame->width, frame->height, AV_PIX_FMT_BGRA, SWS_POINT, nullptr, nullptr, nullptr);
  if (!sws) return Corrupt("gif", "unsupported pixel format");
  uint8_t* dst[4] = {bgra.data, nullptr, nullptr, nullptr};
  int dst_stride[4] = {static_cast<int>(bgra.step), 0, 0, 0};
  sws_scale(sws, frame->data, frame->linesize, 0, frame->height, dst, dst_stride);
  sws_freeContext(sws);
  return bgra;
}

}  // namespace

Result<DecodedImage> DecodeImageBytes(std::string_view bytes, const MediaLimits& limits) {
  if (bytes.empty()) return Status::Invalid("image", "not an image: the file is empty", "unsupported_media");
  ASSIGN_OR_RETURN(ImageHeader header, ReadImageHeader(bytes));
  if (header.width > limits.max_pixels / header.height) {
    return Status::Invalid("image",
                           "the image declares " + std::to_string(header.width) + " x " + std::to_string(header.height) +
                               " pixels, more than the limit of " + std::to_string(limits.max_pixels) +
                               " pixels (max_pixels)",
                           "limit_exceeded");
  }
  DecodedImage out;
  out.format = header.format;
  cv::Mat raw;
  if (header.format == "gif") {
    ASSIGN_OR_RETURN(raw, DecodeGifFirstFrame(bytes, limits));
  } else {
    // IMREAD_UNCHANGED keeps alpha and 16-bit samples (converted below) and
    // leaves EXIF orientation to us: imdecode would apply it for JPEG only.
    // A 4-component (CMYK/YCCK) JPEG is converted to BGR by OpenCV's libjpeg
    // reader, Adobe's inverted CMYK included.
    try {
      cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
      raw = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception&) {
      return Corrupt(header.format, "the decoder failed");
    }
    if (raw.empty()) return Corrupt(header.format, "truncated or not decodable");
    if (header.format == "jpeg" && !JpegHasEnd(bytes)) return Corrupt("jpeg", "truncated (no end-of-image marker)");
  }
  ASSIGN_OR_RETURN(cv::Mat bgr, ToBgr8(raw, header.format));
  if (header.format != "gif" && header.format != "bmp") {
    ExifFacts exif = ReadExif(bytes);
    out.orientation = exif.orientation;
    out.metadata = std::move(exif.metadata);
    bgr = ApplyOrientation(bgr, out.orientation);
  }
  out.bgr = std::move(bgr);
  out.width = out.bgr.cols;
  out.height = out.bgr.rows;
  return out;
}

Result<DecodedImage> DecodeImageFile(const std::string& path, const MediaLimits& limits) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Storage("image file cannot be read");
  // The signature first: a large file that is no image is refused unread.
  std::string bytes(64, '\0');
  f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(f.gcount()));
  if (!bytes.empty() && SniffImageFormat(bytes).empty()) return ReadImageHeader(bytes).status();
  bytes.append(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  if (f.bad()) return Status::Storage("image file cannot be read");
  return DecodeImageBytes(bytes, limits);
}

Result<std::string> EncodeThumbnail(const cv::Mat& bgr, int max_side, int quality) {
  if (bgr.empty()) return Status::Invalid("image", "no pixels to make a thumbnail of", "value_error");
  if (max_side < 1) return Status::Invalid("thumbnail_size", "must be at least 1", "value_error");
  cv::Mat small = bgr;
  int longest = std::max(bgr.cols, bgr.rows);
  if (longest > max_side) {
    double s = static_cast<double>(max_side) / longest;
    cv::Size size(std::max(1, static_cast<int>(std::lround(bgr.cols * s))),
                  std::max(1, static_cast<int>(std::lround(bgr.rows * s))));
    cv::resize(bgr, small, size, 0, 0, cv::INTER_AREA);  // area averaging: no aliasing when shrinking
  }
  std::vector<uint8_t> jpeg;
  if (!cv::imencode(".jpg", small, jpeg, {cv::IMWRITE_JPEG_QUALITY, std::clamp(quality, 1, 100)})) {
    return Status::Internal("JPEG encoding of a thumbnail failed");
  }
  return std::string(jpeg.begin(), jpeg.end());
}

}  // namespace strata::media
