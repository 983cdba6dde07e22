#include "core/status.h"

namespace strata {

namespace {
nlohmann::json MakeError(const std::string& location, const std::string& message,
                         const std::string& type) {
  return {{"type", type}, {"location", location}, {"message", message}};
}
}  // namespace

Status Status::Invalid(std::string location, std::string message, std::string type) {
  std::string summary = location.empty() ? message : location + ": " + message;
  return Status(StatusCode::kValidation, summary,
                {{"validation_errors", nlohmann::json::array({MakeError(location, message, type)})}});
}

void Status::AddValidationError(const std::string& location, const std::string& message,
                                const std::string& type) {
  if (!details_.is_object()) details_ = nlohmann::json::object();
  details_["validation_errors"].push_back(MakeError(location, message, type));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return message_;
}

void ValidationErrors::Add(std::string location, std::string message, std::string type) {
  errors_.push_back(MakeError(location, message, type));
}

Status ValidationErrors::ToStatus() const {
  if (errors_.empty()) return Status::Ok();
  const auto& first = errors_[0];
  std::string summary = first["location"].get<std::string>();
  summary += (summary.empty() ? "" : ": ") + first["message"].get<std::string>();
  if (errors_.size() > 1) summary += " (and " + std::to_string(errors_.size() - 1) + " more)";
  return Status(StatusCode::kValidation, summary, {{"validation_errors", errors_}});
}

}  // namespace strata
