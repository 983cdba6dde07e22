// The streaming chunker of text_extractor@v1: exact chunks per split_by on
// known texts, UTF-8 validation with offsets, CountChunks agreeing with
// ChunkText, independence from where read blocks end, and flat memory on a
// generated 200 MB stream.
#include "extract/chunker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <sstream>
#include <streambuf>

namespace strata::extract {
namespace {

using Chunks = std::vector<std::string>;

ChunkOptions Opts(SplitBy by, int64_t size, int64_t overlap = 0) {
  ChunkOptions o;
  o.split_by = by;
  o.chunk_size = size;
  o.chunk_overlap = overlap;
  return o;
}

// The chunks of `text`, checking on the way that CountChunks agrees, that the
// indexes run 0, 1, 2, ... and that no chunk is empty or padded.
Chunks Split(std::string_view text, const ChunkOptions& o) {
  auto r = ChunkString(text, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return {};
  std::istringstream in{std::string(text)};
  auto n = CountChunks(in, o);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(n.value_or(-1), static_cast<int64_t>(r->size()));
  for (const auto& c : *r) {
    EXPECT_FALSE(c.empty());
    EXPECT_FALSE(std::isspace(static_cast<unsigned char>(c.front())) ||
                 std::isspace(static_cast<unsigned char>(c.back())))
        << "untrimmed chunk '" << c << "'";
  }
  return std::move(r).value();
}

Chunks Split(std::string_view text, SplitBy by, int64_t size, int64_t overlap = 0) {
  return Split(text, Opts(by, size, overlap));
}

// --- options ----------------------------------------------------------------

TEST(Chunker, ParseSplitBy) {
  EXPECT_EQ(*ParseSplitBy("characters"), SplitBy::kCharacters);
  EXPECT_EQ(*ParseSplitBy("words"), SplitBy::kWords);
  EXPECT_EQ(*ParseSplitBy("sentences"), SplitBy::kSentences);
  EXPECT_EQ(*ParseSplitBy("paragraphs"), SplitBy::kParagraphs);
  EXPECT_EQ(*ParseSplitBy("none"), SplitBy::kNone);
  auto bad = ParseSplitBy("Words");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kValidation);
  EXPECT_NE(bad.status().message().find("split_by"), std::string::npos);
  for (SplitBy s : {SplitBy::kCharacters, SplitBy::kWords, SplitBy::kSentences, SplitBy::kParagraphs,
                    SplitBy::kNone}) {
    EXPECT_EQ(*ParseSplitBy(SplitByName(s)), s);
  }
}

TEST(Chunker, OverlapMustBeLessThanSize) {
  for (int64_t overlap : {3, 4, -1}) {
    auto r = ChunkString("a b c d e", Opts(SplitBy::kWords, 3, overlap));
    ASSERT_FALSE(r.ok()) << overlap;
    EXPECT_EQ(r.status().code(), StatusCode::kValidation);
    EXPECT_NE(r.status().message().find("chunk_overlap"), std::string::npos) << r.status().message();
    std::istringstream in("a b c");
    EXPECT_FALSE(CountChunks(in, Opts(SplitBy::kWords, 3, overlap)).ok());
  }
  auto zero = ChunkString("a b", Opts(SplitBy::kCharacters, 0));
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("chunk_size"), std::string::npos);
  // none ignores size and overlap (the extractor checks overlap only when splitting).
  EXPECT_EQ(Split("a b", Opts(SplitBy::kNone, 1, 5)), (Chunks{"a b"}));
}

TEST(Chunker, EmptyAndWhitespaceInputGiveNoChunks) {
  for (SplitBy s : {SplitBy::kCharacters, SplitBy::kWords, SplitBy::kSentences, SplitBy::kParagraphs,
                    SplitBy::kNone}) {
    EXPECT_EQ(Split("", s, 3), Chunks{}) << SplitByName(s);
    EXPECT_EQ(Split(" \n\t\r\n \u00A0\u3000 \n\n ", s, 3), Chunks{}) << SplitByName(s);
  }
}

// --- characters ---------------------------------------------------------------

TEST(Chunker, Characters) {
  EXPECT_EQ(Split("abcdefghij", SplitBy::kCharacters, 4), (Chunks{"abcd", "efgh", "ij"}));
  EXPECT_EQ(Split("abcdefghij", SplitBy::kCharacters, 5), (Chunks{"abcde", "fghij"}));
  // Overlap 1, step 3: [0,4) [3,7) [6,10); a fourth would only repeat "j".
  EXPECT_EQ(Split("abcdefghij", SplitBy::kCharacters, 4, 1), (Chunks{"abcd", "defg", "ghij"}));
  EXPECT_EQ(Split("abcdefghi", SplitBy::kCharacters, 4, 2), (Chunks{"abcd", "cdef", "efgh", "ghi"}));
  EXPECT_EQ(Split("abc", SplitBy::kCharacters, 10, 9), (Chunks{"abc"}));
  EXPECT_EQ(Split("abcd", SplitBy::kCharacters, 1), (Chunks{"a", "b", "c", "d"}));
}

TEST(Chunker, CharactersCountWhitespaceAndTrimIt) {
  // Spaces are characters; each window is trimmed, and the all-space window
  // [3,6) is skipped without taking an index.
  EXPECT_EQ(Split("a      b", SplitBy::kCharacters, 3), (Chunks{"a", "b"}));
  EXPECT_EQ(Split("  ab cd  ", SplitBy::kCharacters, 4), (Chunks{"ab", "cd"}));
  EXPECT_EQ(Split("a\u00A0\u00A0\u00A0b", SplitBy::kCharacters, 2), (Chunks{"a", "b"}));
}

TEST(Chunker, MultiByteCodePointIsOneCharacter) {
  // 2-, 3- and 4-byte sequences count one each; no chunk splits one.
  EXPECT_EQ(Split("日本語🙂ab", SplitBy::kCharacters, 2), (Chunks{"日本", "語🙂", "ab"}));
  EXPECT_EQ(Split("日本語🙂ab", SplitBy::kCharacters, 3, 1), (Chunks{"日本語", "語🙂a", "ab"}));
  EXPECT_EQ(Split("héllo wörld", SplitBy::kCharacters, 5), (Chunks{"héllo", "wörl", "d"}));
  // The extremes of each length are valid: U+0080, U+07FF, U+0800, U+D7FF,
  // U+E000, U+FFFF, U+10000, U+10FFFF.
  std::string edges = "\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF";
  Chunks one = Split(edges, SplitBy::kCharacters, 1);
  ASSERT_EQ(one.size(), 8u);
  EXPECT_EQ(one[0], "\xC2\x80");
  EXPECT_EQ(one[7], "\xF4\x8F\xBF\xBF");
}

TEST(Chunker, LeadingByteOrderMarkIsIgnored) {
  EXPECT_EQ(Split("\xEF\xBB\xBF" "abc", SplitBy::kCharacters, 2), (Chunks{"ab", "c"}));
  EXPECT_EQ(Split("\xEF\xBB\xBF", SplitBy::kNone, 1), Chunks{});
}

// --- words --------------------------------------------------------------------

TEST(Chunker, Words) {
  const std::string text = "one two  three\nfour\tfive six seven";
  EXPECT_EQ(Split(text, SplitBy::kWords, 3), (Chunks{"one two three", "four five six", "seven"}));
  EXPECT_EQ(Split(text, SplitBy::kWords, 3, 1), (Chunks{"one two three", "three four five", "five six seven"}));
  EXPECT_EQ(Split(text, SplitBy::kWords, 7), (Chunks{"one two three four five six seven"}));
  EXPECT_EQ(Split(text, SplitBy::kWords, 2, 1),
            (Chunks{"one two", "two three", "three four", "four five", "five six", "six seven"}));
  // Unicode whitespace separates words; other non-ASCII does not.
  EXPECT_EQ(Split("a\u00A0b\u3000c\u2003d “e’f”", SplitBy::kWords, 2), (Chunks{"a b", "c d", "“e’f”"}));
}

// --- sentences ----------------------------------------------------------------

TEST(Chunker, Sentences) {
  const std::string text = "Hello world. How are you? I'm fine! Thanks.";
  EXPECT_EQ(Split(text, SplitBy::kSentences, 1),
            (Chunks{"Hello world.", "How are you?", "I'm fine!", "Thanks."}));
  EXPECT_EQ(Split(text, SplitBy::kSentences, 2), (Chunks{"Hello world. How are you?", "I'm fine! Thanks."}));
  EXPECT_EQ(Split(text, SplitBy::kSentences, 2, 1),
            (Chunks{"Hello world. How are you?", "How are you? I'm fine!", "I'm fine! Thanks."}));
  EXPECT_EQ(Split(text, SplitBy::kSentences, 3, 1), (Chunks{"Hello world. How are you? I'm fine!",
                                                            "I'm fine! Thanks."}));
  // Text after the last terminator is a sentence too.
  EXPECT_EQ(Split("One. Two", SplitBy::kSentences, 1), (Chunks{"One.", "Two"}));
}

TEST(Chunker, SentencesKeepInternalWhitespaceAndJoinWithOneSpace) {
  const std::string text = "First line\ncontinues  here.   \n Second.";
  EXPECT_EQ(Split(text, SplitBy::kSentences, 1), (Chunks{"First line\ncontinues  here.", "Second."}));
  EXPECT_EQ(Split(text, SplitBy::kSentences, 2), (Chunks{"First line\ncontinues  here. Second."}));
}

TEST(Chunker, SentenceAbbreviationsAndDecimals) {
  const std::string text =
      "Mr. Smith met Dr. Jones at 3.30 p.m. on St. Mark's St. today. They talked, e.g. about pi "
      "(3.14159), i.e. math etc. and more. Mrs. Brown vs. J. R. Doe cost $2.50 in the U.S. now! "
      "Prof. X agreed (cf. the notes).";
  EXPECT_EQ(Split(text, SplitBy::kSentences, 1),
            (Chunks{"Mr. Smith met Dr. Jones at 3.30 p.m. on St. Mark's St. today.",
                    "They talked, e.g. about pi (3.14159), i.e. math etc. and more.",
                    "Mrs. Brown vs. J. R. Doe cost $2.50 in the U.S. now!",
                    "Prof. X agreed (cf. the notes)."}));
  // Capitalised or bracketed forms count too; a longer word ending in an
  // abbreviation does not.
  EXPECT_EQ(Split("See (E.g. this). MR. X came. The cast. Then", SplitBy::kSentences, 1),
            (Chunks{"See (E.g. this).", "MR. X came.", "The cast.", "Then"}));
}

TEST(Chunker, SentenceTerminatorRunsAndClosers) {
  EXPECT_EQ(Split("Wait... What?! Ok.", SplitBy::kSentences, 1), (Chunks{"Wait...", "What?!", "Ok."}));
  EXPECT_EQ(Split("He said \"Stop.\" Then he left. (Really!) Yes.", SplitBy::kSentences, 1),
            (Chunks{"He said \"Stop.\"", "Then he left.", "(Really!)", "Yes."}));
  EXPECT_EQ(Split("She said “Go.” Then ‘fine.’ Done » ok.» x", SplitBy::kSentences, 1),
            (Chunks{"She said “Go.”", "Then ‘fine.’", "Done » ok.»", "x"}));
  // Not followed by whitespace: no end.
  EXPECT_EQ(Split("v1.2.3 is out.Really? Yes!No", SplitBy::kSentences, 1),
            (Chunks{"v1.2.3 is out.Really?", "Yes!No"}));
}

TEST(Chunker, BlankLineEndsSentence) {
  EXPECT_EQ(Split("Title\n\nBody text. More\n  \n- item one\n- item two", SplitBy::kSentences, 1),
            (Chunks{"Title", "Body text.", "More", "- item one\n- item two"}));
}

// --- paragraphs -----------------------------------------------------------------

TEST(Chunker, Paragraphs) {
  const std::string text = "P1 line1\nP1  line2\n\n\n  P2 indented\n   \nP3\r\n\r\nP4 a. b.\n";
  EXPECT_EQ(Split(text, SplitBy::kParagraphs, 1), (Chunks{"P1 line1\nP1  line2", "P2 indented", "P3", "P4 a. b."}));
  EXPECT_EQ(Split(text, SplitBy::kParagraphs, 2),
            (Chunks{"P1 line1\nP1  line2\n\nP2 indented", "P3\n\nP4 a. b."}));
  EXPECT_EQ(Split(text, SplitBy::kParagraphs, 3, 1),
            (Chunks{"P1 line1\nP1  line2\n\nP2 indented\n\nP3", "P3\n\nP4 a. b."}));
  // Indentation inside a paragraph is kept.
  EXPECT_EQ(Split("code:\n    x = 1\n    y = 2", SplitBy::kParagraphs, 5), (Chunks{"code:\n    x = 1\n    y = 2"}));
}

// --- none ---------------------------------------------------------------------

TEST(Chunker, NoneKeepsTheWholeText) {
  EXPECT_EQ(Split("  whole text\n\nhere.  Two. \n", SplitBy::kNone, 1), (Chunks{"whole text\n\nhere.  Two."}));
  ChunkOptions o = Opts(SplitBy::kNone, 1);
  o.max_none_bytes = 10;
  EXPECT_EQ(Split("0123456789", o), (Chunks{"0123456789"}));
  auto big = ChunkString("0123456789a", o);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kValidation);
  EXPECT_NE(big.status().message().find("split_by"), std::string::npos) << big.status().message();
  std::istringstream in("0123456789a");
  EXPECT_FALSE(CountChunks(in, o).ok());
}

// --- size cap ----------------------------------------------------------------

TEST(Chunker, OverlongUnitsAreCutAtCodePoints) {
  ChunkOptions o = Opts(SplitBy::kWords, 1000);
  o.max_chunk_bytes = 10;
  EXPECT_EQ(Split(std::string(25, 'a'), o), (Chunks{std::string(10, 'a'), std::string(10, 'a'), "aaaaa"}));
  o.max_chunk_bytes = 5;  // a cut never splits "é" (2 bytes)
  EXPECT_EQ(Split("ééééééé", o), (Chunks{"éé", "éé", "éé", "é"}));
  o.split_by = SplitBy::kSentences;
  o.max_chunk_bytes = 10;
  Chunks cut = Split("abc def ghi jkl mno pqr s", o);
  EXPECT_EQ(cut, (Chunks{"abc def gh", "i jkl mno", "pqr s"}));
}

TEST(Chunker, ChunksEndEarlyAtTheSizeCap) {
  ChunkOptions o = Opts(SplitBy::kWords, 3, 1);
  o.max_chunk_bytes = 5;
  // "aa bb cc" would be 8 bytes: each chunk holds two words, and the next
  // starts with the overlap word.
  EXPECT_EQ(Split("aa bb cc dd", o), (Chunks{"aa bb", "bb cc", "cc dd"}));
  o.chunk_overlap = 0;
  EXPECT_EQ(Split("aa bb cc dd e", o), (Chunks{"aa bb", "cc dd", "e"}));
}

// --- invalid UTF-8 ------------------------------------------------------------

void ExpectInvalidAt(const std::string& text, int64_t offset, int64_t block = 64 << 10) {
  const std::string want = "invalid UTF-8 at byte offset " + std::to_string(offset);
  for (SplitBy s : {SplitBy::kCharacters, SplitBy::kWords, SplitBy::kSentences, SplitBy::kParagraphs,
                    SplitBy::kNone}) {
    ChunkOptions o = Opts(s, 3);
    o.read_block_bytes = block;
    o.max_none_bytes = 1 << 30;
    auto r = ChunkString(text, o);
    ASSERT_FALSE(r.ok()) << SplitByName(s) << " offset " << offset;
    EXPECT_EQ(r.status().code(), StatusCode::kValidation);
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status().message();
    std::istringstream in(text);
    auto n = CountChunks(in, o);
    ASSERT_FALSE(n.ok());
    EXPECT_NE(n.status().message().find(want), std::string::npos) << n.status().message();
  }
}

TEST(Chunker, InvalidUtf8ReportsTheOffset) {
  ExpectInvalidAt("ab\x80" "cd", 2);                   // stray continuation byte
  ExpectInvalidAt("a\xC0\xAF", 1);                     // overlong 2-byte
  ExpectInvalidAt("a\xC1\xBF", 1);                     // overlong 2-byte
  ExpectInvalidAt("ab\xE0\x80\xAF", 2);                // overlong 3-byte
  ExpectInvalidAt("\xF0\x8F\xBF\xBF", 0);              // overlong 4-byte
  ExpectInvalidAt("x \xED\xA0\x80", 2);                // surrogate U+D800
  ExpectInvalidAt("\xED\xBF\xBF", 0);                  // surrogate U+DFFF
  ExpectInvalidAt("xx\xF4\x90\x80\x80", 2);            // U+110000
  ExpectInvalidAt("\xF5\x80\x80\x80", 0);              // lead byte beyond F4
  ExpectInvalidAt("ok \xFF", 3);
  ExpectInvalidAt("abc\xE2\x82", 3);                   // cut by the end of the text
  ExpectInvalidAt("abc\xF0\x9F\x99", 3);
  ExpectInvalidAt("abc\xE2\x82z", 3);                  // cut by an ASCII byte
  ExpectInvalidAt("\xC3", 0);
  ExpectInvalidAt("é\xE9t\xE9", 2);                    // Latin-1, not UTF-8
}

TEST(Chunker, InvalidUtf8AcrossReadBlocks) {
  // A sequence cut by a block's end is carried over, and offsets count from
  // the start of the stream.
  std::string text(100000, 'a');
  text += "\xC3(";
  ExpectInvalidAt(text, 100000);
  for (int64_t block : {1, 2, 3, 7}) ExpectInvalidAt("a \xE2\x82\xAC\xF0\x9F\x99\x82 b \xE2\x82", 12, block);
  std::string cut(65535, 'a');
  cut += "\xE2\x82\xAC \xE2\x82" "b";  // the euro sign straddles the 64 KiB block; then a bad one
  ExpectInvalidAt(cut, 65539);
}

TEST(Chunker, EmitterErrorStopsChunking) {
  std::istringstream in("a b c d e f");
  int calls = 0;
  Status st = ChunkText(in, Opts(SplitBy::kWords, 2), [&](int64_t index, std::string_view) {
    ++calls;
    return index == 1 ? Status::Internal("stop here") : Status::Ok();
  });
  EXPECT_EQ(st.code(), StatusCode::kInternal);
  EXPECT_EQ(st.message(), "stop here");
  EXPECT_EQ(calls, 2);
}

// --- streaming: random texts, tiny blocks, references ----------------------------

// Random text from pieces that exercise every rule: multi-byte characters,
// Unicode spaces, abbreviations, decimals, terminators, closers, blank lines.
std::string RandomText(std::mt19937& rng, size_t min_bytes) {
  static const std::vector<std::string> kWords = {
      "alpha", "beta", "gamma", "é", "日本語", "🙂", "naïve", "Mr.", "Dr.", "e.g.", "i.e.", "etc.", "3.14",
      "end.", "why?", "wow!", "...", "“quoted.”", "(aside.)", "U.S.", "x", "a-b", "'q'", "”", "J."};
  static const std::vector<std::string> kSpaces = {" ", " ", " ", "  ", "\n", "\n\n", "\n  \n", "\t",
                                                    "\u00A0", "\u3000", "\r\n", "\r\n\r\n", " \n"};
  std::string out;
  while (out.size() < min_bytes) {
    out += kWords[rng() % kWords.size()];
    out += kSpaces[rng() % kSpaces.size()];
  }
  if (rng() % 2) out.erase(out.find_last_not_of(" \n\t\r") + 1);  // sometimes no trailing space
  return out;
}

// Reference splitters over the whole string (no streaming), for the unit
// kinds simple enough to restate: code points, whitespace words, paragraphs.
std::vector<std::string> CodePoints(std::string_view s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    size_t n = 1;
    while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) ++n;
    out.emplace_back(s.substr(i, n));
    i += n;
  }
  return out;
}

bool IsSpaceCp(const std::string& cp) {
  static const std::vector<std::string> kUnicode = {"\u0085", "\u00A0", "\u1680", "\u2000", "\u2001", "\u2002",
                                                    "\u2003", "\u2004", "\u2005", "\u2006", "\u2007", "\u2008",
                                                    "\u2009", "\u200A", "\u2028", "\u2029", "\u202F", "\u205F",
                                                    "\u3000"};
  if (cp.size() == 1) return std::string_view(" \t\n\v\f\r").find(cp[0]) != std::string_view::npos;
  return std::find(kUnicode.begin(), kUnicode.end(), cp) != kUnicode.end();
}

std::string Trim(const std::vector<std::string>& cps, size_t b, size_t e) {
  while (b < e && IsSpaceCp(cps[b])) ++b;
  while (e > b && IsSpaceCp(cps[e - 1])) --e;
  std::string out;
  for (size_t i = b; i < e; ++i) out += cps[i];
  return out;
}

// Windows [k*step, k*step + size) until one reaches the end.
std::vector<std::pair<size_t, size_t>> Windows(size_t n, size_t size, size_t overlap) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t step = size - overlap;
  for (size_t start = 0; start < n; start += step) {
    out.emplace_back(start, std::min(start + size, n));
    if (start + size >= n) break;
  }
  return out;
}

Chunks ReferenceCharacters(std::string_view text, size_t size, size_t overlap) {
  auto cps = CodePoints(text);
  Chunks out;
  for (auto [b, e] : Windows(cps.size(), size, overlap)) {
    std::string c = Trim(cps, b, e);
    if (!c.empty()) out.push_back(c);
  }
  return out;
}

Chunks JoinWindows(const std::vector<std::string>& units, size_t size, size_t overlap, const std::string& sep) {
  Chunks out;
  for (auto [b, e] : Windows(units.size(), size, overlap)) {
    std::string c;
    for (size_t i = b; i < e; ++i) c += (i > b ? sep : "") + units[i];
    out.push_back(c);
  }
  return out;
}

Chunks ReferenceWords(std::string_view text, size_t size, size_t overlap) {
  std::vector<std::string> words;
  std::string cur;
  for (const auto& cp : CodePoints(text)) {
    if (IsSpaceCp(cp)) {
      if (!cur.empty()) words.push_back(cur);
      cur.clear();
    } else {
      cur += cp;
    }
  }
  if (!cur.empty()) words.push_back(cur);
  return JoinWindows(words, size, overlap, " ");
}

Chunks ReferenceParagraphs(std::string_view text, size_t size, size_t overlap) {
  // Lines; a blank line (whitespace only) separates paragraphs.
  std::vector<std::string> paragraphs;
  std::string cur;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    auto cps = CodePoints(line);
    if (Trim(cps, 0, cps.size()).empty()) {
      auto all = CodePoints(cur);
      if (std::string t = Trim(all, 0, all.size()); !t.empty()) paragraphs.push_back(t);
      cur.clear();
    } else {
      cur += (cur.empty() ? "" : "\n") + line;
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  auto all = CodePoints(cur);
  if (std::string t = Trim(all, 0, all.size()); !t.empty()) paragraphs.push_back(t);
  return JoinWindows(paragraphs, size, overlap, "\n\n");
}

TEST(Chunker, MatchesReferenceOnRandomTexts) {
  std::mt19937 rng(20240611);
  for (int round = 0; round < 60; ++round) {
    std::string text = RandomText(rng, 1 + rng() % 3000);
    for (auto [size, overlap] : std::vector<std::pair<int, int>>{{1, 0}, {2, 1}, {3, 0}, {7, 3}, {50, 49}, {400, 10}}) {
      EXPECT_EQ(Split(text, SplitBy::kCharacters, size, overlap), ReferenceCharacters(text, size, overlap))
          << "round " << round << " size " << size << " overlap " << overlap;
      EXPECT_EQ(Split(text, SplitBy::kWords, size, overlap), ReferenceWords(text, size, overlap))
          << "round " << round << " size " << size << " overlap " << overlap;
      EXPECT_EQ(Split(text, SplitBy::kParagraphs, size, overlap), ReferenceParagraphs(text, size, overlap))
          << "round " << round << " size " << size << " overlap " << overlap;
    }
  }
}

// Every split_by gives the same chunks whatever the read block size, so units
// and chunks straddling block boundaries are handled, and CountChunks agrees.
TEST(Chunker, SameChunksForAnyReadBlockSize) {
  std::mt19937 rng(7);
  for (int round = 0; round < 25; ++round) {
    std::string text = RandomText(rng, 1 + rng() % 2000);
    for (SplitBy s : {SplitBy::kCharacters, SplitBy::kWords, SplitBy::kSentences, SplitBy::kParagraphs,
                      SplitBy::kNone}) {
      for (auto [size, overlap] : std::vector<std::pair<int, int>>{{1, 0}, {3, 1}, {10, 0}, {40, 39}}) {
        ChunkOptions o = Opts(s, size, overlap);
        if (round % 3 == 0) o.max_chunk_bytes = 16 + rng() % 64;  // exercise the cap too
        Chunks want = Split(text, o);
        for (int64_t block : {1, 2, 3, 5, 64, 1000}) {
          o.read_block_bytes = block;
          EXPECT_EQ(Split(text, o), want) << SplitByName(s) << " block " << block << " round " << round;
        }
      }
    }
  }
}

TEST(Chunker, StreamLargerThanTheReadBlock) {
  // ~600 KB through the default 64 KiB blocks: many units and chunks straddle
  // block boundaries; compare with the references and with 1-byte blocks.
  std::mt19937 rng(99);
  std::string text = RandomText(rng, 600000);
  for (auto [size, overlap] : std::vector<std::pair<int, int>>{{1, 0}, {13, 4}, {1000, 100}}) {
    EXPECT_EQ(Split(text, SplitBy::kCharacters, size, overlap), ReferenceCharacters(text, size, overlap));
    EXPECT_EQ(Split(text, SplitBy::kWords, size, overlap), ReferenceWords(text, size, overlap));
    EXPECT_EQ(Split(text, SplitBy::kParagraphs, size, overlap), ReferenceParagraphs(text, size, overlap));
    ChunkOptions o = Opts(SplitBy::kSentences, size, overlap);
    Chunks sentences = Split(text, o);
    o.read_block_bytes = 1;
    EXPECT_EQ(Split(text, o), sentences);
    o.read_block_bytes = 4093;
    EXPECT_EQ(Split(text, o), sentences);
  }
}

// --- memory -------------------------------------------------------------------

// A stream of `total` bytes of text made on the fly (never held whole): a
// word vocabulary cycled with a stride, with sentence ends and blank lines
// unless `plain` (then one endless sentence and paragraph).
class GeneratedText : public std::streambuf {
 public:
  GeneratedText(int64_t total, bool plain) : left_(total) {
    const char* words[] = {"lorem", "ipsum", "dolor", "sit", "amet,", "consectetur", "adipiscing", "élit",
                           "sed", "do", "eiusmod", "tempor", "日本", "incididunt", "ut", "labore"};
    std::mt19937 rng(5);
    // A pattern of about 10007 bytes (prime), so block and chunk boundaries drift.
    while (pattern_.size() < 10007) {
      pattern_ += words[rng() % 16];
      int r = static_cast<int>(rng() % 20);
      pattern_ += plain ? " " : r == 0 ? ". " : r == 1 ? ".\n\n" : " ";
    }
    pattern_.resize(10007);
    // Cut only between code points: end on ASCII.
    while ((static_cast<unsigned char>(pattern_.back()) & 0x80) != 0) pattern_.pop_back();
    pattern_.back() = ' ';
  }

 protected:
  int_type underflow() override {
    if (left_ <= 0) return traits_type::eof();
    size_t n = 0;
    while (n < sizeof(buf_) && left_ > 0) {
      size_t k = std::min({sizeof(buf_) - n, pattern_.size() - pos_, static_cast<size_t>(left_)});
      std::copy_n(pattern_.data() + pos_, k, buf_ + n);
      n += k;
      left_ -= static_cast<int64_t>(k);
      pos_ = (pos_ + k) % pattern_.size();
    }
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(buf_[0]);
  }

 private:
  std::string pattern_;
  size_t pos_ = 0;
  int64_t left_;
  char buf_[4096];
};

int64_t ResidentBytes() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

TEST(Chunker, MemoryStaysFlatOn200MBStream) {
  constexpr int64_t kTotal = 200ll << 20;
  const int64_t before = ResidentBytes();
  GeneratedText gen(kTotal, /*plain=*/false);
  std::istream in(&gen);
  int64_t chunks = 0;
  size_t longest = 0;
  Status st = ChunkText(in, Opts(SplitBy::kWords, 1000, 100), [&](int64_t index, std::string_view text) {
    EXPECT_EQ(index, chunks);
    ++chunks;
    longest = std::max(longest, text.size());
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  const int64_t growth = ResidentBytes() - before;
  // About 28 million words in chunks of 1000 advancing by 900.
  EXPECT_GT(chunks, 25000);
  EXPECT_LT(longest, 20000u);
  EXPECT_LT(growth, 32ll << 20) << "resident memory grew by " << growth << " bytes";

  GeneratedText again(kTotal, /*plain=*/false);
  std::istream in2(&again);
  auto n = CountChunks(in2, Opts(SplitBy::kWords, 1000, 100));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, chunks);
}

TEST(Chunker, MemoryStaysFlatWithoutAnySentenceEnd) {
  // 64 MB that is one sentence and one paragraph: the size cap bounds it.
  constexpr int64_t kTotal = 64ll << 20;
  for (SplitBy s : {SplitBy::kSentences, SplitBy::kParagraphs}) {
    const int64_t before = ResidentBytes();
    GeneratedText gen(kTotal, /*plain=*/true);
    std::istream in(&gen);
    ChunkOptions o = Opts(s, 10, 2);
    int64_t chunks = 0;
    size_t longest = 0;
    Status st = ChunkText(in, o, [&](int64_t, std::string_view text) {
      ++chunks;
      longest = std::max(longest, text.size());
      return Status::Ok();
    });
    ASSERT_TRUE(st.ok()) << st.ToString();
    const int64_t growth = ResidentBytes() - before;
    EXPECT_GE(chunks, 8);
    EXPECT_LE(longest, static_cast<size_t>(o.max_chunk_bytes));
    EXPECT_LT(growth, 48ll << 20) << SplitByName(s) << ": resident memory grew by " << growth << " bytes";
  }
}

}  // namespace
}  // namespace strata::extract
