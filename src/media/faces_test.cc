// Face detection: a synthetic face drawn at test time is found where it was
// drawn, at the size it was drawn, in the caller's pixels (also when the image
// is scaled down inside); images without a face give no boxes; a missing
// cascade is Unavailable.
#include "media/faces.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "media/image_test_util.h"

namespace strata::media {
namespace {

using image_testing::TempDir;

std::unique_ptr<FaceDetector> DetectorOrSkip() {
  auto d = FaceDetector::Create();
  return d.ok() ? std::move(d).value() : nullptr;
}

// A schematic frontal face (numpy + PIL): an oval of skin with Gaussian
// shading for eye sockets, eyebrows, cheeks, the nose ridge, nostrils and the
// mouth, the areas Haar features compare (eyes darker than cheeks and than
// the bridge of the nose). The proportions were tuned against this cascade
// until every placement tried gave one box merged from dozens of raw
// detections. Face width `fw` (the oval is 100 × 130 units of fw/100 px),
// centred at (cx, cy) in a w × h picture.
constexpr const char* kFaceScript = R"(
import sys
import numpy as np
from PIL import Image
out, w, h, cx, cy, fw = sys.argv[1], *[int(v) for v in sys.argv[2:7]]
y, x = np.mgrid[0:h, 0:w].astype(np.float64)
u, v = (x - cx) / (fw / 100.0), (y - cy) / (fw / 100.0)
def blob(ux, vy, sx, sy, amp):
    return amp * np.exp(-(((u - ux) / sx) ** 2 + ((v - vy) / sy) ** 2) / 2)
ey = -10.7037528528
img = np.where((u / 50) ** 2 + (v / 65) ** 2 <= 1, 206.516241519, 112.818353764)
for side in (-1, 1):
    img += blob(side * 17.1297905656, ey, 6.71118342529, 6.60288928216, -67.4394500181)          # eye socket
    img += blob(side * 17.1297905656, ey - 10.2656743469, 6.71118342529 * 1.2, 3, -45.8425987508)  # eyebrow
    img += blob(side * 25, ey + 22, 10, 10, 25)                                                 # cheek
img += blob(0, ey + 10, 4, 12, 43.656628719)               # nose ridge
img += blob(0, ey + 27.9022633823, 8, 3, -50)              # nostrils
img += blob(0, ey + 37.3372466606, 15, 4, -61.0839398784)  # mouth
Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).convert("RGB").save(out)
)";
bool HaveNumpy() {
  std::string py = image_testing::PythonWithPil();
  return !py.empty() && std::system((py + " -c 'import numpy' >/dev/null 2>&1").c_str()) == 0;
}

cv::Mat DrawFace(const TempDir& dir, int w, int h, int cx, int cy, int fw) {
  std::string py = image_testing::PythonWithPil();
  image_testing::WriteFile(dir / "face.py", kFaceScript);
  std::string cmd = py + " " + (dir / "face.py") + " " + (dir / "face.png") + " " + std::to_string(w) + " " +
                    std::to_string(h) + " " + std::to_string(cx) + " " + std::to_string(cy) + " " + std::to_string(fw);
  if (std::system(cmd.c_str()) != 0) return cv::Mat();
  return cv::imread(dir / "face.png", cv::IMREAD_COLOR);
}

TEST(Faces, SyntheticFaceIsFoundWhereItWasDrawn) {
  auto det = DetectorOrSkip();
  if (!det) GTEST_SKIP() << "OpenCV's Haar cascades are not installed (opencv-data)";
  if (!HaveNumpy()) GTEST_SKIP() << "python3 with PIL and numpy (python3-pil, python3-numpy) is not installed";
  TempDir dir;
  cv::Mat img = DrawFace(dir, 400, 300, 150, 160, 120);
  ASSERT_FALSE(img.empty());
  auto faces = det->Detect(img);
  ASSERT_TRUE(faces.ok()) << faces.status().ToString();
  ASSERT_EQ(faces->size(), 1u);
  const FaceBox& f = (*faces)[0];
  cv::Point centre(f.bbox.x + f.bbox.width / 2, f.bbox.y + f.bbox.height / 2);
  EXPECT_NEAR(centre.x, 150, 25) << f.bbox;
  EXPECT_NEAR(centre.y, 160, 35) << f.bbox;
  EXPECT_GT(f.bbox.width, 60) << f.bbox;
  EXPECT_LT(f.bbox.width, 200) << f.bbox;
  EXPECT_GE(f.score, 0.5f);
  EXPECT_LE(f.score, 1.0f);
}

TEST(Faces, BoxesComeBackInTheCallersPixelsWhenScaledInside) {
  auto det = DetectorOrSkip();
  if (!det) GTEST_SKIP() << "OpenCV's Haar cascades are not installed (opencv-data)";
  if (!HaveNumpy()) GTEST_SKIP() << "python3 with PIL and numpy (python3-pil, python3-numpy) is not installed";
  TempDir dir;
  cv::Mat img = DrawFace(dir, 1600, 1200, 1000, 600, 400);
  ASSERT_FALSE(img.empty());
  FaceOptions opts;
  opts.max_side = 400;  // detection runs at a quarter of the size
  auto faces = det->Detect(img, opts);
  ASSERT_TRUE(faces.ok()) << faces.status().ToString();
  ASSERT_EQ(faces->size(), 1u);
  const cv::Rect& b = (*faces)[0].bbox;
  EXPECT_NEAR(b.x + b.width / 2, 1000, 80) << b;
  EXPECT_NEAR(b.y + b.height / 2, 600, 120) << b;
  EXPECT_GT(b.width, 200) << b;
}

TEST(Faces, NoFaceNoBoxes) {
  auto det = DetectorOrSkip();
  if (!det) GTEST_SKIP() << "OpenCV's Haar cascades are not installed (opencv-data)";
  cv::Mat flat(240, 320, CV_8UC3, cv::Scalar(200, 180, 160));
  cv::Mat gradient(240, 320, CV_8UC1);
  for (int y = 0; y < gradient.rows; ++y) gradient.row(y).setTo(y);
  cv::Mat shapes(240, 320, CV_8UC3, cv::Scalar(30, 90, 30));
  cv::rectangle(shapes, {20, 20, 100, 60}, cv::Scalar(0, 0, 255), cv::FILLED);
  cv::circle(shapes, {220, 150}, 50, cv::Scalar(255, 255, 0), cv::FILLED);
  for (const cv::Mat& m : {flat, gradient, shapes}) {
    auto faces = det->Detect(m);
    ASSERT_TRUE(faces.ok()) << faces.status().ToString();
    EXPECT_TRUE(faces->empty());
  }
  auto tiny = det->Detect(cv::Mat(8, 8, CV_8UC3, cv::Scalar(0)));
  ASSERT_TRUE(tiny.ok());
  EXPECT_TRUE(tiny->empty());
  auto none = det->Detect(cv::Mat());
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(Faces, MissingCascadeIsUnavailable) {
  TempDir dir;
  auto d = FaceDetector::Create(dir / "no_such_cascade.xml");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kUnavailable);
  image_testing::WriteFile(dir / "broken.xml", "<opencv_storage><cascade>nonsense");
  auto b = FaceDetector::Create(dir / "broken.xml");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace strata::media
