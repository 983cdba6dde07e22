#include "extract/models/inference_cache.h"

#include <algorithm>
#include <functional>

#include "core/crypto.h"

namespace strata::extract {

InferenceCache::InferenceCache(size_t max_bytes, int shards)
    : max_bytes_(max_bytes), shard_budget_(max_bytes / static_cast<size_t>(std::max(1, shards))) {
  for (int i = 0; i < std::max(1, shards); ++i) shards_.push_back(std::make_unique<Shard>());
}

std::string InferenceCache::Key(std::string_view fingerprint, EmbedRole role, std::string_view text) {
  Sha256 h;
  // Length-prefixed, so no (fingerprint, text) pair can run into another.
  h.Update(std::to_string(fingerprint.size()) + ":");
  h.Update(fingerprint);
  h.Update(role == EmbedRole::kQuery ? "q" : "p");
  h.Update(text);
  return h.HexDigest();
}

size_t InferenceCache::EntryBytes(size_t key_size, size_t dims) {
  // The key's characters, the floats, and roughly what the list node, the
  // hash-map node and the two heap blocks cost.
  return key_size + dims * sizeof(float) + 128;
}

InferenceCache::Shard& InferenceCache::ShardOf(const std::string& key) {
  return *shards_[std::hash<std::string>{}(key) % shards_.size()];
}

bool InferenceCache::Lookup(const std::string& key, std::vector<float>* out) {
  Shard& s = ShardOf(key);
  {
    std::lock_guard lock(s.mu);
    auto it = s.index.find(key);
    if (it != s.index.end()) {
      s.lru.splice(s.lru.begin(), s.lru, it->second);
      *out = it->second->vector;
      hits_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void InferenceCache::Insert(const std::string& key, std::vector<float> vector) {
  const size_t cost = EntryBytes(key.size(), vector.size());
  if (cost > shard_budget_) return;  // also covers a budget of 0
  Shard& s = ShardOf(key);
  std::lock_guard lock(s.mu);
  if (auto it = s.index.find(key); it != s.index.end()) {
    s.bytes -= EntryBytes(key.size(), it->second->vector.size());
    auto node = it->second;
    s.index.erase(it);
    s.lru.erase(node);
  }
  s.lru.push_front(Entry{key, std::move(vector)});
  s.index.emplace(s.lru.front().key, s.lru.begin());
  s.bytes += cost;
  while (s.bytes > shard_budget_) {
    const Entry& victim = s.lru.back();
    s.bytes -= EntryBytes(victim.key.size(), victim.vector.size());
    s.index.erase(victim.key);
    s.lru.pop_back();
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
}

InferenceCache::Stats InferenceCache::stats() const {
  Stats st;
  st.hits = hits_.load(std::memory_order_relaxed);
  st.misses = misses_.load(std::memory_order_relaxed);
  st.evictions = evictions_.load(std::memory_order_relaxed);
  for (const auto& s : shards_) {
    std::lock_guard lock(s->mu);
    st.entries += s->lru.size();
    st.bytes += s->bytes;
  }
  return st;
}

CachingEmbedder::CachingEmbedder(std::shared_ptr<Embedder> inner, std::shared_ptr<InferenceCache> cache)
    : inner_(std::move(inner)), cache_(std::move(cache)) {}

Result<std::vector<std::vector<float>>> CachingEmbedder::Embed(const std::vector<std::string>& texts,
                                                               EmbedRole role) {
  const std::string fp = inner_->fingerprint();
  std::vector<std::vector<float>> out(texts.size());
  std::vector<std::string> keys(texts.size());
  // Misses, each distinct text once: which miss answers each input slot.
  constexpr size_t kHit = static_cast<size_t>(-1);
  std::vector<size_t> miss_of(texts.size(), kHit);
  std::vector<std::string> miss_texts;
  std::vector<const std::string*> miss_keys;
  std::unordered_map<std::string_view, size_t> first_miss;  // views into `keys`
  for (size_t i = 0; i < texts.size(); ++i) {
    keys[i] = InferenceCache::Key(fp, role, texts[i]);
    if (cache_->Lookup(keys[i], &out[i])) continue;
    auto [it, fresh] = first_miss.emplace(keys[i], miss_texts.size());
    if (fresh) {
      miss_texts.push_back(texts[i]);
      miss_keys.push_back(&keys[i]);
    }
    miss_of[i] = it->second;
  }
  if (miss_texts.empty()) return out;

  ASSIGN_OR_RETURN(auto vectors, inner_->Embed(miss_texts, role));
  if (vectors.size() != miss_texts.size()) {
    return Status::Internal("model " + inner_->name() + " returned " + std::to_string(vectors.size()) +
                            " vectors for " + std::to_string(miss_texts.size()) + " texts");
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    if (miss_of[i] != kHit) out[i] = vectors[miss_of[i]];
  }
  for (size_t m = 0; m < vectors.size(); ++m) cache_->Insert(*miss_keys[m], std::move(vectors[m]));
  return out;
}

}  // namespace strata::extract
