// A bounded cache of embeddings, so identical text is never sent to a model
// twice while its vector is cached (the same caption on a thousand objects, a
// query repeated by every user of a search box).
//
// InferenceCache is the store: an LRU keyed by SHA-256 of (model fingerprint,
// role, text), split into shards with a mutex each so threads embedding at
// once rarely meet on a lock, bounded by the bytes its entries hold. One cache
// can serve every model of a process (the fingerprint keeps them apart), so
// one setting bounds them all. CachingEmbedder puts it in front of a model.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "extract/models/embedder.h"

namespace strata::extract {

class InferenceCache {
 public:
  struct Stats {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t evictions = 0;
    uint64_t entries = 0;
    uint64_t bytes = 0;  // what entries hold, keys and bookkeeping included
  };

  // max_bytes: the budget over all shards (0 disables caching).
  explicit InferenceCache(size_t max_bytes, int shards = 16);

  // The key of one text for one model: 64 hex characters, whatever the text's
  // length, so a long document costs a cache entry as little as a word.
  static std::string Key(std::string_view fingerprint, EmbedRole role, std::string_view text);

  // Copies the cached vector into *out and marks it recently used. Every call
  // counts as one hit or one miss.
  bool Lookup(const std::string& key, std::vector<float>* out);
  // Adds or replaces; evicts least recently used entries of the shard to fit.
  void Insert(const std::string& key, std::vector<float> vector);

  Stats stats() const;
  size_t max_bytes() const { return max_bytes_; }

  // What one entry is charged: key, floats, and list/map nodes.
  static size_t EntryBytes(size_t key_size, size_t dims);

 private:
  struct Entry {
    std::string key;
    std::vector<float> vector;
  };
  struct Shard {
    std::mutex mu;
    std::list<Entry> lru;  // front = most recently used
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // views into lru keys
    size_t bytes = 0;
  };
  Shard& ShardOf(const std::string& key);

  size_t max_bytes_;
  size_t shard_budget_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<uint64_t> hits_{0}, misses_{0}, evictions_{0};
};

// An Embedder that answers from an InferenceCache and sends only the misses of
// a batch (each distinct text once) to the model it wraps.
class CachingEmbedder : public Embedder {
 public:
  CachingEmbedder(std::shared_ptr<Embedder> inner, std::shared_ptr<InferenceCache> cache);

  const std::string& name() const override { return inner_->name(); }
  int dimensions() const override { return inner_->dimensions(); }
  std::string distance() const override { return inner_->distance(); }
  std::string fingerprint() const override { return inner_->fingerprint(); }
  bool Truncates(std::string_view text) const override { return inner_->Truncates(text); }
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts,
                                                EmbedRole role) override;

  const std::shared_ptr<Embedder>& inner() const { return inner_; }
  const std::shared_ptr<InferenceCache>& cache() const { return cache_; }

 private:
  std::shared_ptr<Embedder> inner_;
  std::shared_ptr<InferenceCache> cache_;
};

}  // namespace strata::extract
