// The SentencePiece unigram tokenizer of Universal Sentence Encoder lite
// (USE-lite), over the vocabulary its TF.js package ships as vocab.json:
// [[piece, score], ...], the id of a piece being its position.
//
// The reference for every id is the tokenizer of
// @tensorflow-models/universal-sentence-encoder 1.3.3 (dist/tokenizer/*.js, a
// port of SentencePiece's EncodeAsIds), quirks included, because the model was
// fed its ids:
//   - the text is NFKC-normalised, then, when not empty, "▁" (U+2581) is put in
//     front and every U+0020 space becomes "▁" (no trimming, no collapsing:
//     two spaces are two "▁");
//   - it works on UTF-16 code units (JavaScript string indexing), so a
//     character outside the BMP is two symbols;
//   - the lattice has, at each position, every piece of the vocabulary starting
//     there (ids from kReservedSymbols on; the first ones are <unk>, <s>, </s>
//     and control symbols, never matched), and the unknown id 0 with score 0
//     only where no piece starts;
//   - Viterbi keeps, for each end, the arc with the highest score, a later arc
//     (longer start) winning ties, and a best of exactly 0 counts as unset;
//   - a null score counts as 0 (JavaScript's null + number); of two equal
//     pieces the later one wins;
//   - consecutive unknown ids are merged into one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::extract {

// NFKC of UTF-8 text, in UTF-16 code units (the form the tokenizer works on).
// Bytes that are not UTF-8 become U+FFFD first. ASCII text is returned as it
// is; other text goes through ICU's normaliser (libicuuc, loaded when first
// needed, as JavaScript engines use ICU for String.prototype.normalize):
// Unavailable when ICU cannot be loaded.
Result<std::u16string> NfkcUtf16(std::string_view utf8);
// Whether NfkcUtf16 can normalise non-ASCII text (ICU is loadable); when not,
// `why` (if not null) receives the reason.
bool NfkcAvailable(std::string* why = nullptr);
// UTF-16 back to UTF-8 (unpaired surrogates become U+FFFD), for messages and tests.
std::string Utf16ToUtf8(std::u16string_view text);

class SentencePieceTokenizer {
 public:
  // The ids below this are never matched (USE's vocabulary: "�" (unknown),
  // <s>, </s>, extra_token_id_1..3).
  static constexpr int kReservedSymbols = 6;
  static constexpr int32_t kUnknownId = 0;

  // A vocab.json file. Errors: unreadable (Unavailable), malformed (Internal,
  // naming the file and the entry), ICU missing (Unavailable).
  static Result<SentencePieceTokenizer> FromVocabJson(const std::string& path);
  // The parsed [[piece, score], ...]; `origin` names it in errors.
  static Result<SentencePieceTokenizer> FromJson(const Json& vocab, const std::string& origin);
  // Pieces (UTF-8) and scores in id order.
  static Result<SentencePieceTokenizer> FromPieces(
      const std::vector<std::pair<std::string, double>>& pieces);

  // Every id of `text`, as the reference gives them (no limit: the caller
  // truncates). The empty text has no ids.
  std::vector<int32_t> Encode(std::string_view text) const;

  int size() const { return static_cast<int>(pieces_.size()); }
  // The piece of an id (UTF-8), "" for an id out of range.
  const std::string& piece(int32_t id) const;

 private:
  struct Node {
    std::vector<std::pair<char16_t, int32_t>> children;  // sorted by symbol
    int32_t id = -1;                                      // a piece ends here
    double score = 0;
  };
  SentencePieceTokenizer() = default;
  int32_t Child(int32_t node, char16_t symbol) const;
  void Insert(const std::u16string& piece, double score, int32_t id);
  std::vector<int32_t> EncodeSymbols(const std::u16string& symbols) const;

  std::vector<std::string> pieces_;
  std::vector<int32_t> length16_;  // UTF-16 length of each piece: the backward step
  std::vector<Node> nodes_;        // nodes_[0] is the root
};

}  // namespace strata::extract
