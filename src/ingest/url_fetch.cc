#include "ingest/url_fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <utility>

#include "ingest/mime.h"

namespace strata::ingest {

namespace {

constexpr char kField[] = "data";
constexpr size_t kMaxFilenameBytes = 255;

void EnsureCurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;

// Reads one part of a parsed URL; "" when absent.
std::string UrlPart(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(u, part, &value, flags) != CURLUE_OK || value == nullptr) return "";
  std::string out(value);
  curl_free(value);
  return out;
}

// The URL without user:password; "" if it cannot be rebuilt.
std::string StripCredentials(CURLU* u) {
  CurlUrl copy(curl_url_dup(u));
  if (!copy) return "";
  curl_url_set(copy.get(), CURLUPART_USER, nullptr, 0);
  curl_url_set(copy.get(), CURLUPART_PASSWORD, nullptr, 0);
  return UrlPart(copy.get(), CURLUPART_URL);
}

// The URL for messages: never with a password in it.
std::string DisplayUrl(CURLU* u) {
  std::string out = StripCredentials(u);
  return out.empty() ? "the URL" : out;
}

bool ForbiddenV4(uint32_t a) {  // host byte order
  auto in = [a](uint32_t net, int bits) { return (a >> (32 - bits)) == (net >> (32 - bits)); };
  return in(0x00000000, 8)      // 0.0.0.0/8 "this network"
         || in(0x0A000000, 8)   // 10/8 private
         || in(0x64400000, 10)  // 100.64/10 carrier-grade NAT
         || in(0x7F000000, 8)   // 127/8 loopback
         || in(0xA9FE0000, 16)  // 169.254/16 link-local (cloud metadata lives here)
         || in(0xAC100000, 12)  // 172.16/12 private
         || in(0xC0000000, 24)  // 192.0.0/24 IETF protocol assignments
         || in(0xC0A80000, 16)  // 192.168/16 private
         || in(0xC6120000, 15)  // 198.18/15 benchmarking, used inside data centres
         || in(0xE0000000, 4)   // 224/4 multicast
         || in(0xF0000000, 4);  // 240/4 reserved, with 255.255.255.255 broadcast
}

uint32_t V4At(const uint8_t* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

std::string AddressText(const sockaddr* addr) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (addr->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, buf, sizeof(buf));
  } else if (addr->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, buf, sizeof(buf));
  } else {
    return "address family " + std::to_string(addr->sa_family);
  }
  return buf;
}

struct FetchContext {
  CURL* curl = nullptr;
  storage::BlobStore::Writer* writer = nullptr;
  bool allow_private = false;
  std::string refused_address;  // the first address the guard refused
  Status failure;               // the writer's error, if it failed
  long http_error = 0;          // an HTTP status >= 400 seen while receiving
};

// Called by curl for every socket it is about to connect with: the one place
// that sees the final address whatever DNS said earlier or redirects did.
curl_socket_t OpenSocket(void* clientp, curlsocktype /*purpose*/, curl_sockaddr* address) {
  auto* ctx = static_cast<FetchContext*>(clientp);
  if (!ctx->allow_private && IsForbiddenAddress(&address->addr)) {
    if (ctx->refused_address.empty()) ctx->refused_address = AddressText(&address->addr);
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

size_t OnBody(char* data, size_t size, size_t nmemb, void* userp) {
  auto* ctx = static_cast<FetchContext*>(userp);
  size_t n = size * nmemb;
  long code = 0;
  curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 400) {  // an error page is not the blob: stop reading it
    ctx->http_error = code;
    return 0;
  }
  Status st = ctx->writer->Append(std::string_view(data, n));
  if (!st.ok()) {
    ctx->failure = std::move(st);
    return 0;  // anything but n aborts the transfer
  }
  return n;
}

bool IsUnreachable(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
      return true;
    default:
      return false;
  }
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string Latin1ToUtf8(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool IsForbiddenAddress(const sockaddr* addr) {
  if (addr == nullptr) return true;
  if (addr->sa_family == AF_INET) {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(addr);
    return ForbiddenV4(ntohl(in4->sin_addr.s_addr));
  }
  if (addr->sa_family != AF_INET6) return true;
  const uint8_t* b = reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr.s6_addr;
  bool zero80 = true;  // the first 80 bits are zero
  for (int i = 0; i < 10; ++i) zero80 = zero80 && b[i] == 0;
  if (zero80 && b[10] == 0xff && b[11] == 0xff) return ForbiddenV4(V4At(b + 12));  // ::ffff:a.b.c.d
  if (zero80 && b[10] == 0 && b[11] == 0) return true;  // ::, ::1 and deprecated ::a.b.c.d
  static constexpr uint8_t kNat64[12] = {0x00, 0x64, 0xff, 0x9b};  // 64:ff9b::/96
  if (std::memcmp(b, kNat64, sizeof(kNat64)) == 0) return ForbiddenV4(V4At(b + 12));
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0x00 &&
      b[5] == 0x01) {
    return true;  // 64:ff9b:1::/48, local-use NAT64
  }
  if (b[0] == 0x20 && b[1] == 0x02) return ForbiddenV4(V4At(b + 2));  // 6to4 2002:a.b.c.d::/48
  if ((b[0] & 0xfe) == 0xfc) return true;                            // fc00::/7 unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;            // fe80::/10 link-local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return true;            // fec0::/10 old site-local
  if (b[0] == 0xff) return true;                                     // ff00::/8 multicast
  return false;
}

std::string UrlWithoutCredentials(const std::string& url) {
  CurlUrl u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) !=
                CURLUE_OK) {
    return url;
  }
  // Untouched unless there is something to remove: curl's re-serialisation
  // would otherwise change the client's text (e.g. add a trailing '/').
  if (UrlPart(u.get(), CURLUPART_USER).empty() && UrlPart(u.get(), CURLUPART_PASSWORD).empty()) {
    return url;
  }
  return StripCredentials(u.get());  // "" rather than a leaked password
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string SanitizeFilename(std::string_view name) {
  size_t sep = name.find_last_of("/\\");
  if (sep != std::string_view::npos) name.remove_prefix(sep + 1);
  std::string out;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) continue;
    out += c;
  }
  out = Trim(out);
  if (out == "." || out == "..") return "";
  if (out.size() > kMaxFilenameBytes) {
    size_t cut = kMaxFilenameBytes;
    // Cut before a character, not inside a UTF-8 sequence.
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

std::string FilenameFromContentDisposition(std::string_view header) {
  // Split into ;-separated parameters, honouring quoted strings.
  std::string plain, extended;
  size_t i = 0;
  while (i < header.size()) {
    size_t start = i;
    bool quoted = false;
    std::string value;
    size_t eq = std::string_view::npos;
    for (; i < header.size(); ++i) {
      char c = header[i];
      if (quoted) {
        if (c == '\\' && i + 1 < header.size()) {
          value += header[++i];
        } else if (c == '"') {
          quoted = false;
        } else {
          value += c;
        }
        continue;
      }
      if (c == ';') break;
      if (c == '"' && eq != std::string_view::npos) {
        quoted = true;
        continue;
      }
      if (c == '=' && eq == std::string_view::npos) {
        eq = i;
        continue;
      }
      if (eq != std::string_view::npos) value += c;
    }
    if (eq != std::string_view::npos) {
      std::string name = Lower(Trim(header.substr(start, eq - start)));
      if (name == "filename") plain = Trim(value);
      if (name == "filename*") extended = Trim(value);
    }
    ++i;  // past ';'
  }
  if (!extended.empty()) {  // RFC 5987: charset'language'percent-encoded
    size_t q1 = extended.find('\'');
    size_t q2 = q1 == std::string::npos ? q1 : extended.find('\'', q1 + 1);
    if (q2 != std::string::npos) {
      std::string charset = Lower(extended.substr(0, q1));
      std::string decoded = PercentDecode(extended.substr(q2 + 1));
      if (charset == "iso-8859-1") decoded = Latin1ToUtf8(decoded);
      if (charset == "utf-8" || charset == "iso-8859-1") {
        std::string name = SanitizeFilename(decoded);
        if (!name.empty()) return name;
      }
    }
  }
  return SanitizeFilename(plain);
}

std::string FilenameFromUrl(const std::string& url) {
  CurlUrl u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME) !=
                CURLUE_OK) {
    return "";
  }
  std::string path = UrlPart(u.get(), CURLUPART_PATH);  // still percent-encoded
  size_t slash = path.rfind('/');
  if (slash != std::string::npos) path.erase(0, slash + 1);
  return SanitizeFilename(PercentDecode(path));
}

Result<FetchedBlob> FetchUrl(const std::string& url, storage::BlobStore& store,
                             const FetchOptions& options) {
  EnsureCurlGlobalInit();

  CurlUrl parsed(curl_url());
  if (!parsed) return Status::Internal("out of memory parsing a URL");
  CURLUcode uc = curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), CURLU_NON_SUPPORT_SCHEME);
  if (uc != CURLUE_OK) {
    return Status::Invalid(kField, std::string("not a valid URL: ") + curl_url_strerror(uc),
                           "invalid_url");
  }
  std::string scheme = Lower(UrlPart(parsed.get(), CURLUPART_SCHEME));
  if (scheme != "http" && scheme != "https") {
    return Status::Invalid(kField,
                           "only http and https URLs can be fetched, not " +
                               (scheme.empty() ? std::string("this URL") : scheme + "://"),
                           "url_scheme");
  }
  const std::string shown = DisplayUrl(parsed.get());

  ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobStore::Writer> writer,
                   store.NewWriter(options.max_bytes));
  std::unique_ptr<CURL, CurlEasyDeleter> curl(curl_easy_init());
  if (!curl) return Status::Internal("curl_easy_init failed");
  CURL* c = curl.get();

  FetchContext ctx;
  ctx.curl = c;
  ctx.writer = writer.get();
  ctx.allow_private = options.allow_private_addresses;
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85: the string forms
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, static_cast<long>(options.max_redirects));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts: we are threaded
  curl_easy_setopt(c, CURLOPT_TIMEOUT, options.timeout_seconds);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_seconds);
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // "" disables proxies from the environment
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &ctx);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "strata/0.1");
  // Refuses at once a body whose Content-Length is already too large.
  if (options.max_bytes <= static_cast<uint64_t>(INT64_MAX)) {
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  }

  CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  std::string curl_error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);

  if (!ctx.failure.ok()) return ctx.failure;  // too large, or the disk failed
  if (rc != CURLE_OK && !ctx.refused_address.empty()) {
    return Status::Invalid(kField,
                           "URL " + shown + " resolves to a private or loopback address (" +
                               ctx.refused_address +
                               ") (refused; set STRATA_ALLOW_PRIVATE_URLS=1 to allow)",
                           "url_forbidden");
  }
  if (rc == CURLE_FILESIZE_EXCEEDED) {
    return Status::PayloadTooLarge("the body of " + shown + " is larger than the limit of " +
                                   std::to_string(options.max_bytes) + " bytes");
  }
  if (ctx.http_error >= 400 || code >= 400) {
    long status = ctx.http_error >= 400 ? ctx.http_error : code;
    return Status::Invalid(kField,
                           "fetching " + shown + " failed: the server answered HTTP " +
                               std::to_string(status),
                           "url_fetch_failed");
  }
  if (rc == CURLE_UNSUPPORTED_PROTOCOL) {
    return Status::Invalid(kField, shown + " redirected to a URL that is not http or https",
                           "url_scheme");
  }
  if (rc == CURLE_TOO_MANY_REDIRECTS) {
    return Status::Invalid(kField,
                           "fetching " + shown + " failed: more than " +
                               std::to_string(options.max_redirects) + " redirects",
                           "url_fetch_failed");
  }
  if (rc != CURLE_OK && IsUnreachable(rc)) {
    return Status::Invalid(kField, shown + " did not answer: " + curl_error, "url_unreachable");
  }
  if (rc != CURLE_OK) {
    return Status::Invalid(kField, "fetching " + shown + " failed: " + curl_error,
                           "url_fetch_failed");
  }
  if (code < 200 || code >= 300) {
    return Status::Invalid(kField,
                           "fetching " + shown + " failed: the server answered HTTP " +
                               std::to_string(code),
                           "url_fetch_failed");
  }

  FetchedBlob out;
  char* content_type = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &content_type) == CURLE_OK && content_type) {
    out.content_type = NormalizeMime(content_type);
  }
  char* effective = nullptr;
  // Without user:password, as it may be stored and shown (a query string is
  // kept: for a pre-signed URL it is part of the address).
  out.final_url = shown;
  if (curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective) {
    CurlUrl final_parsed(curl_url());
    if (final_parsed && curl_url_set(final_parsed.get(), CURLUPART_URL, effective, 0) == CURLUE_OK) {
      out.final_url = DisplayUrl(final_parsed.get());
    }
  }
  curl_header* disposition = nullptr;
  if (curl_easy_header(c, "Content-Disposition", 0, CURLH_HEADER, -1, &disposition) ==
          CURLHE_OK &&
      disposition != nullptr && disposition->value != nullptr) {
    out.filename = FilenameFromContentDisposition(disposition->value);
  }
  if (out.filename.empty()) out.filename = FilenameFromUrl(out.final_url);
  if (out.filename.empty()) out.filename = FilenameFromUrl(url);

  ASSIGN_OR_RETURN(out.staged, writer->Finish());
  return out;
}

}  // namespace strata::ingest
