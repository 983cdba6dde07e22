#include "extract/models/object_detector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

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

// ---- post-processing ----------------------------------------------------------

TEST(CocoLabelsTest, AreHumansEightyNames) {
  const auto& labels = CocoLabels();
  ASSERT_EQ(labels.size(), 80u);
  EXPECT_EQ(labels[0], "person");
  EXPECT_EQ(labels[2], "car");
  EXPECT_EQ(labels[16], "dog");
  EXPECT_EQ(labels[62], "tv");
  EXPECT_EQ(labels[79], "toothbrush");
}

TEST(NonMaxSuppressionTest, KeepsTheStrongestOfOverlappingBoxesAcrossClasses) {
  const std::vector<RawDetection> rows = {
      {0, 0, 100, 100, 0.9f, 0},      // kept
      {10, 0, 110, 100, 0.8f, 5},     // IoU 0.82 with row 0, another class: suppressed
      {200, 200, 300, 300, 0.7f, 1},  // apart: kept
      {60, 0, 160, 100, 0.6f, 0},     // IoU 0.25 with row 0: kept
      {0, 0, 100, 100, 0.2f, 3},      // under the score threshold
  };
  EXPECT_EQ(NonMaxSuppression(rows, 10, 0.4, 0.3), (std::vector<size_t>{0, 2, 3}));
  EXPECT_EQ(NonMaxSuppression(rows, 2, 0.4, 0.3), (std::vector<size_t>{0, 2}));
  // A score equal to the threshold is out (TF.js keeps score > threshold).
  EXPECT_EQ(NonMaxSuppression(rows, 10, 0.4, 0.7), (std::vector<size_t>{0}));
  // IoU exactly at the threshold suppresses (>=).
  const std::vector<RawDetection> half = {{0, 0, 100, 100, 0.9f, 0}, {0, 0, 100, 40, 0.8f, 0}};
  EXPECT_EQ(NonMaxSuppression(half, 10, 0.4, 0.0), (std::vector<size_t>{0}));
  // Equal scores: the lower index first.
  const std::vector<RawDetection> tie = {{0, 0, 1, 1, 0.5f, 0}, {5, 5, 6, 6, 0.5f, 0}};
  EXPECT_EQ(NonMaxSuppression(tie, 10, 0.4, 0.0), (std::vector<size_t>{0, 1}));
  // Empty boxes never overlap.
  const std::vector<RawDetection> flat = {{0, 0, 0, 10, 0.9f, 0}, {0, 0, 0, 10, 0.8f, 0}};
  EXPECT_EQ(NonMaxSuppression(flat, 10, 0.4, 0.0), (std::vector<size_t>{0, 1}));
}

// ---- the model ---------------------------------------------------------------

class CenterNetTest : public LoadedModelTest<CenterNetTest, CenterNetDetector> {
 public:
  static constexpr const char* kModelName = "centernet";

 protected:
  static std::vector<std::vector<Detection>> Detect(const std::vector<cv::Mat>& images, float min_score,
                                                    int max_detections = 20) {
    auto v = model_->Detect(images, min_score, max_detections);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? std::move(v).value() : std::vector<std::vector<Detection>>(images.size());
  }
};

void ExpectSane(const std::vector<Detection>& dets, const cv::Mat& image, float min_score, int max) {
  EXPECT_LE(static_cast<int>(dets.size()), max);
  for (size_t i = 0; i < dets.size(); ++i) {
    const Detection& d = dets[i];
    EXPECT_GT(d.score, min_score);
    EXPECT_LE(d.score, 1.0f);
    if (i > 0) {
      EXPECT_LE(d.score, dets[i - 1].score);  // strongest first
    }
    ASSERT_GE(d.class_id, 0);
    ASSERT_LT(d.class_id, 80);
    EXPECT_EQ(d.label, CocoLabels()[d.class_id]);
    EXPECT_GE(d.box.x, 0);
    EXPECT_GE(d.box.y, 0);
    EXPECT_GE(d.box.width, 0);
    EXPECT_GE(d.box.height, 0);
    EXPECT_LE(d.box.x + d.box.width, image.cols + 1e-3);
    EXPECT_LE(d.box.y + d.box.height, image.rows + 1e-3);
  }
}

TEST_F(CenterNetTest, BoxesAreInTheOriginalImagesPixels) {
  // The same scene at two sizes: the input is stretched to 512x512, so the
  // boxes scale with the image, each axis on its own.
  const cv::Mat small = SyntheticScene(400, 300, 1);
  cv::Mat big;
  cv::resize(small, big, cv::Size(1200, 450), 0, 0, cv::INTER_NEAREST);
  const auto d = Detect({small, big}, 0.05f, 5);
  ASSERT_EQ(d.size(), 2u);
  ExpectSane(d[0], small, 0.05f, 5);
  ExpectSane(d[1], big, 0.05f, 5);
  if (!d[0].empty() && !d[1].empty() && d[0][0].class_id == d[1][0].class_id) {
    EXPECT_NEAR(d[1][0].box.x, d[0][0].box.x * 3, 12);
    EXPECT_NEAR(d[1][0].box.width, d[0][0].box.width * 3, 24);
    EXPECT_NEAR(d[1][0].box.y, d[0][0].box.y * 1.5, 8);
  }
}

TEST_F(CenterNetTest, FindsThePersonShapedRegionOfARealPicture) {
  const cv::Mat real = testing_util::RealPicture();
  if (real.empty()) GTEST_SKIP() << "libleptonica-dev's dave-orig.png is not installed";
  const auto d = Detect({real}, 0.1f);
  ExpectSane(d[0], real, 0.1f, 20);
  ASSERT_FALSE(d[0].empty());
  // The strongest box holds the standing figure, hand on the back included
  // (x 130-430, y 30-1000 of 615x1029).
  const cv::Rect2f figure(130, 30, 300, 970);
  const cv::Rect2f box = d[0][0].box;
  EXPECT_GT((box & figure).area() / (box | figure).area(), 0.7) << box;
}

TEST_F(CenterNetTest, ThresholdsAndLimitsApply) {
  const cv::Mat scene = SyntheticScene(400, 300, 2);
  const auto loose = Detect({scene}, 0.0f, 100)[0];
  const auto capped = Detect({scene}, 0.0f, 3)[0];
  ASSERT_LE(capped.size(), 3u);
  for (size_t i = 0; i < capped.size(); ++i) {
    EXPECT_EQ(capped[i].class_id, loose[i].class_id);
    EXPECT_FLOAT_EQ(capped[i].score, loose[i].score);
  }
  EXPECT_TRUE(Detect({scene}, 1.0f)[0].empty());
  EXPECT_FALSE(model_->Detect({scene}, 1.5f).ok());
  EXPECT_FALSE(model_->Detect({scene}, -0.1f).ok());
  EXPECT_FALSE(model_->Detect({scene}, 0.3f, 0).ok());
  EXPECT_TRUE(Detect({}, 0.3f).empty());
}

TEST_F(CenterNetTest, HandlesTinyGrayscaleAlphaAndExtremeImages) {
  const cv::Mat scene = SyntheticScene(300, 200, 3);
  cv::Mat gray, gray_bgr, bgra;
  cv::cvtColor(scene, gray, cv::COLOR_BGR2GRAY);
  cv::cvtColor(gray, gray_bgr, cv::COLOR_GRAY2BGR);
  cv::cvtColor(scene, bgra, cv::COLOR_BGR2BGRA);
  const std::vector<cv::Mat> images = {gray, gray_bgr, bgra, scene, cv::Mat(1, 1, CV_8UC3, cv::Scalar(9, 9, 9)),
                                       SyntheticScene(5000, 3, 1), SyntheticScene(2, 3000, 2)};
  const auto d = Detect(images, 0.05f);
  ASSERT_EQ(d.size(), images.size());
  for (size_t i = 0; i < images.size(); ++i) ExpectSane(d[i], images[i], 0.05f, 20);
  // Grayscale detects as its three-channel copy; alpha is ignored.
  ASSERT_EQ(d[0].size(), d[1].size());
  for (size_t i = 0; i < d[0].size(); ++i) EXPECT_FLOAT_EQ(d[0][i].score, d[1][i].score);
  ASSERT_EQ(d[2].size(), d[3].size());
  for (size_t i = 0; i < d[2].size(); ++i) EXPECT_FLOAT_EQ(d[2][i].score, d[3][i].score);

  auto bad = model_->Detect({scene, cv::Mat()});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kValidation);
  EXPECT_THAT(bad.status().message(), testing::HasSubstr("image 1"));
}

TEST_F(CenterNetTest, ThreadsShareOneModel) {
  const cv::Mat scene = SyntheticScene(400, 300, 1);
  const auto want = Detect({scene}, 0.05f)[0];
  std::vector<std::vector<Detection>> got(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) threads.emplace_back([&, t] { got[t] = Detect({scene}, 0.05f)[0]; });
  for (auto& th : threads) th.join();
  for (const auto& g : got) {
    ASSERT_EQ(g.size(), want.size());
    for (size_t i = 0; i < g.size(); ++i) {
      EXPECT_EQ(g[i].class_id, want[i].class_id);
      EXPECT_NEAR(g[i].score, want[i].score, 1e-5);
    }
  }
}

// ---- parity with TF.js and Human's post-processing (vision_reference.js) -----

TEST(CenterNetParityTest, DetectionsMatchTensorFlowJsAndHuman) {
  if (const std::string why = VisionModelMissing("centernet"); !why.empty()) GTEST_SKIP() << why;
  // A synthetic scene and, when its package is installed, a real picture
  // (where the detections mean something). A low threshold keeps several
  // detections per image to compare.
  constexpr float kMinScore = 0.1f;
  std::vector<cv::Mat> images = {SyntheticScene(480, 360, 1)};
  if (cv::Mat real = testing_util::RealPicture(); !real.empty()) images.push_back(real);
  ScratchDir dir;
  std::string args = "--no-embeddings --min-score 0.1 --max-detections 20";
  for (size_t i = 0; i < images.size(); ++i) {
    args += " '" + testing_util::WriteRgb(images[i], dir.path() / ("img" + std::to_string(i) + ".rgb")) + "'";
  }
  testing_util::VisionReference ref = testing_util::RunVisionReference(args);
  if (!ref.skip.empty()) GTEST_SKIP() << ref.skip;
  ASSERT_TRUE(ref.json.contains("images"));
  ASSERT_EQ(ref.json["images"].size(), images.size());

  const fs::path model_dir = VisionModelDir("centernet");
  auto model = CenterNetDetector::Load("centernet", model_dir.string(), ReadJsonFile(model_dir / "config.json"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto got = (*model)->Detect(images, kMinScore, 20);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  size_t compared = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    const Json& want = ref.json["images"][i]["detections"];
    const std::vector<Detection>& have = (*got)[i];
    ASSERT_EQ(have.size(), want.size()) << "image " << i << ": reference " << want.dump();
    for (size_t k = 0; k < have.size(); ++k) {
      SCOPED_TRACE("image " + std::to_string(i) + " detection " + std::to_string(k));
      EXPECT_EQ(have[k].label, want[k]["label"].get<std::string>());
      EXPECT_EQ(have[k].class_id, want[k]["class_id"].get<int>());
      EXPECT_NEAR(have[k].score, want[k]["score"].get<double>(), 1e-3);
      const auto box = want[k]["box"].get<std::vector<double>>();
      EXPECT_NEAR(have[k].box.x, box[0], 1.0);
      EXPECT_NEAR(have[k].box.y, box[1], 1.0);
      EXPECT_NEAR(have[k].box.width, box[2], 1.0);
      EXPECT_NEAR(have[k].box.height, box[3], 1.0);
      ++compared;
    }
  }
  if (images.size() > 1) {
    EXPECT_GT(compared, 0u);
  }
}

}  // namespace
}  // namespace strata::extract
