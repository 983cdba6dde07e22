// Retriever latency through the real HTTP API, next to the bare vector index
// under it, measured in the same run on the same vectors and queries:
//   - N text documents (default 100,000; deterministic sentences from a fixed
//     vocabulary, seeded RNG) in one collection with text_extractor@v1
//     (split_by none: one document and one 100-d GloVe vector per object),
//     loaded through the public API against a server started in-process on
//     loopback: objects/batch 1,000 at a time, one batch, submit, poll the
//     task. Ingestion is timed and printed, but is not the figure.
//   - A one-stage retriever: feature_search, one dense search on
//     mixpeek://text_extractor@v1/glove_100d, query {{INPUT.query}}, top_k 10.
//   - C concurrent clients (default 16; threads, each with its own keep-alive
//     httplib::Client) each executing it R times, every request with a query
//     text no other request uses, so neither the response cache, the stage
//     cache nor the inference cache can answer (X-Cache is checked: MISS
//     expected, HITs counted). Before that, one client alone (--solo).
//     Per-request latency: p50, p90, p99, mean, requests/s.
//   - The same queries embedded the way the feature_search stage embeds them
//     (the collection's extractor with its parameters, on the query text) and
//     searched directly on a strata::index::VectorIndex with the server's
//     index options, built over the same vectors read from the store: 1
//     thread and C threads; the embedding alone; the API minus the raw figures.
//   - Where the API's time goes: the responses' stage_statistics; the same
//     pipeline through the ad-hoc endpoint, which writes no execution record
//     (--no-adhoc skips it); the COUNT(*) the feature_search stage runs before
//     every search, timed on the store directly, warm and after a write.
//
// usage: strata_bench_api [--docs N] [--clients C] [--requests R] [--solo S]
//                         [--keep DIR] [--models DIR] [--no-adhoc]
//   --keep DIR  data directory kept after the run; a later run with the same
//               DIR and --docs reuses the loaded collection (no ingest).
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <latch>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "catalog/api_keys.h"
#include "catalog/namespaces.h"
#include "core/json_util.h"
#include "extract/models/model_registry.h"
#include "extract/registry.h"
#include "index/index_manager.h"
#include "index/vector_index.h"
#include "server/http_server.h"
#include "storage/metadata_store.h"

namespace {

using Clock = std::chrono::steady_clock;
using strata::Json;
namespace extract = strata::extract;
namespace sindex = strata::index;

const char* const kDense = "mixpeek://text_extractor@v1/glove_100d";
const char* const kAdminKey = "sk_bench_admin_key_0123456789";
constexpr int kTopK = 10;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }
double Millis(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::exit(1);
}

void Check(const strata::Status& st, const std::string& what) {
  if (!st.ok()) Die(what + ": " + st.message());
}

template <typename T>
T Must(strata::Result<T> r, const std::string& what) {
  Check(r.status(), what);
  return std::move(r).value();
}

// Percentiles by nearest rank over a copy.
struct Summary {
  size_t n = 0;
  double p50 = 0, p90 = 0, p99 = 0, mean = 0, max = 0;
};
Summary Summarize(std::vector<double> v) {
  Summary s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)];
  };
  s.p50 = at(0.50);
  s.p90 = at(0.90);
  s.p99 = at(0.99);
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  s.max = v.back();
  return s;
}

void PrintRow(const std::string& what, const Summary& s, double per_second = 0) {
  std::printf("   %-52s %8.3f %8.3f %8.3f %8.3f", what.c_str(), s.p50, s.p90, s.p99, s.mean);
  if (per_second > 0) std::printf(" %10.0f", per_second);
  std::printf("\n");
}

// Sentences from word lists, GloVe vocabulary throughout, seeded: the same
// documents and queries on every run.
class Words {
 public:
  explicit Words(uint32_t seed) : rng_(seed) {}

  // A document: two sentences, ~110 characters.
  std::string Document() { return Sentence() + " " + Sentence(); }

  // A query of 3 to 6 words.
  std::string Query() {
    switch (rng_() % 4) {
      case 0: return std::string(Pick(kAdjectives)) + " " + Pick(kNouns) + " " + Pick(kPlaces);
      case 1: return std::string(Pick(kNouns)) + " " + Pick(kVerbs) + " " + Pick(kAdjectives) + " " + Pick(kNouns);
      case 2: return std::string(Pick(kAdjectives)) + " " + Pick(kNouns) + " " + Pick(kVerbs) + " " + Pick(kPlaces);
      default:
        return std::string(Pick(kAdjectives)) + " " + Pick(kNouns) + " and " + Pick(kAdjectives) + " " + Pick(kNouns);
    }
  }

 private:
  const char* Pick(const std::vector<const char*>& words) { return words[rng_() % words.size()]; }
  std::string Sentence() {
    return std::string("The ") + Pick(kAdjectives) + " " + Pick(kNouns) + " " + Pick(kVerbs) + " the " +
           Pick(kAdjectives) + " " + Pick(kNouns) + " " + Pick(kPlaces) + ".";
  }

  std::mt19937 rng_;
  const std::vector<const char*> kAdjectives = {
      "quiet", "old", "bright", "careful", "young", "small", "famous", "local", "tired", "happy", "strange", "green",
      "busy", "patient", "wooden", "ancient", "modern", "distant", "friendly", "heavy", "simple", "northern", "empty",
      "gentle", "sudden", "narrow", "honest", "clever", "public", "early", "cold", "warm", "dark", "rich", "poor",
      "loud", "tall", "broken", "golden", "silent"};
  const std::vector<const char*> kNouns = {
      "farmer", "teacher", "river", "village", "engineer", "market", "report", "committee", "garden", "doctor",
      "student", "bridge", "museum", "council", "harbour", "library", "company", "artist", "train", "forest",
      "kitchen", "soldier", "mountain", "school", "letter", "painter", "station", "festival", "island", "journalist",
      "ship", "castle", "church", "hospital", "factory", "village", "lawyer", "pilot", "singer", "window"};
  const std::vector<const char*> kVerbs = {
      "visited", "described", "repaired", "watched", "praised", "followed", "painted", "crossed", "studied",
      "welcomed", "discovered", "photographed", "questioned", "celebrated", "protected", "measured", "ignored",
      "remembered", "supported", "explored", "built", "sold", "found", "left"};
  const std::vector<const char*> kPlaces = {
      "near the harbour", "before the winter", "after the long meeting", "in the early morning",
      "during the festival", "beside the old road", "without much noise", "across the valley",
      "at the end of the week", "under a grey sky", "with great care", "for the first time", "in the city",
      "on the island", "after the storm", "at night"};
};

// The checkout's .cache/models: the binary sits in <checkout>/<build>/bench/.
std::string FindModelsDir() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto candidate = (exe.parent_path() / ".." / ".." / ".cache" / "models").lexically_normal();
    if (std::filesystem::is_directory(candidate, ec)) return candidate.string();
  }
  return extract::DefaultModelsDir(exe.string());
}

struct Api {
  std::string host = "127.0.0.1";
  int port = 0;
  httplib::Headers headers = {{"Authorization", std::string("Bearer ") + kAdminKey}, {"X-Namespace", "bench"}};

  std::unique_ptr<httplib::Client> Client() const {
    auto cli = std::make_unique<httplib::Client>(host, port);
    cli->set_keep_alive(true);
    cli->set_tcp_nodelay(true);
    cli->set_read_timeout(600, 0);
    cli->set_write_timeout(600, 0);
    return cli;
  }
};

// A request whose answer must be one of `ok` statuses; returns {status, body}.
std::pair<int, Json> Call(httplib::Client& cli, const Api& api, const std::string& method, const std::string& path,
                          const Json& body, std::initializer_list<int> ok = {200}) {
  httplib::Result r = method == "GET" ? cli.Get(path, api.headers)
                                      : cli.Post(path, api.headers, body.dump(), "application/json");
  if (!r) Die(method + " " + path + ": no answer (" + httplib::to_string(r.error()) + ")");
  if (std::find(ok.begin(), ok.end(), r->status) == ok.end()) {
    Die(method + " " + path + ": HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 800));
  }
  return {r->status, r->body.empty() ? Json() : Json::parse(r->body)};
}

struct CollectionInfo {
  std::string id;
  Json feature_extractor;  // as stored: resolved parameters
  std::string vector_name, distance;
  size_t dims = 0;
  int64_t documents = 0;
};

CollectionInfo Describe(const Json& col) {
  CollectionInfo c;
  c.id = col["collection_id"];
  c.feature_extractor = col["feature_extractor"];
  c.documents = col.value("document_count", int64_t{0});
  for (const auto& v : col["vector_indexes"]) {
    if (v.value("feature_uri", "") != kDense) continue;
    c.vector_name = v["name"];
    c.distance = v["index"].value("distance", "cosine");
    c.dims = v["index"].value("dimensions", 0);
  }
  if (c.vector_name.empty()) Die("the collection has no " + std::string(kDense) + " feature: " + col.dump());
  return c;
}

// Namespace, bucket, collection (each reused when it exists, under --keep).
CollectionInfo Setup(const Api& api) {
  auto cli = api.Client();
  Call(*cli, api, "POST", "/v1/namespaces",
       {{"namespace_name", "bench"},
        {"feature_extractors", {{{"feature_extractor_name", "text_extractor"}, {"version", "v1"}}}}},
       {200, 409});
  Call(*cli, api, "POST", "/v1/buckets",
       {{"bucket_name", "texts"}, {"bucket_schema", {{"properties", {{"body", {{"type", "string"}}}}}}}}, {200, 409});
  auto [status, col] = Call(*cli, api, "POST", "/v1/collections",
                            {{"collection_name", "texts"},
                             {"source", {{"type", "bucket"}, {"bucket_ids", {"texts"}}}},
                             {"feature_extractor", {{"feature_extractor_name", "text_extractor"},
                                                    {"version", "v1"},
                                                    {"input_mappings", {{"text", "body"}}},
                                                    {"parameters", {{"split_by", "none"}}}}}},
                            {200, 409});
  if (status == 409) col = Call(*cli, api, "GET", "/v1/collections/texts", Json()).second;
  return Describe(col);
}

// Objects 1,000 per objects/batch request, one batch of all of them, submit,
// poll the task every 100 ms.
void Ingest(const Api& api, int docs) {
  auto cli = api.Client();
  Words words(42);
  std::vector<std::string> ids;
  ids.reserve(static_cast<size_t>(docs));
  auto t0 = Clock::now();
  for (int i = 0; i < docs; i += 1000) {
    Json body = {{"objects", Json::array()}};
    for (int j = i; j < std::min(docs, i + 1000); ++j) body["objects"].push_back({{"body", words.Document()}});
    auto [st, out] = Call(*cli, api, "POST", "/v1/buckets/texts/objects/batch", body);
    if (out["failed_count"] != 0) Die("objects/batch: " + out["failed"].dump().substr(0, 500));
    for (const auto& o : out["succeeded"]) ids.push_back(o["object_id"]);
  }
  const double objects_secs = Seconds(t0);
  auto [bst, batch] = Call(*cli, api, "POST", "/v1/buckets/texts/batches", {{"object_ids", ids}});
  const std::string batch_id = batch["batch_id"];
  auto t1 = Clock::now();
  auto [tst, task] = Call(*cli, api, "POST", "/v1/buckets/texts/batches/" + batch_id + "/submit", Json::object());
  const std::string task_id = task["task_id"];
  std::string status = task.value("status", "");
  while (status != "COMPLETED" && status != "COMPLETED_WITH_ERRORS" && status != "FAILED" && status != "CANCELED") {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    task = Call(*cli, api, "GET", "/v1/tasks/" + task_id, Json()).second;
    status = task.value("status", "");
  }
  const double process_secs = Seconds(t1);
  if (status != "COMPLETED") Die("batch ended " + status + ": " + task.dump().substr(0, 800));
  std::printf("ingest (not the figure): %d objects through objects/batch in %.1f s (%.0f/s); "
              "batch submit -> COMPLETED %.1f s (%.0f docs/s); total %.1f s\n",
              docs, objects_secs, docs / objects_secs, process_secs, docs / process_secs, Seconds(t0));
}

// One retriever execution as a client saw it.
struct Sample {
  double ms = 0;         // request sent -> response read
  int status = 0;
  bool hit = false;      // X-Cache: HIT
  std::string body;      // parsed after the run, off the clock
};

// `clients` threads, each with its own keep-alive client, each POSTing
// body_for(queries[first + c * per + i]) to `path`, i < per, after all connect.
std::vector<Sample> RunClients(const Api& api, const std::string& path,
                               const std::function<Json(const std::string&)>& body_for,
                               const std::vector<std::string>& queries, size_t first, int clients, int per,
                               double* wall_secs) {
  std::vector<Sample> samples(static_cast<size_t>(clients) * static_cast<size_t>(per));
  std::latch ready(clients + 1);
  std::latch go(1);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto cli = api.Client();
      // Connect (and warm the connection) before the clock: a GET the server
      // answers without work.
      cli->Get("/v1/health");
      ready.count_down();
      go.wait();
      for (int i = 0; i < per; ++i) {
        const size_t k = static_cast<size_t>(c) * static_cast<size_t>(per) + static_cast<size_t>(i);
        const std::string body = body_for(queries[first + k]).dump();
        auto t = Clock::now();
        auto r = cli->Post(path, api.headers, body, "application/json");
        Sample& s = samples[k];
        s.ms = Millis(t, Clock::now());
        if (!r) {
          s.status = -1;
          continue;
        }
        s.status = r->status;
        s.hit = r->get_header_value("X-Cache") == "HIT";
        s.body = std::move(r->body);
      }
    });
  }
  ready.arrive_and_wait();
  auto start = Clock::now();
  go.count_down();
  for (auto& t : threads) t.join();
  *wall_secs = Seconds(start);
  return samples;
}

// What the responses say about themselves.
struct Parsed {
  std::vector<double> latency, pipeline_ms, stage_ms, outside_ms;
  std::vector<std::vector<std::string>> ids;  // per sample, the documents' ids
  int errors = 0, hits = 0, misses = 0;
  std::string first_error;
};

Parsed Parse(const std::vector<Sample>& samples) {
  Parsed p;
  p.ids.resize(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    const Sample& s = samples[i];
    if (s.status != 200) {
      ++p.errors;
      if (p.first_error.empty()) p.first_error = std::to_string(s.status) + " " + s.body.substr(0, 300);
      continue;
    }
    (s.hit ? p.hits : p.misses)++;
    p.latency.push_back(s.ms);
    Json j = Json::parse(s.body);
    const Json& stats = j["stage_statistics"];
    const double total = stats.value("total_time_ms", 0.0);
    p.pipeline_ms.push_back(total);
    p.outside_ms.push_back(s.ms - total);
    double stage = 0;
    for (const auto& [name, st] : stats["stages"].items()) stage += st.value("duration_ms", 0.0);
    p.stage_ms.push_back(stage);
    for (const auto& d : j["documents"]) p.ids[i].push_back(d.value("document_id", ""));
  }
  return p;
}

// Queries no other request repeats (3-6 words, seeded).
std::vector<std::string> MakeQueries(size_t n) {
  Words words(7);
  std::unordered_set<std::string> seen;
  std::vector<std::string> out;
  out.reserve(n);
  size_t tries = 0;
  while (out.size() < n) {
    std::string q = words.Query();
    if (++tries > n * 50) Die("cannot make enough distinct queries");
    if (seen.insert(q).second) out.push_back(std::move(q));
  }
  return out;
}

// Embeds a query as the feature_search stage does (EmbedText in
// src/retrieve/stages_search.cc): the collection's extractor started with the
// collection's parameters, run on the text, the vectors of the feature's name.
std::vector<float> EmbedLikeTheStage(const extract::ExtractorRegistry& extractors, const CollectionInfo& col,
                                     const std::string& text) {
  const Json& fe = col.feature_extractor;
  const extract::Extractor* ex = extractors.Find(fe.value("feature_extractor_name", ""), fe.value("version", ""));
  if (ex == nullptr) Die("extractor not found");
  auto run = Must(ex->Start(fe.value("parameters", Json::object())), "start extractor");
  extract::ExtractItem item{"query", {}};
  for (auto it = ex->info().input_schema.begin(); it != ex->info().input_schema.end(); ++it) {
    extract::InputValue in;
    in.name = it.key();
    in.value = text;
    item.inputs.push_back(std::move(in));
  }
  std::vector<float> out;
  Check(run->Extract(item, [&](extract::ExtractedDocument&& d) -> strata::Status {
          for (auto& [name, v] : d.vectors) {
            if (name == col.vector_name && out.empty()) out = std::move(v);
          }
          return strata::Status::Ok();
        }),
        "embed query");
  if (out.size() != col.dims) Die("query embedded to " + std::to_string(out.size()) + " dimensions");
  return out;
}

// Runs fn(i) for i in [0, n) on `threads` threads, thread t taking the
// contiguous share [t * n / threads, (t + 1) * n / threads), all starting
// together; returns the wall time.
double Parallel(size_t n, int threads, const std::function<void(size_t)>& fn) {
  std::latch go(1);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      go.wait();
      const size_t lo = n * static_cast<size_t>(t) / static_cast<size_t>(threads);
      const size_t hi = n * static_cast<size_t>(t + 1) / static_cast<size_t>(threads);
      for (size_t i = lo; i < hi; ++i) fn(i);
    });
  }
  auto start = Clock::now();
  go.count_down();
  for (auto& th : pool) th.join();
  return Seconds(start);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines as they come (e.g. to attach perf to a phase)
  int docs = 100000, clients = 16, requests = 250, solo = 300;
  bool adhoc = true;
  std::string keep, models_dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--no-adhoc") {
      adhoc = false;
      continue;
    }
    if (i + 1 >= argc) Die("usage: strata_bench_api [--docs N] [--clients C] [--requests R] [--solo S] [--keep DIR] "
                           "[--models DIR] [--no-adhoc]");
    std::string v = argv[++i];
    if (a == "--docs") docs = std::atoi(v.c_str());
    else if (a == "--clients") clients = std::atoi(v.c_str());
    else if (a == "--requests") requests = std::atoi(v.c_str());
    else if (a == "--solo") solo = std::atoi(v.c_str());
    else if (a == "--keep") keep = v;
    else if (a == "--models") models_dir = v;
    else Die("unknown option " + a);
  }
  if (docs < 1 || clients < 1 || requests < 1 || solo < 0) Die("--docs, --clients, --requests must be positive");
  if (models_dir.empty()) models_dir = FindModelsDir();
  const std::filesystem::path dir =
      keep.empty() ? std::filesystem::temp_directory_path() / ("strata-bench-api-" + std::to_string(::getpid()))
                   : std::filesystem::path(keep);

  strata::Config config;
  config.data_dir = (dir / "data").string();
  config.port = 0;
  config.admin_key = kAdminKey;
  config.models_dir = models_dir;
  auto server = Must(strata::server::Server::Open(config), "open server");
  Api api;
  api.port = Must(server->Bind(), "bind");
  std::thread listener([&] { server->Listen(); });
  std::printf("strata retriever latency benchmark: %d documents, %d clients x %d requests (+%d by one client); "
              "server: %d HTTP threads, %u cores; models from %s\n\n",
              docs, clients, requests, solo, config.http_threads, std::thread::hardware_concurrency(),
              models_dir.c_str());

  // ---- load
  CollectionInfo col = Setup(api);
  if (col.documents == 0) {
    Ingest(api, docs);
    auto cli = api.Client();
    col = Describe(Call(*cli, api, "GET", "/v1/collections/texts", Json()).second);
  } else {
    std::printf("reusing the collection in %s: %lld documents (no ingest)\n", dir.c_str(),
                static_cast<long long>(col.documents));
  }
  if (col.documents != docs) {
    Die("the collection holds " + std::to_string(col.documents) + " documents, not " + std::to_string(docs) +
        (keep.empty() ? "" : " (a --keep directory from a run with another --docs?)"));
  }
  const Json dense_search = {{"feature_uri", kDense}, {"query", "{{INPUT.query}}"}, {"top_k", kTopK}};
  const Json stage = {{"stage_name", "search"},
                      {"config", {{"stage_id", "feature_search"},
                                  {"parameters", {{"searches", Json::array({dense_search})}, {"final_top_k", kTopK}}}}}};
  const Json retriever = {{"collection_identifiers", {"texts"}},
                          {"input_schema", {{"query", {{"type", "string"}, {"required", true}}}}},
                          {"stages", Json::array({stage})}};
  {
    auto cli = api.Client();
    Json body = retriever;
    body["retriever_name"] = "bench";
    Call(*cli, api, "POST", "/v1/retrievers", body, {200, 409});
  }

  const size_t warm = 20;
  const size_t main_n = static_cast<size_t>(clients) * static_cast<size_t>(requests);
  const size_t adhoc_n = adhoc ? main_n : 0;
  const std::vector<std::string> queries = MakeQueries(warm + static_cast<size_t>(solo) + main_n + adhoc_n);
  const size_t solo_first = warm, main_first = warm + static_cast<size_t>(solo), adhoc_first = main_first + main_n;

  // ---- warm-up: the first search loads (or builds) the vector index
  {
    auto cli = api.Client();
    auto t = Clock::now();
    Call(*cli, api, "POST", "/v1/retrievers/bench/execute", {{"inputs", {{"query", queries[0]}}}});
    std::printf("first execution (the vector index loaded or built from the store): %.1f s\n", Seconds(t));
    for (size_t i = 1; i < warm; ++i) {
      Call(*cli, api, "POST", "/v1/retrievers/bench/execute", {{"inputs", {{"query", queries[i]}}}});
    }
  }

  // ---- through HTTP
  // The stored retriever: what the figure is about.
  const std::string stored = "/v1/retrievers/bench/execute";
  auto stored_body = [](const std::string& q) { return Json{{"inputs", {{"query", q}}}}; };
  double solo_wall = 0, main_wall = 0, adhoc_wall = 0;
  Parsed solo_p, adhoc_p;
  if (solo > 0) solo_p = Parse(RunClients(api, stored, stored_body, queries, solo_first, 1, solo, &solo_wall));
  Parsed api_p = Parse(RunClients(api, stored, stored_body, queries, main_first, clients, requests, &main_wall));
  // The same pipeline ad hoc: the same work, except that no execution record
  // is written (ExecuteRetriever stores one per execution; ExecuteAdhoc not).
  if (adhoc) {
    auto adhoc_body = [&](const std::string& q) {
      Json b = retriever;
      b["inputs"] = {{"query", q}};
      return b;
    };
    adhoc_p = Parse(RunClients(api, "/v1/retrievers/execute", adhoc_body, queries, adhoc_first, clients, requests,
                               &adhoc_wall));
  }

  // ---- raw: the same vectors (read from the store), the same index options
  auto store = Must(strata::storage::OpenSqliteMetadataStore(config.data_dir + "/strata.db"), "open store");
  std::vector<std::pair<std::string, std::vector<float>>> items;
  items.reserve(static_cast<size_t>(docs));
  Check(store->Read([&](strata::storage::Reader& r) -> strata::Status {
          return r.ScanVectors(col.id, col.vector_name, [&](const std::string& id, const float* v, size_t n) {
                    items.emplace_back(id, std::vector<float>(v, v + n));
                    return strata::Status::Ok();
                  }).status();
        }),
        "scan vectors");
  sindex::IndexOptions options = sindex::IndexManagerOptions{}.index;  // what the server's IndexManager uses
  options.metric = Must(sindex::ParseMetric(col.distance), "metric");
  options.dims = col.dims;
  auto raw = Must(sindex::VectorIndex::Create(options), "create index");
  auto tb = Clock::now();
  Check(raw->Build(items, 2), "build index");
  const double build_secs = Seconds(tb);
  items.clear();
  items.shrink_to_fit();

  // The emptiness check feature_search runs before every search
  // (Search::CheckNotEmpty, src/retrieve/stages_search.cc): COUNT(*) of the
  // collection's documents, on this process's own connections; with a warm
  // page cache, and right after another connection committed a write (as
  // each execution's record is), which makes SQLite drop a reader's cache.
  const auto principal = Must(strata::catalog::Authenticate(*store, std::string("Bearer ") + kAdminKey), "auth");
  const auto scope = Must(strata::catalog::ResolveNamespace(*store, principal, "bench"), "namespace");
  auto count_ms = [&] {
    auto t = Clock::now();
    int64_t n = 0;
    Check(store->Read([&](strata::storage::Reader& r) -> strata::Status {
            ASSIGN_OR_RETURN(n, r.Count(strata::storage::Kind::kDocument, scope, col.id));
            return strata::Status::Ok();
          }),
          "count");
    if (n != docs) Die("count: " + std::to_string(n));
    return Millis(t, Clock::now());
  };
  std::vector<double> count_warm, count_after_write;
  count_ms();
  for (int i = 0; i < 30; ++i) count_warm.push_back(count_ms());
  for (int i = 0; i < 30; ++i) {
    Check(store->Write([&](strata::storage::Writer& w) { return w.PutSetting("bench_probe", std::to_string(i)); }),
          "write");
    count_after_write.push_back(count_ms());
  }

  // Embedding, as the stage does it, on a registry of its own (its own
  // inference cache: nothing the server embedded is reused).
  extract::ModelRegistry models(models_dir);
  extract::ExtractorRegistry extractors(models);
  EmbedLikeTheStage(extractors, col, "warm up the models");  // loads GloVe and lid.176 before any clock
  std::vector<std::vector<float>> vecs(main_n);
  std::vector<double> embed_ms(main_n);
  for (size_t i = 0; i < main_n; ++i) {
    auto t = Clock::now();
    vecs[i] = EmbedLikeTheStage(extractors, col, queries[main_first + i]);
    embed_ms[i] = Millis(t, Clock::now());
  }
  // The embedder alone (no extractor, no language id), uncached.
  extract::ModelRegistry bare_models(models_dir, 0);
  auto glove = Must(bare_models.Get(col.feature_extractor["parameters"].value("embedding_model", "glove-100d")),
                    "embedding model");
  auto lid = Must(bare_models.LanguageIdModel(), "language id model");
  std::vector<double> glove_ms(main_n), lid_ms(main_n);
  size_t sink = 0;  // keeps the results in use
  for (size_t i = 0; i < main_n; ++i) {
    auto t = Clock::now();
    auto v = Must(glove->Embed({queries[main_first + i]}, extract::EmbedRole::kPassage), "embed");
    auto t2 = Clock::now();
    auto det = lid->Detect(queries[main_first + i]);
    lid_ms[i] = Millis(t2, Clock::now());
    glove_ms[i] = Millis(t, t2);
    sink += v.size() + det.language.size();
  }
  if (sink == 0) Die("the embedder returned nothing");

  std::vector<std::vector<std::string>> raw_ids(main_n);
  auto search = [&](size_t i, std::vector<double>& ms) {
    auto t = Clock::now();
    auto hits = Must(raw->Search(std::span<const float>(vecs[i]), kTopK), "search");
    ms[i] = Millis(t, Clock::now());
    if (raw_ids[i].empty()) {
      for (auto& h : hits) raw_ids[i].push_back(std::move(h.doc_id));
    }
  };
  std::vector<double> raw1_ms(main_n), rawc_ms(main_n), both_ms(main_n);
  // Twice on one thread: the first pass warms caches; the second counts.
  Parallel(main_n, 1, [&](size_t i) { search(i, raw1_ms); });
  const double raw1_wall = Parallel(main_n, 1, [&](size_t i) { search(i, raw1_ms); });
  const double rawc_wall = Parallel(main_n, clients, [&](size_t i) { search(i, rawc_ms); });
  // Embed + search per query, on C threads: the least work a request must do.
  extract::ModelRegistry models2(models_dir);
  extract::ExtractorRegistry extractors2(models2);
  EmbedLikeTheStage(extractors2, col, "warm up the models");
  const double both_wall = Parallel(main_n, clients, [&](size_t i) {
    auto t = Clock::now();
    auto v = EmbedLikeTheStage(extractors2, col, queries[main_first + i]);
    auto hits = Must(raw->Search(std::span<const float>(v), kTopK), "search");
    both_ms[i] = Millis(t, Clock::now());
  });

  // ---- report
  auto overlap = [&](const Parsed& p, size_t first_raw) {
    double sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < p.ids.size(); ++i) {
      if (p.ids[i].empty()) continue;
      std::set<std::string> want(raw_ids[first_raw + i].begin(), raw_ids[first_raw + i].end());
      size_t same = 0;
      for (const auto& id : p.ids[i]) same += want.count(id);
      sum += static_cast<double>(same) / static_cast<double>(std::max<size_t>(1, want.size()));
      ++n;
    }
    return n ? sum / static_cast<double>(n) : 0.0;
  };
  const Summary api_s = Summarize(api_p.latency), raw1_s = Summarize(raw1_ms), rawc_s = Summarize(rawc_ms);
  const Summary emb_s = Summarize(embed_ms), both_s = Summarize(both_ms);
  std::printf("raw index: %zu vectors x %zu dims (%s), M=%zu ef_construction=%zu ef_search=%zu, built on 2 threads "
              "in %.1f s\n\n",
              raw->size(), col.dims, col.distance.c_str(), options.m, options.ef_construction, options.ef_search,
              build_secs);
  std::printf("   %-52s %8s %8s %8s %8s %10s\n", "latency, ms", "p50", "p90", "p99", "mean", "per s");
  if (solo > 0) {
    PrintRow("API execute, 1 client", Summarize(solo_p.latency), static_cast<double>(solo) / solo_wall);
  }
  PrintRow("API execute, " + std::to_string(clients) + " clients", api_s, static_cast<double>(main_n) / main_wall);
  PrintRow("  pipeline (stage_statistics.total_time_ms)", Summarize(api_p.pipeline_ms));
  PrintRow("    feature_search stage (duration_ms)", Summarize(api_p.stage_ms));
  PrintRow("  outside the pipeline (latency - total_time_ms)", Summarize(api_p.outside_ms));
  if (adhoc) {
    PrintRow("API ad-hoc execute (no execution record), " + std::to_string(clients) + " clients",
             Summarize(adhoc_p.latency), static_cast<double>(adhoc_n) / adhoc_wall);
    PrintRow("  pipeline (stage_statistics.total_time_ms)", Summarize(adhoc_p.pipeline_ms));
  }
  PrintRow("store COUNT(*) of the collection, warm, 1 thread", Summarize(count_warm));
  PrintRow("store COUNT(*) of the collection, after a write", Summarize(count_after_write));
  PrintRow("raw VectorIndex::Search, 1 thread", raw1_s, static_cast<double>(main_n) / raw1_wall);
  PrintRow("raw VectorIndex::Search, " + std::to_string(clients) + " threads", rawc_s,
           static_cast<double>(main_n) / rawc_wall);
  PrintRow("query embedding as the stage does it, 1 thread", emb_s);
  PrintRow("  of which the GloVe embedder alone", Summarize(glove_ms));
  PrintRow("  of which language id (lid.176)", Summarize(lid_ms));
  PrintRow("raw embed + search, " + std::to_string(clients) + " threads", both_s,
           static_cast<double>(main_n) / both_wall);
  const std::string first_error = !api_p.first_error.empty() ? api_p.first_error
                                  : !solo_p.first_error.empty() ? solo_p.first_error
                                                                : adhoc_p.first_error;
  std::printf("\n   X-Cache: %d MISS, %d HIT; errors: %d%s%s\n", api_p.misses + solo_p.misses + adhoc_p.misses,
              api_p.hits + solo_p.hits + adhoc_p.hits, api_p.errors + solo_p.errors + adhoc_p.errors,
              first_error.empty() ? "" : " first: ", first_error.c_str());
  std::printf("   top-10 overlap, API answers vs the raw index (two HNSW graphs over the same vectors): %.3f\n",
              overlap(api_p, 0));
  std::printf("   p50(API, %d clients) - p50(raw search, %d threads) = %+.3f ms   (aim: <= +1 ms)\n", clients, clients,
              api_s.p50 - rawc_s.p50);
  std::printf("   p50(API, %d clients) - p50(raw embed + search, %d threads) = %+.3f ms\n", clients, clients,
              api_s.p50 - both_s.p50);
  if (solo > 0) {
    std::printf("   p50(API, 1 client) - p50(raw search, 1 thread) = %+.3f ms\n",
                Summarize(solo_p.latency).p50 - raw1_s.p50);
  }
  // Little's law: C closed-loop clients sharing the machine wait, on average,
  // at least C / (the most requests per second the bare work allows).
  std::printf("   floor for %d closed-loop clients on this machine, from the raw embed + search throughput: "
              "%d / %.0f per s = %.3f ms mean latency\n",
              clients, clients, static_cast<double>(main_n) / both_wall,
              clients / (static_cast<double>(main_n) / both_wall) * 1000.0);

  raw.reset();
  store.reset();
  server->Stop();
  listener.join();
  server.reset();
  if (keep.empty()) std::filesystem::remove_all(dir);
  return 0;
}
