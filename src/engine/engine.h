// The processing engine: a pool of worker threads running jobs from the
// persisted queue (storage::Job rows). HTTP handlers only enqueue work and
// Wake() the pool; they never run an extractor.
//
// Jobs are idempotent: a job commits its documents, its counters and its own
// removal from the queue in one transaction (large items flush documents
// earlier, under deterministic ids). A job that was running when the process
// died is queued again at the next Start() and re-run from the beginning.
#pragma once

#include <functional>
#include <map>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "extract/registry.h"
#include "storage/blob_store.h"
#include "storage/metadata_store.h"

namespace strata::engine {

struct EngineOptions {
  int workers = 2;
  int objects_per_job = 512;     // source objects one job processes
  int documents_per_flush = 1024; // documents written per transaction within a job
};

class Engine {
 public:
  Engine(storage::MetadataStore& store, storage::BlobStore& blobs, const extract::ExtractorRegistry& extractors,
         EngineOptions options);
  ~Engine();  // stops the workers (a running job finishes its current item first)
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Runs jobs of `type` (other than extraction) with `handler`, which must
  // remove the job from the queue (Writer::FinishJob) when it is done. Call
  // before Start(). Lets layers above the engine (evaluations of retrievers)
  // use the same queue and workers.
  using JobHandler = std::function<Status(const storage::Job&)>;
  void RegisterJobType(const std::string& type, JobHandler handler);
  const JobHandler* HandlerFor(const std::string& type) const;

  // Queues again the jobs a previous process left running, then starts the workers.
  Status Start();
  void Stop();
  // Tells idle workers that jobs were queued.
  void Wake();

  storage::MetadataStore& store() { return store_; }
  storage::BlobStore& blobs() { return blobs_; }
  const extract::ExtractorRegistry& extractors() const { return extractors_; }
  const EngineOptions& options() const { return options_; }
  bool stopping() const { return stop_.load(); }

 private:
  void WorkerLoop();

  std::map<std::string, JobHandler> handlers_;
  storage::MetadataStore& store_;
  storage::BlobStore& blobs_;
  const extract::ExtractorRegistry& extractors_;
  EngineOptions options_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  uint64_t wakeups_ = 0;  // guarded by mu_
};

}  // namespace strata::engine
