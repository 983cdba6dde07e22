// Fetching a blob given as an http(s) URL, safely. The server fetches on the
// client's behalf, so a URL is untrusted input that could aim the server at
// itself or at the private network around it (SSRF). Every address curl is
// about to connect to, including after redirects and any DNS re-resolution,
// is checked in CURLOPT_OPENSOCKETFUNCTION, the last point before connect(),
// so a DNS answer cannot change between the check and the use.
//
// Errors, all naming the request field "data" (callers may relocate them):
//   url_scheme        422  not http/https (also a redirect to another scheme)
//   url_forbidden     422  a private, loopback, link-local… address was refused
//   url_fetch_failed  422  the remote answered HTTP >= 400, too many redirects, TLS failure…
//   url_unreachable   422  DNS failure, refused connection, timeout
//   PayloadTooLarge   413  the body is larger than max_bytes
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "storage/blob_store.h"

namespace strata::ingest {

struct FetchOptions {
  bool allow_private_addresses = false;  // STRATA_ALLOW_PRIVATE_URLS=1
  uint64_t max_bytes = 100ull << 20;
  long timeout_seconds = 30;  // the whole transfer
  long connect_timeout_seconds = 10;
  int max_redirects = 5;
};

struct FetchedBlob {
  storage::StagedBlob staged;  // owned by the caller: Commit or Discard it
  std::string content_type;    // the final response's Content-Type, no parameters; may be ""
  std::string filename;        // from Content-Disposition, else the URL path; may be ""
  std::string final_url;       // after redirects
};

// Downloads `url` into a staged blob of `store`. Environment proxies are not
// used: the guard checks the address actually connected to, which with a
// proxy would be the proxy's, not the target's.
Result<FetchedBlob> FetchUrl(const std::string& url, storage::BlobStore& store,
                             const FetchOptions& options);

// True for addresses a fetch must not reach: loopback, unspecified,
// RFC 1918 private, CGNAT (100.64/10), link-local, multicast, broadcast and
// reserved IPv4; ::1, ::, fc00::/7, fe80::/10, fec0::/10, ff00::/8, and the
// IPv4 inside IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4
// (2002::/16) IPv6 addresses. Any family other than AF_INET/AF_INET6 (and
// nullptr) is forbidden too.
bool IsForbiddenAddress(const sockaddr* addr);

// `url` without user:password (for storing and showing): `url` itself when
// it has none or cannot be parsed, "" if the credentials cannot be removed.
std::string UrlWithoutCredentials(const std::string& url);

// Decodes %XX escapes; a '%' not followed by two hex digits is kept as is.
std::string PercentDecode(std::string_view s);
// The filename of a Content-Disposition header value (RFC 6266: filename*
// with RFC 5987 encoding preferred over filename), sanitized; "" if none.
std::string FilenameFromContentDisposition(std::string_view header);
// The last segment of a URL's path, percent-decoded and sanitized; "" if none.
std::string FilenameFromUrl(const std::string& url);
// Keeps what follows the last '/' or '\\', drops control characters, refuses
// "." and "..", and caps the length at 255 bytes.
std::string SanitizeFilename(std::string_view name);

}  // namespace strata::ingest
