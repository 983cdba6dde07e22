#include "extract/models/model_registry.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "extract/models/glove_embedder.h"
#include "extract/models/http_embedder.h"
#include "extract/models/onnx_embedder.h"
#include "extract/models/onnx_clip.h"
#include "extract/models/use_embedder.h"
#include "extract/models/caching_image_embedder.h"
#include "extract/models/mobilenet_embedder.h"

namespace strata::extract {
namespace fs = std::filesystem;
namespace {

constexpr const char* kGloveFile = "glove-100d.bin";
constexpr const char* kLanguageIdFile = "lid.176.ftz";
constexpr const char* kConfigFile = "config.json";
constexpr const char* kFetchHint = "run scripts/fetch_models.sh (or make build)";

// A model name is one folder name: no separators, no "..", nothing hidden, so
// a request can never name a path outside the models directory.
bool IsSafeName(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool IsFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

Result<Json> ReadConfig(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Unavailable("cannot read " + path.string());
  std::stringstream buf;
  buf << in.rdbuf();
  auto parsed = ParseJson(buf.str());
  if (!parsed.ok()) return Status::Internal(path.string() + ": " + parsed.status().message());
  if (!parsed->is_object()) return Status::Internal(path.string() + ": not a JSON object");
  return std::move(parsed).value();
}

// What a folder's model does, as List() reports it: "cross_encoder", the
// config's own task for a converted TF.js model that is no text embedder
// (image, face models: other parts of Strata load those), else "embedding".
std::string TaskOf(const Json& config) {
  if (IsCrossEncoderConfig(config)) return kCrossEncoderTask;
  if (IsClipConfig(config)) return kClipTask;  // onnx_clip.h: Get gives its text tower
  if (config.contains("backend") && config["backend"] == kTfjsOnnxBackend) {
    const Json& task = config.contains("task") ? config["task"] : Json();
    if (task != kSentenceEmbeddingTask) return task.is_string() ? task.get<std::string>() : "unknown";
  }
  return "embedding";
}

}  // namespace

std::string DefaultModelsDir(const std::string& exe_path) {
  std::error_code ec;
  fs::path exe(exe_path);
  if (!exe.has_parent_path()) exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec && exe.has_parent_path()) {
    fs::path candidate = (exe.parent_path() / ".." / ".cache" / "models").lexically_normal();
    if (fs::is_directory(candidate, ec)) return candidate.string();
  }
  return "./.cache/models";
}

ModelRegistry::ModelRegistry(std::string models_dir, size_t cache_bytes)
    : dir_(std::move(models_dir)), cache_(std::make_shared<InferenceCache>(cache_bytes)) {}

bool ModelRegistry::Exists(const std::string& model_name) const {
  if (model_name == kGloveModel) return true;  // built in: missing files are another error
  return IsSafeName(model_name) && IsFile(fs::path(dir_) / model_name / kConfigFile);
}

Status ModelRegistry::UnknownModel(const std::string& model_name) const {
  std::string names;
  for (const Json& m : List()) {
    // Cross-encoders and image models do not embed text; a CLIP folder's text tower does.
    if (m["task"] != "embedding" && m["task"] != kClipTask) continue;
    names += (names.empty() ? "" : ", ") + m["name"].get<std::string>();
  }
  return Status::Invalid("body.model", "unknown model '" + model_name + "'; available: " +
                                           (names.empty() ? "none" : names));
}

Status ModelRegistry::NoCrossEncoder(const std::string& problem) const {
  std::string names;
  for (const Json& m : List()) {
    if (m["task"] == kCrossEncoderTask) names += (names.empty() ? "" : ", ") + m["name"].get<std::string>();
  }
  return Status::NotFound(problem + "; cross-encoders available: " +
                          (names.empty() ? "none (a cross-encoder is a folder of the models directory "
                                           "whose config.json has \"task\": \"cross_encoder\")"
                                         : names));
}

Result<std::unique_ptr<Embedder>> ModelRegistry::Load(const std::string& model_name) const {
  if (model_name == kGloveModel) {
    const fs::path file = fs::path(dir_) / kGloveFile;
    if (!IsFile(file)) {
      return Status::Unavailable("model " + model_name + ": " + file.string() + " is missing; " +
                                 kFetchHint);
    }
    ASSIGN_OR_RETURN(auto glove, GloveEmbedder::Load(file.string()));
    return std::unique_ptr<Embedder>(std::move(glove));
  }
  const fs::path folder = fs::path(dir_) / model_name;
  ASSIGN_OR_RETURN(Json config, ReadConfig(folder / kConfigFile));
  if (IsCrossEncoderConfig(config)) {
    return Status::Invalid("body.model", "model '" + model_name +
                                             "' is a cross-encoder (its config.json has \"task\": "
                                             "\"cross_encoder\"): it reranks, it does not embed");
  }
  const Json& backend = config.contains("backend") ? config["backend"] : Json();
  if (backend == "onnx" && IsClipConfig(config)) return MakeOnnxClipTextEmbedder(model_name, folder.string(), config);
  if (backend == "onnx") return MakeOnnxEmbedder(model_name, folder.string(), config);
  if (backend == "http") return MakeHttpEmbedder(model_name, config);
  if (backend == kTfjsOnnxBackend) {
    if (const std::string task = TaskOf(config); task != "embedding") {
      return Status::Invalid("body.model", "model '" + model_name + "' is a " + task +
                                               " model (its config.json has \"task\": \"" + task +
                                               "\"): it does not embed text");
    }
    return MakeUseEmbedder(model_name, folder.string(), config);
  }
  return Status::Internal("model " + model_name + ": " + (folder / kConfigFile).string() +
                          " must set \"backend\" to \"onnx\", \"http\" or \"tfjs-onnx\"");
}

std::shared_ptr<ModelRegistry::Slot> ModelRegistry::FindSlot(const std::string& model_name) {
  std::lock_guard lock(mu_);
  auto it = slots_.find(model_name);
  if (it != slots_.end()) return it->second;
  // Only names that resolve get a slot: request-chosen names cannot grow the map.
  if (!Exists(model_name)) return nullptr;
  return slots_[model_name] = std::make_shared<Slot>();
}

Result<std::shared_ptr<Embedder>> ModelRegistry::Get(const std::string& model_name) {
  std::shared_ptr<Slot> slot = FindSlot(model_name);
  if (!slot) return UnknownModel(model_name);  // outside mu_: List() takes it
  std::lock_guard lock(slot->mu);
  if (!slot->model) {
    ASSIGN_OR_RETURN(std::unique_ptr<Embedder> model, Load(model_name));
    slot->model = std::make_shared<CachingEmbedder>(std::shared_ptr<Embedder>(std::move(model)), cache_);
  }
  return slot->model;
}

Result<std::unique_ptr<CrossEncoder>> ModelRegistry::LoadCrossEncoder(
    const std::string& model_name) const {
  if (model_name == kGloveModel) {
    return Status::NotFound("model '" + model_name + "' is the built-in embedding model, not a cross-encoder");
  }
  const fs::path folder = fs::path(dir_) / model_name;
  ASSIGN_OR_RETURN(Json config, ReadConfig(folder / kConfigFile));
  if (!IsCrossEncoderConfig(config)) {
    return Status::NotFound("model '" + model_name + "' is not a cross-encoder (its config.json does not have "
                            "\"task\": \"cross_encoder\")");
  }
  const Json& backend = config.contains("backend") ? config["backend"] : Json();
  if (backend == "onnx") return MakeOnnxCrossEncoder(model_name, folder.string(), config);
  return Status::Internal("model " + model_name + ": " + (folder / kConfigFile).string() +
                          " must set \"backend\" to \"onnx\" (cross-encoders run on ONNX Runtime)");
}

Result<std::shared_ptr<CrossEncoder>> ModelRegistry::GetCrossEncoder(const std::string& model_name) {
  std::shared_ptr<Slot> slot = FindSlot(model_name);
  if (!slot) return NoCrossEncoder("unknown cross-encoder '" + model_name + "'");
  Status failed;
  {
    std::lock_guard lock(slot->mu);
    if (slot->cross_encoder) return slot->cross_encoder;
    Result<std::unique_ptr<CrossEncoder>> model = LoadCrossEncoder(model_name);
    if (model.ok()) {
      slot->cross_encoder = std::move(model).value();
      return slot->cross_encoder;
    }
    failed = model.status();
  }
  // Not a cross-encoder: listing the ones there are takes slot->mu (in List()),
  // so it happens here, after the lock is released.
  if (failed.code() == StatusCode::kNotFound) return NoCrossEncoder(failed.message());
  return failed;
}

Result<Json> ModelRegistry::TaskConfig(const std::string& model_name, const std::string& task) const {
  if (model_name == kGloveModel) {
    return Status::NotFound("model '" + model_name + "' is the built-in text embedding model, not a " + task +
                            " model");
  }
  const fs::path folder = fs::path(dir_) / model_name;
  ASSIGN_OR_RETURN(Json config, ReadConfig(folder / kConfigFile));
  if (const std::string got = TaskOf(config); got != task) {
    return Status::NotFound("model '" + model_name + "' is not a " + task + " model (its task is \"" + got +
                            "\")");
  }
  return config;
}

Status ModelRegistry::NoModelOfTask(const std::string& task, const std::string& problem) const {
  std::string names;
  for (const Json& m : List()) {
    // A CLIP folder's image tower is an image embedding model too.
    const bool clip_image = task == kImageEmbeddingTask && m["task"] == kClipTask;
    if (m["task"] == task || clip_image) names += (names.empty() ? "" : ", ") + m["name"].get<std::string>();
  }
  return Status::NotFound(problem + "; " + task + " models available: " +
                          (names.empty() ? "none (a folder of the models directory whose config.json has "
                                           "\"task\": \"" + task + "\")"
                                         : names));
}

Result<std::shared_ptr<ImageEmbedder>> ModelRegistry::GetImageEmbedder(const std::string& model_name) {
  std::shared_ptr<Slot> slot = FindSlot(model_name);
  if (!slot) return NoModelOfTask(kImageEmbeddingTask, "unknown image embedding model '" + model_name + "'");
  Status failed;
  {
    std::lock_guard lock(slot->mu);
    if (slot->image_embedder) return slot->image_embedder;
    Result<Json> config = TaskConfig(model_name, kImageEmbeddingTask);
    if (Result<Json> clip = TaskConfig(model_name, kClipTask); !config.ok() && clip.ok()) {
      // A CLIP folder (onnx_clip.h): its image tower, beside the text tower Get returns.
      Result<std::unique_ptr<ImageEmbedder>> tower =
          MakeOnnxClipImageEmbedder(model_name, (fs::path(dir_) / model_name).string(), *clip);
      if (!tower.ok()) return tower.status();
      slot->image_embedder = std::make_shared<CachingImageEmbedder>(
          std::shared_ptr<ImageEmbedder>(std::move(tower).value()), cache_);
      return slot->image_embedder;
    }
    if (config.ok()) {
      const Json& backend = config->contains("backend") ? (*config)["backend"] : Json();
      if (backend != kTfjsOnnxBackend) {
        return Status::Internal("model " + model_name + ": " + (fs::path(dir_) / model_name / kConfigFile).string() +
                                " must set \"backend\" to \"tfjs-onnx\" for an image embedding model");
      }
      Result<std::unique_ptr<ImageEmbedder>> model =
          MakeMobilenetEmbedder(model_name, (fs::path(dir_) / model_name).string(), *config);
      if (!model.ok()) return model.status();
      slot->image_embedder = std::make_shared<CachingImageEmbedder>(
          std::shared_ptr<ImageEmbedder>(std::move(model).value()), cache_);
      return slot->image_embedder;
    }
    failed = config.status();
  }
  // Listing the models there are takes slot->mu (in List()): after the lock.
  if (failed.code() == StatusCode::kNotFound) return NoModelOfTask(kImageEmbeddingTask, failed.message());
  return failed;
}

Result<std::shared_ptr<ObjectDetector>> ModelRegistry::GetObjectDetector(const std::string& model_name) {
  std::shared_ptr<Slot> slot = FindSlot(model_name);
  if (!slot) return NoModelOfTask(kObjectDetectionTask, "unknown object detection model '" + model_name + "'");
  Status failed;
  {
    std::lock_guard lock(slot->mu);
    if (slot->object_detector) return slot->object_detector;
    Result<Json> config = TaskConfig(model_name, kObjectDetectionTask);
    if (config.ok()) {
      const Json& backend = config->contains("backend") ? (*config)["backend"] : Json();
      if (backend != kTfjsOnnxBackend) {
        return Status::Internal("model " + model_name + ": " + (fs::path(dir_) / model_name / kConfigFile).string() +
                                " must set \"backend\" to \"tfjs-onnx\" for an object detection model");
      }
      Result<std::unique_ptr<ObjectDetector>> model =
          MakeObjectDetector(model_name, (fs::path(dir_) / model_name).string(), *config);
      if (!model.ok()) return model.status();
      slot->object_detector = std::move(model).value();
      return slot->object_detector;
    }
    failed = config.status();
  }
  if (failed.code() == StatusCode::kNotFound) return NoModelOfTask(kObjectDetectionTask, failed.message());
  return failed;
}

// The face models load as the image models above do (FaceDetector::Load and
// FaceEmbedder::Load check the backend themselves).
Result<std::shared_ptr<const FaceDetector>> ModelRegistry::GetFaceDetector(const std::string& model_name) {
  std::shared_ptr<Slot> slot = FindSlot(model_name);
  if (!slot) return NoModelOfTask(kFaceDetectionTask, "unknown face detection model '" + model_name + "'");
  Status failed;
  {
    std::lock_guard lock(slot->mu);
    if (slot->face_detector) return slot->face_detector;
    Result<Json> config = TaskConfig(model_name, kFaceDetectionTask);
    if (config.ok()) {
      ASSIGN_OR_RETURN(std::unique_ptr<FaceDetector> model,
                       FaceDetector::Load(model_name, (fs::path(dir_) / model_name).string(), *config));
      slot->face_detector = std::move(model);
      return slot->face_detector;
    }
    failed = config.status();
  }
  // Listing the models there are takes slot->mu (in List()): after the lock.
  if (failed.code() == StatusCode::kNotFound) return NoModelOfTask(kFaceDetectionTask, failed.message());
  return failed;
}

Result<std::shared_ptr<const FaceEmbedder>> ModelRegistry::GetFaceEmbedder(const std::string& model_name) {
  std::shared_ptr<Slot> slot = FindSlot(model_name);
  if (!slot) return NoModelOfTask(kFaceEmbeddingTask, "unknown face embedding model '" + model_name + "'");
  Status failed;
  {
    std::lock_guard lock(slot->mu);
    if (slot->face_embedder) return slot->face_embedder;
    // FaceRes ("face_description") or MobileFaceNet ("face_embedding").
    Result<Json> config = TaskConfig(model_name, kFaceDescriptionTask);
    if (!config.ok() && config.status().code() == StatusCode::kNotFound) {
      config = TaskConfig(model_name, kFaceEmbeddingTask);
    }
    if (config.ok()) {
      ASSIGN_OR_RETURN(std::unique_ptr<FaceEmbedder> model,
                       FaceEmbedder::Load(model_name, (fs::path(dir_) / model_name).string(), *config));
      slot->face_embedder = std::move(model);
      return slot->face_embedder;
    }
    failed = config.status();
  }
  if (failed.code() == StatusCode::kNotFound) return NoModelOfTask(kFaceEmbeddingTask, failed.message());
  return failed;
}

Result<std::shared_ptr<LanguageId>> ModelRegistry::LanguageIdModel() {
  std::lock_guard lock(lid_mu_);
  if (!lid_) {
    const fs::path file = fs::path(dir_) / kLanguageIdFile;
    if (!IsFile(file)) {
      return Status::Unavailable("language-id model " + file.string() + " is missing; " + kFetchHint);
    }
    ASSIGN_OR_RETURN(std::unique_ptr<LanguageId> id, LanguageId::Load(file.string()));
    lid_ = std::move(id);
  }
  return lid_;
}

std::vector<Json> ModelRegistry::List() const {
  std::map<std::string, Json> found;
  if (IsFile(fs::path(dir_) / kGloveFile)) {
    found[kGloveModel] = {{"name", kGloveModel}, {"backend", "glove"}, {"task", "embedding"}, {"dimensions", 100}};
  }
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!IsSafeName(name) || !IsFile(it->path() / kConfigFile)) continue;
    auto config = ReadConfig(it->path() / kConfigFile);
    Json entry = {{"name", name}, {"backend", nullptr}, {"task", "embedding"}, {"dimensions", nullptr}};
    if (config.ok()) {
      if (config->contains("backend")) entry["backend"] = (*config)["backend"];
      entry["task"] = TaskOf(*config);
      if ((entry["task"] == "embedding" || entry["task"] == kImageEmbeddingTask || entry["task"] == kClipTask) &&
          config->contains("dimensions")) {
        entry["dimensions"] = (*config)["dimensions"];
      }
    }
    found[name] = std::move(entry);
  }
  std::vector<Json> out;
  std::lock_guard lock(mu_);
  for (auto& [name, entry] : found) {
    entry["default"] = name == kDefaultTextModel;
    entry["loaded"] = false;
    if (auto it = slots_.find(name); it != slots_.end()) {
      // A slot being loaded is reported as not loaded rather than waited for.
      std::unique_lock slot_lock(it->second->mu, std::try_to_lock);
      if (slot_lock.owns_lock() && it->second->model) {
        entry["loaded"] = true;
        entry["dimensions"] = it->second->model->dimensions();
      } else if (slot_lock.owns_lock() && it->second->image_embedder) {
        entry["loaded"] = true;
        entry["dimensions"] = it->second->image_embedder->dimensions();
      } else if (slot_lock.owns_lock() && it->second->object_detector) {
        entry["loaded"] = true;
      } else if (slot_lock.owns_lock() && (it->second->face_detector || it->second->face_embedder)) {
        entry["loaded"] = true;
      } else if (slot_lock.owns_lock() && it->second->cross_encoder) {
        entry["loaded"] = true;
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace strata::extract
