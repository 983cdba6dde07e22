#include "retrieve/result_cache.h"

namespace strata::retrieve {

std::optional<Json> ResultCache::Get(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(key);
  if (it == map_.end()) {
    ++misses_;
    return std::nullopt;
  }
  if (Clock::now() >= it->second->expires) {
    bytes_ -= it->second->bytes;
    lru_.erase(it->second);
    map_.erase(it);
    ++misses_;
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  ++hits_;
  return it->second->value;
}

void ResultCache::Put(const std::string& key, const Json& value, int64_t ttl_seconds) {
  // The serialised size stands for the memory the value holds (nlohmann's
  // tree is larger, by a roughly constant factor).
  const size_t bytes = key.size() + value.dump().size();
  if (max_bytes_ == 0 || bytes > max_bytes_ / 4) return;  // one answer may not crowd out the rest
  const auto expires = ttl_seconds > 0 ? Clock::now() + std::chrono::seconds(ttl_seconds) : Clock::time_point::max();
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = map_.find(key); it != map_.end()) {
    bytes_ -= it->second->bytes;
    lru_.erase(it->second);
    map_.erase(it);
  }
  lru_.push_front({key, value, bytes, expires});
  map_[key] = lru_.begin();
  bytes_ += bytes;
  EvictLocked();
}

void ResultCache::EvictLocked() {
  while (bytes_ > max_bytes_ && !lru_.empty()) {
    bytes_ -= lru_.back().bytes;
    map_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

ResultCache::Stats ResultCache::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return {hits_, misses_, map_.size(), bytes_};
}

}  // namespace strata::retrieve
