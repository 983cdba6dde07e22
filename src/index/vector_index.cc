#include "index/vector_index.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <queue>
#include <thread>

#include "core/crypto.h"
#include "index/distance.h"

#define STRATA_HNSWLIB_TU strata_vector_index
#include "index/hnswlib_wrap.h"

namespace strata::index {

namespace {

using Hnsw = hnswlib::HierarchicalNSW<float>;
using Candidate = std::pair<float, uint32_t>;  // distance (smaller is nearer), slot

constexpr char kMagic[8] = {'S', 'T', 'R', 'A', 'T', 'A', 'V', 'I'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kMinCapacity = 1024;
constexpr size_t kMaxDims = 65536;

// The int8 graph's distance: the space hands hnswlib two code vectors of
// `dims` bytes followed by the int32 sum of the codes.
struct U8Param {
  size_t dims;   // first: hnswlib reads the dimension count through this pointer
  float offset;  // quantizer lo / scale (inner products)
  int32_t (*dot)(const uint8_t*, const uint8_t*, size_t);
  int32_t (*l2)(const uint8_t*, const uint8_t*, size_t);
};

float U8L2(const void* a, const void* b, const void* param) {
  const auto* p = static_cast<const U8Param*>(param);
  return static_cast<float>(p->l2(static_cast<const uint8_t*>(a), static_cast<const uint8_t*>(b), p->dims));
}

// With x = lo + scale * c, x.y = D lo^2 + lo scale (sum c + sum d) + scale^2 c.d.
// Dividing by scale^2 and dropping the constant keeps every comparison the
// graph makes (an affine map with a positive factor): -(c.d + lo/scale (sum c + sum d)).
float U8Ip(const void* a, const void* b, const void* param) {
  const auto* p = static_cast<const U8Param*>(param);
  const auto* ca = static_cast<const uint8_t*>(a);
  const auto* cb = static_cast<const uint8_t*>(b);
  int32_t sa, sb;
  std::memcpy(&sa, ca + p->dims, sizeof(sa));
  std::memcpy(&sb, cb + p->dims, sizeof(sb));
  float dot = static_cast<float>(p->dot(ca, cb, p->dims));
  return -(dot + p->offset * static_cast<float>(sa + sb));
}

class U8Space : public hnswlib::SpaceInterface<float> {
 public:
  U8Space(size_t dims, float offset, bool inner_product)
      : param_{dims, offset, Kernels().dot_u8, Kernels().l2_u8}, fn_(inner_product ? U8Ip : U8L2) {}
  size_t get_data_size() override { return param_.dims + sizeof(int32_t); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return fn_; }
  void* get_dist_func_param() override { return &param_; }

 private:
  U8Param param_;
  hnswlib::DISTFUNC<float> fn_;
};

bool AllFinite(std::span<const float> v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

// A Writer that hashes what passes through it, for the file's trailer.
class HashingWriter {
 public:
  explicit HashingWriter(storage::IndexFiles::Writer& out) : out_(out) {}
  Status Put(const void* data, size_t n) {
    std::string_view bytes(static_cast<const char*>(data), n);
    hash_.Update(bytes);
    return out_.Append(bytes);
  }
  template <typename T>
  Status Pod(const T& v) {
    return Put(&v, sizeof(T));
  }
  Status Finish() { return out_.Append(hash_.HexDigest()); }

 private:
  storage::IndexFiles::Writer& out_;
  Sha256 hash_;
};

class HashingReader {
 public:
  explicit HashingReader(storage::IndexFiles::Reader& in) : in_(in) {}
  Status Get(void* data, size_t n) {
    RETURN_IF_ERROR(in_.Read(data, n));
    hash_.Update(std::string_view(static_cast<const char*>(data), n));
    return Status::Ok();
  }
  template <typename T>
  Status Pod(T* v) {
    return Get(v, sizeof(T));
  }
  uint64_t remaining() const { return in_.remaining(); }
  Status Finish() {
    std::string want(64, '\0');
    RETURN_IF_ERROR(in_.Read(want.data(), want.size()));
    if (in_.remaining() != 0 || want != hash_.HexDigest()) return Corrupt("checksum mismatch");
    return Status::Ok();
  }
  static Status Corrupt(const std::string& why) { return Status::Storage("vector index file is damaged: " + why); }

 private:
  storage::IndexFiles::Reader& in_;
  Sha256 hash_;
};

}  // namespace

// ---------------------------------------------------------------- metrics

Result<Metric> ParseMetric(std::string_view name) {
  if (name == "cosine") return Metric::kCosine;
  if (name == "dot" || name == "dot_product" || name == "inner_product") return Metric::kDot;
  if (name == "euclidean" || name == "l2") return Metric::kEuclidean;
  return Status::BadRequest("unknown distance '" + std::string(name) + "' (cosine, dot or euclidean)");
}

const char* MetricName(Metric metric) {
  switch (metric) {
    case Metric::kCosine: return "cosine";
    case Metric::kDot: return "dot";
    case Metric::kEuclidean: return "euclidean";
  }
  return "";
}

// ---------------------------------------------------------------- Graph

class VectorIndex::Graph {
 public:
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<Hnsw> hnsw;
};

VectorIndex::VectorIndex(const IndexOptions& options) : options_(options) {}
VectorIndex::~VectorIndex() = default;

Result<std::unique_ptr<VectorIndex>> VectorIndex::Create(const IndexOptions& options) {
  if (options.dims == 0 || options.dims > kMaxDims) {
    return Status::BadRequest("vector index dimensions must be between 1 and " + std::to_string(kMaxDims));
  }
  if (options.m < 2 || options.m > 256) return Status::BadRequest("HNSW M must be between 2 and 256");
  if (options.ef_construction == 0 || options.ef_search == 0) {
    return Status::BadRequest("HNSW ef must be positive");
  }
  auto index = std::unique_ptr<VectorIndex>(new VectorIndex(options));
  // A float index always has its graph; an int8 one waits for its training set.
  if (options.quantization == Quantization::kNone) RETURN_IF_ERROR(index->MakeGraph(kMinCapacity));
  return index;
}

std::shared_lock<std::shared_mutex> VectorIndex::ReadLock() const {
  std::lock_guard<std::mutex> turn(turnstile_);
  return std::shared_lock<std::shared_mutex>(mu_);
}

std::unique_lock<std::shared_mutex> VectorIndex::WriteLock() const {
  // Held while waiting for the readers inside to leave: readers that come
  // meanwhile queue on the turnstile, behind this writer.
  std::lock_guard<std::mutex> turn(turnstile_);
  return std::unique_lock<std::shared_mutex>(mu_);
}

Status VectorIndex::MakeGraph(size_t capacity) {
  auto g = std::make_unique<Graph>();
  const bool ip = options_.metric != Metric::kEuclidean;
  if (options_.quantization == Quantization::kInt8) {
    g->space = std::make_unique<U8Space>(options_.dims, quantizer_.lo / quantizer_.scale, ip);
  } else if (ip) {
    g->space = std::make_unique<hnswlib::InnerProductSpace>(options_.dims);
  } else {
    g->space = std::make_unique<hnswlib::L2Space>(options_.dims);
  }
  try {
    g->hnsw = std::make_unique<Hnsw>(g->space.get(), std::max(capacity, kMinCapacity), options_.m,
                                     options_.ef_construction, /*random_seed=*/100);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("cannot allocate the vector index: ") + e.what());
  }
  graph_ = std::move(g);
  return Status::Ok();
}

bool VectorIndex::StoresFloats() const { return options_.quantization == Quantization::kInt8 || !graph_; }

const float* VectorIndex::FloatAt(uint32_t slot) const {
  if (StoresFloats()) return floats_.data() + size_t{slot} * options_.dims;
  return reinterpret_cast<const float*>(graph_->hnsw->getDataByInternalId(slot));
}

void VectorIndex::Prepare(std::span<const float> in, float* out) const {
  std::copy(in.begin(), in.end(), out);
  if (options_.metric != Metric::kCosine) return;
  double norm = 0;
  for (float x : in) norm += double{x} * x;
  // A zero vector stays zero: its cosine with anything is taken as 0.
  if (norm <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(norm));
  for (size_t i = 0; i < in.size(); ++i) out[i] *= inv;
}

void VectorIndex::Encode(const float* vec, uint8_t* code) const {
  int32_t sum = 0;
  const float inv = 1.0f / quantizer_.scale;
  for (size_t i = 0; i < options_.dims; ++i) {
    float c = std::nearbyint((vec[i] - quantizer_.lo) * inv);
    c = std::clamp(c, 0.0f, 255.0f);
    code[i] = static_cast<uint8_t>(c);
    sum += code[i];
  }
  std::memcpy(code + options_.dims, &sum, sizeof(sum));
}

Status VectorIndex::InsertSlot(uint32_t slot, const float* vec) {
  Hnsw* h = graph_->hnsw.get();
  if (slot >= h->cur_element_count) {
    // Slots are handed out in order, so a new slot is always the graph's next
    // node: slot, node id and hnswlib label stay one number.
    if (slot != h->cur_element_count) return Status::Internal("vector index slot out of order");
    if (h->cur_element_count == h->max_elements_) {
      try {
        h->resizeIndex(std::max(kMinCapacity, h->max_elements_ * 2));
      } catch (const std::exception& e) {
        return Status::Internal(std::string("cannot grow the vector index: ") + e.what());
      }
    }
  }
  std::vector<uint8_t> code;
  const void* data = vec;
  if (options_.quantization == Quantization::kInt8) {
    code.resize(options_.dims + sizeof(int32_t));
    Encode(vec, code.data());
    data = code.data();
  }
  try {
    // An existing label (a replaced vector, or a deleted node being reused)
    // is updated in place: hnswlib unmarks it and repairs its links.
    hnswlib::tableint id = h->addPoint(data, slot, -1);
    if (id != slot) return Status::Internal("vector index node does not match its slot");
  } catch (const std::exception& e) {
    return Status::Internal(std::string("vector index insert failed: ") + e.what());
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- changes

Status VectorIndex::Upsert(const std::string& doc_id, std::span<const float> vec) {
  if (doc_id.empty()) return Status::BadRequest("document id is empty");
  if (vec.size() != options_.dims) {
    return Status::Invalid("vector", "expected " + std::to_string(options_.dims) + " dimensions, got " +
                                         std::to_string(vec.size()));
  }
  if (!AllFinite(vec)) return Status::Invalid("vector", "vector has a value that is not a finite number");
  std::vector<float> v(options_.dims);
  Prepare(vec, v.data());
  const size_t bytes = options_.dims * sizeof(float);

  auto lock = WriteLock();
  auto it = doc_slot_.find(doc_id);
  if (it != doc_slot_.end()) {
    const uint32_t slot = it->second;
    // Replaying the feed re-applies puts the index already has: skip them
    // rather than re-link the node.
    if (std::memcmp(FloatAt(slot), v.data(), bytes) == 0) return Status::Ok();
    if (StoresFloats()) std::memcpy(floats_.data() + size_t{slot} * options_.dims, v.data(), bytes);
    return graph_ ? InsertSlot(slot, v.data()) : Status::Ok();
  }

  uint32_t slot;
  const bool fresh = free_.empty();
  if (fresh) {
    slot = static_cast<uint32_t>(slot_doc_.size());
  } else {
    slot = free_.back();
  }
  if (StoresFloats()) {
    if (fresh) floats_.resize((size_t{slot} + 1) * options_.dims);
    std::memcpy(floats_.data() + size_t{slot} * options_.dims, v.data(), bytes);
  }
  if (graph_) {
    Status st = InsertSlot(slot, v.data());
    if (!st.ok()) {
      if (fresh && StoresFloats()) floats_.resize(size_t{slot} * options_.dims);
      return st;
    }
  }
  if (fresh) {
    slot_doc_.push_back(doc_id);
  } else {
    free_.pop_back();
    slot_doc_[slot] = doc_id;
  }
  doc_slot_.emplace(doc_id, slot);
  if (!graph_ && doc_slot_.size() >= kInt8TrainSize) return TrainAndIndex(1);
  return Status::Ok();
}

Status VectorIndex::Remove(const std::string& doc_id) {
  auto lock = WriteLock();
  auto it = doc_slot_.find(doc_id);
  if (it == doc_slot_.end()) return Status::Ok();
  const uint32_t slot = it->second;
  if (graph_) {
    try {
      graph_->hnsw->markDelete(slot);
    } catch (const std::exception& e) {
      return Status::Internal(std::string("vector index delete failed: ") + e.what());
    }
  }
  slot_doc_[slot].clear();
  doc_slot_.erase(it);
  free_.push_back(slot);
  return Status::Ok();
}

Status VectorIndex::Build(const std::vector<std::pair<std::string, std::vector<float>>>& items, size_t threads) {
  for (const auto& [id, vec] : items) {
    if (id.empty()) return Status::BadRequest("document id is empty");
    if (vec.size() != options_.dims) {
      return Status::Invalid("vector", "document " + id + ": expected " + std::to_string(options_.dims) +
                                           " dimensions, got " + std::to_string(vec.size()));
    }
    if (!AllFinite(vec)) return Status::Invalid("vector", "document " + id + ": value is not a finite number");
  }
  auto lock = WriteLock();
  if (!slot_doc_.empty()) return Status::Internal("VectorIndex::Build needs an empty index");
  floats_.assign(items.size() * options_.dims, 0.0f);
  for (const auto& [id, vec] : items) {
    auto [it, inserted] = doc_slot_.emplace(id, static_cast<uint32_t>(slot_doc_.size()));
    if (inserted) slot_doc_.push_back(id);
    Prepare(vec, floats_.data() + size_t{it->second} * options_.dims);
  }
  floats_.resize(slot_doc_.size() * options_.dims);
  graph_.reset();
  if (options_.quantization == Quantization::kInt8) {
    if (doc_slot_.size() < kInt8TrainSize) return Status::Ok();
    return TrainAndIndex(threads);
  }
  RETURN_IF_ERROR(IndexAll(threads));
  floats_.clear();
  floats_.shrink_to_fit();
  return Status::Ok();
}

Status VectorIndex::TrainAndIndex(size_t threads) {
  float lo = std::numeric_limits<float>::max();
  float hi = std::numeric_limits<float>::lowest();
  for (uint32_t slot = 0; slot < slot_doc_.size(); ++slot) {
    if (slot_doc_[slot].empty()) continue;
    const float* v = FloatAt(slot);
    for (size_t i = 0; i < options_.dims; ++i) {
      lo = std::min(lo, v[i]);
      hi = std::max(hi, v[i]);
    }
  }
  // The range is what the training set spans, without margin: a later value
  // outside it is clipped, which only blurs the graph's order near the edge;
  // rescoring with the float vectors puts the final order right.
  quantizer_.lo = lo;
  quantizer_.scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
  return IndexAll(threads);
}

Status VectorIndex::IndexAll(size_t threads) {
  const size_t n = slot_doc_.size();
  RETURN_IF_ERROR(MakeGraph(n));
  Hnsw* h = graph_->hnsw.get();
  const bool int8 = options_.quantization == Quantization::kInt8;
  const size_t code_size = options_.dims + sizeof(int32_t);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::string error;
  std::mutex error_mu;
  auto work = [&] {
    std::vector<uint8_t> code(int8 ? code_size : 0);
    for (size_t i = next++; i < n && !failed; i = next++) {
      const float* v = floats_.data() + i * options_.dims;
      const void* data = v;
      if (int8) {
        Encode(v, code.data());
        data = code.data();
      }
      try {
        h->addPoint(data, i, -1);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> l(error_mu);
        error = e.what();
        failed = true;
      }
    }
  };
  // The first node alone: it becomes the entry point.
  if (n > 0) {
    next = 1;
    const float* v0 = floats_.data();
    std::vector<uint8_t> code(code_size);
    if (int8) Encode(v0, code.data());
    try {
      h->addPoint(int8 ? static_cast<const void*>(code.data()) : v0, 0, -1);
    } catch (const std::exception& e) {
      return Status::Internal(std::string("vector index build failed: ") + e.what());
    }
  }
  threads = std::max<size_t>(1, std::min(threads, n / 64 + 1));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (failed) return Status::Internal("vector index build failed: " + error);

  // Threads take node ids in the order they get there, so node j may hold
  // slot L != j. Renumber the slots after the nodes, keeping
  // slot = node id = label.
  std::vector<uint32_t> old_slot(n);
  bool identity = true;
  for (size_t j = 0; j < n; ++j) {
    old_slot[j] = static_cast<uint32_t>(h->getExternalLabel(static_cast<hnswlib::tableint>(j)));
    identity = identity && old_slot[j] == j;
  }
  if (!identity) {
    std::vector<std::string> docs(n);
    std::vector<float> floats(floats_.size());
    for (size_t j = 0; j < n; ++j) {
      docs[j] = std::move(slot_doc_[old_slot[j]]);
      std::memcpy(floats.data() + j * options_.dims, floats_.data() + size_t{old_slot[j]} * options_.dims,
                  options_.dims * sizeof(float));
      h->setExternalLabel(static_cast<hnswlib::tableint>(j), j);
    }
    h->label_lookup_.clear();
    for (size_t j = 0; j < n; ++j) h->label_lookup_[j] = static_cast<hnswlib::tableint>(j);
    slot_doc_ = std::move(docs);
    floats_ = std::move(floats);
  }
  doc_slot_.clear();
  free_.clear();
  for (uint32_t j = 0; j < n; ++j) {
    if (slot_doc_[j].empty()) {
      free_.push_back(j);
      h->markDelete(j);  // a slot freed before the graph existed
    } else {
      doc_slot_[slot_doc_[j]] = j;
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- search

float VectorIndex::Distance(const float* a, const float* b) const {
  if (options_.metric == Metric::kEuclidean) return L2SqrF32(a, b, options_.dims);
  return -DotF32(a, b, options_.dims);
}

float VectorIndex::ScoreOf(float distance) const {
  if (options_.metric == Metric::kEuclidean) return 1.0f / (1.0f + std::sqrt(std::max(distance, 0.0f)));
  return -distance;
}

size_t VectorIndex::ExactCutoff(size_t ef) const {
  double walk = std::sqrt(options_.exact_factor * static_cast<double>(ef) * static_cast<double>(doc_slot_.size()));
  return std::max(options_.exact_min, static_cast<size_t>(walk));
}

std::vector<uint32_t> VectorIndex::AllowedSlots(const SearchFilter& filter) const {
  std::vector<uint32_t> slots;
  if (filter.ids) {
    slots.reserve(std::min(filter.ids->size(), doc_slot_.size()));
    for (const auto& id : *filter.ids) {
      auto it = doc_slot_.find(id);
      if (it != doc_slot_.end() && (!filter.allow || filter.allow(id))) slots.push_back(it->second);
    }
  } else {
    for (const auto& [id, slot] : doc_slot_) {
      if (filter.allow(id)) slots.push_back(slot);
    }
  }
  // In slot order, so an exact scan walks memory forwards; without repeats.
  std::sort(slots.begin(), slots.end());
  slots.erase(std::unique(slots.begin(), slots.end()), slots.end());
  return slots;
}

void VectorIndex::ScanExact(const float* q, size_t k, const std::vector<uint32_t>* slots,
                            std::vector<Candidate>* out) const {
  // A max-heap of the k nearest so far: its top is the one to beat.
  std::priority_queue<Candidate> heap;
  auto visit = [&](uint32_t slot) {
    float d = Distance(q, FloatAt(slot));
    if (heap.size() < k) {
      heap.emplace(d, slot);
    } else if (d < heap.top().first) {
      heap.pop();
      heap.emplace(d, slot);
    }
  };
  if (slots) {
    for (uint32_t s : *slots) visit(s);
  } else {
    for (uint32_t s = 0; s < slot_doc_.size(); ++s) {
      if (!slot_doc_[s].empty()) visit(s);
    }
  }
  out->clear();
  while (!heap.empty()) {
    out->push_back(heap.top());
    heap.pop();
  }
}

namespace {

struct ByDistance {
  bool operator()(const Candidate& a, const Candidate& b) const { return a.first < b.first; }
};
using Queue = std::priority_queue<Candidate, std::vector<Candidate>, ByDistance>;

// hnswlib's base-layer search (searchBaseLayerST), with one change: a node
// may lead the walk on but only counts as a result when `admit` says so. That
// is how hnswlib handles deleted nodes; newer hnswlib releases do the same for
// filters. Nodes that are not admitted keep the graph connected.
template <bool kCheck, typename Admit>
Queue SearchBaseLayer(const Hnsw& h, uint32_t ep, const void* q, size_t ef, Admit admit) {
  hnswlib::VisitedList* vl = h.visited_list_pool_->getFreeVisitedList();
  hnswlib::vl_type* visited = vl->mass;
  const hnswlib::vl_type tag = vl->curV;
  const auto dist = h.fstdistfunc_;
  void* param = h.dist_func_param_;

  Queue top, frontier;  // frontier holds negated distances: its top is the nearest
  float bound;
  if (!kCheck || admit(ep)) {
    float d = dist(q, h.getDataByInternalId(ep), param);
    bound = d;
    top.emplace(d, ep);
    frontier.emplace(-d, ep);
  } else {
    bound = std::numeric_limits<float>::max();
    frontier.emplace(-bound, ep);
  }
  visited[ep] = tag;

  while (!frontier.empty()) {
    Candidate current = frontier.top();
    if (-current.first > bound && (top.size() == ef || !kCheck)) break;
    frontier.pop();
    const auto* links = reinterpret_cast<const uint32_t*>(h.get_linklist0(current.second));
    const size_t count = h.getListCount(const_cast<hnswlib::linklistsizeint*>(links));
    if (count > 0) {
      __builtin_prefetch(visited + links[1]);
      __builtin_prefetch(h.getDataByInternalId(links[1]));
    }
    for (size_t j = 1; j <= count; ++j) {
      const uint32_t id = links[j];
      if (j < count) {
        __builtin_prefetch(visited + links[j + 1]);
        __builtin_prefetch(h.getDataByInternalId(links[j + 1]));
      }
      if (visited[id] == tag) continue;
      visited[id] = tag;
      float d = dist(q, h.getDataByInternalId(id), param);
      if (top.size() < ef || bound > d) {
        frontier.emplace(-d, id);
        if (!kCheck || admit(id)) top.emplace(d, id);
        if (top.size() > ef) top.pop();
        if (!top.empty()) bound = top.top().first;
      }
    }
  }
  h.visited_list_pool_->releaseVisitedList(vl);
  return top;
}

}  // namespace

void VectorIndex::WalkGraph(const float* q, size_t k, size_t ef, const std::vector<uint64_t>* allowed,
                            std::vector<Candidate>* out) const {
  out->clear();
  const Hnsw& h = *graph_->hnsw;
  if (h.cur_element_count == 0) return;
  std::vector<uint8_t> code;
  const void* query = q;
  if (options_.quantization == Quantization::kInt8) {
    code.resize(options_.dims + sizeof(int32_t));
    Encode(q, code.data());
    query = code.data();
  }
  const auto dist = h.fstdistfunc_;
  void* param = h.dist_func_param_;

  // Greedy descent through the upper layers to the base layer's entry.
  uint32_t cur = h.enterpoint_node_;
  float cur_dist = dist(query, h.getDataByInternalId(cur), param);
  for (int level = h.maxlevel_; level > 0; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      const auto* links = reinterpret_cast<const uint32_t*>(h.get_linklist(cur, level));
      const size_t count = h.getListCount(const_cast<hnswlib::linklistsizeint*>(links));
      for (size_t j = 1; j <= count; ++j) {
        float d = dist(query, h.getDataByInternalId(links[j]), param);
        if (d < cur_dist) {
          cur_dist = d;
          cur = links[j];
          changed = true;
        }
      }
    }
  }

  Queue top;
  if (allowed) {
    // Filter slots are live ones only, so deleted nodes need no second test.
    const uint64_t* bits = allowed->data();
    top = SearchBaseLayer<true>(h, cur, query, ef, [bits](uint32_t id) { return (bits[id >> 6] >> (id & 63)) & 1; });
  } else if (h.num_deleted_ > 0) {
    top = SearchBaseLayer<true>(h, cur, query, ef, [&h](uint32_t id) { return !h.isMarkedDeleted(id); });
  } else {
    top = SearchBaseLayer<false>(h, cur, query, ef, [](uint32_t) { return true; });
  }
  while (top.size() > k) top.pop();
  out->reserve(top.size());
  const bool ip = options_.metric != Metric::kEuclidean;
  while (!top.empty()) {
    Candidate c = top.top();
    top.pop();
    // hnswlib's inner-product spaces measure 1 - x.y; Distance() uses -x.y.
    if (ip && options_.quantization == Quantization::kNone) c.first -= 1.0f;
    out->push_back(c);
  }
}

std::vector<SearchHit> VectorIndex::ToHits(std::vector<Candidate>& best, size_t k) const {
  std::sort(best.begin(), best.end());
  if (best.size() > k) best.resize(k);
  std::vector<SearchHit> hits;
  hits.reserve(best.size());
  for (const auto& [d, slot] : best) hits.push_back({slot_doc_[slot], ScoreOf(d)});
  return hits;
}

Result<std::vector<SearchHit>> VectorIndex::Search(std::span<const float> query, size_t k,
                                                   const SearchFilter* filter, size_t ef,
                                                   SearchInfo* info) const {
  if (query.size() != options_.dims) {
    return Status::Invalid("query", "expected " + std::to_string(options_.dims) + " dimensions, got " +
                                        std::to_string(query.size()));
  }
  if (!AllFinite(query)) return Status::Invalid("query", "query vector has a value that is not a finite number");
  SearchInfo local;
  if (!info) info = &local;
  *info = SearchInfo{};
  if (k == 0) return std::vector<SearchHit>{};
  std::vector<float> q(options_.dims);
  Prepare(query, q.data());
  ef = std::max(ef ? ef : options_.ef_search, k);

  auto lock = ReadLock();
  const bool filtered = filter && (filter->ids || filter->allow);
  std::vector<uint32_t> allowed;
  if (filtered) allowed = AllowedSlots(*filter);
  info->candidates = filtered ? allowed.size() : doc_slot_.size();
  if (info->candidates == 0) return std::vector<SearchHit>{};

  std::vector<Candidate> best;
  info->exact = !graph_ || info->candidates <= k || info->candidates < ExactCutoff(ef);
  if (!info->exact) {
    std::vector<uint64_t> bits;
    if (filtered) {
      bits.assign((slot_doc_.size() + 63) / 64, 0);
      for (uint32_t s : allowed) bits[s >> 6] |= uint64_t{1} << (s & 63);
    }
    const bool int8 = options_.quantization == Quantization::kInt8;
    const size_t want = int8 ? std::max(ef, k * options_.rescore_multiplier) : k;
    WalkGraph(q.data(), want, std::max(ef, want), filtered ? &bits : nullptr, &best);
    if (int8) {
      for (auto& c : best) c.first = Distance(q.data(), FloatAt(c.second));
    }
    // A filtered walk that comes back short (the allowed nodes it could
    // reach ran out) is not an answer: scan them instead.
    if (best.size() < std::min(k, info->candidates)) info->exact = true;
  }
  if (info->exact) ScanExact(q.data(), k, filtered ? &allowed : nullptr, &best);
  return ToHits(best, k);
}

Result<std::vector<SearchHit>> VectorIndex::ExactSearch(std::span<const float> query, size_t k,
                                                        const SearchFilter* filter) const {
  if (query.size() != options_.dims) {
    return Status::Invalid("query", "expected " + std::to_string(options_.dims) + " dimensions, got " +
                                        std::to_string(query.size()));
  }
  if (!AllFinite(query)) return Status::Invalid("query", "query vector has a value that is not a finite number");
  if (k == 0) return std::vector<SearchHit>{};
  std::vector<float> q(options_.dims);
  Prepare(query, q.data());
  auto lock = ReadLock();
  const bool filtered = filter && (filter->ids || filter->allow);
  std::vector<uint32_t> allowed;
  if (filtered) allowed = AllowedSlots(*filter);
  std::vector<Candidate> best;
  ScanExact(q.data(), k, filtered ? &allowed : nullptr, &best);
  return ToHits(best, k);
}

bool VectorIndex::Contains(const std::string& doc_id) const {
  auto lock = ReadLock();
  return doc_slot_.count(doc_id) > 0;
}

size_t VectorIndex::size() const {
  auto lock = ReadLock();
  return doc_slot_.size();
}

size_t VectorIndex::free_slots() const {
  auto lock = ReadLock();
  return free_.size();
}

int64_t VectorIndex::applied_seq() const {
  auto lock = ReadLock();
  return applied_seq_;
}

void VectorIndex::set_applied_seq(int64_t seq) {
  auto lock = WriteLock();
  applied_seq_ = seq;
}

// ---------------------------------------------------------------- persistence
//
// Layout (little-endian, as the host; every index file is this machine's):
//   "STRATAVI" u32 version
//   u32 metric, u32 quantization, u64 dims, u64 M, u64 ef_construction
//   i64 applied_seq, u64 slots, f32 quantizer lo, f32 quantizer scale
//   slots x (u32 length, doc id bytes; length 0 = free slot)
//   u8 has_floats [slots x dims f32]
//   u8 has_graph [graph: u64 size_data_per_element, i32 max level,
//                 u32 entry point, u64 maxM, u64 maxM0, f64 mult,
//                 slots x size_data_per_element level-0 bytes,
//                 slots x (u32 upper-link bytes, bytes)]
//   64 hex characters: SHA-256 of everything before

Status VectorIndex::Save(storage::IndexFiles::Writer& out) const {
  auto lock = ReadLock();
  HashingWriter w(out);
  RETURN_IF_ERROR(w.Put(kMagic, sizeof(kMagic)));
  RETURN_IF_ERROR(w.Pod(kFormatVersion));
  RETURN_IF_ERROR(w.Pod(static_cast<uint32_t>(options_.metric)));
  RETURN_IF_ERROR(w.Pod(static_cast<uint32_t>(options_.quantization)));
  RETURN_IF_ERROR(w.Pod(static_cast<uint64_t>(options_.dims)));
  RETURN_IF_ERROR(w.Pod(static_cast<uint64_t>(options_.m)));
  RETURN_IF_ERROR(w.Pod(static_cast<uint64_t>(options_.ef_construction)));
  RETURN_IF_ERROR(w.Pod(applied_seq_));
  RETURN_IF_ERROR(w.Pod(static_cast<uint64_t>(slot_doc_.size())));
  RETURN_IF_ERROR(w.Pod(quantizer_.lo));
  RETURN_IF_ERROR(w.Pod(quantizer_.scale));
  for (const auto& id : slot_doc_) {
    RETURN_IF_ERROR(w.Pod(static_cast<uint32_t>(id.size())));
    RETURN_IF_ERROR(w.Put(id.data(), id.size()));
  }
  const uint8_t has_floats = StoresFloats() ? 1 : 0;
  RETURN_IF_ERROR(w.Pod(has_floats));
  if (has_floats) RETURN_IF_ERROR(w.Put(floats_.data(), slot_doc_.size() * options_.dims * sizeof(float)));
  const uint8_t has_graph = graph_ ? 1 : 0;
  RETURN_IF_ERROR(w.Pod(has_graph));
  if (graph_) {
    const Hnsw& h = *graph_->hnsw;
    RETURN_IF_ERROR(w.Pod(static_cast<uint64_t>(h.size_data_per_element_)));
    RETURN_IF_ERROR(w.Pod(static_cast<int32_t>(h.maxlevel_)));
    RETURN_IF_ERROR(w.Pod(static_cast<uint32_t>(h.enterpoint_node_)));
    RETURN_IF_ERROR(w.Pod(static_cast<uint64_t>(h.maxM_)));
    RETURN_IF_ERROR(w.Pod(static_cast<uint64_t>(h.maxM0_)));
    RETURN_IF_ERROR(w.Pod(h.mult_));
    RETURN_IF_ERROR(w.Put(h.data_level0_memory_, h.cur_element_count * h.size_data_per_element_));
    for (size_t i = 0; i < h.cur_element_count; ++i) {
      const uint32_t bytes = h.element_levels_[i] > 0
                                 ? static_cast<uint32_t>(h.size_links_per_element_ * h.element_levels_[i])
                                 : 0;
      RETURN_IF_ERROR(w.Pod(bytes));
      if (bytes) RETURN_IF_ERROR(w.Put(h.linkLists_[i], bytes));
    }
  }
  return w.Finish();
}

Result<int64_t> VectorIndex::ReadAppliedSeq(storage::IndexFiles::Reader& in) {
  struct {
    char magic[sizeof(kMagic)];
    uint32_t version, metric, quantization;
    uint64_t dims, m, efc;
    int64_t applied;
  } head;
  RETURN_IF_ERROR(in.Read(head.magic, sizeof(head.magic)));
  RETURN_IF_ERROR(in.Read(&head.version, sizeof(head.version)));
  if (std::memcmp(head.magic, kMagic, sizeof(kMagic)) != 0 || head.version != kFormatVersion) {
    return HashingReader::Corrupt("not a vector index file");
  }
  RETURN_IF_ERROR(in.Read(&head.metric, sizeof(head.metric)));
  RETURN_IF_ERROR(in.Read(&head.quantization, sizeof(head.quantization)));
  RETURN_IF_ERROR(in.Read(&head.dims, sizeof(head.dims)));
  RETURN_IF_ERROR(in.Read(&head.m, sizeof(head.m)));
  RETURN_IF_ERROR(in.Read(&head.efc, sizeof(head.efc)));
  RETURN_IF_ERROR(in.Read(&head.applied, sizeof(head.applied)));
  return head.applied;
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::Load(storage::IndexFiles::Reader& in, const IndexOptions& options) {
  using Corrupt = HashingReader;
  HashingReader r(in);
  char magic[sizeof(kMagic)];
  uint32_t version = 0, metric = 0, quantization = 0;
  uint64_t dims = 0, m = 0, efc = 0, slots = 0;
  int64_t applied = 0;
  float lo = 0, scale = 1;
  RETURN_IF_ERROR(r.Get(magic, sizeof(magic)));
  if (std::memcmp(magic, kMagic, sizeof(kMagic)) != 0) return Corrupt::Corrupt("not a vector index file");
  RETURN_IF_ERROR(r.Pod(&version));
  if (version != kFormatVersion) return Status::Storage("vector index file has format " + std::to_string(version));
  RETURN_IF_ERROR(r.Pod(&metric));
  RETURN_IF_ERROR(r.Pod(&quantization));
  RETURN_IF_ERROR(r.Pod(&dims));
  RETURN_IF_ERROR(r.Pod(&m));
  RETURN_IF_ERROR(r.Pod(&efc));
  if (metric != static_cast<uint32_t>(options.metric) ||
      quantization != static_cast<uint32_t>(options.quantization) || dims != options.dims || m != options.m ||
      efc != options.ef_construction) {
    return Status::Storage("vector index file was written for other options");
  }
  RETURN_IF_ERROR(r.Pod(&applied));
  RETURN_IF_ERROR(r.Pod(&slots));
  RETURN_IF_ERROR(r.Pod(&lo));
  RETURN_IF_ERROR(r.Pod(&scale));
  // Every slot takes at least its 4-byte length: a count the file cannot
  // hold is damage, caught before anything that size is allocated.
  if (slots > r.remaining() / 4 || slots >= std::numeric_limits<uint32_t>::max()) {
    return Corrupt::Corrupt("slot count");
  }
  if (!(scale > 0) || !std::isfinite(lo) || !std::isfinite(scale)) return Corrupt::Corrupt("quantizer");

  ASSIGN_OR_RETURN(auto index, Create(options));
  index->applied_seq_ = applied;
  index->quantizer_ = {lo, scale};
  index->graph_.reset();
  index->slot_doc_.resize(slots);
  for (uint32_t s = 0; s < slots; ++s) {
    uint32_t len = 0;
    RETURN_IF_ERROR(r.Pod(&len));
    if (len > r.remaining()) return Corrupt::Corrupt("document id");
    std::string& id = index->slot_doc_[s];
    id.resize(len);
    RETURN_IF_ERROR(r.Get(id.data(), len));
    if (id.empty()) {
      index->free_.push_back(s);
    } else if (!index->doc_slot_.emplace(id, s).second) {
      return Corrupt::Corrupt("document " + id + " twice");
    }
  }
  uint8_t has_floats = 0, has_graph = 0;
  RETURN_IF_ERROR(r.Pod(&has_floats));
  if (has_floats) {
    if (slots * dims * sizeof(float) > r.remaining()) return Corrupt::Corrupt("vectors");
    index->floats_.resize(slots * dims);
    RETURN_IF_ERROR(r.Get(index->floats_.data(), index->floats_.size() * sizeof(float)));
  }
  RETURN_IF_ERROR(r.Pod(&has_graph));
  const bool int8 = options.quantization == Quantization::kInt8;
  // A float index keeps its vectors in its graph; an int8 one beside it.
  if (int8 ? !has_floats : (has_floats || !has_graph)) return Corrupt::Corrupt("sections");
  if (has_graph) {
    RETURN_IF_ERROR(index->MakeGraph(slots));
    Hnsw& h = *index->graph_->hnsw;
    uint64_t size_data = 0, max_m = 0, max_m0 = 0;
    int32_t max_level = 0;
    uint32_t entry = 0;
    double mult = 0;
    RETURN_IF_ERROR(r.Pod(&size_data));
    RETURN_IF_ERROR(r.Pod(&max_level));
    RETURN_IF_ERROR(r.Pod(&entry));
    RETURN_IF_ERROR(r.Pod(&max_m));
    RETURN_IF_ERROR(r.Pod(&max_m0));
    RETURN_IF_ERROR(r.Pod(&mult));
    if (size_data != h.size_data_per_element_ || max_m != h.maxM_ || max_m0 != h.maxM0_) {
      return Corrupt::Corrupt("graph layout");
    }
    if (slots * size_data > r.remaining()) return Corrupt::Corrupt("graph size");
    RETURN_IF_ERROR(r.Get(h.data_level0_memory_, slots * size_data));
    h.cur_element_count = slots;  // from here on h's destructor frees what was read
    h.mult_ = mult;
    h.revSize_ = 1.0 / mult;
    for (size_t i = 0; i < slots; ++i) {
      uint32_t bytes = 0;
      RETURN_IF_ERROR(r.Pod(&bytes));
      if (bytes == 0) {
        h.linkLists_[i] = nullptr;
        continue;
      }
      if (bytes % h.size_links_per_element_ != 0 || bytes > r.remaining() ||
          bytes / h.size_links_per_element_ > 64) {
        return Corrupt::Corrupt("links");
      }
      h.linkLists_[i] = static_cast<char*>(malloc(bytes));
      if (!h.linkLists_[i]) return Status::Internal("out of memory loading a vector index");
      h.element_levels_[i] = static_cast<int>(bytes / h.size_links_per_element_);
      RETURN_IF_ERROR(r.Get(h.linkLists_[i], bytes));
    }
    // Links must point at nodes that exist, or a search would read past the
    // graph: checked once here (the checksum below only proves the bytes are
    // the ones written).
    for (uint32_t i = 0; i < slots; ++i) {
      for (int level = 0; level <= h.element_levels_[i]; ++level) {
        auto* ll = h.get_linklist_at_level(i, level);
        size_t count = h.getListCount(ll);
        if (count > (level == 0 ? h.maxM0_ : h.maxM_)) return Corrupt::Corrupt("link count");
        const auto* links = reinterpret_cast<const uint32_t*>(ll + 1);
        for (size_t j = 0; j < count; ++j) {
          if (links[j] >= slots) return Corrupt::Corrupt("link target");
        }
      }
      if (h.getExternalLabel(i) != i) return Corrupt::Corrupt("node label");
      if (h.isMarkedDeleted(i) != index->slot_doc_[i].empty()) return Corrupt::Corrupt("deleted mark");
    }
    if (slots > 0) {
      if (entry >= slots || max_level != h.element_levels_[entry]) return Corrupt::Corrupt("entry point");
      h.enterpoint_node_ = entry;
      h.maxlevel_ = max_level;
    }
    for (uint32_t i = 0; i < slots; ++i) h.label_lookup_[i] = i;
    h.num_deleted_ = index->free_.size();
  }
  RETURN_IF_ERROR(r.Finish());
  if (!int8) {
    index->floats_.clear();
    index->floats_.shrink_to_fit();
  }
  return index;
}

}  // namespace strata::index
