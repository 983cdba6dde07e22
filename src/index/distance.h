// Distance kernels for the vector index: float32 (exact scans, rescoring) and
// uint8 codes (the scalar-quantized graph). Each is chosen once at start-up:
// an AVX2+FMA version when the CPU has it, portable C++ otherwise. The build
// keeps the baseline x86-64 instruction set (no -march), so the wide versions
// are compiled per function and picked at run time instead.
#pragma once

#include <cstddef>
#include <cstdint>

namespace strata::index {

// Inner product of two float vectors of n dimensions.
float DotF32(const float* a, const float* b, size_t n);
// Squared Euclidean distance of two float vectors.
float L2SqrF32(const float* a, const float* b, size_t n);
// Inner product of two uint8 code vectors (exact in int32 for n < 33,000).
int32_t DotU8(const uint8_t* a, const uint8_t* b, size_t n);
// Squared Euclidean distance of two uint8 code vectors.
int32_t L2SqrU8(const uint8_t* a, const uint8_t* b, size_t n);

// The kernels themselves, for hot loops that call one many times (no
// dispatch per call). Resolved once, on first use.
struct DistanceKernels {
  float (*dot_f32)(const float*, const float*, size_t);
  float (*l2_f32)(const float*, const float*, size_t);
  int32_t (*dot_u8)(const uint8_t*, const uint8_t*, size_t);
  int32_t (*l2_u8)(const uint8_t*, const uint8_t*, size_t);
  const char* name;  // "avx2" or "portable", for benchmark reports
};
const DistanceKernels& Kernels();

}  // namespace strata::index
