#include "extract/models/language_id.h"

#include <fasttext/fasttext.h>

#include <algorithm>
#include <exception>
#include <sstream>

namespace strata::extract {
namespace {

constexpr std::string_view kLabelPrefix = "__label__";

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '\0';
}

// What fastText reads: one line (it stops at the first newline), so newlines
// become spaces and the line gets its terminating newline; at most
// kMaxInputBytes, cut before a UTF-8 continuation byte so no character is split.
std::string PrepareLine(std::string_view text) {
  if (text.size() > LanguageId::kMaxInputBytes) {
    size_t end = LanguageId::kMaxInputBytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    text = text.substr(0, end);
  }
  std::string line(text);
  for (char& c : line) {
    if (c == '\n' || c == '\r' || c == '\0') c = ' ';
  }
  line.push_back('\n');
  return line;
}

}  // namespace

LanguageId::LanguageId() : model_(std::make_unique<fasttext::FastText>()) {}
LanguageId::~LanguageId() = default;

Result<std::unique_ptr<LanguageId>> LanguageId::Load(const std::string& path) {
  std::unique_ptr<LanguageId> id(new LanguageId());
  try {
    id->model_->loadModel(path);  // throws std::invalid_argument on a bad or missing file
  } catch (const std::exception& e) {
    return Status::Unavailable("cannot load language-id model " + path + ": " + e.what());
  }
  if (id->model_->getArgs().model != fasttext::model_name::sup) {
    return Status::Internal(path + " is a fastText word-vector model, not a classifier");
  }
  return id;
}

std::vector<LanguageId::Detection> LanguageId::DetectTopK(std::string_view text, int k,
                                                          float min_score) const {
  std::vector<Detection> out;
  // fastText appends an end-of-sentence token to every line, so it would name a
  // language even for an empty one: answer "none" for text without a word.
  bool any_word = false;
  for (size_t i = 0; i < text.size() && i < kMaxInputBytes && !any_word; ++i) {
    any_word = !IsSpace(text[i]);
  }
  if (!any_word || k <= 0) return out;
  std::istringstream in(PrepareLine(text));
  std::vector<std::pair<fasttext::real, std::string>> predictions;
  try {
    model_->predictLine(in, predictions, k, min_score);
  } catch (const std::exception&) {
    return out;  // nothing in fastText's predict path throws for a loaded model
  }
  for (auto& [prob, label] : predictions) {
    std::string_view code = label;
    if (code.substr(0, kLabelPrefix.size()) == kLabelPrefix) code.remove_prefix(kLabelPrefix.size());
    out.push_back({std::string(code), std::min(1.0f, static_cast<float>(prob))});
  }
  return out;
}

LanguageId::Detection LanguageId::Detect(std::string_view text) const {
  auto top = DetectTopK(text, 1);
  return top.empty() ? Detection{} : std::move(top.front());
}

}  // namespace strata::extract
