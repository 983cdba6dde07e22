#include "media/ocr.h"

#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <opencv2/imgproc.hpp>

namespace strata::media {

namespace {

// Where <lang>.traineddata lives: TESSDATA_PREFIX (Tesseract 5 reads it as
// the tessdata folder itself; 4.x as its parent, so both are tried), then
// Debian's and the usual source-install paths.
std::string FindTessdata(const std::string& language) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("TESSDATA_PREFIX"); env != nullptr && *env != '\0') {
    dirs.push_back(env);
    dirs.push_back(std::string(env) + "/tessdata");
  }
  for (const char* d : {"/usr/share/tesseract-ocr/5/tessdata", "/usr/share/tesseract-ocr/4.00/tessdata",
                        "/usr/share/tessdata", "/usr/local/share/tessdata"}) {
    dirs.push_back(d);
  }
  std::error_code ec;
  for (const auto& d : dirs) {
    if (std::filesystem::is_regular_file(d + "/" + language + ".traineddata", ec)) return d;
  }
  return "";
}

struct TextLook {
  double glyph_height = 0;  // 0 when nothing looks like a glyph
  bool light_on_dark = false;
};

// The median height of the glyph-sized connected components of the pixels
// that stand out from their surroundings: a stand-in for the text's x-height
// (most lower-case letters are x-height tall; ascenders and capitals pull the
// median up a little); and whether the text is light on a dark ground.
// "Surroundings" is a 31-px median of the image: strokes cover well under half
// of such a window, so the median is the ground itself, even where the
// ground's brightness varies (where a global threshold would split the ground
// rather than the text) and without the halo a local mean leaves around dark
// text. The text's polarity is the side with more pixels far from the ground.
TextLook LookAtText(const cv::Mat& gray) {
  TextLook look;
  constexpr int kStandOut = 12;  // grey levels from the ground
  cv::Mat ground, diff, dark, light;
  cv::medianBlur(gray, ground, 31);
  cv::subtract(gray, ground, diff, cv::noArray(), CV_16S);
  cv::compare(diff, -kStandOut, dark, cv::CMP_LT);
  cv::compare(diff, kStandOut, light, cv::CMP_GT);
  look.light_on_dark = cv::countNonZero(light) > cv::countNonZero(dark);
  const cv::Mat& bin = look.light_on_dark ? light : dark;
  cv::Mat labels, stats, centroids;
  int n = cv::connectedComponentsWithStats(bin, labels, stats, centroids, 8, CV_32S);
  std::vector<int> heights;
  for (int i = 1; i < n; ++i) {
    int w = stats.at<int>(i, cv::CC_STAT_WIDTH), h = stats.at<int>(i, cv::CC_STAT_HEIGHT);
    int area = stats.at<int>(i, cv::CC_STAT_AREA);
    // Glyph-like: a few pixels at least, not a page-wide rule or a photo region.
    if (h >= 3 && area >= 6 && h < gray.rows / 2 && w < gray.cols / 3 && w < 4 * h) heights.push_back(h);
  }
  if (heights.size() < 3) return look;
  std::nth_element(heights.begin(), heights.begin() + heights.size() / 2, heights.end());
  look.glyph_height = heights[heights.size() / 2];
  return look;
}

// Tesseract's LSTM models were trained on text lines of about 30–40 px cap
// height, and its accuracy falls off sharply below an x-height of ~20 px
// (tesseract-ocr docs, "Improving the quality of the output", Rescaling). Small
// text is scaled up so its glyphs measure about this many pixels.
constexpr double kTargetGlyphHeight = 30;
constexpr double kMaxUpscale = 4;
constexpr double kMaxPixelsAfterScaling = 40e6;

class TesseractEngine : public OcrEngine {
 public:
  explicit TesseractEngine(std::unique_ptr<tesseract::TessBaseAPI> api) : api_(std::move(api)) {}
  ~TesseractEngine() override { api_->End(); }

  Result<OcrResult> Recognize(const cv::Mat& image) override {
    if (image.empty()) return OcrResult{};
    cv::Mat gray;
    if (image.channels() == 3) {
      cv::cvtColor(image, gray, cv::COLOR_BGR2GRAY);
    } else if (image.channels() == 4) {
      cv::cvtColor(image, gray, cv::COLOR_BGRA2GRAY);
    } else if (image.channels() == 1) {
      gray = image;
    } else {
      return Status::Invalid("image", "OCR takes a gray or BGR image", "value_error");
    }
    if (gray.depth() != CV_8U) gray.convertTo(gray, CV_8U);
    double scale = 1;
    const TextLook look = LookAtText(gray);
    const double glyph = look.glyph_height;
    if (glyph > 0 && glyph < kTargetGlyphHeight * 0.8) {
      scale = std::min(kMaxUpscale, kTargetGlyphHeight / glyph);
      scale = std::min(scale, std::sqrt(kMaxPixelsAfterScaling / static_cast<double>(gray.total())));
      scale = std::max(scale, 1.0);
    }
    cv::Mat input;
    if (scale > 1.01) {
      cv::resize(gray, input, cv::Size(), scale, scale, cv::INTER_CUBIC);
    } else {
      input = gray.clone();
    }
    // Dark text on a light ground, binarised with a local (adaptive) threshold
    // over a window about a glyph wide. Measured on DejaVu text rendered at
    // 9-16 px over a gradient photo-like ground (word accuracy, Tesseract 5.3):
    //   gray as is 0.27-0.46, upscaled 0.38-0.43, + global Otsu 0.43-0.46,
    //   + adaptive 0.76-0.89;
    // on clean black-on-white text every variant scores 1.0 once small text
    // is upscaled (as is: 0.32-0.41 at 9-10 px). Tesseract's own global Otsu
    // cannot separate text from a ground whose brightness varies more than
    // the text's contrast.
    if (look.light_on_dark) cv::bitwise_not(input, input);
    const int block = std::max(31, static_cast<int>(glyph * scale * 1.5) | 1);
    cv::adaptiveThreshold(input, input, 255, cv::ADAPTIVE_THRESH_GAUSSIAN_C, cv::THRESH_BINARY, block, 10);
    api_->SetImage(input.data, input.cols, input.rows, 1, static_cast<int>(input.step));
    // Rendered and scanned text have no DPI of their own; 300 is what
    // Tesseract's models assume, and it stops the "estimating resolution" guess.
    api_->SetSourceResolution(300);
    if (api_->Recognize(nullptr) != 0) {
      api_->Clear();
      return Status::Internal("Tesseract failed to recognise the image");
    }
    OcrResult out;
    std::unique_ptr<char[]> text(api_->GetUTF8Text());
    if (text) out.text = text.get();
    while (!out.text.empty() && std::isspace(static_cast<unsigned char>(out.text.back()))) out.text.pop_back();
    std::unique_ptr<tesseract::ResultIterator> it(api_->GetIterator());
    double sum = 0;
    int line = -1;
    if (it) {
      do {
        if (it->IsAtBeginningOf(tesseract::RIL_TEXTLINE)) ++line;
        std::unique_ptr<char[]> w(it->GetUTF8Text(tesseract::RIL_WORD));
        if (!w || w[0] == '\0') continue;
        OcrWord word;
        word.text = w.get();
        word.confidence = std::clamp(it->Confidence(tesseract::RIL_WORD) / 100.0f, 0.0f, 1.0f);
        word.line = std::max(line, 0);
        int l = 0, t = 0, r = 0, b = 0;
        if (it->BoundingBox(tesseract::RIL_WORD, &l, &t, &r, &b)) {
          int x1 = static_cast<int>(l / scale), y1 = static_cast<int>(t / scale);
          int x2 = static_cast<int>(std::ceil(r / scale)), y2 = static_cast<int>(std::ceil(b / scale));
          word.box = cv::Rect(x1, y1, std::max(0, x2 - x1), std::max(0, y2 - y1)) & cv::Rect(0, 0, image.cols, image.rows);
        }
        sum += word.confidence;
        out.words.push_back(std::move(word));
      } while (it->Next(tesseract::RIL_WORD));
    }
    if (!out.words.empty()) out.mean_confidence = static_cast<float>(sum / out.words.size());
    api_->Clear();
    return out;
  }

 private:
  std::unique_ptr<tesseract::TessBaseAPI> api_;
};

}  // namespace

std::string ConfidentText(const OcrResult& r, float min_confidence) {
  std::string out;
  int line = -1;
  for (const auto& w : r.words) {
    if (w.confidence < min_confidence) continue;
    if (std::count_if(w.text.begin(), w.text.end(), [](unsigned char c) { return std::isalnum(c); }) < 2) continue;
    if (!out.empty()) out += w.line != line ? '\n' : ' ';
    line = w.line;
    out += w.text;
  }
  return out;
}

Result<std::unique_ptr<OcrEngine>> OcrEngine::Create(const std::string& language) {
  if (language.empty() || language.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+") !=
                              std::string::npos) {
    return Status::Invalid("language", "bad OCR language '" + language + "'", "value_error");
  }
  // Checked first so that a missing language is one clear error rather than
  // Tesseract's own lines on stderr.
  std::string tessdata;
  size_t start = 0;
  while (start <= language.size()) {  // "eng+deu": every part must be there
    size_t plus = language.find('+', start);
    std::string part = language.substr(start, plus == std::string::npos ? std::string::npos : plus - start);
    std::string dir = FindTessdata(part);
    if (dir.empty()) {
      return Status::Unavailable("Tesseract language data '" + part +
                                 ".traineddata' not found (install tesseract-ocr-" + part +
                                 " or set TESSDATA_PREFIX)");
    }
    if (tessdata.empty()) tessdata = dir;
    if (plus == std::string::npos) break;
    start = plus + 1;
  }
  auto api = std::make_unique<tesseract::TessBaseAPI>();
  // Tesseract prints diagnostics ("Estimating resolution", "Empty page!!")
  // to stderr through tprintf; debug_file sends them elsewhere.
  std::vector<std::string> names = {"debug_file"}, values = {"/dev/null"};
  if (api->Init(tessdata.c_str(), language.c_str(), tesseract::OEM_LSTM_ONLY, nullptr, 0, &names, &values, false) != 0) {
    return Status::Unavailable("Tesseract could not load language '" + language + "' from " + tessdata);
  }
  api->SetVariable("debug_file", "/dev/null");
  api->SetPageSegMode(tesseract::PSM_AUTO);
  return std::unique_ptr<OcrEngine>(new TesseractEngine(std::move(api)));
}

}  // namespace strata::media
