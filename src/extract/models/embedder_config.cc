#include "extract/models/embedder_config.h"

#include <sys/stat.h>

#include <limits>

namespace strata::extract {

ConfigFields::ConfigFields(std::string model, const Json& config)
    : model_(std::move(model)), config_(config) {
  if (!config_.is_object())
    errors_.push_back("the config is " + JsonTypeName(config_) + ", not an object");
}

const Json* ConfigFields::Find(const std::string& key) const {
  if (!config_.is_object()) return nullptr;
  auto it = config_.find(key);
  return it == config_.end() || it->is_null() ? nullptr : &*it;
}

void ConfigFields::Error(const std::string& key, const std::string& problem) {
  errors_.push_back(key + " " + problem);
}

void ConfigFields::Require(const std::string& key) {
  if (Find(key) == nullptr) Error(key, "is required");
}

std::optional<std::string> ConfigFields::String(const std::string& key) {
  const Json* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    Error(key, "must be a string, not " + JsonTypeName(*v));
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::string ConfigFields::String(const std::string& key, const std::string& fallback) {
  return String(key).value_or(fallback);
}

std::optional<bool> ConfigFields::Bool(const std::string& key) {
  const Json* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) {
    Error(key, "must be true or false, not " + JsonTypeName(*v));
    return std::nullopt;
  }
  return v->get<bool>();
}

bool ConfigFields::Bool(const std::string& key, bool fallback) {
  return Bool(key).value_or(fallback);
}

std::optional<int> ConfigFields::Int(const std::string& key, int min, int max) {
  const Json* v = Find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number_integer() || v->get<int64_t>() < min || v->get<int64_t>() > max) {
    std::string range = max == std::numeric_limits<int>::max()
                            ? "at least " + std::to_string(min)
                            : "from " + std::to_string(min) + " to " + std::to_string(max);
    Error(key, "must be an integer " + range + ", not " + v->dump());
    return std::nullopt;
  }
  return static_cast<int>(v->get<int64_t>());
}

int ConfigFields::Int(const std::string& key, int fallback, int min, int max) {
  return Int(key, min, max).value_or(fallback);
}

std::string ConfigFields::OneOf(const std::string& key, std::initializer_list<const char*> allowed,
                                const std::string& fallback) {
  std::optional<std::string> v = String(key);
  if (!v) return fallback;
  std::string names;
  for (const char* a : allowed) {
    if (*v == a) return *v;
    names += std::string(names.empty() ? "" : " or ") + "\"" + a + "\"";
  }
  Error(key, "must be " + names + ", not \"" + *v + "\"");
  return fallback;
}

Status ConfigFields::Finish() const {
  if (errors_.empty()) return Status::Ok();
  std::string all;
  for (const std::string& e : errors_) all += (all.empty() ? "" : "; ") + e;
  return Status::Internal("model " + model_ + ": config.json: " + all);
}

std::string FileStamp(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_size) + "/" +
         std::to_string(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec);
}

}  // namespace strata::extract
