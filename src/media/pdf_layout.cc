#include "media/pdf_layout.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <regex>
#include <set>

namespace strata::media {

namespace {

// The thresholds of the header comment, in em (the font size of the words
// compared) unless said otherwise.
constexpr double kSegmentGapEm = 1.0;      // wider gaps split a line into segments
constexpr double kMarkerGapEm = 3.0;       // a list marker stays with the text after it
constexpr double kParagraphGapEm = 0.6;    // wider vertical gaps end a block
constexpr double kIndentEm = 1.0;          // a first-line indent starts a block
constexpr double kSizeTolerance = 1.15;    // font sizes within 15% are the same
constexpr double kHeaderSizeRatio = 1.15;  // a header is at least 15% larger
constexpr double kEdgeBand = 0.10;         // top/bottom share of the page for headers/footers
constexpr int kMaxTableWordsPerCell = 4;
constexpr double kTableRowGapLines = 2.5;

double Overlap(double a1, double a2, double b1, double b2) { return std::min(a2, b2) - std::max(a1, b1); }

LayoutBox Union(const LayoutBox& a, const LayoutBox& b) {
  return {std::min(a.x1, b.x1), std::min(a.y1, b.y1), std::max(a.x2, b.x2), std::max(a.y2, b.y2)};
}

double SizeOf(const LayoutWord& w) { return w.font_size > 0 ? w.font_size : std::max(1.0, w.box.height()); }

// Number of UTF-8 code points (weights words by their length).
size_t Chars(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool IsListMarker(const std::string& t) {
  static const std::set<std::string> kBullets = {"\u2022", "\u25e6", "\u25aa", "\u25cf", "\u2023", "\u2043",
                                                 "\u2013", "\u2014", "-",      "*",      "\u00b7", "\u25a0"};
  if (kBullets.count(t)) return true;
  // 1. 1) (1) a. a) (a) iv. (iv)
  static const std::regex kEnum(R"(^\(?([0-9]{1,3}|[a-zA-Z]|[ivxIVX]{1,5})[.)]$|^\(([0-9]{1,3}|[a-zA-Z]|[ivxIVX]{1,5})\)$)");
  return std::regex_match(t, kEnum);
}

bool IsPageNumber(std::string t) {
  // Dashes around the number ("- 7 -", "– 7 –") and spaces first: std::regex works on bytes,
  // not on UTF-8 characters.
  for (bool trimmed = true; trimmed;) {
    trimmed = false;
    for (const std::string cut : {" ", "-", "\u2013", "\u2014"}) {
      if (t.size() >= cut.size() && t.compare(0, cut.size(), cut) == 0) {
        t.erase(0, cut.size());
        trimmed = true;
      }
      if (t.size() >= cut.size() && t.compare(t.size() - cut.size(), cut.size(), cut) == 0) {
        t.erase(t.size() - cut.size());
        trimmed = true;
      }
    }
  }
  static const std::regex kPage(R"(^(page\s*)?[0-9]{1,5}(\s*(of|/)\s*[0-9]{1,5})?$)", std::regex::icase);
  return std::regex_match(t, kPage);
}

// Text with digits as '#', lower case, single spaces: lines that differ only
// by a page number compare equal.
std::string Signature(const std::string& t) {
  std::string out;
  for (unsigned char c : t) {
    if (std::isspace(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else if (std::isdigit(c)) {
      if (out.empty() || out.back() != '#') out += '#';
    } else {
      out += static_cast<char>(std::tolower(c));
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

struct Line {
  std::vector<int> words;  // sorted left to right
  LayoutBox box;
  double center = 0, height = 0;
};

struct Segment {
  std::vector<int> words;
  LayoutBox box;
  double font_size = 0;
  bool bold = false;
  bool marker = false;  // starts with a list marker
  double text_x1 = 0;   // left edge of the text after the marker
};

// Words joined as the text layer spaces them (a space where it puts one, or
// where the gap is visibly a space).
std::string JoinWords(const std::vector<LayoutWord>& words, const std::vector<int>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    const LayoutWord& w = words[ids[i]];
    if (i > 0) {
      const LayoutWord& prev = words[ids[i - 1]];
      double gap = w.box.x1 - prev.box.x2;
      if (prev.space_after || gap > 0.2 * std::max(SizeOf(prev), SizeOf(w))) out += ' ';
    }
    out += w.text;
  }
  return out;
}

std::vector<Line> BuildLines(const std::vector<LayoutWord>& words) {
  std::vector<int> order;
  for (int i = 0; i < static_cast<int>(words.size()); ++i) order.push_back(i);
  auto center = [&](int i) { return (words[i].box.y1 + words[i].box.y2) / 2; };
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return center(a) < center(b); });
  std::vector<Line> lines;
  for (int i : order) {
    const LayoutWord& w = words[i];
    double c = center(i), h = std::max(0.1, w.box.height());
    Line* best = nullptr;
    double best_d = 0;
    // Lines are created in centre order: only the last few can still match.
    for (size_t k = lines.size(); k-- > 0 && k + 8 >= lines.size();) {
      double d = std::abs(lines[k].center - c);
      if (d < 0.5 * std::max(lines[k].height, h) && (best == nullptr || d < best_d)) {
        best = &lines[k];
        best_d = d;
      }
    }
    if (best == nullptr) {
      lines.push_back({{i}, w.box, c, h});
      continue;
    }
    size_t n = best->words.size();
    best->center = (best->center * n + c) / (n + 1);
    best->height = std::max(best->height, h);
    best->box = Union(best->box, w.box);
    best->words.push_back(i);
  }
  for (auto& l : lines) {
    std::stable_sort(l.words.begin(), l.words.end(), [&](int a, int b) { return words[a].box.x1 < words[b].box.x1; });
  }
  std::stable_sort(lines.begin(), lines.end(), [](const Line& a, const Line& b) { return a.box.y1 < b.box.y1; });
  return lines;
}

std::vector<Segment> Segments(const std::vector<LayoutWord>& words, const Line& line) {
  std::vector<Segment> segs;
  for (int id : line.words) {
    const LayoutWord& w = words[id];
    bool split = segs.empty();
    if (!split) {
      const LayoutWord& prev = words[segs.back().words.back()];
      double em = std::max(SizeOf(prev), SizeOf(w));
      double gap = w.box.x1 - prev.box.x2;
      bool after_marker = segs.back().words.size() == 1 && IsListMarker(prev.text);
      split = gap > (after_marker ? kMarkerGapEm : kSegmentGapEm) * em;
    }
    if (split) segs.push_back({{}, w.box});
    segs.back().words.push_back(id);
    segs.back().box = Union(segs.back().box, w.box);
  }
  for (auto& s : segs) {
    double chars = 0, size = 0, bold = 0;
    for (int id : s.words) {
      double n = static_cast<double>(std::max<size_t>(1, Chars(words[id].text)));
      chars += n;
      size += n * SizeOf(words[id]);
      bold += words[id].bold ? n : 0;
    }
    s.font_size = size / chars;
    s.bold = bold > chars / 2;
    s.marker = s.words.size() > 1 && IsListMarker(words[s.words[0]].text);
    s.text_x1 = s.marker ? words[s.words[1]].box.x1 : s.box.x1;
  }
  return segs;
}

struct Block {
  std::vector<std::vector<int>> lines;   // word ids per line
  std::vector<std::vector<std::vector<int>>> rows;  // tables: cells per row
  std::vector<bool> item_starts;         // lists: whether each line starts an item
  LayoutBox box;
  double last_y2 = 0;
  double font_size = 0;
  bool bold = false;
  bool list = false;
  bool table = false;
  double marker_x1 = 0, text_x1 = 0;
  int last_line = -1;  // index of the page line that last joined
};

// Consecutive table-like lines, as [first, last] line indexes.
std::vector<std::pair<int, int>> FindTables(const std::vector<Line>& lines,
                                            const std::vector<std::vector<Segment>>& segs) {
  auto candidate = [&](int i) {
    const auto& s = segs[i];
    if (s.size() < 2) return false;
    size_t n = 0;
    for (const auto& g : s) n += g.words.size();
    return n <= kMaxTableWordsPerCell * s.size();
  };
  auto continues = [&](int a, int b) {
    if (segs[a].size() != segs[b].size()) return false;
    if (lines[b].box.y1 - lines[a].box.y2 > kTableRowGapLines * lines[a].height) return false;
    for (size_t k = 0; k < segs[a].size(); ++k) {
      if (Overlap(segs[a][k].box.x1, segs[a][k].box.x2, segs[b][k].box.x1, segs[b][k].box.x2) <= 0) return false;
    }
    return true;
  };
  std::vector<std::pair<int, int>> out;
  int n = static_cast<int>(lines.size());
  for (int i = 0; i < n;) {
    if (!candidate(i)) {
      ++i;
      continue;
    }
    int j = i;
    while (j + 1 < n && candidate(j + 1) && continues(j, j + 1)) ++j;
    int rows = j - i + 1;
    int cols = static_cast<int>(segs[i].size());
    if ((cols >= 3 && rows >= 2) || (cols == 2 && rows >= 3)) out.emplace_back(i, j);
    i = j + 1;
  }
  return out;
}

// Signatures of the short lines in the top and bottom bands of a page.
std::pair<std::set<std::string>, std::set<std::string>> EdgeSignatures(const LayoutPage& page) {
  std::set<std::string> top, bottom;
  for (const Line& l : BuildLines(page.words)) {
    if (l.box.y2 <= kEdgeBand * page.height) top.insert(Signature(JoinWords(page.words, l.words)));
    if (l.box.y1 >= (1 - kEdgeBand) * page.height) bottom.insert(Signature(JoinWords(page.words, l.words)));
  }
  return {top, bottom};
}

// Reading order: bands of vertically overlapping blocks, top to bottom;
// neighbouring bands with the same columns are one band (paragraph gaps that
// happen to line up across columns do not interleave them); inside a band,
// columns left to right, each top to bottom.
std::vector<int> ReadingOrder(const std::vector<LayoutBlock>& blocks) {
  std::vector<int> by_top(blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) by_top[i] = static_cast<int>(i);
  std::stable_sort(by_top.begin(), by_top.end(), [&](int a, int b) { return blocks[a].box.y1 < blocks[b].box.y1; });
  struct Column {
    double x1, x2;
    std::vector<int> blocks;
  };
  auto columns_of = [&](const std::vector<int>& ids) {
    std::vector<int> by_left = ids;
    std::stable_sort(by_left.begin(), by_left.end(), [&](int a, int b) { return blocks[a].box.x1 < blocks[b].box.x1; });
    std::vector<Column> cols;
    for (int id : by_left) {
      const LayoutBox& b = blocks[id].box;
      Column* hit = nullptr;
      for (auto& c : cols) {
        if (Overlap(c.x1, c.x2, b.x1, b.x2) > 0) hit = &c;
      }
      if (hit == nullptr) {
        cols.push_back({b.x1, b.x2, {id}});
      } else {
        hit->x1 = std::min(hit->x1, b.x1);
        hit->x2 = std::max(hit->x2, b.x2);
        hit->blocks.push_back(id);
      }
    }
    return cols;
  };
  std::vector<std::vector<int>> bands;
  double band_y2 = 0;
  for (int id : by_top) {
    if (bands.empty() || blocks[id].box.y1 >= band_y2) {
      bands.push_back({});
      band_y2 = blocks[id].box.y2;
    }
    bands.back().push_back(id);
    band_y2 = std::max(band_y2, blocks[id].box.y2);
  }
  std::vector<std::vector<Column>> banded;
  for (const auto& band : bands) {
    auto cols = columns_of(band);
    if (!banded.empty() && cols.size() >= 2 && banded.back().size() == cols.size()) {
      bool same = true;
      for (size_t k = 0; k < cols.size(); ++k) {
        same = same && Overlap(cols[k].x1, cols[k].x2, banded.back()[k].x1, banded.back()[k].x2) > 0;
      }
      if (same) {
        for (size_t k = 0; k < cols.size(); ++k) {
          auto& prev = banded.back()[k];
          prev.blocks.insert(prev.blocks.end(), cols[k].blocks.begin(), cols[k].blocks.end());
          prev.x1 = std::min(prev.x1, cols[k].x1);
          prev.x2 = std::max(prev.x2, cols[k].x2);
        }
        continue;
      }
    }
    banded.push_back(std::move(cols));
  }
  std::vector<int> order;
  for (auto& cols : banded) {
    for (auto& c : cols) {
      std::stable_sort(c.blocks.begin(), c.blocks.end(),
                       [&](int a, int b) { return blocks[a].box.y1 < blocks[b].box.y1; });
      order.insert(order.end(), c.blocks.begin(), c.blocks.end());
    }
  }
  return order;
}

}  // namespace

std::string ConfidenceTag(double score) {
  if (score >= 0.85) return "A";
  if (score >= 0.70) return "B";
  if (score >= 0.50) return "C";
  return "D";
}

std::vector<LayoutBlock> AnalyzeLayout(const LayoutPage& page, const std::vector<const LayoutPage*>& neighbours,
                                       const LayoutOptions& options) {
  // Words with text, boxes clamped to the page (a glyph may overhang it).
  std::vector<LayoutWord> words;
  for (const auto& w : page.words) {
    bool blank = std::all_of(w.text.begin(), w.text.end(), [](unsigned char c) { return std::isspace(c); });
    if (blank) continue;
    LayoutWord c = w;
    c.box.x1 = std::clamp(c.box.x1, 0.0, page.width);
    c.box.x2 = std::clamp(c.box.x2, c.box.x1, page.width);
    c.box.y1 = std::clamp(c.box.y1, 0.0, page.height);
    c.box.y2 = std::clamp(c.box.y2, c.box.y1, page.height);
    words.push_back(std::move(c));
  }
  if (words.empty()) return {};

  // The body text: the font size and weight of most characters.
  std::vector<std::pair<double, double>> sizes;  // (size, chars)
  double total = 0, bold_chars = 0;
  for (const auto& w : words) {
    double n = static_cast<double>(std::max<size_t>(1, Chars(w.text)));
    sizes.emplace_back(SizeOf(w), n);
    total += n;
    bold_chars += w.bold ? n : 0;
  }
  std::sort(sizes.begin(), sizes.end());
  double body_size = sizes.back().first, acc = 0;
  for (const auto& [s, n] : sizes) {
    acc += n;
    if (acc >= total / 2) {
      body_size = s;
      break;
    }
  }
  const bool body_bold = bold_chars > total / 2;

  std::vector<Line> lines = BuildLines(words);
  std::vector<std::vector<Segment>> segs;
  for (const auto& l : lines) segs.push_back(Segments(words, l));

  std::vector<Block> blocks;
  std::vector<bool> in_table(lines.size(), false);
  {
    for (auto [first, last] : FindTables(lines, segs)) {
      Block b;
      b.table = true;
      b.box = lines[first].box;
      for (int i = first; i <= last; ++i) {
        in_table[i] = true;
        std::vector<std::vector<int>> row;
        for (const auto& s : segs[i]) row.push_back(s.words);
        b.rows.push_back(std::move(row));
        b.box = Union(b.box, lines[i].box);
      }
      blocks.push_back(std::move(b));
    }
  }

  for (size_t li = 0; li < lines.size(); ++li) {
    if (in_table[li]) continue;
    for (const Segment& s : segs[li]) {
      const double em = s.font_size;
      Block* best = nullptr;
      double best_gap = 0;
      for (auto& b : blocks) {
        if (b.table) continue;
        double gap = s.box.y1 - b.last_y2;
        if (b.last_line == static_cast<int>(li)) gap = 0;  // another segment of the same line
        if (gap < -0.5 * em || gap > kParagraphGapEm * em) continue;
        if (Overlap(b.box.x1, b.box.x2, s.box.x1, s.box.x2) <= 0) continue;
        double ratio = std::max(b.font_size, em) / std::max(0.1, std::min(b.font_size, em));
        if (ratio > kSizeTolerance || b.bold != s.bold) continue;
        if (s.marker) {
          if (!b.list || std::abs(s.box.x1 - b.marker_x1) > 0.5 * em) continue;
        } else if (b.list) {
          if (s.box.x1 < b.text_x1 - 0.5 * em) continue;
        } else if (s.box.x1 > b.box.x1 + kIndentEm * em && b.last_line != static_cast<int>(li)) {
          continue;
        }
        if (best == nullptr || gap < best_gap) {
          best = &b;
          best_gap = gap;
        }
      }
      if (best == nullptr) {
        Block b;
        b.box = s.box;
        b.font_size = s.font_size;
        b.bold = s.bold;
        b.list = s.marker;
        b.marker_x1 = s.box.x1;
        b.text_x1 = s.text_x1;
        blocks.push_back(std::move(b));
        best = &blocks.back();
      }
      if (best->last_line == static_cast<int>(li) && !best->lines.empty()) {
        auto& line = best->lines.back();
        line.insert(line.end(), s.words.begin(), s.words.end());
        std::stable_sort(line.begin(), line.end(), [&](int a, int b) { return words[a].box.x1 < words[b].box.x1; });
      } else {
        best->lines.push_back(s.words);
        best->item_starts.push_back(s.marker);
      }
      best->box = Union(best->box, s.box);
      best->last_y2 = std::max(best->last_line == static_cast<int>(li) ? best->last_y2 : 0.0, s.box.y2);
      best->last_line = static_cast<int>(li);
    }
  }

  std::set<std::string> top_seen, bottom_seen;
  for (const LayoutPage* n : neighbours) {
    if (n == nullptr) continue;
    auto [top, bottom] = EdgeSignatures(*n);
    top_seen.insert(top.begin(), top.end());
    bottom_seen.insert(bottom.begin(), bottom.end());
  }

  std::vector<LayoutBlock> out;
  for (const Block& b : blocks) {
    LayoutBlock o;
    o.box = b.box;
    double conf_sum = 0;
    int n_words = 0;
    auto count = [&](const std::vector<int>& ids) {
      for (int id : ids) {
        conf_sum += words[id].confidence;
        ++n_words;
      }
    };
    if (b.table) {
      for (size_t r = 0; r < b.rows.size(); ++r) {
        if (r > 0) o.text += '\n';
        for (size_t c = 0; c < b.rows[r].size(); ++c) {
          if (c > 0) o.text += '\t';
          o.text += JoinWords(words, b.rows[r][c]);
          count(b.rows[r][c]);
        }
      }
      o.lines = static_cast<int>(b.rows.size());
    } else {
      for (size_t i = 0; i < b.lines.size(); ++i) {
        if (i > 0) o.text += (b.list && b.item_starts[i]) ? '\n' : ' ';
        o.text += JoinWords(words, b.lines[i]);
        count(b.lines[i]);
      }
      o.lines = static_cast<int>(b.lines.size());
    }
    const double ocr_conf = n_words > 0 ? conf_sum / n_words : 1.0;
    const size_t n_text_words = static_cast<size_t>(n_words);
    const std::string sig = Signature(o.text);
    const bool in_bottom = o.box.y1 >= (1 - kEdgeBand) * page.height;
    const bool in_top = o.box.y2 <= kEdgeBand * page.height;
    const bool short_block = o.lines <= 2 && n_text_words <= 20;

    double conf = 0;
    if (!options.classify) {
      o.object_type = "paragraph";
      conf = o.lines >= 2 ? 0.9 : 0.75;
    } else if (b.table) {
      o.object_type = "table";
      size_t cols = b.rows.empty() ? 0 : b.rows[0].size();
      conf = std::min(0.95, 0.6 + 0.1 * (static_cast<double>(b.rows.size()) - 2) + 0.05 * (static_cast<double>(cols) - 2));
    } else if (in_bottom && o.lines <= 2 && (IsPageNumber(o.text) || bottom_seen.count(sig))) {
      o.object_type = "footer";
      conf = (IsPageNumber(o.text) && bottom_seen.count(sig)) ? 0.95 : 0.85;
    } else if (in_top && o.lines <= 2 && top_seen.count(sig)) {
      o.object_type = "header";  // a running header
      conf = 0.85;
    } else if (short_block && b.font_size >= kHeaderSizeRatio * body_size) {
      // Before lists: "2. Methods" set large is a numbered heading.
      o.object_type = "header";
      double ratio = b.font_size / std::max(0.1, body_size);
      conf = 0.6 + 0.3 * std::clamp((ratio - 1) / 0.5, 0.0, 1.0) + (b.bold && !body_bold ? 0.1 : 0.0);
    } else if (b.list) {
      o.object_type = "list";
      int items = static_cast<int>(std::count(b.item_starts.begin(), b.item_starts.end(), true));
      conf = items >= 2 ? 0.95 : 0.75;
    } else if (short_block && b.bold && !body_bold) {
      o.object_type = "header";
      double ratio = b.font_size / std::max(0.1, body_size);
      conf = 0.6 + 0.3 * std::clamp((ratio - 1) / 0.5, 0.0, 1.0) + (b.bold && !body_bold ? 0.1 : 0.0);
    } else {
      o.object_type = "paragraph";
      conf = o.lines >= 2 ? 0.9 : 0.75;
    }
    o.confidence = std::clamp(conf * ocr_conf, 0.0, 1.0);
    o.confidence_tag = ConfidenceTag(o.confidence);
    out.push_back(std::move(o));
  }

  std::vector<LayoutBlock> ordered;
  for (int i : ReadingOrder(out)) ordered.push_back(std::move(out[i]));
  return ordered;
}

}  // namespace strata::media
