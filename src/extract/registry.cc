#include "extract/registry.h"

#include <fstream>
#include <sstream>

#include "extract/document_graph_extractor.h"
#include "extract/face_identity_extractor.h"
#include "extract/feature_uri.h"
#include "extract/image_extractor.h"
#include "extract/multimodal_extractor.h"
#include "extract/parameters.h"
#include "extract/passthrough_extractor.h"
#include "extract/text_extractor.h"

namespace strata::extract {

Result<std::unique_ptr<std::istream>> InputValue::OpenText() const {
  if (is_blob()) {
    auto f = std::make_unique<std::ifstream>(blob_path, std::ios::binary);
    if (!*f) return Status::Storage("blob file of input '" + name + "' cannot be read");
    return std::unique_ptr<std::istream>(std::move(f));
  }
  return std::unique_ptr<std::istream>(
      std::make_unique<std::istringstream>(value.is_string() ? value.get<std::string>() : value.dump()));
}

Json VectorIndexDefinitions(const ExtractorInfo& info, const std::vector<VectorOutput>& outs) {
  Json list = Json::array();
  for (const auto& v : outs) {
    Json index = {{"name", v.storage_name},
                  {"description", v.description},
                  {"dimensions", v.dimensions > 0 ? Json(v.dimensions) : Json(nullptr)},
                  {"type", v.type},
                  {"distance", v.distance},
                  {"datatype", "float32"},
                  {"on_disk", false},
                  {"supported_inputs", v.supported_inputs},
                  {"inference_name", v.model.empty() ? Json(nullptr) : Json(v.model)},
                  {"inference_service_id", nullptr}};
    list.push_back({{"feature_uri", FeatureUri{info.name, info.version, v.output}.ToString()},
                    {"name", v.storage_name},
                    {"description", v.description},
                    {"type", "single"},
                    {"index", index}});
  }
  return list;
}

ExtractorRegistry::ExtractorRegistry(ModelRegistry& models, const media::MediaLimits& limits)
    : models_(&models), limits_(limits) {
  extractors_.push_back(MakeTextExtractor(models));
  extractors_.push_back(MakePassthroughExtractor());
  extractors_.push_back(MakeImageExtractor(models, limits));
  extractors_.push_back(MakeMultimodalExtractor(models, limits));
  extractors_.push_back(MakeDocumentGraphExtractor(models, limits));
  extractors_.push_back(MakeFaceIdentityExtractor(models, limits));
}

const Extractor* ExtractorRegistry::Find(const std::string& name, const std::string& version) const {
  for (const auto& e : extractors_) {
    if (e->info().name == name && e->info().version == version) return e.get();
  }
  return nullptr;
}

const Extractor* ExtractorRegistry::FindById(const std::string& id) const {
  for (const auto& e : extractors_) {
    if (e->info().id() == id) return e.get();
  }
  return nullptr;
}

Json ExtractorRegistry::Describe(const Extractor& e) const {
  const ExtractorInfo& info = e.info();
  Json defaults = ResolveParameters(info.parameter_schema, Json(), "parameters").value_or(Json::object());
  Json vector_indexes = Json::array();
  auto outputs = e.VectorOutputs(defaults);
  if (outputs.ok()) vector_indexes = VectorIndexDefinitions(info, *outputs);
  Json input_types = info.input_types;
  return {{"feature_extractor_name", info.name},
          {"version", info.version},
          {"feature_extractor_id", info.id()},
          {"description", info.description},
          {"icon", info.name == "text_extractor" ? "file-text" : "copy"},
          {"source", "builtin"},
          {"input_schema", info.input_schema},
          {"output_schema", e.OutputSchema(defaults)},
          {"parameter_schema", info.parameter_schema},
          {"supported_input_types", input_types},
          {"max_inputs", Json::object()},
          {"default_parameters", defaults},
          {"required_vector_indexes", vector_indexes},
          {"required_payload_indexes", Json::array()},
          {"position_fields", info.position_fields}};
}

}  // namespace strata::extract
