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
  int line = 0;          // index of its text line, in reading order
};

// Measured on opencv-doc's photos (a baboon, fruit, a football match) and
// rendered text: words of real text score 0.95-0.97, what Tesseract reads in
// fur and grass mostly below 0.5 and never above 0.85 with two letters or
// digits.
inline constexpr float kSceneTextConfidence = 0.8f;

struct OcrResult {
  std::string text;  // lines joined by '\n', paragraphs by a blank line
  std::vector<OcrWord> words;
  float mean_confidence = 0;  // 0..1 over the words; 0 when none
};

// The words of `r` read with at least `min_confidence` that hold two ASCII
// letters or digits, one text line per line: the text of a photo or a video
// frame worth keeping. On such pictures Tesseract also "reads" foliage, fur
// and grass as runs of symbols; a scanned page keeps r.text whole.
std::string ConfidentText(const OcrResult& r, float min_confidence = kSceneTextConfidence);

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
