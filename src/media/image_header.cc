#include "media/image_header.h"

#include <array>
#include <cstring>

namespace strata::media {

namespace {

Status Bad(const std::string& format, const std::string& why) {
  return Status::Invalid("image", "corrupt " + format + " file: " + why, "corrupt_media");
}

uint32_t Be16(std::string_view b, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(b[at])) << 8) | static_cast<uint8_t>(b[at + 1]);
}
uint32_t Be32(std::string_view b, size_t at) { return (Be16(b, at) << 16) | Be16(b, at + 2); }
uint32_t Le16(std::string_view b, size_t at) {
  return static_cast<uint8_t>(b[at]) | (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 8);
}
uint32_t Le24(std::string_view b, size_t at) { return Le16(b, at) | (static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 16); }
uint32_t Le32(std::string_view b, size_t at) { return Le16(b, at) | (Le16(b, at + 2) << 16); }
uint64_t Le64(std::string_view b, size_t at) { return Le32(b, at) | (static_cast<uint64_t>(Le32(b, at + 4)) << 32); }

bool StartsWith(std::string_view b, std::string_view magic) { return b.substr(0, magic.size()) == magic; }

// PNG: the 8-byte signature, then the IHDR chunk must come first (PNG 1.2 §5.2).
Result<ImageHeader> Png(std::string_view b) {
  if (b.size() < 24 || b.substr(12, 4) != "IHDR") return Bad("png", "no IHDR chunk");
  return ImageHeader{"png", Be32(b, 16), Be32(b, 20)};
}

// JPEG: walk the marker segments up to the first SOFn (ITU T.81 §B.2.2):
// [FF Cn][length][precision][height][width]. DHT (C4), JPG (C8) and DAC (CC)
// share the Cx range but are not frame headers.
Result<ImageHeader> Jpeg(std::string_view b) {
  size_t at = 2;
  while (true) {
    while (at < b.size() && static_cast<uint8_t>(b[at]) != 0xFF) ++at;  // tolerate junk between segments
    while (at < b.size() && static_cast<uint8_t>(b[at]) == 0xFF) ++at;  // fill bytes
    if (at >= b.size()) return Bad("jpeg", "truncated before the frame header");
    uint8_t marker = static_cast<uint8_t>(b[at++]);
    if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (marker == 0xD9 || marker == 0xDA) return Bad("jpeg", "no frame header before the image data");
    if (at + 2 > b.size()) return Bad("jpeg", "truncated segment");
    uint32_t len = Be16(b, at);
    if (len < 2) return Bad("jpeg", "bad segment length");
    bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (at + 7 > b.size() || len < 8) return Bad("jpeg", "truncated frame header");
      return ImageHeader{"jpeg", Be16(b, at + 5), Be16(b, at + 3)};
    }
    at += len;
  }
}

// GIF: the logical screen descriptor right after the signature (GIF89a §18).
Result<ImageHeader> Gif(std::string_view b) {
  if (b.size() < 10) return Bad("gif", "truncated screen descriptor");
  return ImageHeader{"gif", Le16(b, 6), Le16(b, 8)};
}

// BMP: BITMAPFILEHEADER (14 bytes), then a DIB header whose first field is its
// own size: 12 for OS/2's BITMAPCOREHEADER (16-bit dimensions), 40+ for the
// Windows ones (signed 32-bit; a negative height means top-down rows).
Result<ImageHeader> Bmp(std::string_view b) {
  if (b.size() < 26) return Bad("bmp", "truncated header");
  uint32_t dib = Le32(b, 14);
  if (dib == 12) return ImageHeader{"bmp", Le16(b, 18), Le16(b, 20)};
  if (dib < 40 || b.size() < 26) return Bad("bmp", "unknown DIB header size " + std::to_string(dib));
  int64_t w = static_cast<int32_t>(Le32(b, 18)), h = static_cast<int32_t>(Le32(b, 22));
  if (w <= 0 || h == 0) return Bad("bmp", "bad dimensions");
  return ImageHeader{"bmp", w, h < 0 ? -h : h};
}

// WebP: RIFF container, first chunk VP8 (lossy: RFC 6386 §9.1 frame header
// after the 3-byte tag and the 9D 01 2A start code, 14-bit sizes), VP8L
// (lossless: 0x2F then 14-bit width-1 and height-1) or VP8X (extended: 24-bit
// canvas width-1 and height-1 at bytes 4 and 7).
Result<ImageHeader> Webp(std::string_view b) {
  if (b.size() < 30) return Bad("webp", "truncated header");
  std::string_view chunk = b.substr(12, 4);
  std::string_view data = b.substr(20);
  if (chunk == "VP8 ") {
    if (static_cast<uint8_t>(data[3]) != 0x9D || static_cast<uint8_t>(data[4]) != 0x01 ||
        static_cast<uint8_t>(data[5]) != 0x2A) {
      return Bad("webp", "bad VP8 start code");
    }
    return ImageHeader{"webp", Le16(data, 6) & 0x3FFF, Le16(data, 8) & 0x3FFF};
  }
  if (chunk == "VP8L") {
    if (static_cast<uint8_t>(data[0]) != 0x2F) return Bad("webp", "bad VP8L signature");
    uint32_t bits = Le32(data, 1);
    return ImageHeader{"webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
  }
  if (chunk == "VP8X") return ImageHeader{"webp", int64_t{Le24(data, 4)} + 1, int64_t{Le24(data, 7)} + 1};
  return Bad("webp", "unknown first chunk");
}

// TIFF: the first IFD's ImageWidth (256) and ImageLength (257), SHORT or LONG
// (TIFF 6.0 §2, §8); BigTIFF (version 43) has 8-byte counts and offsets.
Result<ImageHeader> Tiff(std::string_view b) {
  bool le = b[0] == 'I';
  auto u16 = [&](size_t at) { return le ? Le16(b, at) : Be16(b, at); };
  auto u32 = [&](size_t at) -> uint32_t { return le ? Le32(b, at) : Be32(b, at); };
  auto u64 = [&](size_t at) -> uint64_t {
    return le ? Le64(b, at) : (static_cast<uint64_t>(Be32(b, at)) << 32) | Be32(b, at + 4);
  };
  bool big = u16(2) == 43;
  if (big && b.size() < 16) return Bad("tiff", "truncated header");
  uint64_t ifd = big ? u64(8) : u32(4);
  size_t count_size = big ? 8 : 2, entry_size = big ? 20 : 12;
  if (ifd + count_size > b.size()) return Bad("tiff", "first IFD past the end of the file");
  uint64_t n = big ? u64(ifd) : u16(ifd);
  int64_t w = 0, h = 0;
  for (uint64_t i = 0; i < n; ++i) {
    size_t e = ifd + count_size + i * entry_size;
    if (e + entry_size > b.size()) return Bad("tiff", "truncated IFD");
    uint32_t tag = u16(e), type = u16(e + 2);
    if (tag != 256 && tag != 257) continue;
    size_t value_at = e + (big ? 12 : 8);
    int64_t v = type == 3 ? u16(value_at) : type == 4 ? u32(value_at) : type == 16 ? static_cast<int64_t>(u64(value_at)) : -1;
    if (v < 0) return Bad("tiff", "bad type of the image size tags");
    (tag == 256 ? w : h) = v;
  }
  if (w <= 0 || h <= 0) return Bad("tiff", "no image width/length in the first IFD");
  return ImageHeader{"tiff", w, h};
}

}  // namespace

std::string SniffImageFormat(std::string_view b) {
  if (StartsWith(b, "\x89PNG\r\n\x1a\n")) return "png";
  if (b.size() >= 3 && StartsWith(b, "\xFF\xD8\xFF")) return "jpeg";
  if (StartsWith(b, "GIF87a") || StartsWith(b, "GIF89a")) return "gif";
  if (b.size() >= 12 && StartsWith(b, "RIFF") && b.substr(8, 4) == "WEBP") return "webp";
  if (b.size() >= 8 && (StartsWith(b, std::string_view("II*\0", 4)) || StartsWith(b, std::string_view("MM\0*", 4)) ||
                        StartsWith(b, std::string_view("II+\0", 4)) || StartsWith(b, std::string_view("MM\0+", 4)))) {
    return "tiff";
  }
  if (b.size() >= 18 && StartsWith(b, "BM")) return "bmp";
  return "";
}

std::string ImageMimeType(const std::string& format) {
  if (format == "jpeg") return "image/jpeg";
  if (format == "png") return "image/png";
  if (format == "webp") return "image/webp";
  if (format == "gif") return "image/gif";
  if (format == "tiff") return "image/tiff";
  if (format == "bmp") return "image/bmp";
  return "application/octet-stream";
}

Result<ImageHeader> ReadImageHeader(std::string_view bytes) {
  std::string format = SniffImageFormat(bytes);
  if (format.empty()) {
    return Status::Invalid("image", "not an image: the content is none of JPEG, PNG, WebP, GIF, TIFF or BMP",
                           "unsupported_media");
  }
  Result<ImageHeader> h = format == "png"    ? Png(bytes)
                          : format == "jpeg" ? Jpeg(bytes)
                          : format == "gif"  ? Gif(bytes)
                          : format == "bmp"  ? Bmp(bytes)
                          : format == "webp" ? Webp(bytes)
                                             : Tiff(bytes);
  if (h.ok() && (h->width <= 0 || h->height <= 0)) return Bad(format, "declares an empty image");
  return h;
}

}  // namespace strata::media
