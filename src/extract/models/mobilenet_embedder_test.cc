#include "extract/models/mobilenet_embedder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "extract/models/caching_image_embedder.h"
#include "extract/models/model_registry.h"
#include "extract/models/tfjs_image_input.h"
#include "extract/models/vision_test_util.h"

namespace strata::extract {
namespace {

namespace fs = std::filesystem;
using testing_util::LoadedModelTest;
using testing_util::ReadJsonFile;
using testing_util::ScratchDir;
using testing_util::SyntheticScene;
using testing_util::VisionModelDir;
using testing_util::VisionModelMissing;

double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) d += double(a[i]) * b[i];
  return d;
}

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  return Dot(a, b) / std::sqrt(Dot(a, a) * Dot(b, b));
}

// ---- pre-processing: TF.js's resizeBilinear --------------------------------

TEST(TfjsImageInputTest, ResizeWithAlignedCornersKeepsCornersAndInterpolatesMidpoints) {
  // 2x2 -> 3x3: corners stay, the centre is the mean of all four.
  cv::Mat rgb(2, 2, CV_8UC3);
  rgb.at<cv::Vec3b>(0, 0) = {0, 10, 200};
  rgb.at<cv::Vec3b>(0, 1) = {100, 20, 200};
  rgb.at<cv::Vec3b>(1, 0) = {50, 30, 0};
  rgb.at<cv::Vec3b>(1, 1) = {250, 40, 0};
  std::vector<float> out(3 * 3 * 3);
  ResizeBilinearTfjs(rgb, 3, 3, /*align_corners=*/true, 1.0, out.data());
  auto px = [&](int y, int x, int c) { return out[(y * 3 + x) * 3 + c]; };
  EXPECT_FLOAT_EQ(px(0, 0, 0), 0);
  EXPECT_FLOAT_EQ(px(0, 2, 0), 100);
  EXPECT_FLOAT_EQ(px(2, 2, 0), 250);
  EXPECT_FLOAT_EQ(px(0, 1, 0), 50);
  EXPECT_FLOAT_EQ(px(1, 1, 0), 100);  // (0 + 100 + 50 + 250) / 4
  EXPECT_FLOAT_EQ(px(1, 1, 1), 25);
  EXPECT_FLOAT_EQ(px(1, 1, 2), 100);
}

TEST(TfjsImageInputTest, ResizeWithoutAlignedCornersSamplesAtRowTimesRatio) {
  // 2 -> 4 columns: sources 0, 0.5, 1, 1.5 (the last clamps to column 1):
  // no half-pixel centres, unlike OpenCV's INTER_LINEAR.
  cv::Mat rgb(1, 2, CV_8UC3);
  rgb.at<cv::Vec3b>(0, 0) = {0, 0, 0};
  rgb.at<cv::Vec3b>(0, 1) = {200, 0, 0};
  std::vector<float> out(1 * 4 * 3);
  ResizeBilinearTfjs(rgb, 1, 4, /*align_corners=*/false, 1.0, out.data());
  EXPECT_FLOAT_EQ(out[0], 0);
  EXPECT_FLOAT_EQ(out[3], 100);
  EXPECT_FLOAT_EQ(out[6], 200);
  EXPECT_FLOAT_EQ(out[9], 200);
}

TEST(TfjsImageInputTest, ConvertsLayoutsToRgb) {
  cv::Mat bgr(1, 1, CV_8UC3, cv::Scalar(1, 2, 3));
  auto rgb = ToRgb8(bgr, "x");
  ASSERT_TRUE(rgb.ok());
  EXPECT_EQ(rgb->at<cv::Vec3b>(0, 0), cv::Vec3b(3, 2, 1));
  auto gray = ToRgb8(cv::Mat(1, 1, CV_8UC1, cv::Scalar(77)), "x");
  ASSERT_TRUE(gray.ok());
  EXPECT_EQ(gray->at<cv::Vec3b>(0, 0), cv::Vec3b(77, 77, 77));
  auto bgra = ToRgb8(cv::Mat(1, 1, CV_8UC4, cv::Scalar(1, 2, 3, 0)), "x");
  ASSERT_TRUE(bgra.ok());
  EXPECT_EQ(bgra->at<cv::Vec3b>(0, 0), cv::Vec3b(3, 2, 1));  // alpha dropped, not composited
  auto deep = ToRgb8(cv::Mat(1, 1, CV_16UC3, cv::Scalar(0, 257 * 10, 65535)), "x");
  ASSERT_TRUE(deep.ok());
  EXPECT_EQ(deep->at<cv::Vec3b>(0, 0), cv::Vec3b(255, 10, 0));

  auto empty = ToRgb8(cv::Mat(), "image 4");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kValidation);
  EXPECT_THAT(empty.status().message(), testing::HasSubstr("image 4"));
  EXPECT_FALSE(ToRgb8(cv::Mat(2, 2, CV_8UC2), "x").ok());
  EXPECT_FALSE(ToRgb8(cv::Mat(2, 2, CV_32FC3), "x").ok());
}

// ---- the model ---------------------------------------------------------------

class MobilenetTest : public LoadedModelTest<MobilenetTest, MobilenetEmbedder> {
 public:
  static constexpr const char* kModelName = "mobilenet-v2";

 protected:
  static std::vector<std::vector<float>> Embed(const std::vector<cv::Mat>& images) {
    auto v = model_->EmbedImages(images);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? std::move(v).value() : std::vector<std::vector<float>>(images.size());
  }
};

TEST_F(MobilenetTest, GivesUnitVectorsOf1792Dimensions) {
  EXPECT_EQ(model_->dimensions(), 1792);
  EXPECT_EQ(model_->name(), "mobilenet_v2_1792");
  const auto v = Embed({SyntheticScene(320, 240, 1)});
  ASSERT_EQ(v.size(), 1u);
  ASSERT_EQ(v[0].size(), 1792u);
  EXPECT_NEAR(Dot(v[0], v[0]), 1.0, 1e-5);
  EXPECT_TRUE(model_->EmbedImages({}).ok());
}

TEST_F(MobilenetTest, ABatchEmbedsEachImageAsAloneAndInOrder) {
  const std::vector<cv::Mat> images = {SyntheticScene(320, 240, 1), SyntheticScene(200, 300, 2),
                                       SyntheticScene(224, 224, 3)};
  const auto batch = Embed(images);
  ASSERT_EQ(batch.size(), 3u);
  for (size_t i = 0; i < images.size(); ++i) {
    const auto alone = Embed({images[i]});
    EXPECT_GE(Cosine(batch[i], alone[0]), 0.9999) << "image " << i;
  }
}

TEST_F(MobilenetTest, SimilarPicturesAreCloserThanDifferentOnes) {
  const cv::Mat a = SyntheticScene(320, 240, 1);
  cv::Mat a_small, a_blur;
  cv::resize(a, a_small, cv::Size(160, 120), 0, 0, cv::INTER_AREA);
  cv::GaussianBlur(a, a_blur, cv::Size(5, 5), 1.5);
  cv::Mat b(240, 320, CV_8UC3);
  cv::randu(b, 0, 255);  // noise
  const auto v = Embed({a, a_small, a_blur, b});
  EXPECT_GT(Cosine(v[0], v[1]), Cosine(v[0], v[3]));
  EXPECT_GT(Cosine(v[0], v[2]), Cosine(v[0], v[3]));
  EXPECT_GT(Cosine(v[0], v[1]), 0.9);
}

TEST_F(MobilenetTest, HandlesTinyGrayscaleAlphaAndExtremeImages) {
  const cv::Mat scene = SyntheticScene(240, 180, 2);
  cv::Mat gray, gray_bgr, bgra;
  cv::cvtColor(scene, gray, cv::COLOR_BGR2GRAY);
  cv::cvtColor(gray, gray_bgr, cv::COLOR_GRAY2BGR);
  cv::cvtColor(scene, bgra, cv::COLOR_BGR2BGRA);
  const cv::Mat one(1, 1, CV_8UC3, cv::Scalar(10, 200, 30));
  cv::Mat wide = SyntheticScene(6000, 4, 1), tall = SyntheticScene(3, 5000, 2);
  const cv::Mat black(50, 50, CV_8UC3, cv::Scalar(0, 0, 0));
  const auto v = Embed({gray, gray_bgr, bgra, scene, one, wide, tall, black});
  ASSERT_EQ(v.size(), 8u);
  for (const auto& e : v) {
    ASSERT_EQ(e.size(), 1792u);
    for (float x : e) ASSERT_TRUE(std::isfinite(x));
  }
  // A grayscale image embeds as its three-channel copy; alpha is ignored.
  EXPECT_GE(Cosine(v[0], v[1]), 0.99999);
  EXPECT_GE(Cosine(v[2], v[3]), 0.99999);
  // A 1x1 image is a flat colour: a valid unit vector.
  EXPECT_NEAR(Dot(v[4], v[4]), 1.0, 1e-5);

  // An empty image or an unsupported layout fails the call, naming the image.
  auto bad = model_->EmbedImages({scene, cv::Mat()});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kValidation);
  EXPECT_THAT(bad.status().message(), testing::HasSubstr("image 1"));
  EXPECT_FALSE(model_->EmbedImages({cv::Mat(8, 8, CV_32FC3, cv::Scalar(0.5, 0.5, 0.5))}).ok());
}

TEST_F(MobilenetTest, ThreadsShareOneModel) {
  const std::vector<cv::Mat> images = {SyntheticScene(320, 240, 1), SyntheticScene(200, 300, 2)};
  const auto want = Embed(images);
  std::vector<std::vector<std::vector<float>>> got(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < 3; ++r) got[t] = Embed(images);
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& g : got) {
    ASSERT_EQ(g.size(), 2u);
    EXPECT_GE(Cosine(g[0], want[0]), 0.99999);
    EXPECT_GE(Cosine(g[1], want[1]), 0.99999);
  }
}

TEST_F(MobilenetTest, ConfigErrorsNameTheField) {
  const fs::path dir = VisionModelDir("mobilenet-v2");
  Json bad = ReadJsonFile(dir / "config.json");
  bad["dimensions"] = 512;
  auto e = MobilenetEmbedder::Load("mobilenet-v2", dir.string(), bad);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInternal);
  EXPECT_THAT(e.status().message(), testing::HasSubstr("dimensions"));
  Json missing = ReadJsonFile(dir / "config.json");
  missing["model"] = "nope.onnx";
  auto m = MobilenetEmbedder::Load("mobilenet-v2", dir.string(), missing);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kUnavailable);
}

// ---- through the registry ----------------------------------------------------

TEST(VisionRegistryTest, LoadsImageModelsOnceAndListsThem) {
  for (const char* name : {"mobilenet-v2", "centernet"}) {
    if (const std::string why = VisionModelMissing(name); !why.empty()) GTEST_SKIP() << why;
  }
  ModelRegistry registry(testing_util::ModelsDir());
  auto a = registry.GetImageEmbedder("mobilenet-v2");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = registry.GetImageEmbedder("mobilenet-v2");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());  // loaded once, shared
  EXPECT_EQ((*a)->dimensions(), 1792);

  // Repeats come from the inference cache; a batch's misses go to the model once.
  const cv::Mat scene = SyntheticScene(320, 240, 1), other = SyntheticScene(320, 240, 2);
  auto first = (*a)->EmbedImages({scene, other, scene});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ((*first)[0], (*first)[2]);
  const auto hits = registry.cache()->stats().hits;
  auto again = (*a)->EmbedImages({scene.clone()});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(registry.cache()->stats().hits, hits + 1);
  EXPECT_EQ((*again)[0], (*first)[0]);

  auto d1 = registry.GetObjectDetector("centernet");
  ASSERT_TRUE(d1.ok()) << d1.status().ToString();
  auto d2 = registry.GetObjectDetector("centernet");
  ASSERT_TRUE(d2.ok());
  EXPECT_EQ(d1->get(), d2->get());

  bool saw_embedder = false, saw_detector = false;
  for (const Json& m : registry.List()) {
    if (m["name"] == "mobilenet-v2") {
      saw_embedder = true;
      EXPECT_EQ(m["task"], "image_embedding");
      EXPECT_EQ(m["dimensions"], 1792);
      EXPECT_EQ(m["loaded"], true);
    }
    if (m["name"] == "centernet") {
      saw_detector = true;
      EXPECT_EQ(m["task"], "object_detection");
      EXPECT_EQ(m["loaded"], true);
    }
  }
  EXPECT_TRUE(saw_embedder && saw_detector);

  // The wrong task, or an unknown name, is NotFound listing the right models.
  auto wrong = registry.GetImageEmbedder("centernet");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(wrong.status().message(), testing::HasSubstr("mobilenet-v2"));
  auto unknown = registry.GetObjectDetector("nope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), testing::HasSubstr("centernet"));
  EXPECT_FALSE(registry.GetObjectDetector("mobilenet-v2").ok());
  // Text embedding stays refused for image models.
  EXPECT_FALSE(registry.Get("mobilenet-v2").ok());
}

// ---- parity with TF.js (tests/models/vision_reference.js) ---------------------

TEST(MobilenetParityTest, EmbeddingsMatchTensorFlowJs) {
  if (const std::string why = VisionModelMissing("mobilenet-v2"); !why.empty()) GTEST_SKIP() << why;
  // A 224x224 image (no resize in the reference), a larger landscape one and
  // a real picture when its package is installed.
  std::vector<cv::Mat> images = {SyntheticScene(224, 224, 3), SyntheticScene(333, 250, 1)};
  if (cv::Mat real = testing_util::RealPicture(); !real.empty()) images.push_back(real);
  ScratchDir dir;
  std::string args = "--no-detections";
  for (size_t i = 0; i < images.size(); ++i) {
    args += " '" + testing_util::WriteRgb(images[i], dir.path() / ("img" + std::to_string(i) + ".rgb")) + "'";
  }
  testing_util::VisionReference ref = testing_util::RunVisionReference(args);
  if (!ref.skip.empty()) GTEST_SKIP() << ref.skip;
  ASSERT_TRUE(ref.json.contains("images"));
  ASSERT_EQ(ref.json["images"].size(), images.size());

  const fs::path model_dir = VisionModelDir("mobilenet-v2");
  auto model = MobilenetEmbedder::Load("mobilenet-v2", model_dir.string(), ReadJsonFile(model_dir / "config.json"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto got = (*model)->EmbedImages(images);  // one batch, one run
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  for (size_t i = 0; i < images.size(); ++i) {
    const auto want = ref.json["images"][i]["embedding"].get<std::vector<float>>();
    ASSERT_EQ(want.size(), 1792u);
    EXPECT_GE(Cosine((*got)[i], want), 0.9999) << "image " << i;
  }
}

}  // namespace
}  // namespace strata::extract
