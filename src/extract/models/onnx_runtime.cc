#include "extract/models/onnx_runtime.h"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "extract/models/ort_c_api.h"

namespace strata::extract {

namespace {

constexpr const char* kCachedLibrary = ".cache/onnxruntime/lib/libonnxruntime.so.1";
constexpr const char* kHowToGet =
    " (run scripts/fetch_onnxruntime.sh, or point the onnxruntime-lib setting at a "
    "libonnxruntime.so.1)";

std::mutex g_mu;
std::string g_configured;                // guarded by g_mu
const OnnxRuntime* g_runtime = nullptr;  // guarded by g_mu; lives until exit

std::string ExecutableDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

std::string DefaultLibraryPath() {
  std::string dir = ExecutableDir();
  if (!dir.empty()) {
    auto beside = (std::filesystem::path(dir) / ".." / kCachedLibrary).lexically_normal();
    std::error_code ec;
    if (std::filesystem::exists(beside, ec)) return beside.string();
  }
  return std::string("./") + kCachedLibrary;
}

}  // namespace

void SetOnnxRuntimeLibrary(std::string path) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_configured = std::move(path);
}

std::string OnnxRuntimeLibraryPath() {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (!g_configured.empty()) return g_configured;
  }
  return DefaultLibraryPath();
}

Result<const OnnxRuntime*> LoadOnnxRuntime() {
#if !STRATA_HAVE_ORT_API
  return Status::Unavailable(
      "ONNX models are unavailable: Strata was built without ONNX Runtime's C API header "
      "(run scripts/fetch_onnxruntime.sh, then rebuild)");
#else
  const std::string path = OnnxRuntimeLibraryPath();
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_runtime != nullptr) return g_runtime;

  // RTLD_LOCAL: its symbols (protobuf, abseil, ...) must not leak into ours.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Status::Unavailable("ONNX Runtime could not be loaded from " + path + ": " +
                               (why != nullptr ? why : "unknown error") + kHowToGet);
  }
  using GetApiBase = const OrtApiBase* (*)();
  auto get_base = reinterpret_cast<GetApiBase>(dlsym(handle, "OrtGetApiBase"));
  if (get_base == nullptr) {
    dlclose(handle);
    return Status::Unavailable(path + " is not ONNX Runtime: it has no OrtGetApiBase" + kHowToGet);
  }
  const OrtApiBase* base = get_base();
  std::string version = base->GetVersionString();
  // The API table is append-only: a library at least as new as the header
  // serves this version's table.
  const OrtApi* api = base->GetApi(ORT_API_VERSION);
  if (api == nullptr) {
    dlclose(handle);
    return Status::Unavailable("ONNX Runtime " + version + " at " + path +
                               " does not serve C API version " + std::to_string(ORT_API_VERSION) +
                               ", which Strata was built for" + kHowToGet);
  }
  OrtEnv* env = nullptr;
  if (OrtStatus* st = api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "strata", &env)) {
    std::string why = api->GetErrorMessage(st);
    api->ReleaseStatus(st);
    return Status::Unavailable("ONNX Runtime " + version + " failed to start: " + why);
  }
  // Never unloaded: sessions may still be released while the process exits.
  g_runtime = new OnnxRuntime{api, env, version, path};
  return g_runtime;
#endif
}

}  // namespace strata::extract
