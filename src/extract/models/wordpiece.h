// BERT's WordPiece tokenizer, as the BERT-family embedding models (E5, BGE,
// MiniLM, ...) were trained with it: a basic tokenizer (clean the text, lowercase
// and strip accents when the model is uncased, split on whitespace and
// punctuation, every CJK ideograph a token of its own), then greedy
// longest-match-first word pieces with a "##" continuation prefix.
//
// Unicode coverage without ICU: lowercasing is glibc's full simple case mapping;
// accents are stripped from Latin-1 and Latin Extended-A letters and combining
// marks are dropped; punctuation is ASCII's plus the common Unicode punctuation
// blocks (Latin-1, General Punctuation, CJK, fullwidth forms). Punctuation of
// other scripts stays inside its word, as do accents outside those blocks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::extract {

struct WordPieceOptions {
  bool lowercase = true;
  bool strip_accents = true;  // BERT strips accents exactly when it lowercases
  bool split_cjk = true;
  int max_chars_per_word = 100;  // a longer word becomes [UNK]
  std::string continuation = "##";
  std::string unk_token = "[UNK]";
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
};

class WordPieceTokenizer {
 public:
  // From a vocabulary, one token per line, the line number its id. Errors are
  // Internal (a model's files are the server's, not a request's).
  static Result<WordPieceTokenizer> FromVocabFile(const std::string& path,
                                                  const WordPieceOptions& options);
  // From a HuggingFace tokenizer.json with a WordPiece model: the vocabulary is
  // model.vocab; the BertNormalizer's lowercase/strip_accents and the model's
  // unk_token, continuing_subword_prefix and max_input_chars_per_word replace
  // the matching `defaults`.
  static Result<WordPieceTokenizer> FromTokenizerJson(const std::string& path,
                                                      const WordPieceOptions& defaults);
  static Result<WordPieceTokenizer> FromVocab(std::unordered_map<std::string, int64_t> vocab,
                                              const WordPieceOptions& options);

  // The basic tokenizer alone: words and punctuation, normalised.
  std::vector<std::string> BasicTokenize(std::string_view text) const;
  // Word pieces of `text`, without [CLS]/[SEP].
  std::vector<std::string> Tokenize(std::string_view text) const;
  // [CLS] pieces [SEP] as ids, at most `max_tokens` in all (pieces past that are
  // dropped; the [SEP] stays). max_tokens below 2 means no limit.
  std::vector<int64_t> Encode(std::string_view text, int max_tokens) const;

  // A pair as BERT's sentence-pair models (cross-encoders) take it:
  // [CLS] first [SEP] second [SEP] as ids, with each token's segment
  // (token_type_ids): 0 through the first [SEP], 1 after. At most
  // `max_tokens` in all: `second` loses pieces from its end first, then
  // `first` does. max_tokens below 3 means no limit.
  struct Pair {
    std::vector<int64_t> ids;
    std::vector<int64_t> type_ids;
  };
  Pair EncodePair(std::string_view first, std::string_view second, int max_tokens) const;

  // Overrides the case handling a tokenizer file chose (and, as BERT couples
  // them, accent stripping with it).
  void SetLowercase(bool lowercase);

  int64_t pad_id() const { return pad_id_; }
  const WordPieceOptions& options() const { return options_; }
  size_t vocab_size() const { return vocab_.size(); }

 private:
  WordPieceTokenizer() = default;
  void AppendPieces(const std::string& word, std::vector<std::string>* out) const;
  int64_t IdOf(const std::string& token) const;

  std::unordered_map<std::string, int64_t> vocab_;
  WordPieceOptions options_;
  int64_t unk_id_ = 0, cls_id_ = 0, sep_id_ = 0, pad_id_ = 0;
};

}  // namespace strata::extract
