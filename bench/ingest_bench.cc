// Object ingest throughput through the real HTTP API, next to the raw costs
// underneath it measured in the same run:
//   - small JSON objects/s through POST …/objects (one per request, several
//     keep-alive clients) and POST …/objects/batch, against raw SQLite inserts
//     of rows of the same size (one transaction per row, and 1,000 per txn);
//   - MB/s for 10 MB blobs (base64 in JSON, and the presigned upload PUT),
//     against raw file writes (write + fsync + rename).
//
// usage: strata_bench_ingest [--objects N] [--clients C] [--blobs B]
#include <httplib.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "core/json_util.h"
#include "server/http_server.h"

namespace {

using Clock = std::chrono::steady_clock;
using strata::Json;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string SmallObjectJson(int i) {
  return Json{{"title", "Item " + std::to_string(i)}, {"year", 2000 + i % 25},
              {"category", i % 2 ? "news" : "tech"}}.dump();
}

// Raw SQLite with the same pragmas and a row of the same shape as the store.
double RawSqliteRowsPerSecond(const std::string& path, int rows, int per_txn) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                   "CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, org INTEGER, ns TEXT,"
                   " parent TEXT, name TEXT, ukey TEXT, chash TEXT, doc TEXT);"
                   "CREATE INDEX t_scope ON t(org, ns, parent, seq);",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t(id, org, ns, parent, chash, doc) VALUES (?, 1, 'ns', 'bkt', ?, ?)", -1, &st,
                     nullptr);
  auto start = Clock::now();
  for (int i = 0; i < rows; i += per_txn) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (int j = i; j < std::min(rows, i + per_txn); ++j) {
      std::string id = "obj_" + std::to_string(j);
      std::string doc = SmallObjectJson(j);
      std::string hash = strata::Sha256Hex(doc);
      sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 2, hash.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 3, doc.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_step(st);
      sqlite3_reset(st);
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  double secs = Seconds(start);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows / secs;
}

double RawFileMegabytesPerSecond(const std::string& dir, const std::string& data, int files) {
  auto start = Clock::now();
  for (int i = 0; i < files; ++i) {
    std::string tmp = dir + "/tmp-" + std::to_string(i), final_path = dir + "/file-" + std::to_string(i);
    int fd = ::open(tmp.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
    std::filesystem::rename(tmp, final_path);
  }
  return files * (data.size() / 1e6) / Seconds(start);
}

struct Api {
  std::string host = "127.0.0.1";
  int port = 0;
  httplib::Headers headers;
};

double ApiSingleObjectsPerSecond(const Api& api, int objects, int clients) {
  std::atomic<int> next{0}, failures{0};
  auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      httplib::Client cli(api.host, api.port);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      for (int i = next++; i < objects; i = next++) {
        auto r = cli.Post("/v1/buckets/bench/objects", api.headers, SmallObjectJson(i), "application/json");
        if (!r || r->status != 200) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  double secs = Seconds(start);
  if (failures) std::fprintf(stderr, "warning: %d single creates failed\n", failures.load());
  return objects / secs;
}

double ApiBatchObjectsPerSecond(const Api& api, int objects, int per_batch) {
  httplib::Client cli(api.host, api.port);
  cli.set_keep_alive(true);
  cli.set_read_timeout(300, 0);
  auto start = Clock::now();
  for (int i = 0; i < objects; i += per_batch) {
    std::string body = "{\"objects\": [";
    for (int j = i; j < std::min(objects, i + per_batch); ++j) body += (j > i ? "," : "") + SmallObjectJson(100000 + j);
    body += "]}";
    auto r = cli.Post("/v1/buckets/bench/objects/batch", api.headers, body, "application/json");
    if (!r || r->status != 200) std::fprintf(stderr, "warning: batch failed\n");
  }
  return objects / Seconds(start);
}

double ApiBase64BlobMegabytesPerSecond(const Api& api, std::string data, int blobs) {
  httplib::Client cli(api.host, api.port);
  cli.set_read_timeout(300, 0);
  cli.set_write_timeout(300, 0);
  std::vector<std::string> bodies;  // built before the clock starts: encoding is the client's cost
  for (int i = 0; i < blobs; ++i) {
    data[1000] = static_cast<char>(i);  // new content each time
    bodies.push_back(Json{{"title", "b" + std::to_string(i)},
                          {"blobs", {{{"property", "file"}, {"type", "video"},
                                      {"data", {{"base64", strata::Base64Encode(data)}, {"mime_type", "video/mp4"}}}}}}}
                         .dump());
  }
  auto start = Clock::now();
  for (const auto& body : bodies) {
    auto r = cli.Post("/v1/buckets/bench/objects", api.headers, body, "application/json");
    if (!r || r->status != 200) {
      std::fprintf(stderr, "warning: blob create failed: %s\n", r ? r->body.substr(0, 200).c_str() : "no answer");
    }
  }
  return blobs * (data.size() / 1e6) / Seconds(start);
}

double ApiUploadMegabytesPerSecond(const Api& api, std::string data, int uploads) {
  httplib::Client cli(api.host, api.port);
  cli.set_read_timeout(300, 0);
  cli.set_write_timeout(300, 0);
  double secs = 0;
  for (int i = 0; i < uploads; ++i) {
    data[1000] = static_cast<char>(i);  // new content each time
    auto r = cli.Post("/v1/buckets/bench/uploads", api.headers,
                      Json{{"filename", "f.mp4"}, {"content_type", "video/mp4"}, {"blob_property", "file"},
                           {"create_object_on_confirm", false}}.dump(),
                      "application/json");
    if (!r || r->status != 200) {
      std::fprintf(stderr, "warning: upload create failed\n");
      continue;
    }
    std::string url = Json::parse(r->body)["presigned_url"];
    std::string path = url.substr(url.find("/v1/"));
    auto start = Clock::now();
    auto put = cli.Put(path, data, "application/octet-stream");
    secs += Seconds(start);
    if (!put || put->status != 200) std::fprintf(stderr, "warning: upload PUT failed\n");
  }
  return uploads * (data.size() / 1e6) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  int objects = 20000, clients = 4, blobs = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--objects") objects = std::atoi(argv[i + 1]);
    else if (a == "--clients") clients = std::atoi(argv[i + 1]);
    else if (a == "--blobs") blobs = std::atoi(argv[i + 1]);
  }
  auto dir = std::filesystem::temp_directory_path() / ("strata-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "raw");

  strata::Config config;
  config.data_dir = (dir / "data").string();
  config.port = 0;
  config.admin_key = "sk_bench_admin_key_0123456789";
  auto server = strata::server::Server::Open(config);
  if (!server.ok()) {
    std::fprintf(stderr, "cannot open server: %s\n", server.status().message().c_str());
    return 1;
  }
  auto port = (*server)->Bind();
  if (!port.ok()) return 1;
  std::thread listener([&] { (*server)->Listen(); });
  Api api;
  api.port = *port;
  api.headers = {{"Authorization", "Bearer " + config.admin_key}, {"X-Namespace", "bench"}};
  {
    httplib::Client cli(api.host, api.port);
    cli.Post("/v1/namespaces", api.headers,
             R"({"namespace_name": "bench", "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v1"}]})",
             "application/json");
    auto r = cli.Post("/v1/buckets", api.headers, R"({"bucket_name": "bench", "bucket_schema": {"properties": {
      "title": {"type": "string"}, "year": {"type": "integer"}, "category": {"type": "string"},
      "file": {"type": "video"}}}})", "application/json");
    if (!r || r->status != 200) {
      std::fprintf(stderr, "setup failed: %s\n", r ? r->body.c_str() : "no answer");
      return 1;
    }
  }

  // Random bytes behind an MP4 'ftyp' box, so the content sniffs as the video it claims to be.
  std::string ten_mb = strata::RandomBytes(10 * 1000 * 1000);
  const std::string ftyp("\0\0\0\x18" "ftypmp42\0\0\0\0mp42isom", 24);
  ten_mb.replace(0, ftyp.size(), ftyp);
  std::printf("strata ingest benchmark (%d objects, %d clients, %d x 10 MB blobs)\n\n", objects, clients, blobs);
  double raw_single = RawSqliteRowsPerSecond((dir / "raw" / "single.db").string(), objects / 4, 1);
  double api_single = ApiSingleObjectsPerSecond(api, objects, clients);
  std::printf("%-44s %12.0f /s\n", "raw SQLite insert, 1 row per transaction", raw_single);
  std::printf("%-44s %12.0f /s   ratio to raw: %.2f\n", "API POST /objects, 1 object per request", api_single,
              api_single / raw_single);
  double raw_batch = RawSqliteRowsPerSecond((dir / "raw" / "batch.db").string(), objects, 1000);
  double api_batch = ApiBatchObjectsPerSecond(api, objects, 1000);
  std::printf("%-44s %12.0f /s\n", "raw SQLite insert, 1000 rows per transaction", raw_batch);
  std::printf("%-44s %12.0f /s   ratio to raw: %.2f\n", "API POST /objects/batch, 1000 per request", api_batch,
              api_batch / raw_batch);
  double raw_file = RawFileMegabytesPerSecond((dir / "raw").string(), ten_mb, blobs);
  double api_b64 = ApiBase64BlobMegabytesPerSecond(api, ten_mb, blobs);
  double api_put = ApiUploadMegabytesPerSecond(api, ten_mb, blobs);
  std::printf("%-44s %12.1f MB/s\n", "raw file write + fsync + rename, 10 MB", raw_file);
  std::printf("%-44s %12.1f MB/s ratio to raw: %.2f\n", "API object with 10 MB base64 blob", api_b64,
              api_b64 / raw_file);
  std::printf("%-44s %12.1f MB/s ratio to raw: %.2f\n", "API presigned upload PUT, 10 MB", api_put,
              api_put / raw_file);

  (*server)->Stop();
  listener.join();
  server->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
