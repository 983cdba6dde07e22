// A small thread-safe cache for lookups on every request (API keys, namespace
// names). Whoever changes the underlying data calls Invalidate() after the
// change commits, which bumps a generation and drops every entry; a reader
// passes the generation it saw before reading the store to Put(), so a value
// read before a concurrent change is never cached after it. Entries also
// expire after a short time, for changes made by another process.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/time_util.h"

namespace strata {

template <typename V>
class GenerationCache {
 public:
  explicit GenerationCache(int64_t ttl_ms, size_t max_entries = 10000)
      : ttl_ms_(ttl_ms), max_entries_(max_entries) {}

  uint64_t generation() {
    std::lock_guard<std::mutex> lock(mu_);
    return generation_;
  }

  std::optional<V> Get(const std::string& key) {
    const int64_t now = NowUnixMillis();
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it == entries_.end() || now >= it->second.valid_until_ms) return std::nullopt;
    return it->second.value;
  }

  // `valid_until_ms` = 0 means now + ttl; a smaller value (a key's expiry) wins.
  void Put(const std::string& key, V value, uint64_t seen_generation, int64_t valid_until_ms = 0) {
    const int64_t until = NowUnixMillis() + ttl_ms_;
    std::lock_guard<std::mutex> lock(mu_);
    if (seen_generation != generation_) return;
    if (entries_.size() >= max_entries_) entries_.clear();
    entries_[key] = Entry{std::move(value), valid_until_ms > 0 && valid_until_ms < until ? valid_until_ms : until};
  }

  void Invalidate() {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    entries_.clear();
  }

 private:
  struct Entry {
    V value;
    int64_t valid_until_ms;
  };
  const int64_t ttl_ms_;
  const size_t max_entries_;
  std::mutex mu_;
  uint64_t generation_ = 0;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace strata
