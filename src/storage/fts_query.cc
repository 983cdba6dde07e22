#include "storage/fts_query.h"

#include <vector>

#include "filter/filter.h"

namespace strata::storage {

const std::set<std::string>& EnglishStopWords() {
  static const std::set<std::string> kWords = {
      "a",   "an",    "and",  "are",   "as",    "at",   "be",   "but", "by",  "for",  "if",
      "in",  "into",  "is",   "it",    "no",    "not",  "of",   "on",  "or",  "such", "that",
      "the", "their", "then", "there", "these", "they", "this", "to",  "was", "will", "with"};
  return kWords;
}

std::string FtsMatchAny(const std::string& text) {
  std::vector<std::string> words, stop;
  std::set<std::string> seen;
  for (const auto& t : filter::TextTokens(text)) {
    if (!seen.insert(t).second) continue;
    (EnglishStopWords().count(t) ? stop : words).push_back(t);
  }
  if (words.empty()) words = std::move(stop);
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += " OR ";
    out += '"' + w + '"';
  }
  return out;
}

}  // namespace strata::storage
