#include "index/index_manager.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>

#include "core/crypto.h"
#include "index/distance.h"

namespace strata::index {

namespace {

// Letters, digits, '_' and '-' as they are; anything else %XX, so '.' can
// separate the parts unambiguously and no name is ever a path.
std::string Escape(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string Key(const std::string& collection, const std::string& name, Metric metric) {
  return collection + '\0' + name + '\0' + MetricName(metric);
}

bool Usable(const float* v, size_t n, size_t dims) {
  if (n != dims) return false;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(v[i])) return false;
  }
  return true;
}

}  // namespace

struct IndexManager::Entry {
  std::string collection, name;
  Metric metric = Metric::kCosine;
  size_t dims = 0;
  std::mutex mu;                       // one loader / applier / saver at a time
  std::shared_ptr<VectorIndex> index;  // null until loaded
  bool dirty = false;                  // changed since it was last saved
  bool dropped = false;                // its collection is gone: callers start over
};

IndexManager::IndexManager(storage::MetadataStore& store, storage::IndexFiles& files, IndexManagerOptions options)
    : store_(store), files_(files), options_(std::move(options)) {}

IndexManager::~IndexManager() = default;

std::string IndexManager::FileName(const std::string& collection, const std::string& name, Metric metric) {
  std::string n = Escape(name);
  // A very long vector name is replaced by its hash ("%h" never comes out of
  // Escape, so it cannot clash) to keep within IndexFiles' name limit.
  if (n.size() > 120) n = "%h" + Sha256Hex(name).substr(0, 40);
  return Escape(collection) + "." + n + "." + MetricName(metric) + ".vidx";
}

std::shared_ptr<IndexManager::Entry> IndexManager::EntryFor(const std::string& collection, const std::string& name,
                                                            Metric metric, bool create) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string key = Key(collection, name, metric);
  auto it = entries_.find(key);
  if (it != entries_.end()) return it->second;
  if (!create) return nullptr;
  auto entry = std::make_shared<Entry>();
  entry->collection = collection;
  entry->name = name;
  entry->metric = metric;
  entries_.emplace(key, entry);
  return entry;
}

Result<std::shared_ptr<VectorIndex>> IndexManager::Acquire(const std::string& collection, const std::string& name,
                                                           Metric metric, size_t dims) {
  if (dims == 0) return Status::BadRequest("vector dimensions must be positive");
  for (;;) {
    auto entry = EntryFor(collection, name, metric, true);
    // The common case, an index already caught up, asks the feed without
    // holding the entry: concurrent searches do not queue behind one read.
    std::shared_ptr<VectorIndex> ready;
    {
      std::lock_guard<std::mutex> lock(entry->mu);
      if (!entry->dropped && entry->index && entry->dims == dims) ready = entry->index;
    }
    if (ready) {
      ASSIGN_OR_RETURN(bool current, IsCurrent(*entry, *ready));
      if (current) return ready;
    }
    std::lock_guard<std::mutex> lock(entry->mu);
    if (entry->dropped) continue;  // Drop won the race: take the new entry
    if (!entry->index) {
      entry->dims = dims;
      Status st = LoadOrRebuild(*entry);
      if (!st.ok()) {
        entry->index.reset();
        return st;
      }
    } else if (entry->dims != dims) {
      return Status::BadRequest("vector index " + name + " has " + std::to_string(entry->dims) +
                                " dimensions, not " + std::to_string(dims));
    } else {
      RETURN_IF_ERROR(CatchUp(*entry));
    }
    return entry->index;
  }
}

Status IndexManager::Refresh(const std::string& collection, const std::string& name, Metric metric) {
  auto entry = EntryFor(collection, name, metric, false);
  if (!entry) return Status::Ok();
  std::lock_guard<std::mutex> lock(entry->mu);
  if (entry->dropped || !entry->index) return Status::Ok();
  return CatchUp(*entry);
}

Status IndexManager::LoadOrRebuild(Entry& entry) {
  IndexOptions o = options_.index;
  o.metric = entry.metric;
  o.dims = entry.dims;
  auto reader = files_.OpenReader(FileName(entry.collection, entry.name, entry.metric));
  if (reader.ok()) {
    auto loaded = VectorIndex::Load(**reader, o);
    if (loaded.ok()) {
      entry.index = std::move(loaded).value();
      entry.dirty = false;
      ++loads_;
      // A file older than the feed reaches makes CatchUp rebuild.
      return CatchUp(entry);
    }
    // Damaged or written for other options: the store has the truth.
  }
  RETURN_IF_ERROR(Rebuild(entry));
  return CatchUp(entry);
}

Status IndexManager::Rebuild(Entry& entry) {
  IndexOptions o = options_.index;
  o.metric = entry.metric;
  o.dims = entry.dims;
  std::vector<std::pair<std::string, std::vector<float>>> items;
  int64_t skipped = 0;
  int64_t seq = 0;
  RETURN_IF_ERROR(store_.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(seq, r.ScanVectors(entry.collection, entry.name,
                                        [&](const std::string& id, const float* v, size_t n) -> Status {
                                          // One bad vector must not keep the whole index away.
                                          if (!Usable(v, n, entry.dims)) {
                                            ++skipped;
                                          } else {
                                            items.emplace_back(id, std::vector<float>(v, v + n));
                                          }
                                          return Status::Ok();
                                        }));
    return Status::Ok();
  }));
  ASSIGN_OR_RETURN(auto index, VectorIndex::Create(o));
  RETURN_IF_ERROR(index->Build(items, options_.build_threads));
  index->set_applied_seq(seq);
  entry.index = std::shared_ptr<VectorIndex>(std::move(index));
  entry.dirty = true;
  skipped_ += skipped;
  ++rebuilds_;
  return Status::Ok();
}

Result<bool> IndexManager::IsCurrent(const Entry& entry, const VectorIndex& index) {
  const int64_t applied = index.applied_seq();
  bool current = false;
  RETURN_IF_ERROR(store_.Read([&](storage::Reader& r) -> Status {
    ASSIGN_OR_RETURN(auto state, r.LastVectorChange(entry.collection, entry.name));
    current = state.last_change <= applied && state.pruned_through <= applied;
    return Status::Ok();
  }));
  return current;
}

Status IndexManager::CatchUp(Entry& entry) {
  for (;;) {
    VectorIndex& index = *entry.index;
    const int64_t applied = index.applied_seq();
    storage::VectorChangePage page;
    bool current = false;
    RETURN_IF_ERROR(store_.Read([&](storage::Reader& r) -> Status {
      ASSIGN_OR_RETURN(auto state, r.LastVectorChange(entry.collection, entry.name));
      // A prune past what this index has applied may have taken its changes
      // with it: VectorChangesSince then says truncated.
      if (state.last_change <= applied && state.pruned_through <= applied) {
        current = true;
        return Status::Ok();
      }
      ASSIGN_OR_RETURN(page, r.VectorChangesSince(entry.collection, entry.name, applied, options_.feed_batch));
      return Status::Ok();
    }));
    if (current) return Status::Ok();
    if (page.truncated) {
      RETURN_IF_ERROR(Rebuild(entry));
      continue;
    }
    if (page.changes.empty()) return Status::Ok();

    // Only a document's last change in the page matters: a put carries the
    // vector as it is now, or none when the row is gone again.
    std::unordered_map<std::string, const storage::VectorChange*> last;
    std::vector<const std::string*> order;
    for (const auto& c : page.changes) {
      auto [it, inserted] = last.emplace(c.doc_id, &c);
      if (inserted) {
        order.push_back(&it->first);
      } else {
        it->second = &c;
      }
    }
    int64_t skipped = 0;
    for (const std::string* id : order) {
      const storage::VectorChange& c = *last[*id];
      if (c.op == storage::VectorChange::Op::kPut && c.vec &&
          Usable(c.vec->data(), c.vec->size(), entry.dims)) {
        RETURN_IF_ERROR(index.Upsert(*id, *c.vec));
      } else {
        if (c.op == storage::VectorChange::Op::kPut && c.vec) ++skipped;
        RETURN_IF_ERROR(index.Remove(*id));
      }
    }
    index.set_applied_seq(page.changes.back().seq);
    entry.dirty = true;
    applied_ += static_cast<int64_t>(page.changes.size());
    skipped_ += skipped;
    if (index.free_slots() > std::max(options_.rebuild_deleted_floor, index.size())) {
      RETURN_IF_ERROR(Rebuild(entry));
    }
    if (static_cast<int64_t>(page.changes.size()) < options_.feed_batch) return Status::Ok();
  }
}

Result<std::vector<SearchHit>> IndexManager::Search(const std::string& collection, const std::string& name,
                                                    Metric metric, std::span<const float> query, size_t k,
                                                    const SearchFilter* filter, size_t ef, SearchInfo* info) {
  ASSIGN_OR_RETURN(auto index, Acquire(collection, name, metric, query.size()));
  return index->Search(query, k, filter, ef, info);
}

Result<std::vector<SearchHit>> IndexManager::ExactSearch(const std::string& collection, const std::string& name,
                                                         Metric metric, std::span<const float> query, size_t k,
                                                         const SearchFilter* filter) {
  const size_t dims = query.size();
  if (dims == 0 || !Usable(query.data(), dims, dims)) {
    return Status::Invalid("query", "query vector is empty or has a value that is not a finite number");
  }
  std::vector<float> q(query.begin(), query.end());
  auto normalize = [&](std::vector<float>& v) {
    double norm = 0;
    for (float x : v) norm += double{x} * x;
    if (norm <= 0) return;
    const float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& x : v) x *= inv;
  };
  if (metric == Metric::kCosine) normalize(q);
  std::unordered_map<std::string, bool> ids;
  if (filter && filter->ids) {
    for (const auto& id : *filter->ids) ids.emplace(id, true);
  }
  const auto& kernels = Kernels();
  // Distances as VectorIndex measures them (smaller is nearer), scores after.
  using Candidate = std::pair<float, std::string>;
  std::priority_queue<Candidate> heap;
  std::vector<float> v;
  RETURN_IF_ERROR(store_.Read([&](storage::Reader& r) -> Status {
    return r.ScanVectors(collection, name, [&](const std::string& id, const float* data, size_t n) -> Status {
      if (!Usable(data, n, dims)) return Status::Ok();
      if (filter && filter->ids && !ids.count(id)) return Status::Ok();
      if (filter && filter->allow && !filter->allow(id)) return Status::Ok();
      v.assign(data, data + n);
      if (metric == Metric::kCosine) normalize(v);
      float d = metric == Metric::kEuclidean ? kernels.l2_f32(q.data(), v.data(), dims)
                                             : -kernels.dot_f32(q.data(), v.data(), dims);
      if (heap.size() < k) {
        heap.emplace(d, id);
      } else if (k > 0 && d < heap.top().first) {
        heap.pop();
        heap.emplace(d, id);
      }
      return Status::Ok();
    }).status();
  }));
  std::vector<SearchHit> hits(heap.size());
  for (size_t i = hits.size(); i-- > 0;) {
    const auto& [d, id] = heap.top();
    float score = metric == Metric::kEuclidean ? 1.0f / (1.0f + std::sqrt(std::max(d, 0.0f))) : -d;
    hits[i] = {id, score};
    heap.pop();
  }
  return hits;
}

Status IndexManager::Drop(const std::string& collection) {
  std::vector<std::shared_ptr<Entry>> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string prefix = collection + '\0';
    for (auto it = entries_.begin(); it != entries_.end();) {
      if (it->first.compare(0, prefix.size(), prefix) == 0) {
        gone.push_back(it->second);
        it = entries_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& entry : gone) {
    std::lock_guard<std::mutex> lock(entry->mu);
    entry->dropped = true;
    entry->index.reset();
  }
  ASSIGN_OR_RETURN(auto names, files_.List(Escape(collection) + "."));
  for (const auto& n : names) RETURN_IF_ERROR(files_.Remove(n));
  return Status::Ok();
}

Status IndexManager::Persist() {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, entry] : entries_) entries.push_back(entry);
  }
  // The oldest change any index still needs: loaded ones by what they have
  // applied (saved just below), the others by their file's header.
  int64_t oldest = std::numeric_limits<int64_t>::max();
  int64_t head = 0;
  std::unordered_map<std::string, bool> loaded_files;
  Status first_error;
  for (auto& entry : entries) {
    std::lock_guard<std::mutex> lock(entry->mu);
    if (entry->dropped || !entry->index) continue;
    const std::string file = FileName(entry->collection, entry->name, entry->metric);
    loaded_files[file] = true;
    storage::VectorFeedState state;
    RETURN_IF_ERROR(store_.Read([&](storage::Reader& r) -> Status {
      ASSIGN_OR_RETURN(state, r.LastVectorChange(entry->collection, entry->name));
      return Status::Ok();
    }));
    head = std::max(head, state.head);
    VectorIndex& index = *entry->index;
    // An index about to be written anyway, with nothing of its own pending,
    // is current through the feed's head: saying so lets the prune below
    // pass the changes of other collections.
    if (entry->dirty && state.last_change <= index.applied_seq() && state.pruned_through <= index.applied_seq()) {
      index.set_applied_seq(std::max(index.applied_seq(), state.head));
    }
    oldest = std::min(oldest, index.applied_seq());
    if (!entry->dirty) continue;
    Status st = [&]() -> Status {
      ASSIGN_OR_RETURN(auto w, files_.NewWriter(file));
      RETURN_IF_ERROR(index.Save(*w));
      return w->Commit();
    }();
    if (st.ok()) {
      entry->dirty = false;
      ++saves_;
    } else if (first_error.ok()) {
      first_error = st;  // go on with the others; report the first failure
    }
  }
  ASSIGN_OR_RETURN(auto files, files_.List());
  for (const auto& file : files) {
    if (loaded_files.count(file) || file.size() < 5 || file.compare(file.size() - 5, 5, ".vidx") != 0) continue;
    auto reader = files_.OpenReader(file);
    if (!reader.ok()) continue;
    auto seq = VectorIndex::ReadAppliedSeq(**reader);
    // An unreadable file will be rebuilt anyway: it holds nothing back.
    if (seq.ok()) oldest = std::min(oldest, *seq);
  }
  // A failed save leaves an older file behind, which the prune must not
  // overtake.
  RETURN_IF_ERROR(first_error);
  if (head == 0) {
    RETURN_IF_ERROR(store_.Read([&](storage::Reader& r) -> Status {
      ASSIGN_OR_RETURN(auto state, r.LastVectorChange("", ""));
      head = state.head;
      return Status::Ok();
    }));
  }
  // An index that exists nowhere yet is built from a scan when first used
  // and needs no feed. An index further behind than max_feed_lag (one nobody
  // searched for long) gives way: it is rebuilt when next used, rather than
  // the feed growing without bound.
  oldest = std::min(oldest, head);
  if (options_.max_feed_lag > 0) oldest = std::max(oldest, head - options_.max_feed_lag);
  if (oldest > 0) {
    RETURN_IF_ERROR(store_.Write([&](storage::Writer& w) { return w.PruneVectorChanges(oldest); }));
  }
  return Status::Ok();
}

IndexManagerStats IndexManager::stats() const {
  return {loads_.load(), rebuilds_.load(), applied_.load(), skipped_.load(), saves_.load()};
}

}  // namespace strata::index
