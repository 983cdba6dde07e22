// The HTTP front: routes, authentication, X-Namespace resolution, JSON bodies,
// the error envelope. Handlers never touch SQL or files: they call catalog/ and
// ingest/, which speak to storage/.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "catalog/api_keys.h"
#include "catalog/collections.h"
#include "core/config.h"
#include "core/json_util.h"
#include "ingest/blob_keeper.h"
#include "ingest/blob_source.h"
#include "ingest/objects.h"
#include "storage/blob_store.h"
#include "storage/index_files.h"
#include "storage/metadata_store.h"

namespace httplib {
struct Request;
struct Response;
class Server;
class ContentReader;
}  // namespace httplib

namespace strata::engine {
class Engine;
}
namespace strata::extract {
class ModelRegistry;
}
namespace strata::index {
class IndexManager;
}
namespace strata::retrieve {
class VectorSearcher;
struct RetrieveCaches;
}

namespace strata::server {

// Everything a handler may use; owned by Server, shared by all threads.
struct Services {
  Config config;
  std::unique_ptr<storage::MetadataStore> store;
  std::unique_ptr<storage::BlobStore> blob_store;
  std::unique_ptr<ingest::BlobKeeper> blobs;
  std::string signing_key;  // HMAC key of presigned URLs, kept in the store
  std::string public_url;
  ingest::BlobSourceOptions blob_options;
  std::unique_ptr<extract::ModelRegistry> models;
  std::unique_ptr<extract::ExtractorRegistry> extractors;
  std::unique_ptr<storage::IndexFiles> index_files;     // <data>/indexes
  std::unique_ptr<index::IndexManager> indexes;         // vector indexes, caught up from the store's feed
  std::unique_ptr<engine::Engine> engine;  // task queue and workers
  std::unique_ptr<retrieve::VectorSearcher> vectors;     // retrievers' searches over `indexes`
  std::unique_ptr<retrieve::RetrieveCaches> retrieve_caches;
};

struct Context {
  const httplib::Request& req;
  httplib::Response& res;
  Services& svc;
  catalog::Principal principal;
  storage::Scope scope;     // set for namespaced routes
  Json body;                // parsed JSON body (null when empty)
  bool raw_response = false;  // the handler wrote res itself
  int status = 200;           // HTTP status of a successful answer (e.g. 202 Accepted)

  std::string Param(size_t i) const;  // regex capture i (1-based)
  std::map<std::string, std::string> Query() const;
  bool QueryFlag(const std::string& name, bool fallback = false) const;
  // The ingest services' view of this request (its store, blobs and namespace).
  ingest::ObjectContext Objects() const;
  catalog::CollectionContext Collections() const;
};

// Writes a JSON body, or a Status as the error envelope.
void SendJson(httplib::Response& res, int status, const Json& body);
void SendError(httplib::Response& res, const Status& status);

using Handler = std::function<Result<Json>(Context&)>;

enum class Access { kPublic, kRead, kWrite, kDelete, kAdmin };

struct Route {
  std::string method;
  std::string path;     // OpenAPI form: "/v1/buckets/{bucket_identifier}"
  Access access;
  bool namespaced;      // needs X-Namespace
  Handler handler;
};

std::vector<Route> AdminRoutes();      // health, organization, API keys
std::vector<Route> NamespaceRoutes();
std::vector<Route> BucketRoutes();
std::vector<Route> ObjectRoutes();
std::vector<Route> UploadRoutes();
std::vector<Route> CollectionRoutes();  // collections, extractors registry
std::vector<Route> DocumentRoutes();    // documents, lineage
std::vector<Route> BatchRoutes();       // batches, trigger
std::vector<Route> TaskRoutes();
std::vector<Route> RetrieverRoutes();   // retrievers, execute, stages

// The OpenAPI 3.1 document of the routes this server answers.
Json OpenApiDocument(const std::vector<Route>& routes);
// The upload PUT and blob GET targets of presigned URLs (streamed, signature-checked).
void InstallPresignedTargets(httplib::Server& http, Services& svc);

class Server {
 public:
  // Opens the data directory (creating it), migrates, bootstraps the admin key.
  static Result<std::unique_ptr<Server>> Open(const Config& config);
  ~Server();
  // Binds (port 0 = any free port) and returns the bound port.
  Result<int> Bind();
  void Listen();  // blocks until Stop()
  void Stop();
  // The bootstrap key generated on this start, if any (to print once).
  const std::string& generated_admin_key() const { return generated_admin_key_; }

 private:
  Server() = default;
  void Install(const Route& route);
  // Saves changed vector indexes every few minutes, which also prunes the
  // store's vector change feed (it would otherwise grow until shutdown).
  void PersistIndexesPeriodically();
  std::vector<Route> routes_;
  Services svc_;
  std::unique_ptr<httplib::Server> http_;
  std::string generated_admin_key_;
  std::mutex persist_mu_;
  std::condition_variable persist_cv_;
  bool stopping_ = false;
  std::thread persister_;
};

}  // namespace strata::server
