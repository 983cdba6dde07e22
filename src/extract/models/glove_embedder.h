// The dense text model that ships with Strata: GloVe word vectors (6B tokens,
// 100 dimensions) averaged into a sentence vector with smooth inverse frequency
// weighting (Arora, Liang, Ma 2017, "A Simple but Tough-to-Beat Baseline for
// Sentence Embeddings"). No GPU, no ONNX runtime: ~2 µs a sentence on one core.
//
// The vectors come from scripts/convert_glove.py's file (format documented
// there), mapped read-only into memory, so every instance in the process shares
// the page cache and loading costs ~15 ms (building the word index).
//
// A sentence vector is
//   s = sum over known tokens w of  a / (a + p(w)) * v(w)
//   s = s - (s . u) u        (u: the file's common component, see below)
//   s = s / |s|
// where p(w) comes from w's frequency rank r (the file is rank-ordered) by
// Zipf's law, p = 1 / (r * H_N), N the vocabulary size: the file has no counts,
// and Zipf's law fits the ranks of a large English corpus well enough for a
// weight that only has to tell "the" (weight 0.01) from "puppy" (weight 0.99).
// u is the top eigenvector of the expected outer product of SIF sentence
// vectors under the same unigram model, computed once at conversion time (no
// corpus needed). Removing it doubled the gap between paraphrase and unrelated
// pairs' cosines on a hand-written set of 24 pairs (0.33 -> 0.69; unrelated
// pairs fall from ~0.53 to ~0.03) at equal ranking accuracy.
//
// Text with no known word (empty, punctuation only, all out-of-vocabulary)
// embeds to the zero vector: there is no direction to give it, and callers
// that store it must treat its cosine as 0 rather than divide by its norm.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "extract/models/embedder.h"

namespace strata::extract {

// Splits text into lowercase word tokens the way the GloVe vocabulary was
// built: runs of ASCII letters and digits, lowercased; any other ASCII byte
// ends a token. Multibyte UTF-8 letters stay inside the token ("café" stays
// one token, which is out of vocabulary, rather than becoming the word
// "caf"); Unicode spaces, punctuation and symbols (curly quotes, dashes,
// ellipsis, "«»", CJK punctuation, emoji) end a token like their ASCII
// counterparts. Non-ASCII letters are not lowercased: the vocabulary has no
// word with one. Tokens longer than kMaxTokenBytes are dropped (the longest
// vocabulary word has 42 bytes). Allocates nothing:
//   GloveTokenizer tok(text);
//   for (std::string_view t; tok.Next(&t);) ...
class GloveTokenizer {
 public:
  static constexpr size_t kMaxTokenBytes = 64;
  explicit GloveTokenizer(std::string_view text) : text_(text) {}
  // The next token (valid until the following call), or false at the end.
  bool Next(std::string_view* token);

 private:
  std::string_view text_;
  size_t pos_ = 0;
  char buf_[kMaxTokenBytes];
};

std::vector<std::string> GloveTokens(std::string_view text);  // for tests

class GloveEmbedder : public Embedder {
 public:
  static constexpr const char* kName = "glove_100d_sif";

  // Maps the file at `path`. A missing, truncated or foreign file is an error
  // naming the path.
  static Result<std::unique_ptr<GloveEmbedder>> Load(const std::string& path);
  ~GloveEmbedder() override;
  GloveEmbedder(const GloveEmbedder&) = delete;
  GloveEmbedder& operator=(const GloveEmbedder&) = delete;

  const std::string& name() const override { return name_; }
  int dimensions() const override { return static_cast<int>(dims_); }
  std::string fingerprint() const override { return fingerprint_; }
  // The role is ignored: the model is symmetric. Never fails once loaded.
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts,
                                                EmbedRole role) override;

  // One text into out[0..dimensions()). Thread-safe; allocates nothing.
  void EmbedInto(std::string_view text, float* out) const;
  std::vector<float> EmbedOne(std::string_view text) const;

  // Frequency rank of a lowercase word (0 = most frequent), or -1.
  int64_t RankOf(std::string_view word) const;
  int64_t vocab_size() const { return vocab_size_; }
  bool removes_common_component() const { return !component_.empty(); }

 private:
  GloveEmbedder() = default;
  Status Init(const std::string& path);
  std::string_view WordAt(uint32_t rank) const;
  void BuildIndex();

  std::string name_ = kName;
  std::string fingerprint_;
  void* map_ = nullptr;  // the whole file, read-only
  size_t map_size_ = 0;
  uint32_t vocab_size_ = 0;
  uint32_t dims_ = 0;
  float sif_a_ = 0;
  double harmonic_ = 0;  // H_N of the Zipf probabilities
  const uint32_t* word_offsets_ = nullptr;
  const char* word_blob_ = nullptr;
  const uint16_t* vectors_ = nullptr;  // float16, vocab_size_ x dims_
  std::vector<float> component_;       // unit vector, or empty
  // Open-addressing table from word to rank + 1 (0 = empty slot).
  std::vector<uint32_t> index_;
  uint64_t index_mask_ = 0;
};

}  // namespace strata::extract
