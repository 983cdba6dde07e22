#include "ingest/presign.h"

#include <cstdlib>

#include "core/crypto.h"

namespace strata::ingest {

namespace {
std::string Sign(const std::string& key, const std::string& method, const std::string& path, int64_t expires) {
  return HmacSha256Hex(key, method + "\n" + path + "\n" + std::to_string(expires));
}
}  // namespace

std::string PresignUrl(const std::string& key, const std::string& base_url, const std::string& method,
                       const std::string& path, int64_t expires_unix) {
  return base_url + path + "?expires=" + std::to_string(expires_unix) +
         "&signature=" + Sign(key, method, path, expires_unix);
}

Status VerifyPresigned(const std::string& key, const std::string& method, const std::string& path,
                       const std::string& expires, const std::string& signature, int64_t now_unix) {
  char* end = nullptr;
  long long exp = std::strtoll(expires.c_str(), &end, 10);
  if (expires.empty() || *end != '\0' || signature.size() != 64) {
    return Status::PermissionDenied("invalid presigned URL");
  }
  if (!ConstantTimeEquals(Sign(key, method, path, exp), signature)) {
    return Status::PermissionDenied("invalid presigned URL signature");
  }
  if (exp < now_unix) return Status::PermissionDenied("presigned URL has expired");
  return Status::Ok();
}

}  // namespace strata::ingest
