// IndexManager: the vector indexes of one data directory, one per
// (collection id, vector name, metric). Collection ids are unique across
// tenants, so keys carry no organization: callers resolve the collection in
// its scope before they come here.
//
// An index is derived state. Acquire loads its file (storage::IndexFiles) and
// catches up from the store's vector change feed; when there is no file, or
// it is damaged, written for other options, or older than the feed still
// reaches (pruned), the index is rebuilt from a scan of the store. Every
// Acquire (so every Search) first asks the feed for the last change of its
// key, one indexed lookup, and applies what is new: a search sees every
// write committed before it started.
//
// Concurrency: every method may be called from any thread. Loading or
// rebuilding one key happens once while other callers of that key wait;
// changes to one index are applied by one caller at a time, while searches
// of it go on (see VectorIndex's contract). A rebuild swaps in a new index:
// callers still holding the old one finish on it.
//
// Durability: Persist writes the indexes changed since their last save (call
// it on shutdown, and from time to time) and then prunes the feed through the
// oldest change any index on disk or in memory still needs (within
// max_feed_lag).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "index/vector_index.h"
#include "storage/index_files.h"
#include "storage/metadata_store.h"

namespace strata::index {

struct IndexManagerOptions {
  // Graph, quantization and search options of every index; metric and dims
  // come from each Acquire.
  IndexOptions index;
  size_t build_threads = 1;  // threads inserting during a rebuild
  int64_t feed_batch = 1024;  // changes read per feed query
  // Deleted nodes still cost every graph walk: rebuild once they outnumber
  // the live ones (and this floor).
  size_t rebuild_deleted_floor = 4096;
  // Persist prunes the feed through the oldest change an index still needs,
  // but keeps at most this many seqs behind the head: an index left further
  // behind (a collection nobody searched for long) is rebuilt when next used.
  int64_t max_feed_lag = 1'000'000;
};

// What the manager has done, for tests and diagnostics.
struct IndexManagerStats {
  int64_t loads = 0;            // indexes read from their file
  int64_t rebuilds = 0;         // indexes built from a scan of the store
  int64_t changes_applied = 0;  // feed changes applied
  int64_t skipped = 0;          // vectors left out (wrong dimensions, not finite)
  int64_t saves = 0;            // index files written
};

class IndexManager {
 public:
  // Borrows the store and the files; both must outlive the manager.
  IndexManager(storage::MetadataStore& store, storage::IndexFiles& files, IndexManagerOptions options = {});
  ~IndexManager();
  IndexManager(const IndexManager&) = delete;
  IndexManager& operator=(const IndexManager&) = delete;

  // The index of (collection, vector name, metric), loaded or built when
  // needed and caught up with the feed. BadRequest when it exists with other
  // dimensions.
  Result<std::shared_ptr<VectorIndex>> Acquire(const std::string& collection, const std::string& name,
                                               Metric metric, size_t dims);
  // Applies the feed's new changes to an index already acquired (nothing
  // when there is none); one indexed lookup when nothing changed.
  Status Refresh(const std::string& collection, const std::string& name, Metric metric);
  // Acquire (with the query's dimensions), then search.
  Result<std::vector<SearchHit>> Search(const std::string& collection, const std::string& name, Metric metric,
                                        std::span<const float> query, size_t k,
                                        const SearchFilter* filter = nullptr, size_t ef = 0,
                                        SearchInfo* info = nullptr);
  // Brute force over the store's vectors of (collection, name), without an
  // index: for a collection nobody searches often, and to check an index
  // against the truth. Scores as VectorIndex's. Reads every vector.
  Result<std::vector<SearchHit>> ExactSearch(const std::string& collection, const std::string& name, Metric metric,
                                             std::span<const float> query, size_t k,
                                             const SearchFilter* filter = nullptr);
  // Forgets every index of a deleted collection and removes their files.
  Status Drop(const std::string& collection);
  // Saves the indexes changed since their last save, then prunes the feed.
  Status Persist();

  IndexManagerStats stats() const;

  // The file of an index: "<collection>.<name>.<metric>.vidx", with every
  // character other than letters, digits, '_' and '-' written %XX.
  static std::string FileName(const std::string& collection, const std::string& name, Metric metric);

 private:
  struct Entry;

  std::shared_ptr<Entry> EntryFor(const std::string& collection, const std::string& name, Metric metric,
                                  bool create);
  // All with entry.mu held.
  Status LoadOrRebuild(Entry& entry);
  Status Rebuild(Entry& entry);
  Status CatchUp(Entry& entry);
  // Whether `index` has applied every change the feed holds for the entry's
  // key (one indexed read; no lock needed: entry's key never changes).
  Result<bool> IsCurrent(const Entry& entry, const VectorIndex& index);

  storage::MetadataStore& store_;
  storage::IndexFiles& files_;
  const IndexManagerOptions options_;

  std::mutex mu_;  // guards entries_ (not the entries themselves)
  std::unordered_map<std::string, std::shared_ptr<Entry>> entries_;

  std::atomic<int64_t> loads_{0}, rebuilds_{0}, applied_{0}, skipped_{0}, saves_{0};
};

}  // namespace strata::index
