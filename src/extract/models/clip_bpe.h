// CLIP's byte-level BPE tokenizer (OpenAI's simple_tokenizer.py, which
// HuggingFace's CLIPTokenizer reproduces), from a model folder's vocab.json
// and merges.txt:
//   1. whitespace collapsed, text lower-cased (ftfy's mojibake repair and the
//      HTML unescaping CLIP also does are left out);
//   2. split into words by CLIP's pattern: the special tokens, the
//      contractions 's 't 're 've 'm 'll 'd, runs of letters, single digits,
//      runs of anything else but whitespace;
//   3. each word's UTF-8 bytes mapped to printable characters (GPT-2's
//      bytes_to_unicode), "</w>" appended to its last character, and pairs
//      merged by merges.txt's rank, lowest first, until none applies;
//   4. the pieces looked up in vocab.json, between <|startoftext|> and
//      <|endoftext|> (49406 and 49407 in CLIP's vocabulary).
// Letters and digits outside ASCII are told apart with glibc's C.UTF-8 tables
// (iswalpha_l, iswdigit_l), which follow Unicode's categories closely.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"

namespace strata::extract {

class ClipBpeTokenizer {
 public:
  // Errors are Internal (a model's files are the server's, not a request's):
  // unreadable or malformed files, or a vocabulary without the two special
  // tokens.
  static Result<ClipBpeTokenizer> FromFiles(const std::string& vocab_json, const std::string& merges_txt);
  static Result<ClipBpeTokenizer> FromData(std::unordered_map<std::string, int64_t> vocab,
                                           const std::vector<std::pair<std::string, std::string>>& merges);

  // The BPE pieces of `text` (step 1-3), without the special tokens.
  std::vector<std::string> Tokenize(std::string_view text) const;
  // <|startoftext|> ids <|endoftext|>, at most `max_length` in all (pieces
  // past that are dropped; the end token stays). max_length below 2: no limit.
  // A piece missing from the vocabulary (a broken vocab.json) becomes
  // <|endoftext|>, CLIP's unknown token.
  std::vector<int64_t> Encode(std::string_view text, int max_length) const;

  int64_t start_id() const { return start_id_; }
  int64_t end_id() const { return end_id_; }
  // CLIP pads with <|endoftext|>; the attention mask hides the padding.
  int64_t pad_id() const { return end_id_; }
  size_t vocab_size() const { return vocab_.size(); }

 private:
  ClipBpeTokenizer() = default;
  std::vector<std::string> Bpe(const std::string& word) const;

  std::unordered_map<std::string, int64_t> vocab_;
  std::unordered_map<std::string, int> ranks_;  // "first second" -> merge rank
  int64_t start_id_ = 0, end_id_ = 0;
};

}  // namespace strata::extract
