#include "extract/models/model_registry.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "extract/models/glove_embedder.h"
#include "extract/models/http_embedder.h"
#include "extract/models/onnx_embedder.h"

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
  if (model_name == kDefaultTextModel) return true;  // built in: missing files are another error
  return IsSafeName(model_name) && IsFile(fs::path(dir_) / model_name / kConfigFile);
}

Status ModelRegistry::UnknownModel(const std::string& model_name) const {
  std::string names;
  for (const Json& m : List()) {
    if (m["task"] == kCrossEncoderTask) continue;  // they do not embed
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
  if (model_name == kDefaultTextModel) {
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
  if (backend == "onnx") return MakeOnnxEmbedder(model_name, folder.string(), config);
  if (backend == "http") return MakeHttpEmbedder(model_name, config);
  return Status::Internal("model " + model_name + ": " + (folder / kConfigFile).string() +
                          " must set \"backend\" to \"onnx\" or \"http\"");
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
  if (model_name == kDefaultTextModel) {
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
    found[kDefaultTextModel] = {
        {"name", kDefaultTextModel}, {"backend", "glove"}, {"task", "embedding"}, {"dimensions", 100}};
  }
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!IsSafeName(name) || !IsFile(it->path() / kConfigFile)) continue;
    auto config = ReadConfig(it->path() / kConfigFile);
    Json entry = {{"name", name}, {"backend", nullptr}, {"task", "embedding"}, {"dimensions", nullptr}};
    if (config.ok()) {
      if (config->contains("backend")) entry["backend"] = (*config)["backend"];
      if (IsCrossEncoderConfig(*config)) {
        entry["task"] = kCrossEncoderTask;
      } else if (config->contains("dimensions")) {
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
      } else if (slot_lock.owns_lock() && it->second->cross_encoder) {
        entry["loaded"] = true;
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

}  // namespace strata::extract
