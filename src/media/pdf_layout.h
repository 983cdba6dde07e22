// Layout analysis of one page: words (from a PDF's text layer or from OCR;
// one implementation for both) -> lines -> blocks, each block classified as a
// header, paragraph, table, list or footer, in reading order.
//
// How it decides (all distances scale with the font size, so they hold for
// any page size):
//  - Lines: words whose vertical centres are within half a word height of a
//    line's centre join it. A line splits into segments at horizontal gaps
//    wider than 1 em (a normal word space is ~0.25 em): column gutters and
//    table cells.
//  - Tables: two or more consecutive lines (≤ 2.5 line heights apart) with
//    the same number of segments, ≥ 3 (or exactly 2 over ≥ 3 lines), each
//    segment overlapping horizontally the segment of the same rank on the
//    line above (left-, right- and centre-aligned columns all pass), and
//    short segments (≤ 4 words on average: prose columns are longer). The
//    rows become one block; cells are joined by a tab, rows by a newline.
//  - Blocks: a segment continues the block whose last line is just above it
//    (gap ≤ 0.6 em), overlaps it horizontally, and has the same font size
//    (±15%) and weight. A list marker (•, -, *, "1.", "a)", "(iv)", ...), a
//    first-line indent (≥ 1 em further right than the block), or a change of
//    font starts a new block. List items and their continuation lines stay
//    in one list block, one item per line of its text.
//  - Classes, first rule that holds: `table` as above; `footer` when the
//    block lies in the bottom 10% of the page, has at most two lines and is a
//    page number ("7", "Page 7", "- 7 -", "7 of 9") or repeats on a
//    neighbouring page (digits ignored); `header` for a running header
//    repeated in the top 10%, and for short blocks (≤ 2 lines, ≤ 20 words)
//    set ≥ 15% larger than the page's body text (a large "2. Methods" is a
//    heading, not a list); `list` when the block starts with a list marker;
//    `header` for a short block entirely in a bold face while the body is
//    not; else `paragraph`.
//  - Text: a block's lines are joined by one space (hyphens at line ends are
//    kept: no de-hyphenation), list items by a newline, table cells by a tab
//    and rows by a newline. Words are separated where the text layer puts a
//    space or the gap is wider than 0.2 em.
//  - Reading order: bands of blocks that overlap vertically, top to bottom;
//    inside a band, columns (blocks overlapping horizontally) left to right,
//    each top to bottom.
//
// confidence_score (0..1) says how clear the evidence for the class was:
//   header     0.6 + 0.3 * min(1, (size ratio - 1) / 0.5) + 0.1 when bold
//   table      0.6 + 0.1 per row beyond two and 0.05 per column beyond two, ≤ 0.95
//   list       0.95 with two or more items, 0.75 for a single item
//   footer     0.95 for a page number that also repeats, 0.85 for one reason
//   paragraph  0.9 with two or more lines, 0.75 for a single line
// and, for OCR'd words, that times the block's mean OCR word confidence.
// confidence_tag: A ≥ 0.85, B ≥ 0.70, C ≥ 0.50, D below.
#pragma once

#include <string>
#include <vector>

namespace strata::media {

struct LayoutBox {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // points, top-left origin
  double width() const { return x2 - x1; }
  double height() const { return y2 - y1; }
};

struct LayoutWord {
  std::string text;  // UTF-8
  LayoutBox box;
  double font_size = 0;     // points
  bool bold = false;
  bool space_after = true;  // the text layer puts a space after the word
  float confidence = 1.0f;  // 1 for a text layer, OCR's word confidence else
};

struct LayoutPage {
  double width = 0, height = 0;  // points
  std::vector<LayoutWord> words;
};

struct LayoutBlock {
  std::string object_type;  // header | paragraph | table | list | footer
  std::string text;
  LayoutBox box;            // the union of its words, clamped to the page
  double confidence = 0;    // 0..1, see above
  std::string confidence_tag;  // A..D
  int lines = 0;
};

struct LayoutOptions {
  // false: blocks are still cut by the same rules (a table stays one block,
  // read row by row), but not classified: every block is a `paragraph`.
  bool classify = true;
};

// The blocks of `page` in reading order. `neighbours` (the pages before and
// after, any may be null) let running headers and footers be recognised by
// repetition.
std::vector<LayoutBlock> AnalyzeLayout(const LayoutPage& page, const std::vector<const LayoutPage*>& neighbours,
                                       const LayoutOptions& options = {});

// A..D from a 0..1 score (thresholds above).
std::string ConfidenceTag(double score);

}  // namespace strata::media
