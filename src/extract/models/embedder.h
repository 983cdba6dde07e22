// Model backends for dense embeddings, separate from the extractors that use
// them. Every backend (GloVe word vectors that ship with Strata, an ONNX model
// folder the user brings, an HTTP provider speaking POST /v1/embeddings) sits
// behind this one interface, so an extractor names a model and never knows
// which backend answers.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::extract {

// Asymmetric models embed queries and passages differently (E5's "query: " and
// "passage: " prefixes); symmetric ones ignore this.
enum class EmbedRole { kPassage, kQuery };

class Embedder {
 public:
  virtual ~Embedder() = default;
  // Stable model id, part of feature URIs and cache keys (e.g. "glove_100d_sif").
  virtual const std::string& name() const = 0;
  virtual int dimensions() const = 0;
  // "cosine" | "dot" | "euclid": the distance its vectors are meant for.
  virtual std::string distance() const { return "cosine"; }
  // Everything that changes the vectors besides the input text (pooling,
  // normalisation, prefixes, max tokens, the remote model): part of cache keys.
  virtual std::string fingerprint() const { return name(); }
  // Whether the model reads only the start of `text` (more tokens than its
  // limit): the text extractor says so in the chunk's document.
  virtual bool Truncates(std::string_view text) const { return false; }
  // One vector of dimensions() floats per text, in order. Thread-safe.
  virtual Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts,
                                                        EmbedRole role) = 0;
};

}  // namespace strata::extract
