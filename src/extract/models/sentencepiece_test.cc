#include "extract/models/sentencepiece.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "extract/models/models_test_util.h"

namespace strata::extract {
namespace {

using ::testing::ElementsAre;
using Ids = std::vector<int32_t>;

// A vocabulary small enough to work every segmentation out by hand. Ids 0-5
// are reserved as in USE's (0 is the unknown "�", never matched).
constexpr const char* kVocab = R"([
  ["\ufffd", 0], ["<s>", 0], ["</s>", 0], ["x1", 0], ["x2", 0], ["x3", 0],
  ["\u2581he", -2], ["llo", -2], ["\u2581hello", -3], ["\u2581", -1],
  ["h", -3], ["e", -3], ["l", -3], ["o", -3], ["\u2581world", -3], [",", -2],
  ["\u2581a", -2], ["a", -1], ["\u2581z", null], ["z", -5],
  ["\u2581fi", -1], ["1", -1], ["\u2581caf\u00e9", -2],
  ["\ud83d\ude00", -1], ["ll", -1], ["ll", -2], ["f", -5], ["i", -5], ["dup", -9]
])";

SentencePieceTokenizer Tiny() {
  auto t = SentencePieceTokenizer::FromJson(Json::parse(kVocab), "test");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

TEST(SentencePieceTest, SegmentsWithTheBestScoringPieces) {
  if (std::string why; !NfkcAvailable(&why)) GTEST_SKIP() << why;
  const auto t = Tiny();
  // "▁hello" (-3) beats "▁he" + "llo" (-4) and single letters.
  EXPECT_THAT(t.Encode("hello"), ElementsAre(8));
  EXPECT_THAT(t.Encode("hello world"), ElementsAre(8, 14));
  EXPECT_THAT(t.Encode("hello, world"), ElementsAre(8, 15, 14));
  EXPECT_EQ(t.piece(8), "\u2581hello");
  EXPECT_EQ(t.size(), 29);
}

TEST(SentencePieceTest, UnknownsAreIdZeroAndRunsOfThemMerge) {
  if (std::string why; !NfkcAvailable(&why)) GTEST_SKIP() << why;
  const auto t = Tiny();
  EXPECT_THAT(t.Encode("hellox"), ElementsAre(8, 0));
  // "xyq": no piece starts at x, y or q: three unknowns, merged into one.
  EXPECT_THAT(t.Encode("xyq"), ElementsAre(9, 0));
  EXPECT_THAT(t.Encode("xy hello qq"), ElementsAre(9, 0, 8, 9, 0));
  // The reserved pieces are never matched, "�" included.
  EXPECT_THAT(t.Encode("<s>"), ElementsAre(9, 0));
  EXPECT_THAT(t.Encode("\xef\xbf\xbd"), ElementsAre(9, 0));
}

TEST(SentencePieceTest, FollowsTheReferenceQuirks) {
  if (std::string why; !NfkcAvailable(&why)) GTEST_SKIP() << why;
  const auto t = Tiny();
  // Ties go to the later arc: "▁a" (-2) and "▁" + "a" (-1 + -1) tie at -2.
  EXPECT_THAT(t.Encode("a"), ElementsAre(9, 17));
  // A best of exactly 0 counts as unset: "▁z" (null: 0) is replaced by the
  // worse "▁" + "z" (-6), as in the reference.
  EXPECT_THAT(t.Encode("z"), ElementsAre(9, 19));
  // Of two equal pieces the later one wins: "ll" is 25 (-2), not 24 (-1).
  EXPECT_THAT(t.Encode("ll"), ElementsAre(9, 25));
  // No arc ends after "d" (only "dup" starts there), so that position keeps
  // best 0, and the unknowns "u" and "p" that follow it beat "dup" (-9): the
  // reference gives "▁" and one (merged) unknown.
  EXPECT_THAT(t.Encode("hello dup"), ElementsAre(8, 9, 0));
}

TEST(SentencePieceTest, EmptyAndWhitespace) {
  if (std::string why; !NfkcAvailable(&why)) GTEST_SKIP() << why;
  const auto t = Tiny();
  EXPECT_TRUE(t.Encode("").empty());
  // Spaces are kept, one "▁" each, after the leading one.
  EXPECT_THAT(t.Encode(" "), ElementsAre(9, 9));
  EXPECT_THAT(t.Encode("  hello"), ElementsAre(9, 9, 8));
  EXPECT_THAT(t.Encode("hello "), ElementsAre(8, 9));
  // A tab or a newline is no space: an unknown symbol.
  EXPECT_THAT(t.Encode("\thello"), ElementsAre(9, 0, 10, 11, 7));
}

TEST(SentencePieceTest, NormalisesWithNfkc) {
  if (std::string why; !NfkcAvailable(&why)) GTEST_SKIP() << why;
  const auto t = Tiny();
  EXPECT_THAT(t.Encode("\xef\xac\x81"), ElementsAre(20));            // "ﬁ" ligature -> "fi"
  EXPECT_THAT(t.Encode("\xe2\x91\xa0"), ElementsAre(9, 21));        // "①" -> "1"
  EXPECT_THAT(t.Encode("cafe\xcc\x81"), ElementsAre(22));            // e + combining acute -> é
  EXPECT_THAT(t.Encode("caf\xc3\xa9"), ElementsAre(22));             // é as one character
  EXPECT_THAT(t.Encode("hello\xc2\xa0world"), ElementsAre(8, 14));   // no-break space -> space
  EXPECT_THAT(t.Encode("\xef\xbd\x88\xef\xbd\x85llo"), ElementsAre(8));  // fullwidth "he"

  auto n = NfkcUtf16("\xe2\x84\xab");  // ANGSTROM SIGN -> Å (U+00C5)
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, u"\u00c5");
  n = NfkcUtf16("\xea\xb0\x80\xe1\x84\x80\xe1\x85\xa1");  // 가 + conjoining ᄀ ᅡ -> 가가
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, u"\uac00\uac00");
}

TEST(SentencePieceTest, WorksOnUtf16CodeUnits) {
  if (std::string why; !NfkcAvailable(&why)) GTEST_SKIP() << why;
  const auto t = Tiny();
  // An emoji outside the BMP is two code units, each one unknown unless a
  // piece starts there: two unknowns, merged into one.
  EXPECT_THAT(t.Encode("\xf0\x9f\x98\x81"), ElementsAre(9, 0));
  // Even the piece made of both (23) loses: nothing ends between its two
  // units, so the unknown second unit, scored from best 0, beats it.
  EXPECT_THAT(t.Encode("\xf0\x9f\x98\x80"), ElementsAre(9, 0));
  // Bytes that are not UTF-8 become U+FFFD, an unknown.
  EXPECT_THAT(t.Encode("hello \xff\xfe"), ElementsAre(8, 9, 0));
  EXPECT_THAT(t.Encode("\xc3"), ElementsAre(9, 0));
  EXPECT_EQ(Utf16ToUtf8(u"caf\u00e9 \U0001F600"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
}

TEST(SentencePieceTest, VeryLongInput) {
  if (std::string why; !NfkcAvailable(&why)) GTEST_SKIP() << why;
  const auto t = Tiny();
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "hello world ";
  const Ids ids = t.Encode(text);
  ASSERT_EQ(ids.size(), 40001u);  // and the trailing space's "▁"
  EXPECT_EQ(ids[0], 8);
  EXPECT_EQ(ids[39999], 14);
  EXPECT_EQ(ids[40000], 9);
  // A long run of unknown symbols is one unknown.
  EXPECT_THAT(t.Encode(std::string(100000, 'q')), ElementsAre(9, 0));
}

TEST(SentencePieceTest, RefusesMalformedVocabularies) {
  for (const char* bad : {R"({"a": 1})", R"([["a"]])", R"([["a", "b"]])", R"([[1, 2]])", "[]"}) {
    auto t = SentencePieceTokenizer::FromJson(Json::parse(bad), "bad.json");
    ASSERT_FALSE(t.ok()) << bad;
    if (t.status().code() == StatusCode::kUnavailable) GTEST_SKIP() << t.status().message();
    EXPECT_EQ(t.status().code(), StatusCode::kInternal) << bad;
    EXPECT_NE(t.status().message().find("bad.json"), std::string::npos) << t.status().message();
  }
  testing_util::ScratchDir dir;
  auto missing = SentencePieceTokenizer::FromVocabJson(dir.str() + "/none.json");
  EXPECT_EQ(missing.status().code(), StatusCode::kUnavailable);
  std::ofstream(dir.path() / "broken.json") << "[[\"a\", ";
  auto broken = SentencePieceTokenizer::FromVocabJson((dir.path() / "broken.json").string());
  EXPECT_EQ(broken.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace strata::extract
