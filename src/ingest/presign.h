// Presigned URLs: HMAC-SHA256 over (method, path, expiry) with the server's
// signing key, so a URL grants exactly one operation on one path until it
// expires, and changing any character of it voids it.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace strata::ingest {

// Returns "<base_url><path>?expires=<unix>&signature=<hex>".
std::string PresignUrl(const std::string& key, const std::string& base_url, const std::string& method,
                       const std::string& path, int64_t expires_unix);
// PermissionDenied when the signature does not match or the URL has expired.
Status VerifyPresigned(const std::string& key, const std::string& method, const std::string& path,
                       const std::string& expires, const std::string& signature, int64_t now_unix);

}  // namespace strata::ingest
