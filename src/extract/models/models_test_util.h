// For the tests of this folder: where the real model files are, and scratch
// directories. The models are the ones scripts/fetch_models.sh puts in
// <repo>/.cache/models; ctest runs tests inside the build directory, so the
// directory is found by walking up from the working directory, unless
// STRATA_MODELS_DIR names it.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/crypto.h"

namespace strata::extract::testing_util {

inline std::string ModelsDir() {
  if (const char* env = std::getenv("STRATA_MODELS_DIR"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  for (auto p = std::filesystem::current_path(ec); !ec && !p.empty(); p = p.parent_path()) {
    std::error_code missing;
    if (std::filesystem::is_directory(p / ".cache" / "models", missing)) {
      return (p / ".cache" / "models").string();
    }
    if (p == p.root_path()) break;
  }
  ADD_FAILURE() << "no .cache/models above " << std::filesystem::current_path(ec)
                << ": run scripts/fetch_models.sh (or set STRATA_MODELS_DIR)";
  return "";
}

// The path of a model file; fails the test (it does not skip: a build without
// models is broken) when the file is missing.
inline std::string ModelFile(const std::string& name) {
  const std::string dir = ModelsDir();
  const std::string path = dir + "/" + name;
  EXPECT_TRUE(std::filesystem::is_regular_file(path))
      << path << " is missing: run scripts/fetch_models.sh (or set STRATA_MODELS_DIR)";
  return path;
}

// A fresh directory removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir()
      : path_(std::filesystem::temp_directory_path() / ("strata-models-" + RandomAlnum(10))) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace strata::extract::testing_util
