// Image extractor throughput next to bare decoding, measured in the same run
// on the same files: --count 640×480 JPEGs (quality 90) drawn by the bench
// (a colour gradient, random shapes and a line of text), then, on one thread,
//   - decode only: read the file and cv::imdecode it to BGR (the floor of any
//     image pipeline);
//   - image_extractor@v1 with thumbnails, hand-made visual features and
//     phash (model null; run_ocr, detect_faces and detect_objects off):
//     header check, decode, EXIF, hash, features, a 320-px JPEG thumbnail;
//   - the same with the MobileNetV2 embedding (the default `model`);
//   - the same with detect_faces (BlazeFace);
//   - the same with detect_objects (CenterNet);
//   - the same with run_ocr (Tesseract);
//   - the defaults: all of the above.
// Each is printed as images per second (best of --runs) with its ratio to
// decode-only.
//
// usage: strata_bench_image [--count N] [--runs R]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "extract/image_extractor.h"
#include "extract/models/model_registry.h"
#include "extract/parameters.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace extract = strata::extract;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

cv::Mat Picture(int seed) {
  std::mt19937 rnd(seed);
  cv::Mat m(480, 640, CV_8UC3);
  cv::Vec3b a(rnd() % 256, rnd() % 256, rnd() % 256), b(rnd() % 256, rnd() % 256, rnd() % 256);
  for (int y = 0; y < m.rows; ++y) {
    for (int x = 0; x < m.cols; ++x) {
      double t = (x + y) / static_cast<double>(m.cols + m.rows);
      for (int c = 0; c < 3; ++c) m.at<cv::Vec3b>(y, x)[c] = static_cast<uint8_t>(a[c] * (1 - t) + b[c] * t);
    }
  }
  for (int i = 0; i < 10; ++i) {
    cv::Scalar col(rnd() % 256, rnd() % 256, rnd() % 256);
    cv::Point p(rnd() % 600, rnd() % 440);
    if (i % 2) {
      cv::circle(m, p, 10 + rnd() % 80, col, cv::FILLED, cv::LINE_AA);
    } else {
      cv::rectangle(m, cv::Rect(p.x, p.y, 20 + rnd() % 160, 20 + rnd() % 120), col, cv::FILLED);
    }
  }
  cv::putText(m, "Harbour view " + std::to_string(seed), {40, 440}, cv::FONT_HERSHEY_SIMPLEX, 1.2,
              cv::Scalar(255, 255, 255), 2, cv::LINE_AA);
  return m;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// Images per second of `work` over all files, best of `runs`.
template <typename F>
double Rate(const std::vector<std::string>& files, int runs, F work) {
  double best = 0;
  for (int r = 0; r < runs; ++r) {
    auto t0 = Clock::now();
    for (const auto& f : files) work(f);
    best = std::max(best, files.size() / Seconds(t0));
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int count = 48, runs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--count") count = std::atoi(argv[i + 1]);
    if (a == "--runs") runs = std::atoi(argv[i + 1]);
  }
  std::string dir = (std::filesystem::temp_directory_path() / "strata-image-bench-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) return 1;
  std::vector<std::string> files;
  for (int i = 0; i < count; ++i) {
    std::string p = dir + "/img" + std::to_string(i) + ".jpg";
    cv::imwrite(p, Picture(i), {cv::IMWRITE_JPEG_QUALITY, 90});
    files.push_back(p);
  }

  // No inference cache: every run computes every vector (the runs repeat the files).
  extract::ModelRegistry models(extract::DefaultModelsDir(argv[0]), 0);
  strata::media::MediaLimits limits;
  auto extractor = extract::MakeImageExtractor(models, limits);
  auto make_run = [&](const strata::Json& given) {
    auto params = extract::ResolveParameters(extractor->info().parameter_schema, given, "parameters");
    if (!params.ok()) {
      std::fprintf(stderr, "%s\n", params.status().ToString().c_str());
      std::exit(1);
    }
    auto run = extractor->Start(*params);
    if (!run.ok()) {
      std::fprintf(stderr, "%s\n", run.status().ToString().c_str());
      std::exit(1);
    }
    return std::move(*run);
  };
  size_t sink = 0;
  auto through = [&](extract::ExtractorRun& run) {
    return [&](const std::string& path) {
      extract::ExtractItem item;
      extract::InputValue v;
      v.name = "image";
      v.blob_path = path;
      v.size_bytes = 1;
      item.inputs.push_back(v);
      auto st = run.Extract(item, [&](extract::ExtractedDocument&& d) {
        sink += d.blobs.empty() ? 0 : d.blobs[0].bytes.size();
        return strata::Status::Ok();
      });
      if (!st.ok()) {
        std::fprintf(stderr, "%s\n", st.ToString().c_str());
        std::exit(1);
      }
    };
  };

  double decode = Rate(files, runs, [&](const std::string& p) {
    std::string bytes = ReadFile(p);
    cv::Mat m = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8U, bytes.data()), cv::IMREAD_COLOR);
    sink += m.cols;
  });
  const strata::Json off = {{"run_ocr", false}, {"detect_faces", false}, {"detect_objects", false},
                             {"model", nullptr}};
  auto with = [&](const char* key, const strata::Json& value) {
    strata::Json p = off;
    p[key] = value;
    return make_run(p);
  };
  auto plain = make_run(off);
  double base = Rate(files, runs, through(*plain));
  double with_model = Rate(files, runs, through(*with("model", "mobilenet-v2")));
  double with_faces = Rate(files, runs, through(*with("detect_faces", true)));
  double with_objects = Rate(files, std::min(runs, 1), through(*with("detect_objects", true)));
  double with_ocr = Rate(files, std::min(runs, 1), through(*with("run_ocr", true)));
  double defaults = Rate(files, std::min(runs, 1), through(*make_run(strata::Json::object())));

  std::printf("%d JPEGs 640x480, one thread, best of %d runs (objects, OCR, defaults: 1 run)\n", count, runs);
  std::printf("%-52s %9s %9s\n", "", "images/s", "vs decode");
  std::printf("%-52s %9.1f %9.2f\n", "decode only (read + cv::imdecode)", decode, 1.0);
  std::printf("%-52s %9.1f %9.2f\n", "image_extractor: thumbnail + features + phash", base, base / decode);
  std::printf("%-52s %9.1f %9.2f\n", "  + MobileNetV2 embedding (model)", with_model, with_model / decode);
  std::printf("%-52s %9.1f %9.2f\n", "  + detect_faces (BlazeFace)", with_faces, with_faces / decode);
  std::printf("%-52s %9.1f %9.2f\n", "  + detect_objects (CenterNet)", with_objects, with_objects / decode);
  std::printf("%-52s %9.1f %9.2f\n", "  + run_ocr (Tesseract)", with_ocr, with_ocr / decode);
  std::printf("%-52s %9.1f %9.2f\n", "defaults (all of the above)", defaults, defaults / decode);
  std::filesystem::remove_all(dir);
  return sink == 0 ? 1 : 0;
}
