#include "engine/engine.h"

#include <chrono>
#include <cstdio>

#include "engine/processor.h"

namespace strata::engine {

Engine::Engine(storage::MetadataStore& store, storage::BlobStore& blobs, const extract::ExtractorRegistry& extractors,
               EngineOptions options)
    : store_(store), blobs_(blobs), extractors_(extractors), options_(options) {}

Engine::~Engine() { Stop(); }

Status Engine::Start() {
  int64_t requeued = 0;
  RETURN_IF_ERROR(store_.Write([&](storage::Writer& w) -> Status {
    ASSIGN_OR_RETURN(requeued, w.RequeueRunningJobs());
    return Status::Ok();
  }));
  if (requeued > 0) std::fprintf(stderr, "strata: resuming %lld interrupted job(s)\n", static_cast<long long>(requeued));
  for (int i = 0; i < std::max(1, options_.workers); ++i) workers_.emplace_back([this] { WorkerLoop(); });
  return Status::Ok();
}

void Engine::RegisterJobType(const std::string& type, JobHandler handler) { handlers_[type] = std::move(handler); }

const Engine::JobHandler* Engine::HandlerFor(const std::string& type) const {
  auto it = handlers_.find(type);
  return it == handlers_.end() ? nullptr : &it->second;
}

void Engine::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_.exchange(true)) return;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

void Engine::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakeups_;
  }
  cv_.notify_all();
}

void Engine::WorkerLoop() {
  while (!stop_.load()) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen = wakeups_;
    }
    std::optional<storage::Job> job;
    Status st = store_.Write([&](storage::Writer& w) -> Status {
      ASSIGN_OR_RETURN(job, w.ClaimJob());
      return Status::Ok();
    });
    if (!st.ok()) std::fprintf(stderr, "strata: claiming a job failed: %s\n", st.message().c_str());
    if (!job) {
      // Sleep until woken; the timeout covers work queued by another process.
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_.load() || wakeups_ != seen; });
      continue;
    }
    Status run = RunJob(*this, *job);
    Wake();  // a job may have queued the next tier's jobs
    if (!run.ok()) {
      // The job could not record its own outcome (a storage error): leave it
      // running; the next start re-runs it. Say so rather than spin on it.
      std::fprintf(stderr, "strata: job %s failed: %s\n", job->id.c_str(), run.message().c_str());
    }
  }
}

}  // namespace strata::engine
