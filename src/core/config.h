// Server settings. Every setting has a command-line flag and an environment
// variable (flag wins); `strata serve --help` lists them from kSettings.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace strata {

struct Config {
  std::string data_dir = "./data";
  std::string host = "127.0.0.1";
  int port = 8080;
  int http_threads = 16;
  std::string admin_key;             // STRATA_ADMIN_KEY: the bootstrap admin key
  std::string public_url;            // base of presigned URLs; default http://host:port
  bool allow_private_urls = false;   // let URL blobs point at loopback/private hosts (tests)
  int64_t max_body_bytes = 128ll << 20;
  int64_t max_inline_blob_bytes = 50ll << 20;  // a base64/data-URI blob, decoded
  int64_t max_url_blob_bytes = 512ll << 20;
  int64_t max_upload_bytes = 5ll << 30;
  int64_t presign_ttl_seconds = 3600;        // life of return_url download URLs
  int max_json_depth = 64;
  int64_t max_batch_objects = 10000;
  int workers = 0;                   // extraction worker threads; 0 = one per core
  std::string models_dir;            // model files; "" = .cache/models beside the build
  std::string onnxruntime_lib;       // libonnxruntime.so.1; "" = .cache/onnxruntime beside the build
  int64_t inference_cache_bytes = 64ll << 20;
  // Bounds on the media work of one item (media::MediaLimits).
  int64_t max_media_pixels = 100'000'000;
  int64_t max_media_seconds = 4 * 3600;
  int64_t max_pdf_pages = 2000;
};

struct SettingInfo {
  const char* flag;  // "--port"
  const char* env;   // "STRATA_PORT"
  const char* help;
};
const std::vector<SettingInfo>& ServeSettings();

// Applies environment variables, then flags (argv after the subcommand).
// Unknown flags and bad values are errors.
Status LoadConfig(const std::vector<std::string>& args, Config* config);

}  // namespace strata
