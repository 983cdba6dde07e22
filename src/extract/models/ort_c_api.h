// Includes ONNX Runtime's C API header when the build has it (fetched into
// .cache/onnxruntime/include by scripts/fetch_onnxruntime.sh). Without it the
// ONNX backend compiles to a stub that reports itself unavailable, so a build
// that skipped the fetch still builds everything else.
#pragma once

#if __has_include(<onnxruntime_c_api.h>)
#include <onnxruntime_c_api.h>
#define STRATA_HAVE_ORT_API 1
#else
#define STRATA_HAVE_ORT_API 0
#endif
