// For the tests of the vision models (mobilenet_embedder_test.cc,
// object_detector_test.cc): where the models are, fixed test images, and the
// TF.js reference (tests/models/vision_reference.js) run on the same pixels.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/json_util.h"
#include "extract/models/models_test_util.h"
#include "extract/models/onnx_runtime.h"

namespace strata::extract::testing_util {

inline Json ReadJsonFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return Json::parse(s.str());
}

inline std::filesystem::path VisionModelDir(const std::string& name) {
  return std::filesystem::path(ModelsDir()) / name;
}

// Why the converted model `name` cannot be used here, or "" when it can.
inline std::string VisionModelMissing(const std::string& name) {
  std::error_code ec;
  const auto dir = VisionModelDir(name);
  if (!std::filesystem::exists(dir / "model.onnx", ec) || !std::filesystem::exists(dir / "config.json", ec)) {
    return dir.string() + " has no model.onnx and config.json; run scripts/fetch_tfjs.sh";
  }
  if (!std::filesystem::exists(OnnxRuntimeLibraryPath(), ec)) {
    return "ONNX Runtime is not at " + OnnxRuntimeLibraryPath() + "; run scripts/fetch_onnxruntime.sh";
  }
  return "";
}

// A fixed synthetic scene (BGR): a colour gradient with a filled disc, a
// rectangle, a triangle and a line, so colour order and geometry both matter.
inline cv::Mat SyntheticScene(int width, int height, int seed) {
  cv::Mat img(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(255 * x / std::max(1, width - 1)),
                                          static_cast<uint8_t>((97 * seed + 255 * y / std::max(1, height - 1)) % 256),
                                          static_cast<uint8_t>((x * y + 40 * seed) % 256));
    }
  }
  const double s = std::min(width, height) / 100.0;
  cv::circle(img, {width / 3, height / 2}, static_cast<int>(18 * s), cv::Scalar(30, 200, 250), cv::FILLED);
  cv::rectangle(img, cv::Rect(width * 3 / 5, height / 6, width / 4, height / 3), cv::Scalar(120, 20, 10),
                cv::FILLED);
  const std::vector<cv::Point> tri = {{width / 2, height * 5 / 6}, {width * 4 / 5, height * 5 / 6},
                                      {width * 13 / 20, height / 2 + seed * 5}};
  cv::fillConvexPoly(img, tri, cv::Scalar(20, 160, 40));
  cv::line(img, {0, height - 1}, {width - 1, height / 4}, cv::Scalar(250, 250, 250), std::max(1, int(2 * s)));
  return img;
}

// A real picture from a Debian package the project installs (libleptonica-dev,
// a dependency of libtesseract-dev): a pencil drawing of a standing man,
// 615x1029 grayscale. Empty when the package is absent.
inline cv::Mat RealPicture() {
  return cv::imread("/usr/share/doc/libleptonica-dev/dave-orig.png", cv::IMREAD_COLOR);
}

// Writes the image's pixels as raw RGB bytes and returns the reference
// script's argument for it (WIDTHxHEIGHT:FILE).
inline std::string WriteRgb(const cv::Mat& bgr, const std::filesystem::path& file) {
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  std::ofstream out(file, std::ios::binary);
  for (int r = 0; r < rgb.rows; ++r) {
    out.write(reinterpret_cast<const char*>(rgb.ptr(r)), static_cast<std::streamsize>(rgb.cols) * 3);
  }
  return std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + ":" + file.string();
}

// Runs tests/models/vision_reference.js; `skip` says why it could not.
struct VisionReference {
  Json json;
  std::string skip;
};
inline VisionReference RunVisionReference(const std::string& args) {
  if (std::system("command -v node >/dev/null 2>&1") != 0) return {{}, "node is not installed"};
  const std::string script = std::string(STRATA_SOURCE_DIR) + "/tests/models/vision_reference.js";
  const std::string cmd = "node '" + script + "' " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return {{}, "cannot run " + cmd};
  std::string out;
  char buf[65536];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = pclose(pipe);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) return {{}, "reference: " + out};
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd << " failed: " << out.substr(0, 2000);
  // The answer is the last line (stderr, merged for diagnostics, comes first).
  std::string last = out;
  while (!last.empty() && last.back() == '\n') last.pop_back();
  if (const size_t nl = last.rfind('\n'); nl != std::string::npos) last = last.substr(nl + 1);
  auto parsed = ParseJson(last, 16);
  EXPECT_TRUE(parsed.ok()) << out.substr(0, 2000);
  return {parsed.ok() ? std::move(parsed).value() : Json(), ""};
}

// A suite over one converted model, loaded once for all its tests and
// skipped when the model is missing. Derived names it: static constexpr
// const char* kModelName.
template <typename Derived, typename Model>
class LoadedModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!VisionModelMissing(Derived::kModelName).empty()) return;
    const std::filesystem::path dir = VisionModelDir(Derived::kModelName);
    auto m = Model::Load(Derived::kModelName, dir.string(), ReadJsonFile(dir / "config.json"));
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(m).value().release();
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  void SetUp() override {
    if (const std::string why = VisionModelMissing(Derived::kModelName); !why.empty()) GTEST_SKIP() << why;
    ASSERT_NE(model_, nullptr);
  }
  static inline Model* model_ = nullptr;
};

}  // namespace strata::extract::testing_util
