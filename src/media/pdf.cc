#include "media/pdf.h"

#include <poppler/cpp/poppler-document.h>
#include <poppler/cpp/poppler-global.h>
#include <poppler/cpp/poppler-image.h>
#include <poppler/cpp/poppler-page-renderer.h>
#include <poppler/cpp/poppler-page.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <mutex>

#include <opencv2/imgproc.hpp>

namespace strata::media {

namespace {

constexpr const char* kLoc = "inputs.pdf";

// Poppler prints syntax errors of damaged files to stderr; the statuses
// below say what went wrong instead.
void SilencePoppler() {
  static std::once_flag once;
  std::call_once(once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

// PDF readers accept the header anywhere in the first KiB (PDF 32000-1,
// annex H.3, note 13); Poppler does too.
bool HasPdfHeader(std::string_view head) { return head.substr(0, 1024).find("%PDF-") != std::string_view::npos; }

std::string Utf8(const poppler::ustring& u) {
  poppler::byte_array b = u.to_utf8();
  return std::string(b.begin(), b.end());
}

bool IsBoldFont(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* k : {"bold", "black", "heavy", "semibold", "demi"}) {
    if (name.find(k) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

PdfDocument::PdfDocument(std::unique_ptr<poppler::document> doc, std::string bytes, const MediaLimits& limits)
    : bytes_(std::move(bytes)), doc_(std::move(doc)), limits_(limits), pages_(doc_->pages()) {}

PdfDocument::~PdfDocument() = default;

Result<std::unique_ptr<PdfDocument>> PdfDocument::Open(const std::string& path, const MediaLimits& limits) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Invalid(kLoc, "the PDF file cannot be read", "unreadable");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return Load(std::move(bytes), limits);
}

Result<std::unique_ptr<PdfDocument>> PdfDocument::OpenBytes(std::string_view bytes, const MediaLimits& limits) {
  return Load(std::string(bytes), limits);
}

Result<std::unique_ptr<PdfDocument>> PdfDocument::Load(std::string bytes, const MediaLimits& limits) {
  SilencePoppler();
  if (bytes.empty()) return Status::Invalid(kLoc, "the PDF file is empty (0 bytes)", "empty");
  if (!HasPdfHeader(bytes)) {
    return Status::Invalid(kLoc, "not a PDF: the file has no %PDF- header in its first 1024 bytes", "invalid_media");
  }
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return Status::Invalid(kLoc, "the PDF is over 2 GiB, more than Poppler reads from memory", "too_large");
  }
  std::unique_ptr<poppler::document> doc(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (doc == nullptr) {
    return Status::Invalid(kLoc, "the PDF is truncated or corrupt: Poppler cannot read its structure (xref/trailer)",
                           "invalid_media");
  }
  if (doc->is_locked()) {
    return Status::Invalid(kLoc, "the PDF is encrypted with a user password; Strata cannot open it without one",
                           "encrypted");
  }
  const int pages = doc->pages();
  if (pages <= 0) return Status::Invalid(kLoc, "the PDF has no page (truncated or corrupt)", "invalid_media");
  if (pages > limits.max_pages) {
    return Status::Invalid(kLoc,
                           "the PDF has " + std::to_string(pages) + " pages, more than the limit of " +
                               std::to_string(limits.max_pages) + " (max_pages)",
                           "too_large");
  }
  return std::unique_ptr<PdfDocument>(new PdfDocument(std::move(doc), std::move(bytes), limits));
}

Result<LayoutPage> PdfDocument::ReadPage(int index) const {
  std::unique_ptr<poppler::page> p(doc_->create_page(index));
  if (p == nullptr) {
    return Status::Invalid(kLoc, "page " + std::to_string(index + 1) + " of the PDF cannot be read", "invalid_media");
  }
  LayoutPage page;
  poppler::rectf r = p->page_rect(poppler::crop_box);
  page.width = r.width();
  page.height = r.height();
  // Poppler reports text of a page turned by /Rotate in the turned frame.
  if (p->orientation() == poppler::page::landscape || p->orientation() == poppler::page::seascape) {
    std::swap(page.width, page.height);
  }
  if (!(page.width > 0 && page.height > 0) || !std::isfinite(page.width) || !std::isfinite(page.height)) {
    return Status::Invalid(kLoc, "page " + std::to_string(index + 1) + " of the PDF has no valid size",
                           "invalid_media");
  }
  for (auto& box : p->text_list(poppler::page::text_list_include_font)) {
    LayoutWord w;
    w.text = Utf8(box.text());
    poppler::rectf b = box.bbox();
    w.box = {b.left(), b.top(), b.right(), b.bottom()};
    w.font_size = box.has_font_info() ? box.get_font_size() : b.height();
    if (!(w.font_size > 0) || !std::isfinite(w.font_size)) w.font_size = b.height();
    w.bold = box.has_font_info() && IsBoldFont(box.get_font_name());
    w.space_after = box.has_space_after();
    page.words.push_back(std::move(w));
  }
  return page;
}

Result<cv::Mat> PdfDocument::Render(int index, double dpi) const {
  std::unique_ptr<poppler::page> p(doc_->create_page(index));
  if (p == nullptr) {
    return Status::Invalid(kLoc, "page " + std::to_string(index + 1) + " of the PDF cannot be read", "invalid_media");
  }
  poppler::rectf r = p->page_rect(poppler::crop_box);
  // Never allocate more than max_pixels: a page declared a mile wide renders
  // at a lower DPI instead.
  auto pixels = [&](double d) { return std::ceil(r.width() / 72 * d) * std::ceil(r.height() / 72 * d); };
  const double cap = static_cast<double>(limits_.max_pixels);
  if (pixels(dpi) > cap) dpi *= std::sqrt(cap / pixels(dpi));
  while (pixels(dpi) > cap && dpi > 1) dpi *= 0.99;  // the rounding up of both sides
  poppler::page_renderer renderer;
  renderer.set_render_hint(poppler::page_renderer::antialiasing, true);
  renderer.set_render_hint(poppler::page_renderer::text_antialiasing, true);
  renderer.set_image_format(poppler::image::format_bgr24);
  poppler::image img = renderer.render_page(p.get(), dpi, dpi);
  if (!img.is_valid() || img.width() <= 0 || img.height() <= 0) {
    return Status::Invalid(kLoc, "page " + std::to_string(index + 1) + " of the PDF cannot be rendered",
                           "invalid_media");
  }
  cv::Mat view(img.height(), img.width(), CV_8UC3, const_cast<char*>(img.const_data()),
               static_cast<size_t>(img.bytes_per_row()));
  return view.clone();
}

std::vector<LayoutWord> WordsFromOcr(const OcrResult& ocr, double dpi) {
  const double scale = 72.0 / dpi;
  std::vector<LayoutWord> out;
  for (const auto& w : ocr.words) {
    LayoutWord l;
    l.text = w.text;
    l.box = {w.box.x * scale, w.box.y * scale, (w.box.x + w.box.width) * scale, (w.box.y + w.box.height) * scale};
    l.confidence = std::clamp(w.confidence, 0.0f, 1.0f);
    out.push_back(std::move(l));
  }
  // A word's box is as tall as its letters ("was" is shorter than "July"):
  // the font size is taken as the height of its line's words together, from
  // the highest ascender to the lowest descender, about one em.
  auto centre = [](const LayoutWord& w) { return (w.box.y1 + w.box.y2) / 2; };
  for (auto& l : out) {
    double top = l.box.y1, bottom = l.box.y2;
    for (const auto& o : out) {
      bool same_line = o.box.y1 <= centre(l) && centre(l) <= o.box.y2 && l.box.y1 <= centre(o) && centre(o) <= l.box.y2;
      if (same_line) {
        top = std::min(top, o.box.y1);
        bottom = std::max(bottom, o.box.y2);
      }
    }
    l.font_size = bottom - top;
  }
  return out;
}

}  // namespace strata::media
