#include "core/status.h"

#include <algorithm>

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

Status PrefixLocations(const Status& status, const std::string& prefix) {
  if (!status.details().is_object() || !status.details().contains("validation_errors")) return status;
  ValidationErrors errs;
  for (const auto& e : status.details()["validation_errors"]) {
    std::string loc = e.value("location", "");
    if (loc == "body" || loc.rfind("body.", 0) == 0) loc = prefix + loc.substr(4);
    errs.Add(loc, e.value("message", ""), e.value("type", "value_error"));
  }
  return errs.ToStatus();
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return message_;
}

void ValidationErrors::Add(std::string location, std::string message, std::string type) {
  errors_.push_back(MakeError(location, message, type));
}

void ValidationErrors::RejectUnknownKeys(const nlohmann::json& object, const std::vector<std::string>& allowed,
                                         const std::string& location) {
  if (!object.is_object()) return;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end()) {
      Add(location + "." + it.key(), "unknown field", "unknown_field");
    }
  }
}

Status ValidationErrors::ToStatus() const {
  if (errors_.empty()) return Status::Ok();
  const auto& first = errors_[0];
  std::string summary = first["location"].get<std::string>();
  summary += (summary.empty() ? "" : ": ") + first["message"].get<std::string>();
  if (errors_.size() > 1) summary += " (and " + std::to_string(errors_.size() - 1) + " more)";
  return Status(StatusCode::kValidation, summary, {{"validation_errors", errors_}});
}

int HttpStatusOf(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kBadRequest: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kPayloadTooLarge: return 413;
    case StatusCode::kValidation: return 422;
    case StatusCode::kTooManyRequests: return 429;
    case StatusCode::kInternal: return 500;
    case StatusCode::kStorage: return 500;
    case StatusCode::kUnavailable: return 503;
  }
  return 500;
}

const char* ErrorTypeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "";
    case StatusCode::kBadRequest: return "BadRequestError";
    case StatusCode::kUnauthenticated: return "UnauthorizedError";
    case StatusCode::kPermissionDenied: return "ForbiddenError";
    case StatusCode::kNotFound: return "NotFoundError";
    case StatusCode::kAlreadyExists: return "AlreadyExistsError";
    case StatusCode::kPayloadTooLarge: return "PayloadTooLargeError";
    case StatusCode::kValidation: return "ValidationError";
    case StatusCode::kTooManyRequests: return "TooManyRequestsError";
    case StatusCode::kInternal: return "InternalServerError";
    case StatusCode::kStorage: return "StorageError";
    case StatusCode::kUnavailable: return "ServiceUnavailableError";
  }
  return "InternalServerError";
}

}  // namespace strata
