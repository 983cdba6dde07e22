// PDF access with Poppler's C++ API (poppler-cpp): open a file, read a page's
// text layer as words with their boxes and fonts, render a page to pixels.
// Layout analysis (words -> lines -> blocks) is in pdf_layout.h.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "media/limits.h"
#include "media/ocr.h"
#include "media/pdf_layout.h"

namespace poppler {
class document;
}

namespace strata::media {

class PdfDocument {
 public:
  ~PdfDocument();
  PdfDocument(const PdfDocument&) = delete;
  PdfDocument& operator=(const PdfDocument&) = delete;

  // InvalidArgument-style validation errors (location "inputs.pdf") for a file
  // that is not a PDF (no "%PDF-" header in its first KiB), is truncated or
  // corrupt beyond Poppler's repair, is password protected, has no page, or
  // has more pages than limits.max_pages. Poppler's own error output is
  // silenced: these statuses say what went wrong.
  static Result<std::unique_ptr<PdfDocument>> Open(const std::string& path, const MediaLimits& limits);
  static Result<std::unique_ptr<PdfDocument>> OpenBytes(std::string_view bytes, const MediaLimits& limits);

  int page_count() const { return pages_; }

  // The page's size in points (its crop box, rotation applied) and its text
  // layer as words, in points with a top-left origin. No words when the page
  // has no text layer (a scan). `index` is 0-based.
  Result<LayoutPage> ReadPage(int index) const;

  // The page as 8-bit BGR pixels at `dpi` (anti-aliased, white paper). The DPI
  // is lowered when the page would have more than limits.max_pixels pixels.
  Result<cv::Mat> Render(int index, double dpi) const;

 private:
  PdfDocument(std::unique_ptr<poppler::document> doc, std::string bytes, const MediaLimits& limits);
  static Result<std::unique_ptr<PdfDocument>> Load(std::string bytes, const MediaLimits& limits);

  std::string bytes_;  // load_from_raw_data reads from this buffer for the document's life
  std::unique_ptr<poppler::document> doc_;
  MediaLimits limits_;
  int pages_ = 0;
};

// Words of an OCR pass over a page rendered at `dpi`, in points (top-left
// origin), ready for AnalyzeLayout. Font sizes are estimated from the word
// boxes (a line's height is close to the font's size in points).
std::vector<LayoutWord> WordsFromOcr(const OcrResult& ocr, double dpi);

}  // namespace strata::media
