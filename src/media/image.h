// Image decoding for the extractors: every format the image extractor reads
// (JPEG, PNG, WebP, GIF's first frame, TIFF, BMP), EXIF orientation applied,
// the pixel bound checked before decoding, and JPEG thumbnails.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <string_view>

#include "core/json_util.h"
#include "core/status.h"
#include "media/limits.h"

namespace strata::media {

struct DecodedImage {
  cv::Mat bgr;                 // 8-bit, 3 channels, OpenCV's BGR order, upright
  std::string format;          // jpeg | png | webp | gif | tiff | bmp
  int width = 0, height = 0;   // after orientation
  int orientation = 1;         // the EXIF orientation that was applied (1 = none)
  Json metadata = Json::object();  // EXIF/XMP facts worth keeping (camera, time, GPS, ...)
};

// InvalidArgument for a file that is not an image of a supported format, is
// truncated or corrupt, or declares more pixels than limits.max_pixels.
Result<DecodedImage> DecodeImageFile(const std::string& path, const MediaLimits& limits);
Result<DecodedImage> DecodeImageBytes(std::string_view bytes, const MediaLimits& limits);

// A JPEG of `bgr` scaled down to fit max_side × max_side (aspect kept, never
// scaled up).
Result<std::string> EncodeThumbnail(const cv::Mat& bgr, int max_side = 320, int quality = 80);

}  // namespace strata::media
