#include "core/config.h"

#include <cstdlib>
#include <functional>
#include <map>

namespace strata {

const std::vector<SettingInfo>& ServeSettings() {
  static const std::vector<SettingInfo> kSettings = {
      {"--data", "STRATA_DATA_DIR", "data directory (database, blobs); default ./data"},
      {"--host", "STRATA_HOST", "address to listen on; default 127.0.0.1"},
      {"--port", "STRATA_PORT", "port to listen on; default 8080 (0 = any free port)"},
      {"--http-threads", "STRATA_HTTP_THREADS", "HTTP worker threads; default 16"},
      {"--admin-key", "STRATA_ADMIN_KEY",
       "bootstrap admin API key (sk_...); generated and printed once when unset"},
      {"--public-url", "STRATA_PUBLIC_URL", "base URL used in presigned URLs; default http://HOST:PORT"},
      {"--allow-private-urls", "STRATA_ALLOW_PRIVATE_URLS",
       "1 lets URL blobs point at loopback/private addresses (off by default: SSRF guard)"},
      {"--max-body-bytes", "STRATA_MAX_BODY_BYTES", "largest JSON request body; default 128 MiB"},
      {"--max-inline-blob-bytes", "STRATA_MAX_INLINE_BLOB_BYTES",
       "largest base64/data-URI blob after decoding; default 50 MiB"},
      {"--max-url-blob-bytes", "STRATA_MAX_URL_BLOB_BYTES", "largest blob fetched from a URL; default 512 MiB"},
      {"--presign-ttl-seconds", "STRATA_PRESIGN_TTL_SECONDS", "life of presigned download URLs; default 3600"},
      {"--max-upload-bytes", "STRATA_MAX_UPLOAD_BYTES", "largest presigned upload; default 5 GiB"},
      {"--workers", "STRATA_WORKERS", "extraction worker threads; default one per core"},
      {"--models-dir", "STRATA_MODELS_DIR",
       "model files (GloVe, language id, your ONNX/HTTP model folders); default .cache/models of the checkout"},
      {"--onnxruntime-lib", "STRATA_ONNXRUNTIME_LIB",
       "ONNX Runtime shared library for ONNX models; default .cache/onnxruntime/lib/libonnxruntime.so.1"},
      {"--inference-cache-bytes", "STRATA_INFERENCE_CACHE_BYTES", "memory for cached embeddings; default 64 MiB"},
      {"--max-media-pixels", "STRATA_MAX_MEDIA_PIXELS",
       "largest image or video frame (width x height) an extractor decodes; default 100000000"},
      {"--max-media-seconds", "STRATA_MAX_MEDIA_SECONDS", "longest video or audio an extractor decodes; default 14400"},
      {"--max-pdf-pages", "STRATA_MAX_PDF_PAGES", "most pages of a PDF an extractor reads; default 2000"},
  };
  return kSettings;
}

namespace {

Status ParseInt(const std::string& name, const std::string& v, int64_t lo, int64_t hi, int64_t* out) {
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0 || n < lo || n > hi) {
    return Status::BadRequest(name + ": expected an integer in [" + std::to_string(lo) + ", " +
                              std::to_string(hi) + "], got '" + v + "'");
  }
  *out = n;
  return Status::Ok();
}

Status Apply(Config* c, const std::string& flag, const std::string& v) {
  int64_t n = 0;
  if (flag == "--data") c->data_dir = v;
  else if (flag == "--host") c->host = v;
  else if (flag == "--port") { RETURN_IF_ERROR(ParseInt(flag, v, 0, 65535, &n)); c->port = static_cast<int>(n); }
  else if (flag == "--http-threads") { RETURN_IF_ERROR(ParseInt(flag, v, 1, 1024, &n)); c->http_threads = static_cast<int>(n); }
  else if (flag == "--admin-key") c->admin_key = v;
  else if (flag == "--public-url") c->public_url = v;
  else if (flag == "--allow-private-urls") c->allow_private_urls = (v == "1" || v == "true" || v == "yes");
  else if (flag == "--max-body-bytes") { RETURN_IF_ERROR(ParseInt(flag, v, 1024, 1ll << 40, &c->max_body_bytes)); }
  else if (flag == "--max-inline-blob-bytes") { RETURN_IF_ERROR(ParseInt(flag, v, 1, 1ll << 40, &c->max_inline_blob_bytes)); }
  else if (flag == "--max-url-blob-bytes") { RETURN_IF_ERROR(ParseInt(flag, v, 1, 1ll << 40, &c->max_url_blob_bytes)); }
  else if (flag == "--max-upload-bytes") { RETURN_IF_ERROR(ParseInt(flag, v, 1, 1ll << 50, &c->max_upload_bytes)); }
  else if (flag == "--presign-ttl-seconds") { RETURN_IF_ERROR(ParseInt(flag, v, 1, 7 * 86400, &c->presign_ttl_seconds)); }
  else if (flag == "--workers") { RETURN_IF_ERROR(ParseInt(flag, v, 0, 256, &n)); c->workers = static_cast<int>(n); }
  else if (flag == "--models-dir") c->models_dir = v;
  else if (flag == "--onnxruntime-lib") c->onnxruntime_lib = v;
  else if (flag == "--inference-cache-bytes") { RETURN_IF_ERROR(ParseInt(flag, v, 0, 1ll << 40, &c->inference_cache_bytes)); }
  else if (flag == "--max-media-pixels") { RETURN_IF_ERROR(ParseInt(flag, v, 1, 1ll << 40, &c->max_media_pixels)); }
  else if (flag == "--max-media-seconds") { RETURN_IF_ERROR(ParseInt(flag, v, 1, 1ll << 30, &c->max_media_seconds)); }
  else if (flag == "--max-pdf-pages") { RETURN_IF_ERROR(ParseInt(flag, v, 1, 1 << 24, &c->max_pdf_pages)); }
  else return Status::BadRequest("unknown option " + flag + " (see strata serve --help)");
  return Status::Ok();
}

}  // namespace

Status LoadConfig(const std::vector<std::string>& args, Config* config) {
  for (const auto& s : ServeSettings()) {
    if (const char* v = std::getenv(s.env); v && *v) RETURN_IF_ERROR(Apply(config, s.flag, v));
  }
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i], value;
    if (auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
    } else if (flag == "--allow-private-urls") {
      value = "1";
    } else {
      if (i + 1 >= args.size()) return Status::BadRequest(flag + " needs a value");
      value = args[++i];
    }
    RETURN_IF_ERROR(Apply(config, flag, value));
  }
  return Status::Ok();
}

}  // namespace strata
