// Where extractors get their models: by name, loaded once per process and
// shared, each behind one InferenceCache.
//
// A models directory holds
//   glove-100d.bin    the built-in GloVe text model ("glove-100d")
//   lid.176.ftz       fastText language identification
//   <name>/config.json  any other model: {"backend": "onnx", ...} for a model
//                       folder the user brings (model.onnx, vocab.txt), or
//                       {"backend": "http", ...} for a remote provider; with
//                       "task": "cross_encoder" the folder is a cross-encoder
//                       (onnx_cross_encoder.h), which GetCrossEncoder returns
//                       and Get refuses; {"backend": "tfjs-onnx", "task":
//                       "sentence_embedding"} is USE-lite (use_embedder.h,
//                       "use-lite", made by scripts/fetch_tfjs.sh); other
//                       "tfjs-onnx" tasks (image and face models) are listed
//                       with their task and refused by Get; {"backend":
//                       "onnx", "task": "clip"} is a CLIP folder (onnx_clip.h):
//                       Get returns its text tower, GetImageEmbedder its image
//                       tower, both in one space
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
#include "extract/models/image_embedder.h"
#include "extract/models/object_detector.h"
#include "extract/models/face_models.h"

namespace strata::extract {

// The dense text model used when a request names none: Universal Sentence
// Encoder lite (512-d, a transformer; scripts/fetch_tfjs.sh converts it).
inline constexpr const char* kDefaultTextModel = "use-lite";
// GloVe word vectors with SIF weighting (100-d): built in, far lighter and
// faster, weaker on paraphrases.
inline constexpr const char* kGloveModel = "glove-100d";
// The vision models the media extractors use by default (scripts/fetch_tfjs.sh
// converts them): MobileNetV2-1.4 image embeddings (1792-d), CenterNet objects
// (80 COCO classes), BlazeFace face boxes.
inline constexpr const char* kDefaultImageModel = "mobilenet-v2";
inline constexpr const char* kObjectDetectionModel = "centernet";
inline constexpr const char* kFaceDetectionModel = "blazeface";

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

  // The image embedding model called `model_name` (a folder whose config.json
  // has "task": "image_embedding"; "backend": "tfjs-onnx" is MobileNetV2,
  // mobilenet_embedder.h; or the image tower of a "task": "clip" folder,
  // onnx_clip.h), loaded once on first use, shared by all threads,
  // behind the InferenceCache. GetObjectDetector: the same for "task":
  // "object_detection" ("tfjs-onnx": CenterNet, object_detector.h; no cache,
  // detections are not vectors). Errors: an unknown name, or a model of
  // another task, is NotFound naming it and listing the models of the task;
  // missing or broken files are Unavailable or Internal as for Get. A failed
  // load is retried on the next call.
  Result<std::shared_ptr<ImageEmbedder>> GetImageEmbedder(const std::string& model_name);
  Result<std::shared_ptr<ObjectDetector>> GetObjectDetector(const std::string& model_name);
  // The same for the face models (face_models.h): "task": "face_detection"
  // (BlazeFace, "blazeface"), and "task": "face_description" (FaceRes,
  // "faceres") or "face_embedding" (MobileFaceNet, "mobilefacenet") for
  // GetFaceEmbedder; all "backend": "tfjs-onnx". No cache: a face's vector
  // depends on the whole image's pixels, not on a key worth caching.
  Result<std::shared_ptr<const FaceDetector>> GetFaceDetector(const std::string& model_name);
  Result<std::shared_ptr<const FaceEmbedder>> GetFaceEmbedder(const std::string& model_name);

  // lid.176.ftz, loaded on first use.
  Result<std::shared_ptr<LanguageId>> LanguageIdModel();

  // One object per model found in the directory, sorted by name:
  // {"name", "backend", "task" ("embedding", "cross_encoder", or the task of
  // a converted TF.js model that does not embed text, e.g. "image_embedding"),
  // "dimensions" (null until known; always null for a cross-encoder),
  // "default", "loaded"}.
  std::vector<Json> List() const;

  const std::string& models_dir() const { return dir_; }
  const std::shared_ptr<InferenceCache>& cache() const { return cache_; }

 private:
  struct Slot {
    std::mutex mu;  // held while loading, so a model loads once
    std::shared_ptr<Embedder> model;
    std::shared_ptr<CrossEncoder> cross_encoder;
    std::shared_ptr<ImageEmbedder> image_embedder;
    std::shared_ptr<ObjectDetector> object_detector;
    std::shared_ptr<const FaceDetector> face_detector;
    std::shared_ptr<const FaceEmbedder> face_embedder;
  };
  // The config of `model_name` when its task is `task`, else NotFound (the
  // problem alone).
  Result<Json> TaskConfig(const std::string& model_name, const std::string& task) const;
  // NotFound: `problem`, then the models of `task` there are.
  Status NoModelOfTask(const std::string& task, const std::string& problem) const;
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
