// The API's one error envelope:
//   {"success": false, "status": <http>, "error": {"message", "type", "details"}}
// (the table from StatusCode to HTTP status and type name is in core/status.h).
#pragma once

#include "core/json_util.h"
#include "core/status.h"

namespace strata::server {

Json ErrorBody(const Status& status);
// For errors raised by the HTTP library itself (bad framing, 413, unknown route).
Json ErrorBodyForHttpStatus(int http_status, const std::string& message);

}  // namespace strata::server
