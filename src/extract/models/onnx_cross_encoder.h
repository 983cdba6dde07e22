// Cross-encoders: models that read a query and a document together and answer
// how relevant the document is (one number, higher is more relevant), as the
// retriever's rerank stage uses them. The ONNX backend runs a BERT-style
// cross-encoder folder the user brings (e.g. an export of
// cross-encoder/ms-marco-MiniLM-L-6-v2 or BAAI/bge-reranker-base).
//
// The folder holds model.onnx, a WordPiece tokenizer (tokenizer.json, else
// vocab.txt) and config.json:
//   backend      "onnx"
//   task         "cross_encoder" (what makes the folder a cross-encoder rather
//                than a sentence encoder)
//   max_length   tokens per pair, [CLS] and both [SEP] included (default 512);
//                the document is cut first, then the query
//   output_name  the output to read (default logits, else the first output)
//   lowercase    overrides the tokenizer's own setting (vocab.txt: true)
//   batch_size   pairs per model run at most (default 32)
//   threads      ONNX Runtime intra-op threads (default: one per core)
// A pair goes in as BERT's sentence pairs do: [CLS] query [SEP] document [SEP],
// token_type_ids 0 through the first [SEP] and 1 after. The inputs are
// input_ids, and attention_mask and token_type_ids when the model declares
// them, all int64 [batch, seq]. The output is float32 [batch] or [batch, 1]
// (the score is that value) or [batch, 2] (the score is the last column, the
// "relevant" class's logit); any other shape is an error that names it. Scores
// are the raw values, without a sigmoid or softmax.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::extract {

inline constexpr const char* kCrossEncoderTask = "cross_encoder";

class CrossEncoder {
 public:
  virtual ~CrossEncoder() = default;
  virtual const std::string& name() const = 0;
  // One score per document, in the documents' order. Thread-safe.
  virtual Result<std::vector<float>> Score(const std::string& query,
                                           const std::vector<std::string>& documents) const = 0;
};

// Whether a model folder's config.json describes a cross-encoder
// ("task": "cross_encoder").
bool IsCrossEncoderConfig(const Json& config);

// Loads ONNX Runtime when needed (see onnx_runtime.h): without it, Unavailable.
// Missing files are Unavailable, a broken config or a model of the wrong shape
// Internal; every message names the model.
Result<std::unique_ptr<CrossEncoder>> MakeOnnxCrossEncoder(const std::string& name,
                                                           const std::string& folder,
                                                           const Json& config);

}  // namespace strata::extract
