// Image decoding: every format to upright 8-bit BGR with the right size and
// colours, EXIF orientation (all 8 values) and metadata, the pixel bound
// checked from the declared size before decoding, content sniffing, and bad
// files (truncated, corrupt, not an image) ending as InvalidArgument.
#include "media/image.h"

#include <gtest/gtest.h>

#include <functional>

#include <exiv2/exiv2.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "media/image_header.h"
#include "media/image_test_util.h"

namespace strata::media {
namespace {

using image_testing::ReadFile;
using image_testing::TempDir;

std::string Encode(const cv::Mat& m, const std::string& ext, std::vector<int> params = {}) {
  std::vector<uint8_t> buf;
  EXPECT_TRUE(cv::imencode(ext, m, buf, params)) << ext;
  return std::string(buf.begin(), buf.end());
}

// 64 × 48: left half red, right half blue, a green bar across the top rows.
cv::Mat Halves() {
  cv::Mat m(48, 64, CV_8UC3, cv::Scalar(0, 0, 255));
  m(cv::Rect(32, 0, 32, 48)).setTo(cv::Scalar(255, 0, 0));
  m(cv::Rect(0, 0, 64, 8)).setTo(cv::Scalar(0, 255, 0));
  return m;
}

// True when the pixel at (x, y) is within `tol` of `bgr` on every channel.
bool Near(const cv::Mat& m, int x, int y, cv::Scalar bgr, int tol = 40) {
  cv::Vec3b p = m.at<cv::Vec3b>(y, x);
  for (int c = 0; c < 3; ++c) {
    if (std::abs(p[c] - static_cast<int>(bgr[c])) > tol) return false;
  }
  return true;
}

void ExpectHalves(const DecodedImage& d) {
  ASSERT_EQ(d.bgr.type(), CV_8UC3);
  EXPECT_EQ(d.width, 64);
  EXPECT_EQ(d.height, 48);
  EXPECT_TRUE(Near(d.bgr, 8, 30, {0, 0, 255})) << d.format << " left is red";
  EXPECT_TRUE(Near(d.bgr, 56, 30, {255, 0, 0})) << d.format << " right is blue";
  EXPECT_TRUE(Near(d.bgr, 32, 2, {0, 255, 0})) << d.format << " top is green";
}

TEST(DecodeImage, EveryFormatOpenCvWritesDecodesToTheSamePixels) {
  cv::Mat m = Halves();
  for (const char* ext : {".png", ".jpg", ".webp", ".tiff", ".bmp"}) {
    auto d = DecodeImageBytes(Encode(m, ext), MediaLimits{});
    ASSERT_TRUE(d.ok()) << ext << ": " << d.status().ToString();
    EXPECT_EQ(d->format, ImageMimeType(d->format).substr(6)) << ext;
    EXPECT_EQ(d->orientation, 1);
    ExpectHalves(*d);
  }
}

TEST(DecodeImage, HeaderDimensionsOfEveryFormat) {
  cv::Mat m(37, 91, CV_8UC3, cv::Scalar(10, 20, 30));
  for (const char* ext : {".png", ".jpg", ".webp", ".tiff", ".bmp"}) {
    auto h = ReadImageHeader(Encode(m, ext));
    ASSERT_TRUE(h.ok()) << ext << ": " << h.status().ToString();
    EXPECT_EQ(h->width, 91) << ext;
    EXPECT_EQ(h->height, 37) << ext;
  }
  // Lossless WebP carries its size in the VP8L chunk.
  auto h = ReadImageHeader(Encode(m, ".webp", {cv::IMWRITE_WEBP_QUALITY, 101}));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->width, 91);
  EXPECT_EQ(h->height, 37);
}

TEST(DecodeImage, GrayscaleSixteenBitAndAlphaBecomeEightBitBgr) {
  cv::Mat gray(20, 30, CV_8UC1, cv::Scalar(200));
  auto g = DecodeImageBytes(Encode(gray, ".png"), MediaLimits{});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->bgr.type(), CV_8UC3);
  EXPECT_TRUE(Near(g->bgr, 5, 5, {200, 200, 200}, 1));

  cv::Mat deep(20, 30, CV_16UC3, cv::Scalar(0, 32768, 65535));
  auto d16 = DecodeImageBytes(Encode(deep, ".png"), MediaLimits{});
  ASSERT_TRUE(d16.ok()) << d16.status().ToString();
  EXPECT_EQ(d16->bgr.type(), CV_8UC3);
  EXPECT_TRUE(Near(d16->bgr, 5, 5, {0, 128, 255}, 1));

  // Fully transparent pixels show the white page; opaque ones their colour.
  cv::Mat rgba(20, 30, CV_8UC4, cv::Scalar(0, 0, 0, 0));
  rgba(cv::Rect(0, 0, 15, 20)).setTo(cv::Scalar(255, 0, 0, 255));
  auto a = DecodeImageBytes(Encode(rgba, ".png"), MediaLimits{});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_TRUE(Near(a->bgr, 5, 5, {255, 0, 0}, 1));
  EXPECT_TRUE(Near(a->bgr, 25, 5, {255, 255, 255}, 1));
}

TEST(DecodeImage, PilFixtures_AnimatedGifFirstFrameCmykJpegOnePixel) {
  TempDir dir;
  if (image_testing::PythonWithPil().empty()) GTEST_SKIP() << "python3 with PIL (python3-pil) is not installed";
  ASSERT_TRUE(image_testing::RunPython(R"(
import sys
from PIL import Image
d = sys.argv[1]
frames = [Image.new("RGB", (40, 30), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
frames[0].save(d + "/anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(d + "/cmyk.jpg", quality=95)  # red in CMYK
Image.new("RGB", (1, 1), (10, 200, 30)).save(d + "/one.png")
Image.new("P", (16, 8), 0).save(d + "/pal.gif")
)", dir.path()));
  auto gif = DecodeImageFile(dir / "anim.gif", MediaLimits{});
  ASSERT_TRUE(gif.ok()) << gif.status().ToString();
  EXPECT_EQ(gif->format, "gif");
  EXPECT_EQ(gif->width, 40);
  EXPECT_EQ(gif->height, 30);
  EXPECT_TRUE(Near(gif->bgr, 20, 15, {0, 0, 255}, 10)) << "first frame (red), not a later one";

  auto cmyk = DecodeImageFile(dir / "cmyk.jpg", MediaLimits{});
  ASSERT_TRUE(cmyk.ok()) << cmyk.status().ToString();
  EXPECT_EQ(cmyk->bgr.type(), CV_8UC3);
  EXPECT_TRUE(Near(cmyk->bgr, 20, 15, {0, 0, 255}, 60)) << cmyk->bgr.at<cv::Vec3b>(15, 20);

  auto one = DecodeImageFile(dir / "one.png", MediaLimits{});
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->width, 1);
  EXPECT_EQ(one->height, 1);
  EXPECT_TRUE(Near(one->bgr, 0, 0, {30, 200, 10}, 1));

  auto pal = DecodeImageFile(dir / "pal.gif", MediaLimits{});
  ASSERT_TRUE(pal.ok()) << pal.status().ToString();
  EXPECT_EQ(pal->width, 16);
}

// Writes EXIF into a JPEG file with exiv2 (what a camera would have written).
void WriteExif(const std::string& path, const std::function<void(Exiv2::ExifData&)>& fill) {
  auto image = Exiv2::ImageFactory::open(path);
  image->readMetadata();
  Exiv2::ExifData exif;
  fill(exif);
  image->setExifData(exif);
  image->writeMetadata();
}

TEST(DecodeImage, AllEightExifOrientationsComeOutUpright) {
  // Upright: 60 wide, 40 tall; top-left quadrant red, top-right green,
  // bottom-left blue, bottom-right white.
  cv::Mat up(40, 60, CV_8UC3);
  up(cv::Rect(0, 0, 30, 20)).setTo(cv::Scalar(0, 0, 255));
  up(cv::Rect(30, 0, 30, 20)).setTo(cv::Scalar(0, 255, 0));
  up(cv::Rect(0, 20, 30, 20)).setTo(cv::Scalar(255, 0, 0));
  up(cv::Rect(30, 20, 30, 20)).setTo(cv::Scalar(255, 255, 255));
  TempDir dir;
  for (int o = 1; o <= 8; ++o) {
    // What a camera stores for orientation o: the inverse of the correction.
    cv::Mat stored;
    switch (o) {
      case 2: cv::flip(up, stored, 1); break;
      case 3: cv::flip(up, stored, -1); break;
      case 4: cv::flip(up, stored, 0); break;
      case 5: cv::transpose(up, stored); break;
      case 6: cv::rotate(up, stored, cv::ROTATE_90_COUNTERCLOCKWISE); break;
      case 7: cv::flip(up, stored, -1); cv::transpose(stored, stored); break;
      case 8: cv::rotate(up, stored, cv::ROTATE_90_CLOCKWISE); break;
      default: stored = up;
    }
    std::string path = dir / ("o" + std::to_string(o) + ".jpg");
    image_testing::WriteFile(path, Encode(stored, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 95}));
    WriteExif(path, [&](Exiv2::ExifData& e) { e["Exif.Image.Orientation"] = static_cast<uint16_t>(o); });
    auto d = DecodeImageFile(path, MediaLimits{});
    ASSERT_TRUE(d.ok()) << o << ": " << d.status().ToString();
    EXPECT_EQ(d->orientation, o);
    EXPECT_EQ(d->width, 60) << "orientation " << o;
    EXPECT_EQ(d->height, 40) << "orientation " << o;
    if (d->width != 60 || d->height != 40) continue;
    EXPECT_TRUE(Near(d->bgr, 10, 10, {0, 0, 255})) << "orientation " << o << " top-left red";
    EXPECT_TRUE(Near(d->bgr, 50, 10, {0, 255, 0})) << "orientation " << o << " top-right green";
    EXPECT_TRUE(Near(d->bgr, 10, 30, {255, 0, 0})) << "orientation " << o << " bottom-left blue";
    EXPECT_TRUE(Near(d->bgr, 50, 30, {255, 255, 255})) << "orientation " << o << " bottom-right white";
  }
}

TEST(DecodeImage, ExifMetadataIsKept) {
  TempDir dir;
  std::string path = dir / "camera.jpg";
  image_testing::WriteFile(path, Encode(Halves(), ".jpg"));
  WriteExif(path, [](Exiv2::ExifData& e) {
    e["Exif.Image.Make"] = "Canon";
    e["Exif.Image.Model"] = "Canon EOS 5D";
    e["Exif.Image.ImageDescription"] = "Harbour at dawn";
    e["Exif.Image.Software"] = "darktable 4.2";
    e["Exif.Photo.DateTimeOriginal"] = "2023:07:14 06:12:30";
    e["Exif.Photo.ExposureTime"] = Exiv2::URational(1, 250);
    e["Exif.Photo.FNumber"] = Exiv2::URational(28, 10);
    e["Exif.Photo.ISOSpeedRatings"] = static_cast<uint16_t>(400);
    e["Exif.GPSInfo.GPSLatitudeRef"] = "S";
    e["Exif.GPSInfo.GPSLongitudeRef"] = "E";
    Exiv2::URationalValue lat, lon;
    lat.read("33/1 51/1 3546/100");  // 33° 51' 35.46" S: Sydney
    lon.read("151/1 12/1 3060/100");
    e.add(Exiv2::ExifKey("Exif.GPSInfo.GPSLatitude"), &lat);
    e.add(Exiv2::ExifKey("Exif.GPSInfo.GPSLongitude"), &lon);
  });
  auto d = DecodeImageFile(path, MediaLimits{});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const Json& m = d->metadata;
  EXPECT_EQ(m.value("make", ""), "Canon");
  EXPECT_EQ(m.value("model", ""), "Canon EOS 5D");
  EXPECT_EQ(m.value("description", ""), "Harbour at dawn");
  EXPECT_EQ(m.value("software", ""), "darktable 4.2");
  EXPECT_EQ(m.value("datetime_original", ""), "2023:07:14 06:12:30");
  EXPECT_DOUBLE_EQ(m.value("exposure_time", 0.0), 1.0 / 250);
  EXPECT_DOUBLE_EQ(m.value("f_number", 0.0), 2.8);
  EXPECT_EQ(m.value("iso", 0), 400);
  EXPECT_NEAR(m.value("gps_latitude", 0.0), -(33 + 51 / 60.0 + 35.46 / 3600), 1e-9);
  EXPECT_NEAR(m.value("gps_longitude", 0.0), 151 + 12 / 60.0 + 30.6 / 3600, 1e-9);
  ExpectHalves(*d);
}

// A PNG that is only a signature and an IHDR declaring w × h (no pixels).
std::string PngHeaderOnly(uint32_t w, uint32_t h) {
  std::string s = "\x89PNG\r\n\x1a\n";
  auto be32 = [&](uint32_t v) {
    for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  be32(13);
  s += "IHDR";
  be32(w);
  be32(h);
  s += std::string("\x08\x02\x00\x00\x00", 5);
  be32(0);  // CRC: never read, the size is refused first
  return s;
}

TEST(DecodeImage, DeclaredPixelsOverTheBoundAreRefusedUnread) {
  for (uint32_t side : {20000u, 100000u}) {
    auto d = DecodeImageBytes(PngHeaderOnly(side, side), MediaLimits{});
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), StatusCode::kValidation);
    EXPECT_NE(d.status().message().find("max_pixels"), std::string::npos) << d.status().message();
    EXPECT_NE(d.status().message().find(std::to_string(side)), std::string::npos) << d.status().message();
  }
  // The bound is the caller's: a normal image over a small bound is refused too.
  MediaLimits tight;
  tight.max_pixels = 1000;
  auto d = DecodeImageBytes(Encode(Halves(), ".jpg"), tight);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("1000"), std::string::npos) << d.status().message();
  EXPECT_TRUE(DecodeImageBytes(Encode(Halves(), ".jpg"), MediaLimits{}).ok());
}

TEST(DecodeImage, ContentIsSniffedNotNamed) {
  TempDir dir;
  image_testing::WriteFile(dir / "photo.png", "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n");
  image_testing::WriteFile(dir / "photo.jpg", "just some text pretending to be a JPEG\n");
  for (const char* name : {"photo.png", "photo.jpg"}) {
    auto d = DecodeImageFile(dir / name, MediaLimits{});
    ASSERT_FALSE(d.ok()) << name;
    EXPECT_EQ(d.status().code(), StatusCode::kValidation);
    EXPECT_NE(d.status().message().find("not an image"), std::string::npos) << d.status().message();
  }
  auto empty = DecodeImageBytes("", MediaLimits{});
  EXPECT_EQ(empty.status().code(), StatusCode::kValidation);
  // A JPEG named .png decodes as the JPEG it is.
  image_testing::WriteFile(dir / "really_jpeg.png", Encode(Halves(), ".jpg"));
  auto j = DecodeImageFile(dir / "really_jpeg.png", MediaLimits{});
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ(j->format, "jpeg");
}

TEST(DecodeImage, TruncatedFilesAreInvalid) {
  cv::Mat m(120, 160, CV_8UC3);
  cv::randu(m, 0, 255);
  for (const char* ext : {".jpg", ".png"}) {
    std::string full = Encode(m, ext);
    auto d = DecodeImageBytes(std::string_view(full).substr(0, full.size() / 2), MediaLimits{});
    ASSERT_FALSE(d.ok()) << ext;
    EXPECT_EQ(d.status().code(), StatusCode::kValidation) << ext;
    EXPECT_NE(d.status().message().find("corrupt"), std::string::npos) << d.status().message();
  }
}

// Cut and damaged copies of valid files of every format end as a decoded
// image or a validation error, never a crash (run under ASan in CI).
TEST(DecodeImage, DamagedFilesNeverCrash) {
  cv::Mat m(48, 64, CV_8UC3);
  cv::randu(m, 0, 255);
  std::vector<std::string> files;
  for (const char* ext : {".png", ".jpg", ".webp", ".tiff", ".bmp"}) files.push_back(Encode(m, ext));
  files.push_back(std::string("GIF89a\x40\x00\x30\x00\xF7\x00\x00", 13));  // a screen descriptor, then nothing
  uint32_t seed = 12345;
  auto next = [&] { return seed = seed * 1664525u + 1013904223u; };
  for (const std::string& f : files) {
    for (size_t cut : {size_t{4}, size_t{12}, size_t{30}, f.size() / 3, f.size() - 1}) {
      auto d = DecodeImageBytes(std::string_view(f).substr(0, std::min(cut, f.size())), MediaLimits{});
      if (!d.ok()) {
        EXPECT_EQ(d.status().code(), StatusCode::kValidation) << d.status().message();
      }
    }
    for (int round = 0; round < 12; ++round) {
      std::string bad = f;
      for (int k = 0; k < 8; ++k) bad[next() % bad.size()] = static_cast<char>(next() & 0xFF);
      auto d = DecodeImageBytes(bad, MediaLimits{});
      if (!d.ok()) {
        EXPECT_EQ(d.status().code(), StatusCode::kValidation) << d.status().message();
      } else {
        EXPECT_EQ(d->bgr.type(), CV_8UC3);
      }
    }
  }
}

TEST(EncodeThumbnail, FitsTheBoxKeepsAspectNeverUpscales) {
  cv::Mat m(480, 640, CV_8UC3, cv::Scalar(40, 120, 200));
  auto t = EncodeThumbnail(m, 320);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(SniffImageFormat(*t), "jpeg");
  auto d = DecodeImageBytes(*t, MediaLimits{});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->width, 320);
  EXPECT_EQ(d->height, 240);
  EXPECT_TRUE(Near(d->bgr, 100, 100, {40, 120, 200}, 6));

  auto small = DecodeImageBytes(*EncodeThumbnail(cv::Mat(10, 20, CV_8UC3, cv::Scalar(0)), 320), MediaLimits{});
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->width, 20);
  EXPECT_EQ(small->height, 10);

  auto tall = DecodeImageBytes(*EncodeThumbnail(cv::Mat(1000, 10, CV_8UC3, cv::Scalar(0)), 100), MediaLimits{});
  ASSERT_TRUE(tall.ok());
  EXPECT_EQ(tall->height, 100);
  EXPECT_EQ(tall->width, 1);
  EXPECT_FALSE(EncodeThumbnail(cv::Mat(), 320).ok());
}

}  // namespace
}  // namespace strata::media
