// Optical character recognition with Tesseract 5 (Debian's tesseract-ocr-eng
// language data). One engine per thread: Tesseract's API object is not
// thread-safe, and creating one costs ~100 ms, so extractor runs keep theirs.
#pragma once

#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace strata::media {

struct OcrWord {
  std::string text;
  float confidence = 0;  // 0..1
  cv::Rect box;          // in the pixels of the image given to Recognize
};

struct OcrResult {
  std::string text;  // lines joined by '\n', paragraphs by a blank line
  std::vector<OcrWord> words;
  float mean_confidence = 0;  // 0..1 over the words; 0 when none
};

class OcrEngine {
 public:
  virtual ~OcrEngine() = default;
  // Unavailable when Tesseract or its language data is missing.
  static Result<std::unique_ptr<OcrEngine>> Create(const std::string& language = "eng");
  // `image`: 8-bit gray or BGR. Small text is scaled up internally; boxes are
  // reported in the coordinates of `image`.
  virtual Result<OcrResult> Recognize(const cv::Mat& image) = 0;
};

}  // namespace strata::media
