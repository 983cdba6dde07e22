// What an image file says about itself before any pixel is decoded: its
// format, sniffed from the leading bytes (never from a file name or a declared
// MIME type), and the dimensions its header declares. DecodeImage* checks
// these against MediaLimits::max_pixels so a few hundred bytes that declare
// 100,000 × 100,000 pixels never reach a decoder.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace strata::media {

// "jpeg" | "png" | "webp" | "gif" | "tiff" | "bmp", or "" when the bytes are
// none of them.
std::string SniffImageFormat(std::string_view bytes);

// The MIME type of a format SniffImageFormat returns ("image/jpeg", ...).
std::string ImageMimeType(const std::string& format);

struct ImageHeader {
  std::string format;
  int64_t width = 0, height = 0;  // as stored, before any EXIF orientation
};

// InvalidArgument when the bytes are not an image of a supported format
// ("not an image") or the header is truncated or malformed.
Result<ImageHeader> ReadImageHeader(std::string_view bytes);

}  // namespace strata::media
