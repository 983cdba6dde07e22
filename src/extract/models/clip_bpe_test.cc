// CLIP's byte-level BPE on a small vocabulary whose merges are worked out by
// hand below, and on the files as a CLIP folder holds them.
#include "extract/models/clip_bpe.h"

#include <gtest/gtest.h>

#include <fstream>

#include "extract/models/models_test_util.h"

namespace strata::extract {
namespace {

using Pieces = std::vector<std::string>;
using Ids = std::vector<int64_t>;

// Merges, by rank: h+e, l+l, he+ll, hell+o</w>, c+a, ca+t</w>, '+s</w>.
const std::vector<std::pair<std::string, std::string>> kMerges = {
    {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o</w>"}, {"c", "a"}, {"ca", "t</w>"}, {"'", "s</w>"}};

std::unordered_map<std::string, int64_t> Vocab() {
  return {{"h", 0},          {"e", 1},      {"l", 2},       {"o</w>", 3},     {"he", 4},
          {"ll", 5},         {"hell", 6},   {"hello</w>", 7}, {"l</w>", 8},   {"!</w>", 9},
          {"c", 10},         {"a", 11},     {"t</w>", 12},  {"ca", 13},       {"cat</w>", 14},
          {"'s</w>", 15},    {"3</w>", 16}, {"Ã", 17},      {"©</w>", 18},    {"Ġ", 19},
          {"<|startoftext|>", 49406},       {"<|endoftext|>", 49407}};
}

ClipBpeTokenizer Make() {
  auto t = ClipBpeTokenizer::FromData(Vocab(), kMerges);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

TEST(ClipBpeTest, MergesByRankWithEndOfWordMarkers) {
  const ClipBpeTokenizer t = Make();
  EXPECT_EQ(t.Tokenize("hello"), Pieces({"hello</w>"}));
  // "hell" ends in "l</w>", which no merge joins with the "l" before it.
  EXPECT_EQ(t.Tokenize("hell"), Pieces({"he", "l", "l</w>"}));
  EXPECT_EQ(t.Tokenize("cat"), Pieces({"cat</w>"}));
}

TEST(ClipBpeTest, LowercasesAndSplitsLikeClipsPattern) {
  const ClipBpeTokenizer t = Make();
  // Case folded; whitespace separates; punctuation is a word of its own;
  // "'s" is split off; digits are single words.
  EXPECT_EQ(t.Tokenize("  HELLO\tCat's!\n33 "),
            Pieces({"hello</w>", "cat</w>", "'s</w>", "!</w>", "3</w>", "3</w>"}));
  EXPECT_EQ(t.Tokenize(""), Pieces());
}

TEST(ClipBpeTest, MapsBytesToPrintableCharacters) {
  const ClipBpeTokenizer t = Make();
  // "é" is bytes C3 A9, both printable Latin-1: "Ã" "©"; é is a letter.
  EXPECT_EQ(t.Tokenize("\xc3\xa9"), Pieces({"Ã", "©</w>"}));
  // Byte 0x7F is not printable: GPT-2's table shifts it (the 34th such byte)
  // to U+0121 "ġ".
  EXPECT_EQ(t.Tokenize("\x7f"), Pieces({"\xc4\xa1</w>"}));
}

TEST(ClipBpeTest, EncodesBetweenStartAndEndTokensAndTruncates) {
  const ClipBpeTokenizer t = Make();
  EXPECT_EQ(t.Encode("Hello cat!", 77), Ids({49406, 7, 14, 9, 49407}));
  EXPECT_EQ(t.Encode("Hello cat!", 3), Ids({49406, 7, 49407}));
  EXPECT_EQ(t.Encode("", 77), Ids({49406, 49407}));
  // A piece the vocabulary lacks becomes <|endoftext|>.
  EXPECT_EQ(t.Encode("zz", 77), Ids({49406, 49407, 49407, 49407}));  // "z" "z</w>"
  // Special tokens in the text are kept whole.
  EXPECT_EQ(t.Encode("hello<|endoftext|>", 77), Ids({49406, 7, 49407, 49407}));
  EXPECT_EQ(t.pad_id(), 49407);
}

TEST(ClipBpeTest, ReadsVocabJsonAndMergesTxt) {
  testing_util::ScratchDir dir;
  {
    std::ofstream vocab(dir.path() / "vocab.json");
    vocab << R"({"h": 0, "e": 1, "l": 2, "o</w>": 3, "he": 4, "ll": 5, "hell": 6, "hello</w>": 7,)"
          << R"( "<|startoftext|>": 49406, "<|endoftext|>": 49407})";
    std::ofstream merges(dir.path() / "merges.txt");
    merges << "#version: 0.2\nh e\nl l\nhe ll\nhell o</w>\n";
  }
  auto t = ClipBpeTokenizer::FromFiles((dir.path() / "vocab.json").string(), (dir.path() / "merges.txt").string());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->Encode("Hello", 77), Ids({49406, 7, 49407}));

  {
    std::ofstream bad(dir.path() / "bad.txt");
    bad << "#version: 0.2\nh e x\n";
  }
  auto broken = ClipBpeTokenizer::FromFiles((dir.path() / "vocab.json").string(), (dir.path() / "bad.txt").string());
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("bad.txt:2"), std::string::npos) << broken.status().message();

  {
    std::ofstream nospecial(dir.path() / "nospecial.json");
    nospecial << R"({"h": 0})";
  }
  auto lacking = ClipBpeTokenizer::FromFiles((dir.path() / "nospecial.json").string(), (dir.path() / "merges.txt").string());
  ASSERT_FALSE(lacking.ok());
  EXPECT_NE(lacking.status().message().find("<|startoftext|>"), std::string::npos);
  EXPECT_FALSE(ClipBpeTokenizer::FromFiles((dir.path() / "absent.json").string(),
                                           (dir.path() / "merges.txt").string()).ok());
}

}  // namespace
}  // namespace strata::extract
