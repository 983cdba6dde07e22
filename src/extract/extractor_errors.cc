#include "extract/extractor_errors.h"

#include "extract/models/model_registry.h"

namespace strata::extract {

Status AtInput(const Status& st, const std::string& input) {
  if (st.code() != StatusCode::kValidation || !st.details().is_object()) return st;
  const Json& errs = st.details().value("validation_errors", Json::array());
  if (errs.empty()) return st;
  return Status::Invalid(input, errs[0].value("message", st.message()), errs[0].value("type", "value_error"));
}

Status AtParameter(const Status& st, const std::string& loc) {
  std::string msg = st.message();
  if (auto colon = msg.find(": "); st.code() == StatusCode::kValidation && colon != std::string::npos) {
    msg = msg.substr(colon + 2);
  }
  return Status::Invalid(loc, msg, "value_error");
}

Status CheckTextModel(ModelRegistry& models, const Json& params, const std::string& loc) {
  auto model = models.Get(params.value("embedding_model", std::string(kDefaultTextModel)));
  if (!model.ok()) return AtParameter(model.status(), loc + ".embedding_model");
  return Status::Ok();
}

}  // namespace strata::extract
