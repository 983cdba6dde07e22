// Where extractors get their models: by name, loaded once per process and
// shared, each behind one InferenceCache.
//
// A models directory holds
//   glove-100d.bin    the built-in default text model ("glove-100d")
//   lid.176.ftz       fastText language identification
//   <name>/config.json  any other model: {"backend": "onnx", ...} for a model
//                       folder the user brings (model.onnx, vocab.txt), or
//                       {"backend": "http", ...} for a remote provider; with
//                       "task": "cross_encoder" the folder is a cross-encoder
//                       (onnx_cross_encoder.h), which GetCrossEncoder returns
//                       and Get refuses
// scripts/fetch_models.sh fills in the first two (`make build` runs it).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"
#include "extract/models/embedder.h"
#include "extract/models/inference_cache.h"
#include "extract/models/language_id.h"
#include "extract/models/onnx_cross_encoder.h"

namespace strata::extract {

// The dense text model used when a request names none.
inline constexpr const char* kDefaultTextModel = "glove-100d";

// `<dir of exe>/../.cache/models` when that exists (the binary in build/ of a
// checkout), else "./.cache/models". A bare program name (found through PATH)
// is resolved with /proc/self/exe.
std::string DefaultModelsDir(const std::string& exe_path);

class ModelRegistry {
 public:
  static constexpr size_t kDefaultCacheBytes = size_t{64} << 20;

  // cache_bytes bounds the embedding cache shared by all models (0: none).
  explicit ModelRegistry(std::string models_dir, size_t cache_bytes = kDefaultCacheBytes);

  // The model called `model_name`, loaded on first use. Errors: an unknown
  // name is a validation error at "body.model" that lists the available
  // models; a known model whose files are missing or broken is Unavailable or
  // Internal with what to do. A failed load is retried on the next call.
  Result<std::shared_ptr<Embedder>> Get(const std::string& model_name);

  // The cross-encoder called `model_name` (a folder whose config.json has
  // "task": "cross_encoder"), loaded on first use and shared, like Get's
  // models. Errors: an unknown name, or a model that is not a cross-encoder,
  // is NotFound naming it and listing the cross-encoders there are; missing or
  // broken files are Unavailable or Internal as for Get. A failed load is
  // retried on the next call.
  Result<std::shared_ptr<CrossEncoder>> GetCrossEncoder(const std::string& model_name);

  // lid.176.ftz, loaded on first use.
  Result<std::shared_ptr<LanguageId>> LanguageIdModel();

  // One object per model found in the directory, sorted by name:
  // {"name", "backend", "task" ("embedding" or "cross_encoder"), "dimensions"
  // (null until known; always null for a cross-encoder), "default", "loaded"}.
  std::vector<Json> List() const;

  const std::string& models_dir() const { return dir_; }
  const std::shared_ptr<InferenceCache>& cache() const { return cache_; }

 private:
  struct Slot {
    std::mutex mu;  // held while loading, so a model loads once
    std::shared_ptr<Embedder> model;
    std::shared_ptr<CrossEncoder> cross_encoder;
  };
  Result<std::unique_ptr<Embedder>> Load(const std::string& model_name) const;
  // NotFound (the problem alone) when the model is not a cross-encoder.
  Result<std::unique_ptr<CrossEncoder>> LoadCrossEncoder(const std::string& model_name) const;
  // The slot of a name that resolves (created on first use), else null.
  std::shared_ptr<Slot> FindSlot(const std::string& model_name);
  bool Exists(const std::string& model_name) const;
  Status UnknownModel(const std::string& model_name) const;
  // NotFound: `problem`, then the cross-encoders there are.
  Status NoCrossEncoder(const std::string& problem) const;

  std::string dir_;
  std::shared_ptr<InferenceCache> cache_;
  mutable std::mutex mu_;  // guards slots_
  std::map<std::string, std::shared_ptr<Slot>> slots_;
  std::mutex lid_mu_;
  std::shared_ptr<LanguageId> lid_;
};

}  // namespace strata::extract
