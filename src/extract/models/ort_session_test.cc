#include "extract/models/ort_session.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace strata::extract {
namespace {

namespace fs = std::filesystem;

// Without ONNX Runtime a model reports the runtime's own error (Unavailable,
// saying how to get it), not a failure of the model.
TEST(OrtModelSession, MissingRuntimeIsUnavailable) {
  Result<const OnnxRuntime*> rt = LoadOnnxRuntime();
  if (rt.ok()) GTEST_SKIP() << "ONNX Runtime is installed";
  auto s = OrtModelSession::Open("model demo", "model.onnx", 0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), rt.status().code());
  EXPECT_EQ(s.status().message(), rt.status().message());
}

// A file ONNX Runtime cannot load is Internal, naming the model and the file.
TEST(OrtModelSession, UnloadableFileNamesModelAndFile) {
  if (!LoadOnnxRuntime().ok()) {
    GTEST_SKIP() << "ONNX Runtime is not at " << OnnxRuntimeLibraryPath()
                 << "; run scripts/fetch_onnxruntime.sh";
  }
  const fs::path dir = fs::temp_directory_path() / ("ort_session_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path path = dir / "model.onnx";
  std::ofstream(path) << "not an ONNX model";

  auto s = OrtModelSession::Open("model demo", path.string(), 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInternal);
  EXPECT_EQ(s.status().message().rfind("model demo: loading " + path.string() + ": ", 0), 0u)
      << s.status().message();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace strata::extract
