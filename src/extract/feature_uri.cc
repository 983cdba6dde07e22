#include "extract/feature_uri.h"

#include <cctype>

namespace strata::extract {

namespace {
bool ValidPart(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}
}  // namespace

Result<FeatureUri> ParseFeatureUri(std::string_view uri) {
  constexpr std::string_view kScheme = "mixpeek://";
  auto bad = [&] {
    return Status::BadRequest("invalid feature URI '" + std::string(uri) +
                              "': expected mixpeek://{extractor}@{version}/{output}");
  };
  if (uri.substr(0, kScheme.size()) != kScheme) return bad();
  std::string_view rest = uri.substr(kScheme.size());
  size_t at = rest.find('@');
  size_t slash = rest.find('/');
  if (at == std::string_view::npos || slash == std::string_view::npos || slash < at) return bad();
  FeatureUri f{std::string(rest.substr(0, at)), std::string(rest.substr(at + 1, slash - at - 1)),
               std::string(rest.substr(slash + 1))};
  if (!ValidPart(f.extractor) || !ValidPart(f.version) || !ValidPart(f.output)) return bad();
  return f;
}

std::string StorageName(const std::string& extractor, const std::string& version, const std::string& suffix) {
  return extractor + "_" + version + "_" + suffix;
}

std::string UriOutputName(std::string model) {
  for (char& c : model) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return model;
}

}  // namespace strata::extract
