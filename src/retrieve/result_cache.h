// An LRU cache of JSON answers with a time to live and a memory bound, for
// retriever responses and feature_search stage outputs. Keys are built by the
// caller from everything the answer depends on (the pipeline, its inputs,
// pagination, and the version signatures of the collections it read), so an
// entry never needs invalidating: a write to a collection changes the key.
//
// Thread-safe: one mutex around the map and list (lookups are short).
#pragma once

#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/json_util.h"

namespace strata::retrieve {

class ResultCache {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ResultCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  // The value under `key` when present and younger than its TTL.
  std::optional<Json> Get(const std::string& key);
  // ttl_seconds <= 0: kept until evicted by the LRU.
  void Put(const std::string& key, const Json& value, int64_t ttl_seconds);

  struct Stats {
    uint64_t hits = 0, misses = 0, entries = 0, bytes = 0;
  };
  Stats stats();

 private:
  struct Entry {
    std::string key;
    Json value;
    size_t bytes;
    Clock::time_point expires;  // max() when no TTL
  };
  void EvictLocked();

  std::mutex mu_;
  size_t max_bytes_;
  size_t bytes_ = 0;
  uint64_t hits_ = 0, misses_ = 0;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> map_;
};

}  // namespace strata::retrieve
