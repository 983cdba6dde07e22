#include "extract/visual_description.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace strata::extract {

namespace {

// Scores to 4 decimals: enough to sort and filter by, short in the JSON.
double Round4(double v) { return std::round(v * 10000.0) / 10000.0; }

// Plurals of the COCO labels that do not just take "s".
std::string Plural(const std::string& label) {
  static const std::map<std::string, std::string> kIrregular = {
      {"person", "people"},   {"mouse", "mice"},   {"knife", "knives"},  {"sheep", "sheep"},
      {"skis", "pairs of skis"}, {"scissors", "pairs of scissors"}, {"bus", "buses"},
      {"wine glass", "wine glasses"}, {"bench", "benches"}, {"sandwich", "sandwiches"},
      {"couch", "couches"}, {"toothbrush", "toothbrushes"}, {"skateboard", "skateboards"}};
  if (auto it = kIrregular.find(label); it != kIrregular.end()) return it->second;
  return label + "s";
}

std::string Singular(const std::string& label) {
  if (label == "skis") return "a pair of skis";
  if (label == "scissors") return "a pair of scissors";
  const char c = label.empty() ? 'x' : label[0];
  const bool vowel = c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
  return (vowel ? "an " : "a ") + label;
}

std::string Counted(const std::string& label, int n) {
  static const char* kNumbers[] = {"", "", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"};
  if (n == 1) return Singular(label);
  return (n <= 10 ? std::string(kNumbers[n]) : "many") + " " + Plural(label);
}

}  // namespace

Json ObjectsJson(const std::vector<Detection>& detections) {
  Json list = Json::array();
  for (const auto& d : detections) {
    list.push_back({{"label", d.label},
                    {"score", Round4(d.score)},
                    {"bbox", {std::lround(d.box.x), std::lround(d.box.y), std::lround(d.box.x + d.box.width),
                              std::lround(d.box.y + d.box.height)}}});
  }
  return list;
}

Json FacesJson(const std::vector<DetectedFace>& faces, int width, int height) {
  Json list = Json::array();
  for (const auto& f : faces) {
    // The detector's box may reach past a face cut by the edge; the field
    // holds the visible part.
    auto clip = [](float v, int hi) { return std::lround(std::clamp<double>(v, 0, hi)); };
    list.push_back({{"bbox", {clip(f.x1, width), clip(f.y1, height), clip(f.x2, width), clip(f.y2, height)}},
                    {"score", Round4(f.score)}});
  }
  return list;
}

std::string ObjectCaption(const std::vector<Detection>& detections, const std::string& lead) {
  std::vector<std::pair<std::string, int>> counts;  // first-seen (strongest) order
  for (const auto& d : detections) {
    auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == d.label; });
    if (it == counts.end()) {
      counts.emplace_back(d.label, 1);
    } else {
      ++it->second;
    }
  }
  if (counts.empty()) return "";
  std::string out = lead;
  for (size_t i = 0; i < counts.size(); ++i) {
    out += i == 0 ? " " : i + 1 == counts.size() ? " and " : ", ";
    out += Counted(counts[i].first, counts[i].second);
  }
  return out + ".";
}

std::string DescriptionText(const std::string& caption, const std::string& ocr_text) {
  if (caption.empty()) return ocr_text;
  if (ocr_text.empty()) return caption;
  return caption + "\n" + ocr_text;
}

}  // namespace strata::extract
