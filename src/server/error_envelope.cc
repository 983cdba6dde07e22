#include "server/error_envelope.h"

namespace strata::server {

Json ErrorBody(const Status& status) {
  Json details = status.details().is_object() ? status.details() : Json::object();
  return {{"success", false},
          {"status", HttpStatusOf(status.code())},
          {"error", {{"message", status.message()}, {"type", ErrorTypeName(status.code())}, {"details", details}}}};
}

Json ErrorBodyForHttpStatus(int http_status, const std::string& message) {
  StatusCode code = StatusCode::kInternal;
  switch (http_status) {
    case 400: code = StatusCode::kBadRequest; break;
    case 401: code = StatusCode::kUnauthenticated; break;
    case 403: code = StatusCode::kPermissionDenied; break;
    case 404: case 405: code = StatusCode::kNotFound; break;
    case 413: code = StatusCode::kPayloadTooLarge; break;
    case 414: case 431: code = StatusCode::kBadRequest; break;
    default: break;
  }
  Json body = ErrorBody(Status(code, message));
  body["status"] = http_status;
  return body;
}

}  // namespace strata::server
