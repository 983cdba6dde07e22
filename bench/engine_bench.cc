// Processing-engine throughput, in process (no HTTP), next to the bare costs
// underneath it measured in the same run:
//   - text_extractor@v1 (sentences, 3 per chunk) through a submitted batch,
//     documents/s from submit to COMPLETED, against the same extractor called
//     directly on the same texts by as many threads as the engine has workers;
//   - passthrough_extractor@v1 of three metadata fields (the storage-bound
//     case), against raw SQLite inserts of rows of the same size and shape as
//     the documents it wrote, 1,000 per transaction;
//   - with --memory N, N text objects ingested and processed, reporting the
//     process's resident memory (the other measurements are skipped).
//
// usage: strata_bench_engine [--objects N] [--workers W] [--memory N] [--models DIR]
//                            [--only text|passthrough]   (one section, e.g. under perf)
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "catalog/api_keys.h"
#include "catalog/buckets.h"
#include "catalog/collections.h"
#include "catalog/namespaces.h"
#include "core/json_util.h"
#include "engine/batches.h"
#include "engine/engine.h"
#include "engine/tasks.h"
#include "extract/models/model_registry.h"
#include "extract/registry.h"
#include "ingest/blob_keeper.h"
#include "ingest/objects.h"
#include "storage/blob_store.h"
#include "storage/metadata_store.h"

namespace {

using Clock = std::chrono::steady_clock;
using strata::Json;
namespace catalog = strata::catalog;
namespace engine = strata::engine;
namespace extract = strata::extract;
namespace ingest = strata::ingest;
namespace storage = strata::storage;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

[[noreturn]] void Die(const std::string& what, const strata::Status& st) {
  std::fprintf(stderr, "%s: %s %s\n", what.c_str(), st.message().c_str(),
               st.details().is_null() ? "" : st.details().dump().c_str());
  std::exit(1);
}

template <typename T>
T Must(strata::Result<T> r, const std::string& what) {
  if (!r.ok()) Die(what, r.status());
  return std::move(r).value();
}

// A field of /proc/self/status ("VmHWM", "VmRSS") in MB.
double ProcStatusMegabytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::strtod(line.c_str() + field.size() + 1, nullptr) / 1024.0;
  }
  return 0;
}

// ~400 characters of English in six sentences, each drawn from word lists so
// that texts and their 3-sentence chunks are (almost) all distinct: the
// inference cache then answers nothing, as with real documents, and both sides
// of the comparison embed every chunk.
class TextMaker {
 public:
  std::string Next() {
    std::string text;
    while (text.size() < 380) {
      if (!text.empty()) text += ' ';
      text += Sentence();
    }
    return text;
  }

 private:
  const char* Pick(const std::vector<const char*>& words) { return words[rng_() % words.size()]; }
  std::string Sentence() {
    return std::string("The ") + Pick(kAdjectives) + " " + Pick(kNouns) + " " + Pick(kVerbs) + " the " +
           Pick(kAdjectives) + " " + Pick(kNouns) + " " + Pick(kPlaces) + ".";
  }

  std::mt19937 rng_{42};
  const std::vector<const char*> kAdjectives = {
      "quiet", "old", "bright", "careful", "young", "small", "famous", "local", "tired", "happy", "strange", "green",
      "busy", "patient", "wooden", "ancient", "modern", "distant", "friendly", "heavy", "simple", "northern", "empty",
      "gentle", "sudden", "narrow", "honest", "clever", "public", "early"};
  const std::vector<const char*> kNouns = {
      "farmer", "teacher", "river", "village", "engineer", "market", "report", "committee", "garden", "doctor",
      "student", "bridge", "museum", "council", "harbour", "library", "company", "artist", "train", "forest",
      "kitchen", "soldier", "mountain", "school", "letter", "painter", "station", "festival", "island", "journalist"};
  const std::vector<const char*> kVerbs = {
      "visited", "described", "repaired", "watched", "praised", "followed", "painted", "crossed", "studied",
      "welcomed", "discovered", "photographed", "questioned", "celebrated", "protected", "measured", "ignored",
      "remembered", "supported", "explored"};
  const std::vector<const char*> kPlaces = {
      "near the harbour", "before the winter", "after the long meeting", "in the early morning",
      "during the festival", "beside the old road", "without much noise", "across the valley",
      "at the end of the week", "under a grey sky", "with great care", "for the first time"};
};

// The services Server::Open builds, without HTTP: one store, one blob store,
// one model registry, the extractors over it, and the engine's workers.
struct Services {
  std::unique_ptr<storage::MetadataStore> store;
  std::unique_ptr<storage::BlobStore> blob_store;
  std::unique_ptr<ingest::BlobKeeper> blobs;
  std::unique_ptr<extract::ModelRegistry> models;
  std::unique_ptr<extract::ExtractorRegistry> extractors;
  std::unique_ptr<engine::Engine> engine;
  catalog::Principal admin;
  storage::Scope scope;  // the benchmark's namespace
};

void Open(Services& s, const std::string& data_dir, const std::string& models_dir, int workers) {
  std::filesystem::create_directories(data_dir);
  s.store = Must(storage::OpenSqliteMetadataStore(data_dir + "/strata.db"), "open store");
  s.blob_store = Must(storage::BlobStore::Open(data_dir + "/blobs"), "open blob store");
  s.blobs = std::make_unique<ingest::BlobKeeper>(*s.blob_store);
  // The bootstrap admin key, resolved the way a request's would be.
  const std::string admin_key = "sk_bench_admin_key_0123456789";
  Must(catalog::Bootstrap(*s.store, admin_key), "bootstrap");
  s.admin = Must(catalog::Authenticate(*s.store, "Bearer " + admin_key), "authenticate");
  s.models = std::make_unique<extract::ModelRegistry>(models_dir);  // default cache, as the server runs
  s.extractors = std::make_unique<extract::ExtractorRegistry>(*s.models);
  engine::EngineOptions options;
  options.workers = workers;
  s.engine = std::make_unique<engine::Engine>(*s.store, *s.blob_store, *s.extractors, options);
  if (auto st = s.engine->Start(); !st.ok()) Die("engine start", st);
  Json ns = Must(catalog::CreateNamespace(
                     *s.store, s.admin,
                     {{"namespace_name", "bench"},
                      {"feature_extractors", {{{"feature_extractor_name", "text_extractor"}, {"version", "v1"}}}}}),
                 "create namespace");
  s.scope = storage::Scope{s.admin.org, ns["namespace_id"]};
}

// Creates a bucket and a collection over it; returns {bucket_id, collection doc}.
std::pair<std::string, Json> BucketAndCollection(Services& s, const std::string& name, const Json& properties,
                                                 const Json& feature_extractor) {
  Json bucket = Must(catalog::CreateBucket(*s.store, s.scope,
                                           {{"bucket_name", name}, {"bucket_schema", {{"properties", properties}}}}),
                     "create bucket " + name);
  catalog::CollectionContext ctx{*s.store, *s.extractors, s.scope};
  Json collection = Must(catalog::CreateCollection(ctx, {{"collection_name", name},
                                                         {"source", {{"type", "bucket"}, {"bucket_ids", {bucket["bucket_id"]}}}},
                                                         {"feature_extractor", feature_extractor}}),
                         "create collection " + name);
  return {bucket["bucket_id"], collection};
}

// Writes the objects 1,000 per CreateObjectsBatch call (one transaction each); returns their ids.
std::vector<std::string> Ingest(Services& s, const std::string& bucket, const std::vector<Json>& objects) {
  ingest::ObjectContext ctx{*s.store, *s.blobs, {}, s.scope};
  std::vector<std::string> ids;
  ids.reserve(objects.size());
  for (size_t i = 0; i < objects.size(); i += 1000) {
    Json body = {{"objects", Json::array()}};
    for (size_t j = i; j < std::min(objects.size(), i + 1000); ++j) body["objects"].push_back(objects[j]);
    Json out = Must(ingest::CreateObjectsBatch(ctx, bucket, body, {}, 1000), "create objects");
    if (out["failed_count"] != 0) Die("create objects", strata::Status::Internal(out["failed"].dump().substr(0, 500)));
    for (const auto& o : out["succeeded"]) ids.push_back(o["object_id"]);
  }
  return ids;
}

// Creates a batch of `ids` (untimed), then submits it and polls its task every
// 5 ms until it ends; returns the seconds from submit to the terminal status.
double RunBatch(Services& s, const std::string& bucket, const std::vector<std::string>& ids) {
  engine::BatchContext ctx{*s.engine, s.scope};
  Json batch = Must(engine::CreateBatch(ctx, bucket, {{"object_ids", ids}}, /*skip_validation=*/false), "create batch");
  auto start = Clock::now();
  Json task = Must(engine::SubmitBatch(ctx, bucket, batch["batch_id"], Json()), "submit batch");
  const std::string task_id = task["task_id"];
  while (!engine::IsTerminalStatus(task["status"])) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    task = Must(engine::GetTask(*s.store, s.admin.org, task_id), "get task");
  }
  double secs = Seconds(start);
  if (task["status"] != "COMPLETED") {
    std::fprintf(stderr, "warning: batch ended %s: %s\n", task["status"].get<std::string>().c_str(),
                 task.value("error", Json()).dump().substr(0, 500).c_str());
  }
  return secs;
}

int64_t DocumentCount(Services& s, const std::string& collection_id) {
  int64_t n = 0;
  auto st = s.store->Read([&](storage::Reader& r) -> strata::Status {
    ASSIGN_OR_RETURN(n, r.Count(storage::Kind::kDocument, s.scope, collection_id));
    return strata::Status::Ok();
  });
  if (!st.ok()) Die("count documents", st);
  return n;
}

// One stored document of a collection, as the store holds it (private fields included).
Json SampleDocument(Services& s, const std::string& collection_id) {
  Json doc;
  auto st = s.store->Read([&](storage::Reader& r) -> strata::Status {
    storage::ListQuery q;
    q.parent = collection_id;
    q.limit = 1;
    ASSIGN_OR_RETURN(auto page, r.List(storage::Kind::kDocument, s.scope, q));
    if (!page.records.empty()) doc = page.records[0].doc;
    return strata::Status::Ok();
  });
  if (!st.ok() || doc.is_null()) Die("sample document", st.ok() ? strata::Status::Internal("none") : st);
  return doc;
}

// The bare extractor: `threads` threads (as many as the engine has workers),
// each with its own run of the same resolved parameters, over an interleaved
// share of the texts; the documents are counted and dropped. Returns
// {documents, seconds}.
//
// Each call has its own model registry, so its own inference cache (of the
// default size, like the pipeline's): no run is served vectors another
// computed. The models load before the clock starts.
std::pair<int64_t, double> BareExtractor(const std::string& models_dir, const Json& params,
                                         const std::vector<std::string>& texts, int threads) {
  extract::ModelRegistry models(models_dir);
  extract::ExtractorRegistry extractors(models);
  const extract::Extractor* ex = extractors.Find("text_extractor", "v1");
  std::vector<std::unique_ptr<extract::ExtractorRun>> runs;
  for (int t = 0; t < threads; ++t) runs.push_back(Must(ex->Start(params), "start extractor"));
  std::atomic<int64_t> documents{0};
  auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      int64_t mine = 0;
      for (size_t i = static_cast<size_t>(t); i < texts.size(); i += static_cast<size_t>(threads)) {
        extract::ExtractItem item{"obj_" + std::to_string(i), {}};
        extract::InputValue v;
        v.name = "text";
        v.value = texts[i];
        item.inputs.push_back(std::move(v));
        auto st = runs[static_cast<size_t>(t)]->Extract(item, [&](extract::ExtractedDocument&&) {
          ++mine;
          return strata::Status::Ok();
        });
        if (!st.ok()) Die("extract", st);
      }
      documents += mine;
    });
  }
  for (auto& th : pool) th.join();
  const double secs = Seconds(start);
  if (models.cache()->stats().hits > 0) {
    std::fprintf(stderr, "warning: %llu inference cache hits in the reference\n",
                 static_cast<unsigned long long>(models.cache()->stats().hits));
  }
  return {documents.load(), secs};
}

// Raw SQLite: the documents table as the store creates it (same columns, CHECK,
// indexes, pragmas), `rows` inserts of `sample` (its ids made unique), 1,000
// per transaction. The row is serialised inside the loop, as the store does.
double RawSqliteRowsPerSecond(const std::string& path, const Json& sample, int rows) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db,
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
               "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32000;"
               "CREATE TABLE organizations (internal_id INTEGER PRIMARY KEY AUTOINCREMENT,"
               " organization_id TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);"
               "INSERT INTO organizations(organization_id, doc) VALUES ('org', '{}');"
               "CREATE TABLE documents (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
               " org INTEGER NOT NULL REFERENCES organizations(internal_id), ns TEXT NOT NULL,"
               " parent TEXT NOT NULL DEFAULT '', name TEXT, ukey TEXT, chash TEXT,"
               " doc TEXT NOT NULL CHECK (json_valid(doc)), root_id TEXT, source_id TEXT, run_id TEXT);"
               "CREATE UNIQUE INDEX documents_name ON documents(org, ns, parent, name) WHERE name IS NOT NULL;"
               "CREATE UNIQUE INDEX documents_ukey ON documents(org, ns, parent, ukey) WHERE ukey IS NOT NULL;"
               "CREATE INDEX documents_chash ON documents(org, ns, parent, chash) WHERE chash IS NOT NULL;"
               "CREATE INDEX documents_scope ON documents(org, ns, parent, seq);"
               "CREATE INDEX documents_root ON documents(org, ns, root_id);"
               "CREATE INDEX documents_source ON documents(org, ns, parent, source_id);",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO documents(id, org, ns, parent, doc, root_id, source_id, run_id)"
                     " VALUES (?1, 1, 'ns', 'col', ?2, ?1, ?1, 'run_0123456789abcdef')", -1, &st,
                     nullptr);
  Json doc = sample;
  const std::string base_id = sample["document_id"];
  auto start = Clock::now();
  for (int i = 0; i < rows; i += 1000) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (int j = i; j < std::min(rows, i + 1000); ++j) {
      // Same lengths as the real ids: only the last characters change.
      std::string suffix = std::to_string(j);
      std::string id = base_id.substr(0, base_id.size() - suffix.size()) + suffix;
      doc["document_id"] = id;
      doc["_internal"]["document_id"] = id;
      doc["_internal"]["lineage"]["root_object_id"] = id;
      doc["_internal"]["lineage"]["source_id"] = id;
      std::string text = doc.dump();
      sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 2, text.c_str(), -1, SQLITE_TRANSIENT);
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

const Json kTextExtractor = {{"feature_extractor_name", "text_extractor"},
                             {"version", "v1"},
                             {"input_mappings", {{"text", "body"}}},
                             {"parameters", {{"split_by", "sentences"}, {"chunk_size", 3}}}};

std::vector<std::string> MakeTexts(int n) {
  TextMaker maker;
  std::vector<std::string> texts;
  texts.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) texts.push_back(maker.Next());
  return texts;
}

// Section 1: text_extractor through the engine against the bare extractor.
void TextOverhead(Services& s, const std::string& models_dir, int objects, int workers) {
  auto [bucket, collection] = BucketAndCollection(s, "texts", {{"body", {{"type", "string"}}}}, kTextExtractor);
  const Json params = collection["feature_extractor"]["parameters"];  // resolved: defaults filled in
  const std::vector<std::string> texts = MakeTexts(objects);
  std::vector<Json> bodies;
  for (const auto& t : texts) bodies.push_back({{"body", t}});
  auto ids = Ingest(s, bucket, bodies);

  auto [bare1_docs, bare1_secs] = BareExtractor(models_dir, params, texts, 1);
  auto [bare_docs, bare_secs] = BareExtractor(models_dir, params, texts, workers);
  // Loaded before the clock, as the references' are (glove loaded at collection create).
  Must(s.models->LanguageIdModel(), "language id model");

  double secs = RunBatch(s, bucket, ids);
  int64_t docs = DocumentCount(s, collection["collection_id"]);
  if (docs != bare_docs) std::fprintf(stderr, "warning: pipeline wrote %lld documents, bare extractor made %lld\n",
                                      static_cast<long long>(docs), static_cast<long long>(bare_docs));
  const double bare1 = bare1_docs / bare1_secs, bare = bare_docs / bare_secs, pipe = docs / secs;
  std::printf("1. text_extractor@v1, sentences x3: %d objects, %lld documents (%.1f per object)\n", objects,
              static_cast<long long>(docs), static_cast<double>(docs) / objects);
  std::printf("   %-50s %10.0f docs/s\n", "bare extractor, 1 thread", bare1);
  std::printf("   %-50s %10.0f docs/s\n", ("bare extractor, " + std::to_string(workers) + " threads").c_str(), bare);
  std::printf("   %-50s %10.0f docs/s   ratio: %.2f   overhead: %+.1f%%\n",
              "engine batch, submit to COMPLETED", pipe, pipe / bare, (bare / pipe - 1) * 100);
  std::printf("   (inference cache hits in the pipeline: %llu)\n\n",
              static_cast<unsigned long long>(s.models->cache()->stats().hits));
}

// Section 2: passthrough of three fields against raw SQLite inserts.
void Passthrough(Services& s, int objects, const std::string& dir) {
  auto [bucket, collection] = BucketAndCollection(
      s, "records",
      {{"title", {{"type", "string"}}}, {"year", {{"type", "integer"}}}, {"category", {{"type", "string"}}}},
      {{"feature_extractor_name", "passthrough_extractor"},
       {"version", "v1"},
       {"field_passthrough", {"title", "year", "category"}}});
  std::vector<Json> bodies;
  for (int i = 0; i < objects; ++i) {
    bodies.push_back({{"title", "Item " + std::to_string(i)}, {"year", 2000 + i % 25},
                      {"category", i % 2 ? "news" : "tech"}});
  }
  auto ids = Ingest(s, bucket, bodies);
  double secs = RunBatch(s, bucket, ids);
  int64_t docs = DocumentCount(s, collection["collection_id"]);
  const Json sample = SampleDocument(s, collection["collection_id"]);
  double raw = RawSqliteRowsPerSecond(dir + "/raw.db", sample, static_cast<int>(docs));
  const double pipe = docs / secs;
  std::printf("2. passthrough_extractor@v1, 3 fields: %d objects, %lld documents of %zu bytes\n", objects,
              static_cast<long long>(docs), sample.dump().size());
  std::printf("   %-50s %10.0f rows/s\n", "raw SQLite insert, same rows, 1000 per transaction", raw);
  std::printf("   %-50s %10.0f docs/s   ratio: %.2f\n\n", "engine batch, submit to COMPLETED", pipe, pipe / raw);
}

// --memory N: resident memory while N text objects go through the engine.
void Memory(Services& s, int objects) {
  auto [bucket, collection] = BucketAndCollection(s, "texts", {{"body", {{"type", "string"}}}}, kTextExtractor);
  Must(s.models->LanguageIdModel(), "language id model");  // both models resident before "after setup"
  const double setup_hwm = ProcStatusMegabytes("VmHWM");
  std::vector<std::string> ids;
  {
    TextMaker maker;
    for (int i = 0; i < objects; i += 1000) {
      std::vector<Json> bodies;
      for (int j = i; j < std::min(objects, i + 1000); ++j) bodies.push_back({{"body", maker.Next()}});
      auto some = Ingest(s, bucket, bodies);
      ids.insert(ids.end(), some.begin(), some.end());
    }
  }
  const double ingest_hwm = ProcStatusMegabytes("VmHWM");
  std::atomic<bool> done{false};
  double max_rss = 0;
  std::thread sampler([&] {
    while (!done) {
      max_rss = std::max(max_rss, ProcStatusMegabytes("VmRSS"));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  double secs = 0;
  constexpr size_t kMaxBatch = 100000;  // the engine's limit per batch
  for (size_t i = 0; i < ids.size(); i += kMaxBatch) {
    std::vector<std::string> part(ids.begin() + static_cast<std::ptrdiff_t>(i),
                                  ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), i + kMaxBatch)));
    secs += RunBatch(s, bucket, part);
  }
  done = true;
  sampler.join();
  int64_t docs = DocumentCount(s, collection["collection_id"]);
  std::printf("3. memory: %d text objects, %lld documents in %.1f s (%.0f docs/s)\n", objects,
              static_cast<long long>(docs), secs, docs / secs);
  std::printf("   %-50s %10.1f MB\n", "peak RSS after setup (models loaded)", setup_hwm);
  std::printf("   %-50s %10.1f MB\n", "peak RSS after ingest", ingest_hwm);
  std::printf("   %-50s %10.1f MB\n", "max RSS sampled during processing (100 ms)", max_rss);
  std::printf("   %-50s %10.1f MB\n", "peak RSS at the end", ProcStatusMegabytes("VmHWM"));
}

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

}  // namespace

int main(int argc, char** argv) {
  int objects = 10000, workers = 2, memory = 0;
  std::string models_dir, only;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--objects") objects = std::atoi(argv[i + 1]);
    else if (a == "--workers") workers = std::atoi(argv[i + 1]);
    else if (a == "--memory") memory = std::atoi(argv[i + 1]);
    else if (a == "--models") models_dir = argv[i + 1];
    else if (a == "--only") only = argv[i + 1];
  }
  if (models_dir.empty()) models_dir = FindModelsDir();
  auto dir = std::filesystem::temp_directory_path() / ("strata-bench-engine-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::printf("strata engine benchmark: %d workers, models from %s\n\n", workers, models_dir.c_str());
  // Each section gets a fresh data directory, as its reference starts from
  // empty tables.
  auto section = [&](const std::string& name, const std::function<void(Services&)>& run) {
    Services s;
    Open(s, (dir / name).string(), models_dir, workers);
    run(s);
    s.engine->Stop();
  };
  if (memory > 0) {
    section("memory", [&](Services& s) { Memory(s, memory); });
  } else {
    if (only.empty() || only == "text") {
      section("text", [&](Services& s) { TextOverhead(s, models_dir, objects, workers); });
    }
    if (only.empty() || only == "passthrough") {
      section("passthrough", [&](Services& s) { Passthrough(s, objects, dir.string()); });
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}
