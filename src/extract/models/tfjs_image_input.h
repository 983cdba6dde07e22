// The pre-processing the converted TF.js image models expect, done the way
// TF.js does it, so the ONNX models see the same input tensor as the graphs
// do in the JavaScript libraries they come from (nsfwjs, Human).
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "core/status.h"

namespace strata::extract {

// An 8-bit RGB copy of a decoded image: BGR (OpenCV's order), grayscale
// (replicated to three channels, as a browser canvas does), or BGRA (alpha
// dropped, as tf.browser.fromPixels(image, 3) does); 16-bit images are scaled
// down to 8 bits. Invalid, naming `what`, for an empty image or another
// layout.
Result<cv::Mat> ToRgb8(const cv::Mat& image, const std::string& what);

// tf.image.resizeBilinear(float32(rgb) / divisor, [out_h, out_w],
// align_corners) with half_pixel_centers = false, written as float32 NHWC to
// out[0 .. out_h * out_w * 3). It follows the arithmetic of the cpu backend's
// kernel (tfjs-backend-cpu 4.x kernels/ResizeBilinear): source position
// row * (in - 1) / (out - 1) with aligned corners, else row * in / out; the
// floor and ceiling neighbours; interpolation in double precision, rounded to
// float32 once. OpenCV's INTER_LINEAR samples at half-pixel centres, which is
// a different image, so it is not used.
void ResizeBilinearTfjs(const cv::Mat& rgb8, int out_h, int out_w, bool align_corners, double divisor,
                        float* out);

}  // namespace strata::extract
