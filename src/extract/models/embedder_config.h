// Reading a model's config.json (the ONNX and HTTP backends): typed fields with
// defaults, where every problem names its field and all are reported at once.
// A broken config is the server's (not the request's) fault, so the status is
// Internal, as ModelRegistry reports other broken model files.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "core/json_util.h"
#include "core/status.h"

namespace strata::extract {

class ConfigFields {
 public:
  ConfigFields(std::string model, const Json& config);

  std::optional<std::string> String(const std::string& key);
  std::string String(const std::string& key, const std::string& fallback);
  std::optional<bool> Bool(const std::string& key);
  bool Bool(const std::string& key, bool fallback);
  // An integer in [min, max].
  std::optional<int> Int(const std::string& key, int min, int max);
  int Int(const std::string& key, int fallback, int min, int max);
  // A string among `allowed`.
  std::string OneOf(const std::string& key, std::initializer_list<const char*> allowed,
                    const std::string& fallback);
  // Records "<key> is required" unless the field is present.
  void Require(const std::string& key);
  void Error(const std::string& key, const std::string& problem);

  // Ok, or one Internal status listing every problem:
  // "model e5: config.json: pooling must be ...; dimensions is required".
  Status Finish() const;

 private:
  const Json* Find(const std::string& key) const;

  std::string model_;
  const Json& config_;
  std::vector<std::string> errors_;
};

// "<size>/<mtime ns>" of a file, for fingerprints: a replaced file gives
// a new fingerprint without hashing gigabytes at every start. Empty when the
// file is missing.
std::string FileStamp(const std::string& path);

}  // namespace strata::extract
