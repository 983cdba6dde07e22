// Language identification with fastText's lid.176 model (176 languages, the
// 900 KB quantised .ftz), through libfasttext. Used to tag text features with
// their language and to pick language-specific processing.
//
// Thread-safe: fastText's prediction path is const and keeps its scratch state
// on the stack of each call, so one loaded model serves every thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace fasttext {
class FastText;
}

namespace strata::extract {

class LanguageId {
 public:
  struct Detection {
    std::string language;  // ISO 639 code as the model names it ("en", "fr", "zh"); "" if none
    float score = 0;       // the model's probability, 0..1
  };

  // Only this many leading bytes are read: enough for a confident answer, and
  // it keeps a 10 MB document as cheap as a sentence.
  static constexpr size_t kMaxInputBytes = 1000;

  static Result<std::unique_ptr<LanguageId>> Load(const std::string& path);
  ~LanguageId();
  LanguageId(const LanguageId&) = delete;
  LanguageId& operator=(const LanguageId&) = delete;

  // The most likely language. Text without any word (empty, whitespace only)
  // gives {"", 0}.
  Detection Detect(std::string_view text) const;
  // Up to k languages, most likely first, each above min_score.
  std::vector<Detection> DetectTopK(std::string_view text, int k, float min_score = 0) const;

 private:
  LanguageId();
  std::unique_ptr<fasttext::FastText> model_;
};

}  // namespace strata::extract
