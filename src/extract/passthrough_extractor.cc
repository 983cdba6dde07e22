#include "extract/passthrough_extractor.h"

namespace strata::extract {

namespace {

class PassthroughRun : public ExtractorRun {
 public:
  Status Extract(const ExtractItem& item, const Emit& emit) override { return emit(ExtractedDocument{}); }
};

class PassthroughExtractor : public Extractor {
 public:
  PassthroughExtractor() {
    info_.name = "passthrough_extractor";
    info_.version = "v1";
    info_.description = "Copies source fields into documents (field_passthrough), without any model.";
    info_.input_types = {"text", "image", "video", "audio", "pdf", "object", "string", "number"};
    info_.input_schema = Json::object();
    info_.parameter_schema = {
        {"type", "object"},
        {"additionalProperties", false},
        {"properties",
         {{"extractor_type",
           {{"type", "string"}, {"const", "passthrough_extractor"}, {"default", "passthrough_extractor"}}}}}};
  }
  const ExtractorInfo& info() const override { return info_; }
  Json OutputSchema(const Json&) const override { return Json::object(); }
  Result<std::vector<VectorOutput>> VectorOutputs(const Json&) const override { return std::vector<VectorOutput>{}; }
  Result<std::unique_ptr<ExtractorRun>> Start(const Json&) const override {
    return std::unique_ptr<ExtractorRun>(new PassthroughRun());
  }

 private:
  ExtractorInfo info_;
};

}  // namespace

std::unique_ptr<Extractor> MakePassthroughExtractor() { return std::make_unique<PassthroughExtractor>(); }

}  // namespace strata::extract
