#include "ingest/presign.h"

#include <gtest/gtest.h>

namespace strata::ingest {
namespace {

std::string Param(const std::string& url, const std::string& name) {
  auto at = url.find(name + "=");
  auto end = url.find('&', at);
  return url.substr(at + name.size() + 1, end == std::string::npos ? std::string::npos : end - at - name.size() - 1);
}

TEST(Presign, SignedUrlVerifiesOnlyUnchangedAndUnexpired) {
  const std::string key = "k3y";
  std::string url = PresignUrl(key, "http://h", "GET", "/v1/blobs/abc", 1000);
  EXPECT_EQ(url.rfind("http://h/v1/blobs/abc?expires=1000&signature=", 0), 0u);
  std::string sig = Param(url, "signature");
  EXPECT_TRUE(VerifyPresigned(key, "GET", "/v1/blobs/abc", "1000", sig, 999).ok());
  EXPECT_TRUE(VerifyPresigned(key, "GET", "/v1/blobs/abc", "1000", sig, 1000).ok());
  // expired
  EXPECT_EQ(VerifyPresigned(key, "GET", "/v1/blobs/abc", "1000", sig, 1001).code(), StatusCode::kPermissionDenied);
  // any change voids it: path, method, expiry, signature, key
  EXPECT_FALSE(VerifyPresigned(key, "GET", "/v1/blobs/abd", "1000", sig, 0).ok());
  EXPECT_FALSE(VerifyPresigned(key, "PUT", "/v1/blobs/abc", "1000", sig, 0).ok());
  EXPECT_FALSE(VerifyPresigned(key, "GET", "/v1/blobs/abc", "10000", sig, 0).ok());
  std::string bad = sig;
  bad[5] = bad[5] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(VerifyPresigned(key, "GET", "/v1/blobs/abc", "1000", bad, 0).ok());
  EXPECT_FALSE(VerifyPresigned("other", "GET", "/v1/blobs/abc", "1000", sig, 0).ok());
  EXPECT_FALSE(VerifyPresigned(key, "GET", "/v1/blobs/abc", "", sig, 0).ok());
  EXPECT_FALSE(VerifyPresigned(key, "GET", "/v1/blobs/abc", "1000", "", 0).ok());
}

}  // namespace
}  // namespace strata::ingest
