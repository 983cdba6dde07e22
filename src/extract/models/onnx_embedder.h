// The ONNX backend: a BERT-style sentence encoder folder the user brings
// (e.g. an export of E5, BGE or MiniLM), run with ONNX Runtime on the CPU.
//
// The folder holds model.onnx, a WordPiece tokenizer (tokenizer.json, else
// vocab.txt) and config.json:
//   backend          "onnx"
//   dimensions       the vector size (may be left out when the model declares it)
//   pooling          "mean" (over real tokens; default) | "cls"
//   normalize        L2-normalise the vectors (default true)
//   max_tokens       truncation, [CLS] and [SEP] included (default 512)
//   query_prefix     prepended to queries, e.g. "query: " (default "")
//   passage_prefix   prepended to passages, e.g. "passage: " (default "")
//   output_name      the output to read (default last_hidden_state, else the
//                    first); a 2-D [batch, dim] output is taken as the sentence
//                    embedding itself, without pooling
//   lowercase        overrides the tokenizer's own setting (vocab.txt: true)
//   batch_size       texts per model run (default 32)
//   threads          ONNX Runtime intra-op threads (default: one per core)
// The model's inputs are input_ids and attention_mask, and token_type_ids when
// it declares them, all int64 [batch, seq].
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/json_util.h"
#include "core/status.h"
#include "extract/models/embedder.h"
#include "extract/models/embedder_config.h"
#include "extract/models/wordpiece.h"

namespace strata::extract {

class OnnxSession;
struct OnnxTensorInfo;

// Loads ONNX Runtime when needed (see onnx_runtime.h): without it, Unavailable.
Result<std::unique_ptr<Embedder>> MakeOnnxEmbedder(const std::string& name,
                                                   const std::string& folder, const Json& config);

// What every BERT-style folder shares, whatever the model computes (the
// cross-encoder of onnx_cross_encoder.h uses these too).

// The folder's tokenizer: tokenizer.json when it has one, else vocab.txt
// (Unavailable when it has neither). `lowercase`, when set, overrides the
// tokenizer's own case handling; `file` (if not null) receives the file used.
Result<WordPieceTokenizer> LoadFolderTokenizer(const std::string& name, const std::string& folder,
                                               std::optional<bool> lowercase, std::string* file);

// The config.json keys every ONNX model folder shares (after checking
// `backend` is "onnx"): output_name, lowercase, batch_size, threads.
struct OnnxFolderOptions {
  std::string output_name;
  std::optional<bool> lowercase;
  int batch_size = 32;
  int threads = 0;
};
OnnxFolderOptions ParseOnnxFolderOptions(ConfigFields& fields);

// Which of BERT's inputs model.onnx declares: input_ids (required), and
// attention_mask and token_type_ids when present; all must be int64, and any
// other input is an error (Internal, naming the model).
struct BertInputs {
  bool attention_mask = false;
  bool token_type_ids = false;
};
Result<BertInputs> CheckBertInputs(const std::string& name, const OnnxSession& session);

// The output to read: the one named `wanted`, else (when `wanted` is empty)
// the one named `fallback_name`, else the first; null when none fits.
const OnnxTensorInfo* FindOutput(const OnnxSession& session, const std::string& wanted,
                                 const std::string& fallback_name);

}  // namespace strata::extract
