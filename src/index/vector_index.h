// VectorIndex: approximate nearest-neighbour search over the dense vectors of
// one (collection, vector name, metric). An HNSW graph (hnswlib) answers
// unfiltered and loosely filtered queries; an exact scan answers when few
// documents may be returned, where a graph walk would visit most of the graph
// to find them, or miss some. The index is derived state: IndexManager builds
// it from the metadata store and keeps it caught up with the store's vector
// change feed.
//
// Concurrency contract:
//   - Readers (Search, ExactSearch, Contains, size, applied_seq, Save) may run
//     on any number of threads at once.
//   - Writers (Upsert, Remove, Build, set_applied_seq) take the index
//     exclusively, one change at a time: a reader waits for at most one
//     change, never for a whole batch, and never sees half of one. Writers
//     may be called from several threads; they are serialised.
//   - The lock prefers writers: once a writer waits, new readers queue behind
//     it, so a steady stream of searches cannot starve the feed.
//
// Scores are similarities, higher is better:
//   cosine     cosine similarity of the two vectors, in [-1, 1]
//   dot        the inner product
//   euclidean  1 / (1 + d), d the Euclidean distance: 1 for the same point,
//              towards 0 far away
//
// Storage: with Quantization::kNone the graph holds the float vectors (the
// normalised ones for cosine). With kInt8 the graph holds one byte per
// dimension, scaled between the minimum and maximum value seen (one range for
// all dimensions, so a distance is an integer kernel with no per-dimension
// multiply), and the float vectors are kept beside it: the graph walk finds
// candidates with int8 distances and the best of them are rescored exactly.
// The range is fitted on the first kInt8TrainSize vectors; until then an
// int8 index answers by exact scan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "storage/index_files.h"

namespace hnswlib {
template <typename T>
class HierarchicalNSW;
template <typename T>
class SpaceInterface;
}  // namespace hnswlib

namespace strata::index {

enum class Metric { kCosine, kDot, kEuclidean };
enum class Quantization { kNone, kInt8 };

// "cosine", "dot" (also "dot_product", "inner_product"), "euclidean" (also
// "l2"); BadRequest otherwise.
Result<Metric> ParseMetric(std::string_view name);
const char* MetricName(Metric metric);  // "cosine", "dot", "euclidean"

struct IndexOptions {
  Metric metric = Metric::kCosine;
  size_t dims = 0;
  // HNSW: links per node (M) and the candidate list while building. These
  // are fixed when the graph is made.
  size_t m = 16;
  size_t ef_construction = 200;
  // Candidate list while searching, when a search does not say (at least k).
  size_t ef_search = 64;
  Quantization quantization = Quantization::kNone;
  // kInt8: candidates rescored exactly = max(ef, k * rescore_multiplier).
  size_t rescore_multiplier = 4;
  // When a search may return at most `candidates` documents (those the filter
  // allows, or all of them), it scans them exactly if
  //   candidates < max(exact_min, sqrt(exact_factor * ef * size()))
  // A filtered graph walk visits about ef * size() / candidates nodes before
  // it has found ef allowed ones, an exact scan `candidates` in sequence: the
  // two meet near sqrt(ef * size() * c), c the cost of a graph visit over a
  // sequential one. bench/ann_bench.cc measures c (see BENCHMARKS.md).
  size_t exact_min = 1024;
  double exact_factor = 4.0;
};

// Which documents a search may return. With both set, a document must pass
// both. Ids the index does not hold are ignored.
struct SearchFilter {
  const std::vector<std::string>* ids = nullptr;
  std::function<bool(const std::string& doc_id)> allow = {};
};

struct SearchHit {
  std::string doc_id;
  float score = 0;  // similarity, higher is better (see above)
};

// How a search was answered (for tests, benchmarks and the retriever's trace).
struct SearchInfo {
  bool exact = false;      // exact scan rather than a graph walk
  size_t candidates = 0;   // documents the search could return
};

class VectorIndex {
 public:
  // An int8 index fits its range on this many vectors, searching exactly until then.
  static constexpr size_t kInt8TrainSize = 1024;

  static Result<std::unique_ptr<VectorIndex>> Create(const IndexOptions& options);
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  // Inserts or replaces a document's vector. Invalid when the dimensions
  // differ or a value is not finite. Re-applying the same vector is a no-op.
  Status Upsert(const std::string& doc_id, std::span<const float> vec);
  // Removes a document; absent is OK. Its graph node is marked deleted and
  // reused by the next new document.
  Status Remove(const std::string& doc_id);
  // Loads many documents into an empty index (a rebuild), inserting with
  // `threads` threads. Later duplicates of an id replace earlier ones.
  Status Build(const std::vector<std::pair<std::string, std::vector<float>>>& items, size_t threads = 1);

  // The k most similar documents, best first. ef = 0: options().ef_search.
  Result<std::vector<SearchHit>> Search(std::span<const float> query, size_t k,
                                        const SearchFilter* filter = nullptr, size_t ef = 0,
                                        SearchInfo* info = nullptr) const;
  // The same, always by exact scan (the reference for recall).
  Result<std::vector<SearchHit>> ExactSearch(std::span<const float> query, size_t k,
                                             const SearchFilter* filter = nullptr) const;

  bool Contains(const std::string& doc_id) const;
  size_t size() const;          // documents in the index
  size_t free_slots() const;    // deleted nodes waiting for reuse
  const IndexOptions& options() const { return options_; }

  // The seq of the last store change this index reflects (see
  // storage::Reader::VectorChangesSince); kept with the index when saved.
  int64_t applied_seq() const;
  void set_applied_seq(int64_t seq);

  // Writes the whole index (graph, ids, float vectors, applied seq) with a
  // SHA-256 of the content at the end. Holds the index shared: searches go
  // on, changes wait.
  Status Save(storage::IndexFiles::Writer& out) const;
  // Reads what Save wrote. A Storage error when the file is damaged or was
  // written for other options (metric, dims, M, ef_construction,
  // quantization): the caller rebuilds. ef_search, rescore_multiplier and
  // the exact-scan cutoff come from `options`, not the file.
  static Result<std::unique_ptr<VectorIndex>> Load(storage::IndexFiles::Reader& in, const IndexOptions& options);
  // Just the applied seq of a saved index, from the file's header.
  static Result<int64_t> ReadAppliedSeq(storage::IndexFiles::Reader& in);

 private:
  class Graph;  // hnswlib's graph and the space it measures in
  struct Quantizer {
    float lo = 0;
    float scale = 1;  // value = lo + scale * code
  };

  explicit VectorIndex(const IndexOptions& options);

  // Locking (see the contract above): writers hold turnstile_ while they
  // wait for and hold mu_ exclusively; readers pass through turnstile_ first.
  std::shared_lock<std::shared_mutex> ReadLock() const;
  std::unique_lock<std::shared_mutex> WriteLock() const;

  // All below run with mu_ held (shared for const, exclusive otherwise).
  bool StoresFloats() const;  // floats_ holds the vectors (int8, or no graph yet)
  const float* FloatAt(uint32_t slot) const;
  void Prepare(std::span<const float> in, float* out) const;  // copy, normalised for cosine
  void Encode(const float* vec, uint8_t* code) const;         // int8 code (+ code sum)
  Status InsertSlot(uint32_t slot, const float* vec);         // into the graph
  Status MakeGraph(size_t capacity);
  Status TrainAndIndex(size_t threads);                       // int8: fit the range, build the graph
  Status IndexAll(size_t threads);                            // graph from floats_ (slots 0..n-1)
  float Distance(const float* a, const float* b) const;       // exact, smaller is nearer
  float ScoreOf(float distance) const;
  std::vector<uint32_t> AllowedSlots(const SearchFilter& filter) const;
  void ScanExact(const float* q, size_t k, const std::vector<uint32_t>* slots,
                 std::vector<std::pair<float, uint32_t>>* out) const;
  void WalkGraph(const float* q, size_t k, size_t ef, const std::vector<uint64_t>* allowed,
                 std::vector<std::pair<float, uint32_t>>* out) const;
  std::vector<SearchHit> ToHits(std::vector<std::pair<float, uint32_t>>& best, size_t k) const;
  size_t ExactCutoff(size_t ef) const;

  const IndexOptions options_;
  mutable std::mutex turnstile_;
  mutable std::shared_mutex mu_;

  std::unique_ptr<Graph> graph_;             // null for an int8 index still training
  std::vector<std::string> slot_doc_;        // slot (= graph node) -> doc id, "" when free
  std::unordered_map<std::string, uint32_t> doc_slot_;
  std::vector<uint32_t> free_;               // free slots (marked deleted in the graph)
  std::vector<float> floats_;                // slot-major, when StoresFloats()
  Quantizer quantizer_;
  int64_t applied_seq_ = 0;
};

}  // namespace strata::index
