// Bounds on the media work one item may cause. A file over a bound ends as a
// structured per-item error (InvalidArgument naming the bound); the worker
// goes on with the next item. Set by `strata serve` flags / environment.
#pragma once

#include <cstdint>

namespace strata::media {

struct MediaLimits {
  // Width × height of any image or frame, checked against the size a file
  // declares before any pixel buffer is allocated (a "zip bomb" image that
  // declares 100k × 100k pixels in a few hundred bytes is refused unread).
  int64_t max_pixels = 100'000'000;
  // Duration of a video or audio stream, as declared and as decoded.
  double max_duration_seconds = 4 * 3600.0;
  // Pages of a PDF.
  int max_pages = 2000;
};

}  // namespace strata::media
