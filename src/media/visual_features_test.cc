// The hand-made features on scenes drawn here: a near-duplicate (rescaled,
// JPEG-recompressed, brightened) keeps its hash within a few bits and its
// embedding close, while another scene is far on both.
#include "media/visual_features.h"

#include <gtest/gtest.h>

#include <cmath>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <thread>

namespace strata::media {
namespace {

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return dot / std::sqrt(na * nb);
}

double Norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double(x) * x;
  return std::sqrt(s);
}

// A photo-like scene: a smooth background, filled shapes and a line of text;
// `variant` moves and recolours everything.
cv::Mat Scene(int variant, int width = 320, int height = 240) {
  cv::Mat m(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      m.at<cv::Vec3b>(y, x) = variant == 0
          ? cv::Vec3b(uchar(60 + y / 3), uchar(90 + x / 5), uchar(140))
          : cv::Vec3b(uchar(200 - x / 3), uchar(40), uchar(60 + y / 4));
    }
  }
  if (variant == 0) {
    cv::circle(m, {90, 120}, 60, {20, 30, 220}, cv::FILLED);
    cv::rectangle(m, {180, 40}, {290, 200}, {230, 200, 30}, cv::FILLED);
    cv::putText(m, "Strata", {40, 225}, cv::FONT_HERSHEY_SIMPLEX, 1.0, {255, 255, 255}, 2);
  } else {
    cv::line(m, {0, 0}, {320, 240}, {250, 250, 250}, 12);
    cv::ellipse(m, {230, 80}, {70, 30}, 30, 0, 360, {10, 200, 10}, cv::FILLED);
    cv::rectangle(m, {20, 150}, {120, 230}, {0, 0, 0}, cv::FILLED);
  }
  return m;
}

cv::Mat Recompress(const cv::Mat& m, int quality) {
  std::vector<uchar> jpeg;
  EXPECT_TRUE(cv::imencode(".jpg", m, jpeg, {cv::IMWRITE_JPEG_QUALITY, quality}));
  return cv::imdecode(jpeg, cv::IMREAD_COLOR);
}

TEST(VisualFeaturesTest, EmbeddingHasTheDeclaredSizeAndUnitLength) {
  EXPECT_GT(kVisualEmbeddingDimensions, 0);
  EXPECT_LE(kVisualEmbeddingDimensions, 1024);
  for (int variant : {0, 1}) {
    const std::vector<float> v = VisualEmbedding(Scene(variant));
    ASSERT_EQ(v.size(), size_t(kVisualEmbeddingDimensions));
    EXPECT_NEAR(Norm(v), 1.0, 1e-4);
  }
}

TEST(VisualFeaturesTest, NearDuplicatesStayCloseAndOtherScenesDoNot) {
  const cv::Mat original = Scene(0);
  cv::Mat half, big, brighter;
  cv::resize(original, half, {160, 120}, 0, 0, cv::INTER_AREA);
  cv::resize(original, big, {640, 480}, 0, 0, cv::INTER_CUBIC);
  original.convertTo(brighter, -1, 1.0, 20);  // +20 on every channel, saturating
  const struct {
    const char* what;
    cv::Mat image;
  } copies[] = {{"rescaled to half", half},
                {"rescaled to double", big},
                {"JPEG quality 40", Recompress(original, 40)},
                {"brightened", brighter},
                {"half size, then JPEG 60", Recompress(half, 60)}};

  const uint64_t hash = PerceptualHash(original);
  const std::vector<float> emb = VisualEmbedding(original);
  const uint64_t other_hash = PerceptualHash(Scene(1));
  const double other_cos = Cosine(emb, VisualEmbedding(Scene(1)));
  EXPECT_GE(HammingDistance(hash, other_hash), 20);
  EXPECT_LT(other_cos, 0.6);
  for (const auto& c : copies) {
    EXPECT_LE(HammingDistance(hash, PerceptualHash(c.image)), 6) << c.what;
    const double cos = Cosine(emb, VisualEmbedding(c.image));
    EXPECT_GT(cos, 0.9) << c.what;
    EXPECT_GT(cos, other_cos + 0.3) << c.what;
  }
}

TEST(VisualFeaturesTest, ColourSeparatesOtherwiseIdenticalShapes) {
  // The same drawing in red, in a slightly different red, and in blue: the
  // embedding ranks the two reds together (the hash, which sees gray
  // structure, is not asked to).
  auto drawing = [](const cv::Scalar& colour) {
    cv::Mat m(200, 200, CV_8UC3, cv::Scalar(245, 245, 245));
    cv::circle(m, {100, 100}, 70, colour, cv::FILLED);
    return m;
  };
  const std::vector<float> red = VisualEmbedding(drawing({30, 30, 220}));
  const std::vector<float> red2 = VisualEmbedding(drawing({40, 20, 200}));
  const std::vector<float> blue = VisualEmbedding(drawing({220, 40, 30}));
  EXPECT_GT(Cosine(red, red2), Cosine(red, blue) + 0.03);
}

TEST(VisualFeaturesTest, GrayBgrAndBgraInputsAgree) {
  cv::Mat gray;
  cv::cvtColor(Scene(0), gray, cv::COLOR_BGR2GRAY);
  cv::Mat bgr, bgra;
  cv::cvtColor(gray, bgr, cv::COLOR_GRAY2BGR);
  cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
  const std::vector<float> from_gray = VisualEmbedding(gray);
  ASSERT_EQ(from_gray.size(), size_t(kVisualEmbeddingDimensions));
  EXPECT_NEAR(Norm(from_gray), 1.0, 1e-4);
  EXPECT_GT(Cosine(from_gray, VisualEmbedding(bgr)), 0.9999);
  EXPECT_GT(Cosine(from_gray, VisualEmbedding(bgra)), 0.9999);
  EXPECT_EQ(PerceptualHash(gray), PerceptualHash(bgr));
  EXPECT_EQ(PerceptualHash(gray), PerceptualHash(bgra));
  // 16-bit input is scaled to 8 bits, not clipped.
  cv::Mat wide;
  gray.convertTo(wide, CV_16U, 257.0);
  EXPECT_LE(HammingDistance(PerceptualHash(gray), PerceptualHash(wide)), 2);
  EXPECT_GT(Cosine(from_gray, VisualEmbedding(wide)), 0.99);
}

TEST(VisualFeaturesTest, TinyAndEmptyImagesAreHandled) {
  const cv::Mat one(1, 1, CV_8UC3, cv::Scalar(10, 20, 200));
  const std::vector<float> v = VisualEmbedding(one);
  ASSERT_EQ(v.size(), size_t(kVisualEmbeddingDimensions));
  EXPECT_NEAR(Norm(v), 1.0, 1e-4);  // a flat image still has a colour
  EXPECT_EQ(PerceptualHash(one), PerceptualHash(one));
  const cv::Mat strip(1, 7, CV_8UC1, cv::Scalar(99));
  EXPECT_EQ(VisualEmbedding(strip).size(), size_t(kVisualEmbeddingDimensions));
  (void)PerceptualHash(strip);

  const std::vector<float> empty = VisualEmbedding(cv::Mat());
  ASSERT_EQ(empty.size(), size_t(kVisualEmbeddingDimensions));
  EXPECT_EQ(Norm(empty), 0.0);
  EXPECT_EQ(PerceptualHash(cv::Mat()), 0u);
}

TEST(VisualFeaturesTest, ConcurrentCallsGiveTheSameAnswers) {
  const cv::Mat a = Scene(0), b = Scene(1);
  const std::vector<float> ea = VisualEmbedding(a), eb = VisualEmbedding(b);
  const uint64_t ha = PerceptualHash(a), hb = PerceptualHash(b);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      bool same = true;
      for (int i = 0; i < 10; ++i) {
        const bool first = (i + t) % 2 == 0;
        same &= VisualEmbedding(first ? a : b) == (first ? ea : eb);
        same &= PerceptualHash(first ? a : b) == (first ? ha : hb);
      }
      ok[size_t(t)] = same;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_TRUE(ok[size_t(t)]) << "thread " << t;
}

}  // namespace
}  // namespace strata::media
