// PDF reading and layout analysis against fixtures written at test time by
// tests/media/make_pdf_fixtures.py (python3-reportlab, python3-pil), which
// also writes the ground truth: each block's text and kind.
#include "media/pdf.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json_util.h"
#include "media/pdf_test_util.h"
#include "media/ocr.h"

namespace strata::media {
namespace {

using pdf_testing::Normalise;

class PdfTest : public pdf_testing::PdfFixtureTest {};

TEST_F(PdfTest, TextLayerBlocksAreExactTypedAndInReadingOrder) {
  auto doc = PdfDocument::Open(Path("report.pdf"), MediaLimits{});
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  ASSERT_EQ((*doc)->page_count(), 2);
  std::vector<LayoutPage> pages;
  for (int i = 0; i < 2; ++i) {
    auto p = (*doc)->ReadPage(i);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    pages.push_back(std::move(*p));
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(pages[i].width, 612, 0.01);
    EXPECT_NEAR(pages[i].height, 792, 0.01);
    auto blocks = AnalyzeLayout(pages[i], {i > 0 ? &pages[i - 1] : nullptr, i < 1 ? &pages[i + 1] : nullptr});
    const Json& want = truth_["report.pdf"][i]["blocks"];
    std::string got_all, want_all;
    for (const auto& b : blocks) got_all += b.text + "\n";
    for (const auto& b : want) want_all += b["text"].get<std::string>() + "\n";
    EXPECT_EQ(Normalise(got_all), Normalise(want_all)) << "page " << i + 1;
    ASSERT_EQ(blocks.size(), want.size()) << "page " << i + 1 << ":\n" << got_all;
    for (size_t k = 0; k < blocks.size(); ++k) {
      SCOPED_TRACE("page " + std::to_string(i + 1) + " block " + std::to_string(k) + ": " + blocks[k].text);
      EXPECT_EQ(blocks[k].object_type, want[k]["object_type"].get<std::string>());
      EXPECT_EQ(Normalise(blocks[k].text), Normalise(want[k]["text"].get<std::string>()));
      EXPECT_GT(blocks[k].confidence, 0.0);
      EXPECT_LE(blocks[k].confidence, 1.0);
      EXPECT_EQ(blocks[k].confidence_tag, ConfidenceTag(blocks[k].confidence));
      // bbox inside the page, top-left origin, not empty
      const LayoutBox& bb = blocks[k].box;
      EXPECT_GE(bb.x1, 0);
      EXPECT_GE(bb.y1, 0);
      EXPECT_LT(bb.x1, bb.x2);
      EXPECT_LT(bb.y1, bb.y2);
      EXPECT_LE(bb.x2, pages[i].width);
      EXPECT_LE(bb.y2, pages[i].height);
    }
    // The layout keeps its structure: the table's rows and cells, one list
    // item a line.
    for (const auto& b : blocks) {
      if (b.object_type == "table") {
        EXPECT_EQ(b.text, want[3]["text"].get<std::string>());
      } else if (b.object_type == "list") {
        EXPECT_EQ(b.text, want[4]["text"].get<std::string>());
      } else if (b.object_type == "footer") {
        EXPECT_GT(b.box.y1, 0.9 * pages[i].height);
      } else if (b.object_type == "header") {
        EXPECT_LT(b.box.y2, 0.2 * pages[i].height);
      }
    }
  }
}

TEST_F(PdfTest, WithoutLayoutDetectionEveryBlockIsAParagraphAndTextIsKept) {
  auto doc = PdfDocument::Open(Path("report.pdf"), MediaLimits{});
  ASSERT_TRUE(doc.ok());
  auto page = (*doc)->ReadPage(0);
  ASSERT_TRUE(page.ok());
  auto blocks = AnalyzeLayout(*page, {}, LayoutOptions{.classify = false});
  std::string all, want;
  for (const auto& b : blocks) {
    EXPECT_EQ(b.object_type, "paragraph");
    all += b.text + " ";
  }
  for (const auto& b : truth_["report.pdf"][0]["blocks"]) want += b["text"].get<std::string>() + " ";
  EXPECT_EQ(Normalise(all), Normalise(want));
}

TEST_F(PdfTest, RendersAPageAtTheAskedDpiAndWithinThePixelBound) {
  auto doc = PdfDocument::Open(Path("report.pdf"), MediaLimits{});
  ASSERT_TRUE(doc.ok());
  auto img = (*doc)->Render(0, 72);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(img->cols, 612);
  EXPECT_EQ(img->rows, 792);
  EXPECT_EQ(img->type(), CV_8UC3);
  double min = 0, max = 0;
  cv::minMaxLoc(img->reshape(1), &min, &max);
  EXPECT_EQ(max, 255);  // white paper
  EXPECT_LT(min, 64);   // and dark text
  MediaLimits small;
  small.max_pixels = 100'000;
  auto capped = PdfDocument::Open(Path("report.pdf"), small);
  ASSERT_TRUE(capped.ok());
  auto low = (*capped)->Render(0, 300);
  ASSERT_TRUE(low.ok());
  EXPECT_LE(static_cast<int64_t>(low->cols) * low->rows, 100'000);
  EXPECT_NEAR(static_cast<double>(low->cols) / low->rows, 612.0 / 792.0, 0.01);
}

TEST_F(PdfTest, BadFilesAreClearValidationErrors) {
  struct Case {
    std::string file, says;
    MediaLimits limits;
  };
  MediaLimits three;
  three.max_pages = 3;
  for (const Case& c : {Case{"truncated.pdf", "truncated or corrupt", {}}, Case{"not_a_pdf.pdf", "not a PDF", {}},
                        Case{"encrypted.pdf", "encrypted", {}}, Case{"five_pages.pdf", "max_pages", three}}) {
    auto doc = PdfDocument::Open(Path(c.file), c.limits);
    ASSERT_FALSE(doc.ok()) << c.file;
    EXPECT_EQ(doc.status().code(), StatusCode::kValidation) << c.file;
    EXPECT_NE(doc.status().ToString().find(c.says), std::string::npos) << c.file << ": " << doc.status().ToString();
  }
  EXPECT_FALSE(PdfDocument::OpenBytes("", MediaLimits{}).ok());
  EXPECT_FALSE(PdfDocument::Open(Path("missing.pdf"), MediaLimits{}).ok());
  auto five = PdfDocument::Open(Path("five_pages.pdf"), MediaLimits{});
  ASSERT_TRUE(five.ok());
  EXPECT_EQ((*five)->page_count(), 5);
}

TEST_F(PdfTest, ScannedPageHasNoTextLayerAndOcrReadsIt) {
  auto doc = PdfDocument::Open(Path("scanned.pdf"), MediaLimits{});
  ASSERT_TRUE(doc.ok());
  auto page = (*doc)->ReadPage(0);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->words.empty());
  auto engine = OcrEngine::Create();
  if (!engine.ok()) GTEST_SKIP() << "no OCR here: " << engine.status().ToString();
  constexpr double kDpi = 300;
  auto img = (*doc)->Render(0, kDpi);
  ASSERT_TRUE(img.ok());
  auto ocr = (*engine)->Recognize(*img);
  ASSERT_TRUE(ocr.ok()) << ocr.status().ToString();
  LayoutPage scanned{page->width, page->height, WordsFromOcr(*ocr, kDpi)};
  auto blocks = AnalyzeLayout(scanned, {});
  ASSERT_FALSE(blocks.empty());
  std::vector<std::string> got;
  for (const auto& b : blocks) {
    EXPECT_GE(b.box.x1, 0);
    EXPECT_LE(b.box.x2, page->width);
    EXPECT_LE(b.box.y2, page->height);
    std::istringstream words(b.text);
    for (std::string w; words >> w;) got.push_back(w);
  }
  std::vector<std::string> want;
  for (const auto& line : truth_["scanned.pdf"]) {
    std::istringstream words(line.get<std::string>());
    for (std::string w; words >> w;) want.push_back(w);
  }
  // Word accuracy: the expected words found in order (longest common
  // subsequence) over the expected count.
  std::vector<std::vector<int>> lcs(want.size() + 1, std::vector<int>(got.size() + 1, 0));
  for (size_t i = 1; i <= want.size(); ++i) {
    for (size_t j = 1; j <= got.size(); ++j) {
      lcs[i][j] = want[i - 1] == got[j - 1] ? lcs[i - 1][j - 1] + 1 : std::max(lcs[i - 1][j], lcs[i][j - 1]);
    }
  }
  EXPECT_GE(lcs[want.size()][got.size()], 0.95 * static_cast<double>(want.size()));
  EXPECT_LE(got.size(), want.size() + 2);
  // The lines, set 1.25 apart, are one paragraph.
  EXPECT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].object_type, "paragraph");
  EXPECT_GT(blocks[0].confidence, 0.5);
}

// Two columns of prose under a full-width title: the left column is read
// before the right one, even where their paragraph gaps line up.
TEST(PdfLayout, TwoColumnsAreReadLeftThenRight) {
  LayoutPage page{612, 792, {}};
  auto word = [&](const std::string& t, double x, double y, double size) {
    page.words.push_back({t, {x, y, x + 6.0 * static_cast<double>(t.size()), y + size}, size, false, true, 1.0f});
    return x + 6.0 * static_cast<double>(t.size()) + 3;  // a space of 0.3 em
  };
  word("Title", 250, 60, 20);
  std::vector<std::string> want = {"Title"};
  for (double column : {72.0, 330.0}) {
    for (int para = 0; para < 2; ++para) {
      std::string text;
      for (int line = 0; line < 3; ++line) {
        double y = 120 + para * 60 + line * 12, x = column;
        for (int w = 0; w < 7; ++w) {
          std::string t = (column < 100 ? "l" : "r") + std::to_string(para) + std::to_string(line) +
                          std::to_string(w) + "x";
          x = word(t, x, y, 10);
          text += (text.empty() ? "" : " ") + t;
        }
      }
      want.push_back(text);
    }
  }
  auto blocks = AnalyzeLayout(page, {});
  std::vector<std::string> texts;
  for (const auto& b : blocks) texts.push_back(b.text);
  ASSERT_EQ(texts, want);
  EXPECT_EQ(blocks[0].object_type, "header");
  for (size_t i = 1; i < blocks.size(); ++i) EXPECT_EQ(blocks[i].object_type, "paragraph");
}

TEST(PdfLayout, ConfidenceTags) {
  EXPECT_EQ(ConfidenceTag(0.95), "A");
  EXPECT_EQ(ConfidenceTag(0.85), "A");
  EXPECT_EQ(ConfidenceTag(0.75), "B");
  EXPECT_EQ(ConfidenceTag(0.5), "C");
  EXPECT_EQ(ConfidenceTag(0.1), "D");
}

}  // namespace
}  // namespace strata::media
