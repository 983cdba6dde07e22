#include "extract/models/tfjs_image_input.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include <opencv2/imgproc.hpp>

namespace strata::extract {

Result<cv::Mat> ToRgb8(const cv::Mat& image, const std::string& what) {
  if (image.empty() || image.rows <= 0 || image.cols <= 0) {
    return Status::Invalid("image", what + " is empty (no pixels)");
  }
  cv::Mat eight;
  if (image.depth() == CV_8U) {
    eight = image;
  } else if (image.depth() == CV_16U) {
    image.convertTo(eight, CV_8U, 1.0 / 257.0);  // 65535 -> 255
  } else {
    return Status::Invalid("image", what + " has an unsupported pixel depth (8- or 16-bit expected)");
  }
  cv::Mat rgb;
  switch (eight.channels()) {
    case 1: cv::cvtColor(eight, rgb, cv::COLOR_GRAY2RGB); break;
    case 3: cv::cvtColor(eight, rgb, cv::COLOR_BGR2RGB); break;
    case 4: cv::cvtColor(eight, rgb, cv::COLOR_BGRA2RGB); break;
    default:
      return Status::Invalid("image", what + " has " + std::to_string(eight.channels()) +
                                          " channels (1, 3 or 4 expected)");
  }
  return rgb;
}

void ResizeBilinearTfjs(const cv::Mat& rgb8, int out_h, int out_w, bool align_corners, double divisor,
                        float* out) {
  const int in_h = rgb8.rows, in_w = rgb8.cols;
  // The kernel reads float32 values: the pixels were cast and divided first.
  std::array<float, 256> value{};
  for (int p = 0; p < 256; ++p) value[p] = static_cast<float>(p / divisor);
  const double row_ratio = (align_corners && out_h > 1) ? double(in_h - 1) / double(out_h - 1)
                                                        : double(in_h) / double(out_h);
  const double col_ratio = (align_corners && out_w > 1) ? double(in_w - 1) / double(out_w - 1)
                                                        : double(in_w) / double(out_w);
  struct Tap {
    int lo, hi;
    double frac;
  };
  auto taps = [](int n, int in, double ratio) {
    std::vector<Tap> t(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      const double src = ratio * i;
      const double lo = std::max(0.0, std::floor(src));
      t[i] = {static_cast<int>(lo), std::min(in - 1, static_cast<int>(std::ceil(src))), src - lo};
    }
    return t;
  };
  const std::vector<Tap> rows = taps(out_h, in_h, row_ratio), cols = taps(out_w, in_w, col_ratio);
  for (int r = 0; r < out_h; ++r) {
    const uint8_t* top = rgb8.ptr<uint8_t>(rows[r].lo);
    const uint8_t* bottom = rgb8.ptr<uint8_t>(rows[r].hi);
    const double row_frac = rows[r].frac;
    for (int c = 0; c < out_w; ++c) {
      const int left = cols[c].lo * 3, right = cols[c].hi * 3;
      const double col_frac = cols[c].frac;
      for (int d = 0; d < 3; ++d) {
        const double tl = value[top[left + d]], tr = value[top[right + d]];
        const double bl = value[bottom[left + d]], br = value[bottom[right + d]];
        const double t = tl + (tr - tl) * col_frac;
        const double b = bl + (br - bl) * col_frac;
        *out++ = static_cast<float>(t + (b - t) * row_frac);
      }
    }
  }
}

}  // namespace strata::extract
