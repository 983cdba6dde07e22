// Image model throughput through the C++ classes the extractors use:
// MobileNetV2 embeddings (MobilenetEmbedder; batches of 1 and 16 images, one
// ONNX Runtime run per batch) and CenterNet detection (CenterNetDetector, one
// run per image), in images/s with 2 caller threads sharing one model, next
// to each model's multiply-add count, giving the achieved GMAC/s. Times
// include pre- and post-processing (resize, NMS) from 640x480 BGR images.
//
// MACs per image (scripts/count_flops.py MODEL.onnx --image): MobileNetV2-1.4
// at 224x224 580 M, CenterNet at 512x512 1,295 M. For comparison, TF.js's
// pure-JavaScript cpu backend (node tests/models/tfjs_parity.js --bench)
// measured 5,640 ms/image for MobileNetV2 and 16.5 s/image for CenterNet.
//
// usage: strata_bench_vision [--models DIR] [--images N] [--threads T] [--intra I]
//   --images   images per thread for each measurement (default 64; CenterNet a quarter)
//   --threads  caller threads (default 2)
//   --intra    ONNX Runtime intra-op threads per session (default 1, so 2
//              callers use 2 cores; 0: ONNX Runtime's default)
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/json_util.h"
#include "extract/models/mobilenet_embedder.h"
#include "extract/models/model_registry.h"
#include "extract/models/object_detector.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace extract = strata::extract;

constexpr double kMobilenetMacs = 580e6;
constexpr double kCenterNetMacs = 1295e6;
constexpr double kTfjsMobilenetMs = 5640;
constexpr double kTfjsCenterNetMs = 16500;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

bool ReadConfig(const std::filesystem::path& folder, int intra, strata::Json* config) {
  std::ifstream in(folder / "config.json");
  if (!in) {
    std::fprintf(stderr, "%s/config.json is missing: run scripts/fetch_tfjs.sh\n", folder.c_str());
    return false;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  *config = strata::Json::parse(buf.str());
  (*config)["threads"] = intra;
  return true;
}

// Distinct 640x480 photographs-like images: gradients, shapes and noise.
std::vector<cv::Mat> Images(size_t n, int seed) {
  std::vector<cv::Mat> out;
  cv::RNG rng(static_cast<uint64_t>(seed));
  for (size_t i = 0; i < n; ++i) {
    cv::Mat img(480, 640, CV_8UC3);
    rng.fill(img, cv::RNG::UNIFORM, 0, 255);
    cv::GaussianBlur(img, img, cv::Size(9, 9), 3);
    for (int k = 0; k < 6; ++k) {
      cv::circle(img, {rng.uniform(0, 640), rng.uniform(0, 480)}, rng.uniform(10, 120),
                 cv::Scalar(rng.uniform(0, 255), rng.uniform(0, 255), rng.uniform(0, 255)), cv::FILLED);
    }
    out.push_back(img);
  }
  return out;
}

void Report(const char* what, size_t images, double seconds, double macs, double tfjs_ms) {
  const double per_s = static_cast<double>(images) / seconds;
  std::printf("  %-26s %8.2f images/s  %7.1f ms/image  %6.1f GMAC/s  (TF.js cpu: %.2f images/s, %.0fx)\n", what,
              per_s, 1000.0 / per_s, per_s * macs / 1e9, 1000.0 / tfjs_ms, per_s * tfjs_ms / 1000.0);
}

}  // namespace

int main(int argc, char** argv) {
  std::string models = extract::DefaultModelsDir(argv[0]);
  size_t per_thread = 64;
  int threads = 2, intra = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--models")) models = argv[i + 1];
    else if (!std::strcmp(argv[i], "--images")) per_thread = std::strtoul(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--intra")) intra = std::atoi(argv[i + 1]);
  }
  const std::filesystem::path mobilenet_dir = std::filesystem::path(models) / "mobilenet-v2";
  const std::filesystem::path centernet_dir = std::filesystem::path(models) / "centernet";
  strata::Json mobilenet_config, centernet_config;
  if (!ReadConfig(mobilenet_dir, intra, &mobilenet_config) || !ReadConfig(centernet_dir, intra, &centernet_config)) {
    return 1;
  }
  auto embedder = extract::MobilenetEmbedder::Load("mobilenet-v2", mobilenet_dir.string(), mobilenet_config);
  if (!embedder.ok()) {
    std::fprintf(stderr, "mobilenet-v2: %s\n", embedder.status().message().c_str());
    return 1;
  }
  auto detector = extract::CenterNetDetector::Load("centernet", centernet_dir.string(), centernet_config);
  if (!detector.ok()) {
    std::fprintf(stderr, "centernet: %s\n", detector.status().message().c_str());
    return 1;
  }
  std::vector<std::vector<cv::Mat>> images;
  for (int t = 0; t < threads; ++t) images.push_back(Images(per_thread, 100 + t));
  std::printf("vision models, 640x480 inputs, %d caller threads, %d intra-op thread(s) each, %zu images per thread\n",
              threads, intra, per_thread);

  // Warm-up: the first runs allocate ONNX Runtime's arenas.
  (void)(*embedder)->EmbedImages({images[0].begin(), images[0].begin() + 2});
  (void)(*detector)->Detect({images[0][0]});

  std::atomic<bool> failed{false};
  for (size_t batch : {size_t{1}, size_t{16}}) {
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const auto& mine = images[t];
        for (size_t i = 0; i < mine.size(); i += batch) {
          std::vector<cv::Mat> chunk(mine.begin() + static_cast<ptrdiff_t>(i),
                                     mine.begin() + static_cast<ptrdiff_t>(std::min(mine.size(), i + batch)));
          if (!(*embedder)->EmbedImages(chunk).ok()) failed = true;
        }
      });
    }
    for (auto& th : pool) th.join();
    const std::string what = "MobileNetV2 batch " + std::to_string(batch);
    Report(what.c_str(), per_thread * static_cast<size_t>(threads), Seconds(start), kMobilenetMacs,
           kTfjsMobilenetMs);
  }
  {
    const size_t n = std::max<size_t>(1, per_thread / 4);
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (size_t i = 0; i < n; ++i) {
          if (!(*detector)->Detect({images[t][i]}).ok()) failed = true;
        }
      });
    }
    for (auto& th : pool) th.join();
    Report("CenterNet (one a run)", n * static_cast<size_t>(threads), Seconds(start), kCenterNetMacs,
           kTfjsCenterNetMs);
  }
  if (failed) {
    std::fprintf(stderr, "a model call failed\n");
    return 1;
  }
  return 0;
}
