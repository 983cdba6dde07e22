// Hand-made visual features, for when no neural image model is configured:
// a global embedding for "looks like" similarity and a perceptual hash for
// near-duplicates. Both are deterministic functions of the pixels.
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <vector>

namespace strata::media {

// Dimensions of VisualEmbedding's vectors.
extern const int kVisualEmbeddingDimensions;

// An L2-normalised embedding of an 8-bit BGR (or gray) image, compared by
// cosine.
std::vector<float> VisualEmbedding(const cv::Mat& image);

// A 64-bit perceptual hash: near-duplicates (rescaled, recompressed, lightly
// edited copies) differ in few bits; compare with HammingDistance.
uint64_t PerceptualHash(const cv::Mat& image);
inline int HammingDistance(uint64_t a, uint64_t b) { return __builtin_popcountll(a ^ b); }

}  // namespace strata::media
