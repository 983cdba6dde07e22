// OCR: text rendered at test time with PIL in DejaVu Sans at several sizes,
// from small (12 px) to large, is read back with at least 95% word accuracy
// (matched words / reference words); word boxes are in the caller's pixels;
// a blank image reads as nothing.
#include "media/ocr.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "media/image_test_util.h"

namespace strata::media {
namespace {

using image_testing::TempDir;

constexpr const char* kReference =
    "The quick brown fox jumps over the lazy dog near the river bank. "
    "Warehouse inventory lists forty seven crates of green apples and twelve barrels of cider. "
    "Invoice number 4821 is due on Friday morning before noon.";

// Lower-case words with the punctuation around them removed.
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) {
    std::string clean;
    for (char c : w) {
      if (std::isalnum(static_cast<unsigned char>(c))) clean += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (!clean.empty()) out.push_back(clean);
  }
  return out;
}

// Matched reference words (each OCR word matches at most one) / reference words.
double WordAccuracy(const std::string& reference, const std::string& ocr) {
  std::map<std::string, int> seen;
  for (const auto& w : Words(ocr)) ++seen[w];
  auto ref = Words(reference);
  int matched = 0;
  for (const auto& w : ref) {
    if (seen[w] > 0) {
      --seen[w];
      ++matched;
    }
  }
  return ref.empty() ? 0 : static_cast<double>(matched) / ref.size();
}

std::unique_ptr<OcrEngine> EngineOrNull() {
  auto e = OcrEngine::Create("eng");
  return e.ok() ? std::move(e).value() : nullptr;
}

class OcrTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = EngineOrNull();
    if (!engine_) GTEST_SKIP() << "Tesseract English data is not installed (tesseract-ocr-eng)";
    if (image_testing::PythonWithPil().empty()) GTEST_SKIP() << "python3 with PIL (python3-pil) is not installed";
  }
  // Renders kReference wrapped at ~40 characters a line, at `px`, dark on
  // light (or light on dark), into dir/<name>.png.
  cv::Mat Render(int px, bool inverted = false) {
    std::ostringstream script;
    script << "import sys, textwrap\nfrom PIL import Image, ImageDraw, ImageFont\n"
           << "text = '''" << kReference << "'''\n"
           << "font = ImageFont.truetype('DejaVuSans.ttf', " << px << ")\n"
           << "lines = textwrap.wrap(text, 40)\n"
           << "w = max(int(font.getlength(l)) for l in lines) + 2 * " << px << "\n"
           << "h = int(len(lines) * " << px << " * 1.5) + 2 * " << px << "\n"
           << "bg, fg = ((20, 20, 40), (235, 235, 220)) if " << (inverted ? "True" : "False")
           << " else ((250, 250, 245), (15, 15, 15))\n"
           << "img = Image.new('RGB', (w, h), bg)\n"
           << "d = ImageDraw.Draw(img)\n"
           << "for i, l in enumerate(lines):\n"
           << "    d.text((" << px << ", " << px << " + i * " << px << " * 1.5), l, font=font, fill=fg)\n"
           << "img.save(sys.argv[1] + '/text.png')\n";
    EXPECT_TRUE(image_testing::RunPython(script.str(), dir_.path()));
    return cv::imread(dir_ / "text.png", cv::IMREAD_COLOR);
  }

  TempDir dir_;
  std::unique_ptr<OcrEngine> engine_;
};

TEST_F(OcrTest, RenderedTextAtSeveralSizesReadsBackAtLeast95Percent) {
  for (int px : {12, 16, 24, 48}) {
    cv::Mat img = Render(px);
    ASSERT_FALSE(img.empty());
    auto r = engine_->Recognize(img);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    double acc = WordAccuracy(kReference, r->text);
    EXPECT_GE(acc, 0.95) << px << " px: accuracy " << acc << "\n" << r->text;
    EXPECT_GT(r->mean_confidence, 0.5) << px << " px";
    EXPECT_GE(r->words.size(), Words(kReference).size() * 9 / 10) << px << " px";
  }
}

TEST_F(OcrTest, LightTextOnDarkAndGrayInput) {
  cv::Mat img = Render(20, /*inverted=*/true);
  ASSERT_FALSE(img.empty());
  cv::Mat gray;
  cv::cvtColor(img, gray, cv::COLOR_BGR2GRAY);
  auto r = engine_->Recognize(gray);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  double acc = WordAccuracy(kReference, r->text);
  EXPECT_GE(acc, 0.95) << "accuracy " << acc << "\n" << r->text;
}

// Text over a ground whose brightness varies more than the text's contrast
// (a photo's sky, a shaded page), where a global threshold fails.
TEST_F(OcrTest, TextOverAGradientGround) {
  cv::Mat img = Render(16);
  ASSERT_FALSE(img.empty());
  cv::Mat ground(img.size(), CV_8UC3);
  for (int x = 0; x < img.cols; ++x) ground.col(x).setTo(cv::Scalar::all(60 + 190.0 * x / img.cols));
  cv::Mat dark;
  cv::cvtColor(img, dark, cv::COLOR_BGR2GRAY);
  cv::Mat out = ground.clone();
  for (int y = 0; y < img.rows; ++y) {
    for (int x = 0; x < img.cols; ++x) {
      // glyph pixels darken the ground by up to 50 levels
      double ink = (255 - dark.at<uint8_t>(y, x)) / 255.0;
      for (int c = 0; c < 3; ++c) out.at<cv::Vec3b>(y, x)[c] = cv::saturate_cast<uint8_t>(ground.at<cv::Vec3b>(y, x)[c] - 50 * ink);
    }
  }
  auto r = engine_->Recognize(out);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  double acc = WordAccuracy(kReference, r->text);
  EXPECT_GE(acc, 0.9) << "accuracy " << acc << "\n" << r->text;
}

TEST_F(OcrTest, WordBoxesAreInTheCallersPixels) {
  // Small text is scaled up inside; the boxes must come back scaled down.
  cv::Mat img = Render(14);
  ASSERT_FALSE(img.empty());
  auto r = engine_->Recognize(img);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_FALSE(r->words.empty());
  const cv::Rect frame(0, 0, img.cols, img.rows);
  for (const auto& w : r->words) {
    EXPECT_EQ((w.box & frame), w.box) << w.text;
    EXPECT_LE(w.box.height, 14 * 2) << w.text << " box taller than the font";
    EXPECT_GE(w.box.height, 5) << w.text;
  }
  // The first word is drawn at (14, 14): its box starts there.
  EXPECT_NEAR(r->words[0].box.x, 14, 4);
  EXPECT_NEAR(r->words[0].box.y, 14, 6);
}

TEST(Ocr, ConfidentTextKeepsSureWordsAndTheirLines) {
  OcrResult r;
  auto word = [&](const char* t, float c, int line) {
    OcrWord w;
    w.text = t;
    w.confidence = c;
    w.line = line;
    r.words.push_back(w);
  };
  word("EXIT", 0.96f, 0);
  word("ee", 0.45f, 0);      // fur read as letters: unsure
  word("~-,@", 0.9f, 0);     // sure, but no letters
  word("e", 0.85f, 0);       // one letter
  word("Gate", 0.93f, 1);
  word("12", 0.9f, 1);
  EXPECT_EQ(ConfidentText(r), "EXIT\nGate 12");
  EXPECT_EQ(ConfidentText(r, 0.95f), "EXIT");
  EXPECT_EQ(ConfidentText(OcrResult{}), "");
}

TEST(Ocr, BlankImageReadsAsNothing) {
  auto engine = EngineOrNull();
  if (!engine) GTEST_SKIP() << "Tesseract English data is not installed (tesseract-ocr-eng)";
  auto r = engine->Recognize(cv::Mat(200, 300, CV_8UC3, cv::Scalar(255, 255, 255)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->text, "");
  EXPECT_TRUE(r->words.empty());
  EXPECT_EQ(r->mean_confidence, 0);
  auto empty = engine->Recognize(cv::Mat());
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->text, "");
}

TEST(Ocr, UnknownLanguageIsUnavailableNotACrash) {
  auto e = OcrEngine::Create("zz_no_such_language");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(e.status().message().find("zz_no_such_language.traineddata"), std::string::npos);
  EXPECT_FALSE(OcrEngine::Create("../etc").ok());
}

}  // namespace
}  // namespace strata::media
