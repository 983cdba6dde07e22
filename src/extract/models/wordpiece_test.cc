// The examples of BERT's own tokenization tests (google-research/bert and
// HuggingFace's BertTokenizer), plus the Unicode cases Strata handles itself.
#include "extract/models/wordpiece.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace strata::extract {
namespace {

using Pieces = std::vector<std::string>;

WordPieceTokenizer Make(const Pieces& tokens, WordPieceOptions o = {}) {
  std::unordered_map<std::string, int64_t> vocab;
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = static_cast<int64_t>(i);
  auto t = WordPieceTokenizer::FromVocab(std::move(vocab), o);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

const Pieces kVocab = {"[UNK]", "[CLS]", "[SEP]", "want",  "##want", "##ed",
                       "wa",    "un",    "runn",  "##ing", ","};

std::filesystem::path TempFile(const std::string& name, const std::string& content) {
  auto path = std::filesystem::temp_directory_path() /
              ("strata_wordpiece_" + std::to_string(getpid()) + "_" + name);
  std::ofstream(path) << content;
  return path;
}

TEST(WordPiece, BasicTokenizerLowercases) {
  auto t = Make(kVocab);
  EXPECT_EQ(t.BasicTokenize(" \tHeLLo!how  \n Are yoU?  "),
            (Pieces{"hello", "!", "how", "are", "you", "?"}));
  EXPECT_EQ(t.BasicTokenize("H\u00E9llo"), (Pieces{"hello"}));
}

TEST(WordPiece, BasicTokenizerCased) {
  WordPieceOptions o;
  o.lowercase = false;
  o.strip_accents = false;
  auto t = Make(kVocab, o);
  EXPECT_EQ(t.BasicTokenize(" \tHeLLo!how  \n Are yoU?  "),
            (Pieces{"HeLLo", "!", "how", "Are", "yoU", "?"}));
}

TEST(WordPiece, AccentsAndCaseAreSeparateSwitches) {
  WordPieceOptions keep_accents;
  keep_accents.strip_accents = false;
  EXPECT_EQ(Make(kVocab, keep_accents).BasicTokenize(" \tH\u00E4LLo!how  \n Are yoU?  "),
            (Pieces{"h\u00E4llo", "!", "how", "are", "you", "?"}));
  WordPieceOptions keep_case;
  keep_case.lowercase = false;
  EXPECT_EQ(Make(kVocab, keep_case).BasicTokenize(" \tH\u00E4LLo!how  \n Are yoU?  "),
            (Pieces{"HaLLo", "!", "how", "Are", "yoU", "?"}));
  // Combining marks (NFD input) go too; letters NFD keeps stay.
  EXPECT_EQ(Make(kVocab).BasicTokenize("Cafe\u0301 \u0141\u00F3d\u017A Stra\u00DFe"),
            (Pieces{"cafe", "\u0142odz", "stra\u00DFe"}));
}

TEST(WordPiece, ChineseCharactersAreTokens) {
  auto t = Make(kVocab);
  EXPECT_EQ(t.BasicTokenize("ah\u535A\u63A8zz"), (Pieces{"ah", "\u535A", "\u63A8", "zz"}));
  EXPECT_EQ(t.BasicTokenize("\u4F60\u597D\uFF0C\u4E16\u754C\u3002"),
            (Pieces{"\u4F60", "\u597D", "\uFF0C", "\u4E16", "\u754C", "\u3002"}));
}

TEST(WordPiece, CleansControlsAndUnicodeSpaces) {
  auto t = Make(kVocab);
  EXPECT_EQ(t.BasicTokenize(std::string("a\0b", 3) + "\u200Bc d\u00A0e\u3000f"),
            (Pieces{"abc", "d", "e", "f"}));
  EXPECT_EQ(t.BasicTokenize("a\xFF\xC3z"), (Pieces{"az"}));  // malformed UTF-8 is dropped
  EXPECT_EQ(t.BasicTokenize("\u201CQuoted\u201D \u2014 yes\u2026"),
            (Pieces{"\u201C", "quoted", "\u201D", "\u2014", "yes", "\u2026"}));
  EXPECT_EQ(t.BasicTokenize("\u0391\u0392\u0393 \u0416"), (Pieces{"\u03B1\u03B2\u03B3", "\u0436"}));
}

TEST(WordPiece, GreedyLongestMatchFirst) {
  auto t = Make(kVocab);
  EXPECT_EQ(t.Tokenize(""), Pieces{});
  EXPECT_EQ(t.Tokenize("unwanted running"), (Pieces{"un", "##want", "##ed", "runn", "##ing"}));
  EXPECT_EQ(t.Tokenize("unwantedX running"), (Pieces{"[UNK]", "runn", "##ing"}));
  EXPECT_EQ(t.Tokenize("UNwant\u00E9d,running"),
            (Pieces{"un", "##want", "##ed", ",", "runn", "##ing"}));
}

TEST(WordPiece, OverlongWordIsUnknown) {
  auto t = Make({"[UNK]", "[CLS]", "[SEP]", "a", "##a"});
  EXPECT_EQ(t.Tokenize(std::string(100, 'a')).size(), 100u);
  EXPECT_EQ(t.Tokenize(std::string(101, 'a')), (Pieces{"[UNK]"}));
}

TEST(WordPiece, EncodeAddsSpecialTokensAndTruncates) {
  auto t = Make(kVocab);
  EXPECT_EQ(t.Encode("UNwant\u00E9d,running", 0), (std::vector<int64_t>{1, 7, 4, 5, 10, 8, 9, 2}));
  EXPECT_EQ(t.Encode("unwanted running", 4), (std::vector<int64_t>{1, 7, 4, 2}));
  EXPECT_EQ(t.Encode("", 512), (std::vector<int64_t>{1, 2}));
}

TEST(WordPiece, LoadsVocabTxt) {
  std::string text;
  for (const auto& tok : kVocab) text += tok + "\r\n";  // a Windows-edited file
  auto path = TempFile("vocab.txt", text);
  auto t = WordPieceTokenizer::FromVocabFile(path.string(), {});
  std::filesystem::remove(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->vocab_size(), kVocab.size());
  EXPECT_EQ(t->Encode("unwanted", 0), (std::vector<int64_t>{1, 7, 4, 5, 2}));
}

TEST(WordPiece, LoadsTokenizerJson) {
  Json doc = {
      {"normalizer",
       {{"type", "BertNormalizer"}, {"lowercase", false}, {"strip_accents", nullptr}}},
      {"model",
       {{"type", "WordPiece"},
        {"unk_token", "<unk>"},
        {"continuing_subword_prefix", "@@"},
        {"max_input_chars_per_word", 100},
        {"vocab",
         {{"<unk>", 0}, {"[CLS]", 1}, {"[SEP]", 2}, {"[PAD]", 3}, {"Run", 4}, {"@@ning", 5}}}}}};
  auto path = TempFile("tokenizer.json", doc.dump());
  auto t = WordPieceTokenizer::FromTokenizerJson(path.string(), {});
  std::filesystem::remove(path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FALSE(t->options().lowercase);
  EXPECT_FALSE(t->options().strip_accents);  // null follows lowercase
  EXPECT_EQ(t->pad_id(), 3);
  EXPECT_EQ(t->Tokenize("Running running"), (Pieces{"Run", "@@ning", "<unk>"}));
}

TEST(WordPiece, RejectsOtherModelsAndMissingSpecials) {
  auto path = TempFile("bpe.json", R"({"model": {"type": "BPE", "vocab": {}}})");
  auto bpe = WordPieceTokenizer::FromTokenizerJson(path.string(), {});
  std::filesystem::remove(path);
  ASSERT_FALSE(bpe.ok());
  EXPECT_NE(bpe.status().message().find("BPE"), std::string::npos);

  auto no_cls = WordPieceTokenizer::FromVocab({{"[UNK]", 0}, {"[SEP]", 1}}, {});
  ASSERT_FALSE(no_cls.ok());
  EXPECT_NE(no_cls.status().message().find("[CLS]"), std::string::npos);
}

}  // namespace
}  // namespace strata::extract
