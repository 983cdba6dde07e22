// The extractors this server runs, by name and version, and their public
// description (GET /v1/collections/features/extractors).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "extract/extractor.h"
#include "media/limits.h"

namespace strata::extract {

// The vector_indexes entries (VectorIndexDefinition) of an extractor's outputs,
// as collections and the registry show them.
Json VectorIndexDefinitions(const ExtractorInfo& info, const std::vector<VectorOutput>& outputs);

class ExtractorRegistry {
 public:
  // The built-in extractors; `models` must outlive the registry. `limits`
  // bound the media work of one item (pixels, duration, pages).
  explicit ExtractorRegistry(ModelRegistry& models, const media::MediaLimits& limits = {});

  // nullptr when unknown.
  const Extractor* Find(const std::string& name, const std::string& version) const;
  // By feature_extractor_id ("text_extractor_v1"); nullptr when unknown.
  const Extractor* FindById(const std::string& id) const;
  const std::vector<std::unique_ptr<Extractor>>& all() const { return extractors_; }
  // The models the extractors run on (also the retriever's rerank stage's
  // cross-encoders).
  ModelRegistry& models() const { return *models_; }
  const media::MediaLimits& limits() const { return limits_; }

  // FeatureExtractorResponseModel of one extractor.
  Json Describe(const Extractor& e) const;

 private:
  ModelRegistry* models_;
  media::MediaLimits limits_;
  std::vector<std::unique_ptr<Extractor>> extractors_;
};

}  // namespace strata::extract
