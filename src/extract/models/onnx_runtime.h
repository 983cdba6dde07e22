// ONNX Runtime, loaded when the first ONNX model is: Strata links no part of it,
// so the server starts (and every other backend works) on a machine without the
// library, and only using an ONNX model reports that it is missing.
#pragma once

#include <string>

#include "core/status.h"

// The C API's types (onnxruntime_c_api.h declares them the same way).
struct OrtApi;
struct OrtEnv;

namespace strata::extract {

// The library to load; empty restores the default. A setting of the server
// (e.g. --onnxruntime-lib); takes effect unless a library is already loaded.
void SetOnnxRuntimeLibrary(std::string path);

// The configured path, else <dir of the executable>/../.cache/onnxruntime/lib/
// libonnxruntime.so.1 when that file exists, else ./.cache/onnxruntime/lib/...
// (where scripts/fetch_onnxruntime.sh puts it).
std::string OnnxRuntimeLibraryPath();

struct OnnxRuntime {
  const OrtApi* api = nullptr;
  OrtEnv* env = nullptr;  // one per process, as ONNX Runtime wants
  std::string version;    // the library's own, e.g. "1.21.0"
  std::string path;
};

// Loads the library once per process and returns the same afterwards; a failed
// attempt is not remembered, so a library installed later is found without a
// restart. Unavailable when the library is missing, too old for the API version
// Strata was compiled with, or Strata was built without the C API header.
Result<const OnnxRuntime*> LoadOnnxRuntime();

}  // namespace strata::extract
