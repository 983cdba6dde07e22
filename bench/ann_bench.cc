// Vector index: Strata's VectorIndex next to raw hnswlib, measured in the same
// run on the same data and graph parameters (M, ef_construction, ef_search):
//   - Fashion-MNIST (Debian's dataset-fashion-mnist): the 60,000 training
//     images as the base, the test images as queries, 784 dimensions, L2;
//   - the exact 10 nearest neighbours of every query, by brute force on all
//     threads, once;
//   - recall@10 and queries/s on one thread for raw hnswlib, VectorIndex with
//     float vectors, and VectorIndex with int8 codes plus exact rescoring, at
//     several ef_search values, and the ratios to raw hnswlib;
//   - brute-force scan speed (GB/s of vectors read) next to memcpy bandwidth;
//   - filtered search at falling selectivity: the graph walk against the
//     exact scan of the allowed documents, which places the exact-scan cutoff
//     (IndexOptions::exact_factor);
//   - save and load of the index file;
//   - when built with FAISS (STRATA_BENCH_FAISS, set by bench/CMakeLists.txt
//     where libfaiss-dev is installed; measurement only): faiss::IndexHNSWFlat
//     with the same M, efConstruction and efSearch, built on the same threads
//     (OpenMP), searched one query per call on one thread like the others,
//     plus one batched call at --ef, and its IDSelector-filtered search at 10%
//     selectivity beside the filtered walk.
//
// usage: strata_bench_ann [--n 60000] [--queries 1000] [--m 16] [--efc 200]
//                         [--ef 64] [--threads 2] [--data DIR] [--skip-filter]
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"
#include "index/distance.h"
#include "index/vector_index.h"
#include "storage/index_files.h"

#define STRATA_HNSWLIB_TU strata_bench_ann
#include "index/hnswlib_wrap.h"

#ifdef STRATA_BENCH_FAISS
#include <faiss/IndexHNSW.h>
#include <faiss/impl/HNSW.h>
#include <faiss/impl/IDSelector.h>
#include <omp.h>

using FaissId = faiss::Index::idx_t;  // faiss::idx_t from FAISS 1.7.4 on
#endif

namespace {

using Clock = std::chrono::steady_clock;
using strata::index::IndexOptions;
using strata::index::Metric;
using strata::index::Quantization;
using strata::index::SearchFilter;
using strata::index::SearchInfo;
using strata::index::VectorIndex;

constexpr size_t kK = 10;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

[[noreturn]] void Die(const std::string& what, const strata::Status& st) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), st.message().c_str());
  std::exit(1);
}

// An IDX image file (gzip): big-endian header, then one byte per pixel.
std::vector<float> ReadImages(const std::string& path, size_t limit, size_t* dims) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "cannot open %s (apt-get install dataset-fashion-mnist)\n", path.c_str());
    std::exit(1);
  }
  unsigned char head[16];
  if (gzread(f, head, sizeof(head)) != sizeof(head)) {
    std::fprintf(stderr, "%s: short header\n", path.c_str());
    std::exit(1);
  }
  auto be32 = [&](int at) {
    return (uint32_t{head[at]} << 24) | (uint32_t{head[at + 1]} << 16) | (uint32_t{head[at + 2]} << 8) | head[at + 3];
  };
  if (be32(0) != 0x803) {
    std::fprintf(stderr, "%s: not an IDX image file\n", path.c_str());
    std::exit(1);
  }
  const size_t count = std::min<size_t>(be32(4), limit);
  *dims = size_t{be32(8)} * be32(12);
  std::vector<unsigned char> bytes(count * *dims);
  if (gzread(f, bytes.data(), static_cast<unsigned>(bytes.size())) != static_cast<int>(bytes.size())) {
    std::fprintf(stderr, "%s: short data\n", path.c_str());
    std::exit(1);
  }
  gzclose(f);
  return std::vector<float>(bytes.begin(), bytes.end());
}

void ParallelFor(size_t n, size_t threads, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

// Exact k nearest (squared L2) of each query, optionally among `allowed`.
std::vector<std::vector<uint32_t>> GroundTruth(const std::vector<float>& base, size_t n, const std::vector<float>& queries,
                                               size_t nq, size_t dims, size_t threads,
                                               const std::vector<uint32_t>* allowed = nullptr) {
  std::vector<std::vector<uint32_t>> truth(nq);
  const auto l2 = strata::index::Kernels().l2_f32;
  ParallelFor(nq, threads, [&](size_t qi) {
    std::priority_queue<std::pair<float, uint32_t>> heap;
    auto visit = [&](uint32_t i) {
      float d = l2(&queries[qi * dims], &base[size_t{i} * dims], dims);
      if (heap.size() < kK) {
        heap.emplace(d, i);
      } else if (d < heap.top().first) {
        heap.pop();
        heap.emplace(d, i);
      }
    };
    if (allowed) {
      for (uint32_t i : *allowed) visit(i);
    } else {
      for (uint32_t i = 0; i < n; ++i) visit(i);
    }
    truth[qi].resize(heap.size());
    for (size_t j = heap.size(); j-- > 0;) {
      truth[qi][j] = heap.top().second;
      heap.pop();
    }
  });
  return truth;
}

double Recall(const std::vector<uint32_t>& got, const std::vector<uint32_t>& want) {
  std::set<uint32_t> w(want.begin(), want.end());
  size_t hit = 0;
  for (uint32_t g : got) hit += w.count(g);
  return want.empty() ? 1.0 : double(hit) / double(want.size());
}

std::string Id(size_t i) { return "img_" + std::to_string(i); }
uint32_t FromId(const std::string& id) { return static_cast<uint32_t>(std::stoul(id.substr(4))); }

struct Measure {
  double recall = 0;
  double qps = 0;
};

// Runs every query `rounds` times on this thread; the fastest round counts
// (the first may pay for page faults and cold caches).
template <typename Search>
Measure Run(size_t nq, const std::vector<std::vector<uint32_t>>& truth, Search search, int rounds = 2) {
  Measure m;
  double best = 1e30;
  for (int r = 0; r < rounds; ++r) {
    double recall = 0;
    auto t0 = Clock::now();
    for (size_t q = 0; q < nq; ++q) recall += Recall(search(q), truth[q]);
    best = std::min(best, Seconds(t0));
    m.recall = recall / double(nq);
  }
  m.qps = double(nq) / best;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  size_t n = 60000, nq = 1000, m = 16, efc = 200, ef = 64, threads = 2;
  std::string data = "/usr/share/datasets/fashion-mnist";
  bool skip_filter = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--n") n = std::stoul(next());
    else if (a == "--queries") nq = std::stoul(next());
    else if (a == "--m") m = std::stoul(next());
    else if (a == "--efc") efc = std::stoul(next());
    else if (a == "--ef") ef = std::stoul(next());
    else if (a == "--threads") threads = std::stoul(next());
    else if (a == "--data") data = next();
    else if (a == "--skip-filter") skip_filter = true;
    else {
      std::fprintf(stderr,
                   "usage: strata_bench_ann [--n N] [--queries Q] [--m M] [--efc EF] [--ef EF] [--threads T] "
                   "[--data DIR] [--skip-filter]\n");
      return 2;
    }
  }

  size_t dims = 0, qdims = 0;
  std::vector<float> base = ReadImages(data + "/train-images-idx3-ubyte.gz", n, &dims);
  std::vector<float> queries = ReadImages(data + "/t10k-images-idx3-ubyte.gz", nq, &qdims);
  n = base.size() / dims;
  nq = queries.size() / qdims;
  std::printf("Fashion-MNIST: %zu base x %zu dims, %zu queries, L2, k=%zu; M=%zu ef_construction=%zu; "
              "%zu build threads, searches on 1 thread; Strata kernels: %s\n",
              n, dims, nq, kK, m, efc, threads, strata::index::Kernels().name);

  auto t0 = Clock::now();
  auto truth = GroundTruth(base, n, queries, nq, dims, threads);
  std::printf("ground truth (brute force, %zu threads): %.2f s\n", threads, Seconds(t0));

  // ---- builds
  hnswlib::L2Space space(dims);
  t0 = Clock::now();
  auto raw = std::make_unique<hnswlib::HierarchicalNSW<float>>(&space, n, m, efc, 100);
  raw->addPoint(&base[0], 0);
  ParallelFor(n - 1, threads, [&](size_t i) { raw->addPoint(&base[(i + 1) * dims], i + 1); });
  const double raw_build = Seconds(t0);

  std::vector<std::pair<std::string, std::vector<float>>> items;
  items.reserve(n);
  for (size_t i = 0; i < n; ++i) items.emplace_back(Id(i), std::vector<float>(&base[i * dims], &base[(i + 1) * dims]));
  IndexOptions options{.metric = Metric::kEuclidean, .dims = dims, .m = m, .ef_construction = efc, .ef_search = ef};
  auto build = [&](Quantization quant, double* secs) {
    IndexOptions o = options;
    o.quantization = quant;
    auto index = VectorIndex::Create(o);
    if (!index.ok()) Die("create", index.status());
    auto start = Clock::now();
    strata::Status st = (*index)->Build(items, threads);
    if (!st.ok()) Die("build", st);
    *secs = Seconds(start);
    return std::move(index).value();
  };
  double float_build = 0, int8_build = 0;
  auto strata_float = build(Quantization::kNone, &float_build);
  auto strata_int8 = build(Quantization::kInt8, &int8_build);
  std::printf("build: raw hnswlib %.1f s, Strata float %.1f s (%.2fx), Strata int8 %.1f s (%.2fx)\n", raw_build,
              float_build, raw_build / float_build, int8_build, raw_build / int8_build);
#ifdef STRATA_BENCH_FAISS
  // FAISS: L2, M neighbours per node (2M on level 0, as hnswlib), built on
  // `threads` OpenMP threads; every search below runs on one.
  faiss::IndexHNSWFlat faiss_index(static_cast<int>(dims), static_cast<int>(m));
  faiss_index.hnsw.efConstruction = static_cast<int>(efc);
  omp_set_num_threads(static_cast<int>(threads));
  t0 = Clock::now();
  faiss_index.add(static_cast<FaissId>(n), base.data());
  const double faiss_build = Seconds(t0);
  omp_set_num_threads(1);
  std::printf("build: FAISS IndexHNSWFlat %.1f s (raw hnswlib / FAISS %.2fx)\n", faiss_build, raw_build / faiss_build);
  // One query per call; labels are the base positions, as in hnswlib. FAISS
  // 1.7.3 (Debian 12) reads the walk's efSearch from the index, not from
  // SearchParametersHNSW (fixed upstream in 2024), so set both.
  auto faiss_search = [&](const float* query, size_t e, faiss::IDSelector* sel) {
    faiss_index.hnsw.efSearch = static_cast<int>(e);
    faiss::SearchParametersHNSW params;
    params.efSearch = static_cast<int>(e);
    params.sel = sel;
    float dist[kK];
    FaissId labels[kK];
    faiss_index.search(1, query, kK, dist, labels, &params);
    std::vector<uint32_t> ids;
    for (size_t j = 0; j < kK; ++j) {
      if (labels[j] >= 0) ids.push_back(static_cast<uint32_t>(labels[j]));
    }
    return ids;
  };
#endif

  // ---- recall and QPS at several ef
  std::printf("\n%6s | %-22s | %-30s | %-30s", "ef", "raw hnswlib", "Strata float", "Strata int8 + rescoring");
#ifdef STRATA_BENCH_FAISS
  std::printf(" | %-30s", "FAISS IndexHNSWFlat");
#endif
  std::printf("\n%6s | %9s %12s | %9s %12s %7s | %9s %12s %7s", "", "recall@10", "QPS", "recall@10", "QPS", "ratio",
              "recall@10", "QPS", "ratio");
#ifdef STRATA_BENCH_FAISS
  std::printf(" | %9s %12s %7s", "recall@10", "QPS", "ratio");
#endif
  std::printf("\n");
  std::vector<size_t> efs = {16, 32, 64, 128, 256};
  if (std::find(efs.begin(), efs.end(), ef) == efs.end()) efs.push_back(ef);
  std::sort(efs.begin(), efs.end());
  for (size_t e : efs) {
    raw->setEf(e);
    Measure r = Run(nq, truth, [&](size_t q) {
      auto res = raw->searchKnn(&queries[q * dims], kK);
      std::vector<uint32_t> ids;
      while (!res.empty()) {
        ids.push_back(static_cast<uint32_t>(res.top().second));
        res.pop();
      }
      return ids;
    });
    auto strata_run = [&](const VectorIndex& index) {
      return Run(nq, truth, [&](size_t q) {
        auto hits = index.Search(std::span<const float>(&queries[q * dims], dims), kK, nullptr, e);
        if (!hits.ok()) Die("search", hits.status());
        std::vector<uint32_t> ids;
        for (const auto& h : *hits) ids.push_back(FromId(h.doc_id));
        return ids;
      });
    };
    Measure f = strata_run(*strata_float);
    Measure q8 = strata_run(*strata_int8);
    std::printf("%6zu | %9.4f %12.0f | %9.4f %12.0f %6.2fx | %9.4f %12.0f %6.2fx", e, r.recall, r.qps, f.recall,
                f.qps, f.qps / r.qps, q8.recall, q8.qps, q8.qps / r.qps);
#ifdef STRATA_BENCH_FAISS
    Measure fa = Run(nq, truth, [&](size_t q) { return faiss_search(&queries[q * dims], e, nullptr); });
    std::printf(" | %9.4f %12.0f %6.2fx", fa.recall, fa.qps, fa.qps / r.qps);
#endif
    std::printf("\n");
  }
#ifdef STRATA_BENCH_FAISS
  {
    // FAISS as it is meant to be called: all queries in one call (still one thread).
    faiss_index.hnsw.efSearch = static_cast<int>(ef);
    faiss::SearchParametersHNSW params;
    params.efSearch = static_cast<int>(ef);
    std::vector<float> dist(nq * kK);
    std::vector<FaissId> labels(nq * kK);
    double best = 1e30;
    for (int round = 0; round < 2; ++round) {
      auto t = Clock::now();
      faiss_index.search(static_cast<FaissId>(nq), queries.data(), kK, dist.data(), labels.data(), &params);
      best = std::min(best, Seconds(t));
    }
    double recall = 0;
    for (size_t q = 0; q < nq; ++q) {
      std::vector<uint32_t> ids;
      for (size_t j = 0; j < kK; ++j) {
        if (labels[q * kK + j] >= 0) ids.push_back(static_cast<uint32_t>(labels[q * kK + j]));
      }
      recall += Recall(ids, truth[q]);
    }
    std::printf("FAISS, all %zu queries in one search() call, ef=%zu, 1 thread: recall@10 %.4f, %.0f QPS\n", nq, ef,
                recall / double(nq), double(nq) / best);
  }
#endif

  // ---- brute-force scan against memory bandwidth
  {
    const size_t scan_queries = std::min<size_t>(nq, 20);
    const double bytes = double(n) * double(dims) * sizeof(float);
    const auto l2 = strata::index::Kernels().l2_f32;
    auto t = Clock::now();
    float sink = 0;
    for (size_t q = 0; q < scan_queries; ++q) {
      float best = 1e30f;
      for (size_t i = 0; i < n; ++i) best = std::min(best, l2(&queries[q * dims], &base[i * dims], dims));
      sink += best;
    }
    const double kernel_gbs = bytes * scan_queries / Seconds(t) / 1e9;
    t = Clock::now();
    for (size_t q = 0; q < scan_queries; ++q) {
      auto hits = strata_float->ExactSearch(std::span<const float>(&queries[q * dims], dims), kK);
      if (!hits.ok()) Die("exact", hits.status());
      sink += hits->empty() ? 0 : (*hits)[0].score;
    }
    const double exact_gbs = bytes * scan_queries / Seconds(t) / 1e9;
    std::vector<char> from(static_cast<size_t>(bytes)), to(static_cast<size_t>(bytes));
    std::memset(from.data(), 1, from.size());
    std::memset(to.data(), 2, to.size());
    double memcpy_best = 1e30;
    for (int r = 0; r < 5; ++r) {
      t = Clock::now();
      std::memcpy(to.data(), from.data(), from.size());
      memcpy_best = std::min(memcpy_best, Seconds(t));
      sink += static_cast<float>(to[static_cast<size_t>(r) * 4099 % to.size()]);
    }
    const double memcpy_gbs = bytes / memcpy_best / 1e9;
    std::printf("\nbrute-force scan, 1 thread, %.0f MB of vectors per query (%zu queries):\n", bytes / 1e6, scan_queries);
    std::printf("  kernel loop over a contiguous array   %6.2f GB/s  (%.2fx memcpy)\n", kernel_gbs,
                kernel_gbs / memcpy_gbs);
    std::printf("  VectorIndex::ExactSearch (top-10)     %6.2f GB/s  (%.2fx memcpy)\n", exact_gbs,
                exact_gbs / memcpy_gbs);
    std::printf("  memcpy of the same bytes              %6.2f GB/s  (reads and writes each byte)\n", memcpy_gbs);
    if (sink == 12345.678f) std::printf(" ");  // keeps the loops from being optimised away
  }

  // ---- save and load
  auto dir = std::filesystem::temp_directory_path() / ("strata-ann-" + strata::RandomAlnum(8));
  {
    auto files = strata::storage::IndexFiles::Open(dir.string());
    if (!files.ok()) Die("index files", files.status());
    for (auto* index : {strata_float.get(), strata_int8.get()}) {
      const bool int8 = index == strata_int8.get();
      auto t = Clock::now();
      auto w = (*files)->NewWriter("bench.vidx");
      if (!w.ok()) Die("writer", w.status());
      strata::Status st = index->Save(**w);
      if (st.ok()) st = (*w)->Commit();
      if (!st.ok()) Die("save", st);
      const double save = Seconds(t);
      const double mb = double((*w)->size()) / 1e6;
      t = Clock::now();
      auto r = (*files)->OpenReader("bench.vidx");
      if (!r.ok()) Die("reader", r.status());
      IndexOptions o = index->options();
      auto loaded = VectorIndex::Load(**r, o);
      if (!loaded.ok()) Die("load", loaded.status());
      std::printf("%s file: %.0f MB, save %.2f s (with fsync), load %.2f s\n", int8 ? "int8 " : "float", mb, save,
                  Seconds(t));
    }
  }

  // ---- filtered search: graph walk against exact scan of the allowed set
  if (!skip_filter) {
    auto files = strata::storage::IndexFiles::Open(dir.string());
    if (!files.ok()) Die("index files", files.status());
    // The same graph with the cutoff off (always walk) and forced (always scan).
    auto reload = [&](size_t exact_min, double factor) {
      auto r = (*files)->OpenReader("bench.vidx");
      if (!r.ok()) Die("reader", r.status());
      IndexOptions o = strata_float->options();
      o.exact_min = exact_min;
      o.exact_factor = factor;
      auto w = (*files)->NewWriter("bench.vidx");
      if (!w.ok()) Die("writer", w.status());
      strata::Status st = strata_float->Save(**w);
      if (st.ok()) st = (*w)->Commit();
      if (!st.ok()) Die("save", st);
      r = (*files)->OpenReader("bench.vidx");
      auto loaded = VectorIndex::Load(**r, o);
      if (!loaded.ok()) Die("load", loaded.status());
      return std::move(loaded).value();
    };
    auto walk = reload(0, 0);
    const size_t fq = std::min<size_t>(nq, 200);
    std::printf("\nfiltered search, ef=%zu, %zu queries; exact = scan of the allowed vectors:\n", ef, fq);
    std::printf("%11s %8s | %9s %10s | %9s %10s | %s\n", "selectivity", "allowed", "walk rec", "walk QPS", "exact rec",
                "exact QPS", "default picks");
    std::mt19937 rng(7);
    double crossover = 0;
#ifdef STRATA_BENCH_FAISS
    std::string faiss_line;
#endif
    for (double sel : {0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5}) {
      std::vector<uint32_t> allowed;
      for (uint32_t i = 0; i < n; ++i) {
        if (std::uniform_real_distribution<double>(0, 1)(rng) < sel) allowed.push_back(i);
      }
      std::vector<std::string> ids;
      for (uint32_t i : allowed) ids.push_back(Id(i));
      SearchFilter filter{.ids = &ids};
      auto ftruth = GroundTruth(base, n, queries, fq, dims, threads, &allowed);
      auto search = [&](const VectorIndex& index, bool exact) {
        return Run(fq, ftruth, [&](size_t q) {
          std::span<const float> query(&queries[q * dims], dims);
          auto hits = exact ? index.ExactSearch(query, kK, &filter) : index.Search(query, kK, &filter, ef);
          if (!hits.ok()) Die("search", hits.status());
          std::vector<uint32_t> got;
          for (const auto& h : *hits) got.push_back(FromId(h.doc_id));
          return got;
        }, 1);
      };
      Measure w = search(*walk, false);
      Measure x = search(*walk, true);
      SearchInfo info;
      auto probe = strata_float->Search(std::span<const float>(&queries[0], dims), kK, &filter, ef, &info);
      if (!probe.ok()) Die("search", probe.status());
      if (x.qps >= w.qps) crossover = std::max(crossover, double(allowed.size()));
      std::printf("%10.1f%% %8zu | %9.4f %10.0f | %9.4f %10.0f | %s\n", sel * 100, allowed.size(), w.recall, w.qps,
                  x.recall, x.qps, info.exact ? "exact" : "walk");
#ifdef STRATA_BENCH_FAISS
      if (sel == 0.1) {
        // FAISS's filtered walk: a bitmap of the allowed labels, checked as the
        // graph is searched (disallowed nodes are walked, not returned).
        std::vector<uint8_t> bits((n + 7) / 8, 0);
        for (uint32_t i : allowed) bits[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
        faiss::IDSelectorBitmap bitmap(n, bits.data());
        std::set<uint32_t> allowed_set(allowed.begin(), allowed.end());
        size_t outside = 0;
        Measure fw = Run(fq, ftruth, [&](size_t q) {
          auto got = faiss_search(&queries[q * dims], ef, &bitmap);
          for (uint32_t g : got) outside += allowed_set.count(g) == 0;
          return got;
        }, 1);
        char line[256];
        std::snprintf(line, sizeof(line),
                      "FAISS IDSelectorBitmap at %.0f%% (%zu allowed), ef=%zu: recall@10 %.4f, %.0f QPS "
                      "(%.2fx the Strata walk, %.2fx the exact scan)%s\n",
                      sel * 100, allowed.size(), ef, fw.recall, fw.qps, fw.qps / w.qps, fw.qps / x.qps,
                      outside ? "; RESULTS OUTSIDE THE FILTER" : "");
        faiss_line = line;
      }
#endif
    }
#ifdef STRATA_BENCH_FAISS
    std::printf("%s", faiss_line.c_str());
#endif
    if (crossover > 0) {
      // exact when allowed < sqrt(factor * ef * n): the factor that puts the
      // cutoff at the largest allowed set the exact scan still won.
      std::printf("exact scan wins up to ~%.0f allowed: exact_factor ~ %.1f at ef=%zu, n=%zu (default %.1f)\n",
                  crossover, crossover * crossover / (double(ef) * double(n)), ef, n, IndexOptions{}.exact_factor);
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}
