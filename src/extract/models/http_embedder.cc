#include "extract/models/http_embedder.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "core/crypto.h"
#include "extract/models/embedder_config.h"

namespace strata::extract {

namespace {

constexpr size_t kMaxResponseBytes = size_t{256} << 20;  // 4096 texts x 8192 floats as text
constexpr size_t kExcerptBytes = 300;

struct HttpOptions {
  std::string endpoint;  // {url}/v1/embeddings
  std::string host;      // for messages
  std::string model;
  int dimensions = 0;
  std::string api_key;
  int timeout_seconds = 30;
  int max_batch = 64;
  std::string query_prefix, passage_prefix;
};

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct CurlListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void EnsureCurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Checks the base URL; sets the endpoint and the host shown in messages.
void ParseUrl(ConfigFields& f, const std::string& url, HttpOptions& o) {
  std::unique_ptr<CURLU, CurlUrlDeleter> u(curl_url());
  char* scheme = nullptr;
  char* host = nullptr;
  char* port = nullptr;
  bool ok = u && curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
            curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
            curl_url_get(u.get(), CURLUPART_HOST, &host, 0) == CURLUE_OK;
  if (ok && u) curl_url_get(u.get(), CURLUPART_PORT, &port, 0);  // absent unless given
  std::string s = scheme ? scheme : "", h = host ? host : "", p = port ? port : "";
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  if (!ok || (s != "http" && s != "https") || h.empty()) {
    f.Error("url", "must be an http or https URL, not \"" + url + "\"");
    return;
  }
  o.host = p.empty() ? h : h + ":" + p;
  std::string base = url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.ends_with("/v1/embeddings")) {
    o.endpoint = base;
  } else if (base.ends_with("/v1")) {
    o.endpoint = base + "/embeddings";
  } else {
    o.endpoint = base + "/v1/embeddings";
  }
}

Result<HttpOptions> ParseOptions(const std::string& name, const Json& config) {
  ConfigFields f(name, config);
  HttpOptions o;
  std::string backend = f.String("backend", "http");
  if (backend != "http") f.Error("backend", "must be \"http\", not \"" + backend + "\"");
  f.Require("url");
  f.Require("model");
  f.Require("dimensions");
  if (auto url = f.String("url")) ParseUrl(f, *url, o);
  o.model = f.String("model", "");
  if (config.is_object() && config.contains("model") && config["model"] == "") {
    f.Error("model", "must not be empty");
  }
  o.dimensions = f.Int("dimensions", 0, 1, 1 << 16);
  if (auto env = f.String("api_key_env")) {
    const char* key = std::getenv(env->c_str());
    if (key == nullptr || *key == '\0') {
      f.Error("api_key_env", "names the environment variable " + *env + ", which is not set");
    } else {
      o.api_key = key;
    }
  }
  o.timeout_seconds = f.Int("timeout_seconds", 30, 1, 3600);
  o.max_batch = f.Int("max_batch", 64, 1, 4096);
  o.query_prefix = f.String("query_prefix", "");
  o.passage_prefix = f.String("passage_prefix", "");
  RETURN_IF_ERROR(f.Finish());
  return o;
}

// The start of a response body for an error message: one line, cut at a
// character boundary.
std::string Excerpt(const std::string& body) {
  std::string out = body.substr(0, kExcerptBytes);
  if (body.size() > kExcerptBytes) {
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    out += "...";
  }
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return out.empty() ? "(empty body)" : out;
}

struct Response {
  std::string body;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<Response*>(user);
  if (r->body.size() + size * n > kMaxResponseBytes) {
    r->too_large = true;
    return 0;  // aborts the transfer
  }
  r->body.append(data, size * n);
  return size * n;
}

class HttpEmbedder final : public Embedder {
 public:
  HttpEmbedder(std::string name, HttpOptions options, std::string fingerprint)
      : name_(std::move(name)), o_(std::move(options)), fingerprint_(std::move(fingerprint)) {}

  const std::string& name() const override { return name_; }
  int dimensions() const override { return o_.dimensions; }
  std::string fingerprint() const override { return fingerprint_; }

  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts,
                                                EmbedRole role) override {
    const std::string& prefix = role == EmbedRole::kQuery ? o_.query_prefix : o_.passage_prefix;
    std::vector<std::vector<float>> out;
    out.reserve(texts.size());
    const size_t batch = static_cast<size_t>(o_.max_batch);
    for (size_t start = 0; start < texts.size(); start += batch) {
      Json input = Json::array();
      for (size_t i = start; i < std::min(texts.size(), start + batch); ++i) {
        input.push_back(prefix + texts[i]);
      }
      ASSIGN_OR_RETURN(std::vector<std::vector<float>> vectors, Post(input));
      for (auto& v : vectors) out.push_back(std::move(v));
    }
    return out;
  }

 private:
  Status Fail(StatusCode code, const std::string& what) const {
    return Status(code, "model " + name_ + ": embedding server " + o_.host + " " + what);
  }

  Result<std::vector<std::vector<float>>> Post(const Json& input) const {
    EnsureCurlGlobalInit();
    // Invalid UTF-8 in a text becomes U+FFFD rather than an exception.
    const std::string payload = Json{{"model", o_.model}, {"input", input}}.dump(
        -1, ' ', false, Json::error_handler_t::replace);
    std::unique_ptr<CURL, CurlEasyDeleter> curl(curl_easy_init());
    if (!curl) return Status::Internal("curl_easy_init failed");
    CURL* c = curl.get();
    curl_slist* raw_headers = nullptr;
    raw_headers = curl_slist_append(raw_headers, "Content-Type: application/json");
    raw_headers = curl_slist_append(raw_headers, "Accept: application/json");
    if (!o_.api_key.empty()) {
      raw_headers = curl_slist_append(raw_headers, ("Authorization: Bearer " + o_.api_key).c_str());
    }
    std::unique_ptr<curl_slist, CurlListDeleter> headers(raw_headers);
    Response response;
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(c, CURLOPT_URL, o_.endpoint.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts: we are threaded
    curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(o_.timeout_seconds));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
                     static_cast<long>(std::min(o_.timeout_seconds, 10)));
    // A local provider is never reached through a proxy from the environment.
    curl_easy_setopt(c, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "strata/0.1");

    CURLcode rc = curl_easy_perform(c);
    if (response.too_large) {
      return Fail(StatusCode::kInternal,
                  "sent more than " + std::to_string(kMaxResponseBytes >> 20) + " MiB");
    }
    if (rc != CURLE_OK) {
      std::string why = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
      return Fail(StatusCode::kUnavailable, "did not answer: " + why);
    }
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code >= 300) {
      const bool transient = code == 408 || code == 429 || code >= 500;
      return Fail(transient ? StatusCode::kUnavailable : StatusCode::kInternal,
                  "answered HTTP " + std::to_string(code) + ": " + Excerpt(response.body));
    }
    return ParseVectors(response.body, input.size());
  }

  // The vectors of `data`, put in input order by their `index`.
  Result<std::vector<std::vector<float>>> ParseVectors(const std::string& body, size_t n) const {
    Result<Json> parsed = ParseJson(body);
    if (!parsed.ok()) {
      return Fail(StatusCode::kInternal,
                  "sent invalid JSON (" + parsed.status().message() + "): " + Excerpt(body));
    }
    const Json* data = FindPath(*parsed, "data");
    if (data == nullptr || !data->is_array()) {
      return Fail(StatusCode::kInternal, "sent no \"data\" array: " + Excerpt(body));
    }
    if (data->size() != n) {
      return Fail(StatusCode::kInternal, "returned " + std::to_string(data->size()) +
                                             " embeddings for " + std::to_string(n) + " texts");
    }
    std::vector<std::vector<float>> out(n);
    for (size_t i = 0; i < n; ++i) {
      const Json& item = (*data)[i];
      const Json* index = item.is_object() && item.contains("index") ? &item["index"] : nullptr;
      const Json* embedding =
          item.is_object() && item.contains("embedding") ? &item["embedding"] : nullptr;
      size_t at = i;  // a provider that leaves out "index" answers in order
      if (index != nullptr) {
        if (!index->is_number_unsigned() || index->get<uint64_t>() >= n) {
          return Fail(StatusCode::kInternal, "sent data[" + std::to_string(i) + "].index " +
                                                 index->dump() + ", not one of 0.." +
                                                 std::to_string(n - 1));
        }
        at = index->get<size_t>();
      }
      if (!out[at].empty()) {
        return Fail(StatusCode::kInternal, "sent index " + std::to_string(at) + " twice");
      }
      if (embedding == nullptr || !embedding->is_array()) {
        return Fail(StatusCode::kInternal, "sent data[" + std::to_string(i) +
                                               "] without an \"embedding\" array of numbers");
      }
      if (embedding->size() != static_cast<size_t>(o_.dimensions)) {
        return Fail(StatusCode::kInternal,
                    "returned " + std::to_string(embedding->size()) +
                        "-dimensional vectors, but the model's config says dimensions " +
                        std::to_string(o_.dimensions));
      }
      std::vector<float>& v = out[at];
      v.reserve(embedding->size());
      for (const Json& x : *embedding) {
        if (!x.is_number()) {
          return Fail(StatusCode::kInternal,
                      "sent a non-number in data[" + std::to_string(i) + "].embedding");
        }
        v.push_back(x.get<float>());
      }
    }
    return out;
  }

  std::string name_;
  HttpOptions o_;
  std::string fingerprint_;
};

}  // namespace

Result<std::unique_ptr<Embedder>> MakeHttpEmbedder(const std::string& name, const Json& config) {
  ASSIGN_OR_RETURN(HttpOptions options, ParseOptions(name, config));
  // The endpoint and remote model decide the vectors (the key does not).
  Json identity = {{"endpoint", options.endpoint},
                   {"model", options.model},
                   {"dimensions", options.dimensions},
                   {"query_prefix", options.query_prefix},
                   {"passage_prefix", options.passage_prefix}};
  std::string fingerprint = name + "/http/" + Sha256Hex(identity.dump()).substr(0, 16);
  return std::unique_ptr<Embedder>(
      new HttpEmbedder(name, std::move(options), std::move(fingerprint)));
}

}  // namespace strata::extract
