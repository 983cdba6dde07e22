#include "server/http_server.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <regex>
#include <thread>

#include "catalog/namespaces.h"
#include "core/crypto.h"
#include "engine/engine.h"
#include "extract/models/model_registry.h"
#include "extract/models/onnx_runtime.h"
#include "extract/registry.h"
#include "index/index_manager.h"
#include "retrieve/evaluations.h"
#include "server/error_envelope.h"
#include "server/vector_searcher.h"
#include "storage/index_files.h"

namespace strata::server {

void SendJson(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump() + "\n", "application/json");  // newline: kind to curl users
}

void SendError(httplib::Response& res, const Status& st) { SendJson(res, HttpStatusOf(st.code()), ErrorBody(st)); }

namespace {

bool HasDotDotSegment(const std::string& path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (path.compare(start, end - start, "..") == 0 || path.compare(start, end - start, ".") == 0) return true;
    start = end + 1;
  }
  return false;
}

catalog::Permission PermissionFor(Access a) {
  switch (a) {
    case Access::kRead: return catalog::Permission::kRead;
    case Access::kWrite: return catalog::Permission::kWrite;
    case Access::kDelete: return catalog::Permission::kDelete;
    default: return catalog::Permission::kAdmin;
  }
}

Result<std::string> LoadOrCreateSigningKey(storage::MetadataStore& store) {
  std::string key;
  RETURN_IF_ERROR(store.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(auto existing, w.GetSetting("presign_hmac_key"));
    if (existing) {
      key = *existing;
      return Status::Ok();
    }
    key = HexEncode(RandomBytes(32));
    return w.PutSetting("presign_hmac_key", key);
  }));
  return key;
}

}  // namespace

std::string Context::Param(size_t i) const { return i < req.matches.size() ? std::string(req.matches[i]) : ""; }

std::map<std::string, std::string> Context::Query() const {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : req.params) out[k] = v;
  return out;
}

ingest::ObjectContext Context::Objects() const {
  return ingest::ObjectContext{*svc.store, *svc.blobs, svc.blob_options, scope};
}

catalog::CollectionContext Context::Collections() const {
  return catalog::CollectionContext{*svc.store, *svc.extractors, scope};
}

bool Context::QueryFlag(const std::string& name, bool fallback) const {
  if (!req.has_param(name.c_str())) return fallback;
  std::string v = req.get_param_value(name.c_str());
  return v == "true" || v == "1" || v == "yes";
}

Result<std::unique_ptr<Server>> Server::Open(const Config& config) {
  std::unique_ptr<Server> s(new Server());
  Services& svc = s->svc_;
  svc.config = config;
  std::error_code ec;
  if (std::filesystem::create_directories(config.data_dir, ec)) {
    // The directory holds key hashes, the URL-signing key and every blob: owner only.
    std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  if (ec) return Status::Storage("cannot create data directory " + config.data_dir + ": " + ec.message());
  ASSIGN_OR_RETURN(svc.store, storage::OpenSqliteMetadataStore(config.data_dir + "/strata.db"));
  ASSIGN_OR_RETURN(svc.blob_store, storage::BlobStore::Open(config.data_dir + "/blobs"));
  svc.blobs = std::make_unique<ingest::BlobKeeper>(*svc.blob_store);
  ASSIGN_OR_RETURN(s->generated_admin_key_, catalog::Bootstrap(*svc.store, config.admin_key));
  ASSIGN_OR_RETURN(svc.signing_key, LoadOrCreateSigningKey(*svc.store));
  // A crash can leave temporary files, or a blob file whose transaction never
  // committed; neither is referenced, so both go.
  auto swept = svc.blob_store->Sweep([&](const std::string& sha) {
    auto r = svc.store->IsBlobReferenced(sha);
    return !r.ok() || *r;  // on a read error keep the file
  });
  if (!swept.ok()) return swept.status();
  // Models load lazily on first use; the engine's workers start now and pick
  // up whatever the previous process left in the queue.
  std::string models_dir = config.models_dir;
  if (models_dir.empty()) {
    models_dir = extract::DefaultModelsDir(std::filesystem::read_symlink("/proc/self/exe", ec).string());
  }
  if (!config.onnxruntime_lib.empty()) extract::SetOnnxRuntimeLibrary(config.onnxruntime_lib);
  svc.models = std::make_unique<extract::ModelRegistry>(models_dir, static_cast<size_t>(config.inference_cache_bytes));
  media::MediaLimits limits;
  limits.max_pixels = config.max_media_pixels;
  limits.max_duration_seconds = static_cast<double>(config.max_media_seconds);
  limits.max_pages = static_cast<int>(config.max_pdf_pages);
  svc.extractors = std::make_unique<extract::ExtractorRegistry>(*svc.models, limits);
  engine::EngineOptions engine_options;
  engine_options.workers = config.workers > 0 ? config.workers
                                              : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  // Vector indexes load (or rebuild) on first search and save on shutdown.
  ASSIGN_OR_RETURN(svc.index_files, storage::IndexFiles::Open(config.data_dir));
  svc.indexes = std::make_unique<index::IndexManager>(*svc.store, *svc.index_files);
  svc.engine = std::make_unique<engine::Engine>(*svc.store, *svc.blob_store, *svc.extractors, engine_options);
  svc.vectors = MakeVectorSearcher(*svc.indexes);
  svc.retrieve_caches = std::make_unique<retrieve::RetrieveCaches>();
  // Evaluations of retrievers run on the engine's workers.
  svc.engine->RegisterJobType(retrieve::kEvaluationJob, [&svc](const storage::Job& job) {
    retrieve::RetrieveContext ctx{*svc.store, storage::Scope{job.org, job.ns}, *svc.extractors, *svc.vectors};
    retrieve::RetrieverContext rc{ctx, *svc.retrieve_caches, "evaluation"};
    return retrieve::RunEvaluationJob(rc, *svc.engine, job);
  });
  RETURN_IF_ERROR(svc.engine->Start());
  s->persister_ = std::thread([server = s.get()] { server->PersistIndexesPeriodically(); });
  svc.blob_options.max_inline_bytes = static_cast<uint64_t>(config.max_inline_blob_bytes);
  svc.blob_options.fetch.max_bytes = static_cast<uint64_t>(config.max_url_blob_bytes);
  svc.blob_options.fetch.allow_private_addresses = config.allow_private_urls;

  s->http_ = std::make_unique<httplib::Server>();
  auto& http = *s->http_;
  const int threads = config.http_threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_payload_max_length(static_cast<size_t>(std::max(config.max_body_bytes, config.max_upload_bytes)));
  // Without TCP_NODELAY a response written as header then body waits on the
  // client's delayed ACK (~40 ms a request on keep-alive connections).
  http.set_tcp_nodelay(true);
  // The library closes a keep-alive connection after 5 requests by default;
  // over a real network every reconnect costs a handshake (on loopback the
  // benchmark shows no difference either way).
  http.set_keep_alive_max_count(10000);
  http.set_read_timeout(60, 0);
  http.set_write_timeout(60, 0);
  const int64_t max_body = config.max_body_bytes;
  http.set_pre_routing_handler([max_body](const httplib::Request& req, httplib::Response& res) {
    if (HasDotDotSegment(req.path)) {
      SendError(res, Status::BadRequest("path segments '.' and '..' are not allowed"));
      return httplib::Server::HandlerResponse::Handled;
    }
    // JSON bodies are read into memory, so refuse an oversized one before reading
    // it; only the presigned upload target streams larger bodies to disk.
    bool upload_target = req.method == "PUT" && req.path.rfind("/v1/uploads/", 0) == 0;
    if (!upload_target && req.has_header("Content-Length")) {
      const std::string len = req.get_header_value("Content-Length");
      if (len.size() > 18 || std::stoll("0" + len) > max_body) {
        SendError(res, Status::PayloadTooLarge("request body larger than " + std::to_string(max_body) + " bytes"));
        res.set_header("Connection", "close");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string msg = res.status == 404 ? "no route for " + req.method + " " + req.path
                                        : "request failed with HTTP " + std::to_string(res.status);
    if (res.status == 413) msg = "request body too large";
    SendJson(res, res.status, ErrorBodyForHttpStatus(res.status, msg));
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unexpected error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(res, Status::Internal(what));
  });

  for (auto* group : {&AdminRoutes, &NamespaceRoutes, &BucketRoutes, &ObjectRoutes, &UploadRoutes, &CollectionRoutes,
                      &DocumentRoutes, &BatchRoutes, &TaskRoutes, &RetrieverRoutes}) {
    for (const auto& route : (*group)()) s->routes_.push_back(route);
  }
  Json openapi = OpenApiDocument(s->routes_);
  s->routes_.push_back({"GET", "/v1/openapi.json", Access::kPublic, false,
                        [openapi](Context&) -> Result<Json> { return openapi; }});
  for (const auto& route : s->routes_) s->Install(route);
  InstallPresignedTargets(http, svc);
  return s;
}

void Server::PersistIndexesPeriodically() {
  constexpr auto kInterval = std::chrono::minutes(5);
  std::unique_lock<std::mutex> lock(persist_mu_);
  while (!persist_cv_.wait_for(lock, kInterval, [this] { return stopping_; })) {
    lock.unlock();
    Status st = svc_.indexes->Persist();
    if (!st.ok()) std::fprintf(stderr, "strata: saving vector indexes failed: %s\n", st.message().c_str());
    lock.lock();
  }
}

Server::~Server() {
  if (persister_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(persist_mu_);
      stopping_ = true;
    }
    persist_cv_.notify_all();
    persister_.join();
  }
  // Workers may be running an evaluation that searches the indexes: stop
  // them before anything they use goes, then save the indexes so the next
  // start loads them instead of rebuilding.
  if (svc_.engine) svc_.engine->Stop();
  if (svc_.indexes) {
    Status st = svc_.indexes->Persist();
    if (!st.ok()) std::fprintf(stderr, "strata: saving vector indexes failed: %s\n", st.message().c_str());
  }
}

void Server::Install(const Route& route) {
  Services* svc = &svc_;
  auto fn = [svc, route](const httplib::Request& req, httplib::Response& res) {
    Context ctx{req, res, *svc, {}, {}, nullptr};
    auto run = [&]() -> Status {
      if (route.access != Access::kPublic) {
        ASSIGN_OR_RETURN(ctx.principal, catalog::Authenticate(*svc->store, req.get_header_value("Authorization")));
        if (!ctx.principal.Has(PermissionFor(route.access))) {
          return Status::PermissionDenied(std::string("this API key lacks the '") +
                                          catalog::PermissionName(PermissionFor(route.access)) +
                                          "' permission");
        }
        if (route.namespaced) {
          ASSIGN_OR_RETURN(ctx.scope, catalog::ResolveNamespace(*svc->store, ctx.principal,
                                                                req.get_header_value("X-Namespace")));
        }
      }
      if (!req.body.empty()) {
        ASSIGN_OR_RETURN(ctx.body, ParseJson(req.body, svc->config.max_json_depth));
      }
      ASSIGN_OR_RETURN(Json out, route.handler(ctx));
      if (!ctx.raw_response) SendJson(res, ctx.status, out);
      return Status::Ok();
    };
    Status st = run();
    if (!st.ok()) SendError(res, st);
  };
  // "{name}" segments of the OpenAPI path become regex captures, in order.
  const std::string pattern = std::regex_replace(route.path, std::regex(R"(\{[^}]+\})"), "([^/]+)");
  auto& http = *http_;
  if (route.method == "GET") http.Get(pattern, fn);
  else if (route.method == "POST") http.Post(pattern, fn);
  else if (route.method == "PUT") http.Put(pattern, fn);
  else if (route.method == "PATCH") http.Patch(pattern, fn);
  else if (route.method == "DELETE") http.Delete(pattern, fn);
}

Result<int> Server::Bind() {
  if (svc_.config.public_url.empty() && svc_.config.port != 0) {
    svc_.public_url = "http://" + svc_.config.host + ":" + std::to_string(svc_.config.port);
  }
  int port = svc_.config.port;
  if (port == 0) {
    port = http_->bind_to_any_port(svc_.config.host);
    if (port < 0) return Status::Unavailable("cannot bind " + svc_.config.host);
  } else if (!http_->bind_to_port(svc_.config.host, port)) {
    return Status::Unavailable("cannot listen on " + svc_.config.host + ":" + std::to_string(port) +
                               " (in use? pick another with --port)");
  }
  svc_.public_url = svc_.config.public_url.empty()
                        ? "http://" + svc_.config.host + ":" + std::to_string(port)
                        : svc_.config.public_url;
  while (!svc_.public_url.empty() && svc_.public_url.back() == '/') svc_.public_url.pop_back();
  return port;
}

void Server::Listen() { http_->listen_after_bind(); }
void Server::Stop() { http_->stop(); }

}  // namespace strata::server
