// USE-lite throughput through UseEmbedder (tokenizer + ONNX Runtime runs), in
// sentences/s, for calls of 1, 16 and 64 sentences of typical length (10-20
// words), embedded by 2 threads sharing the model, next to the tokenizer alone
// on the same sentences. The model is called directly: no InferenceCache, every
// sentence is distinct.
//
// Each row is also set against the FLOP bound measured in the same run: the
// fp32 multiply-add rate of a tight FMA loop (AVX-512 or AVX2, whichever is
// faster here) on as many threads as the row may use, run just before and just
// after the row; the higher of the two is the bound, so a machine that got
// busier during the row does not flatter it. Work counts only the multiply-adds
// a sentence needs (its own pieces, none of a batch's padding):
//   n * 4,653,056 + 1,536 * n^2 + 262,144 for a sentence of n pieces
// (the weight products of the two transformer layers per piece, the attention
// products, the pooling projection; scripts/count_flops.py prints the same
// total for one sentence of n tokens). Because the machine may be shared, each
// row also says how many cores the process actually got (CPU time / wall time)
// and the work it did per CPU-second against what the FMA loop does per
// CPU-second, which another process's load barely moves.
//
// usage: strata_bench_use [--models DIR] [--sentences N] [--threads T] [--intra I]
//   --sentences  sentences per thread and batch size (default 512)
//   --threads    caller threads (default 2)
//   --intra      ONNX Runtime intra-op threads of the session (default 1, so
//                2 callers use 2 cores; 0: the embedder's default, one per core)
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/json_util.h"
#include "extract/models/model_registry.h"
#include "extract/models/use_embedder.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace extract = strata::extract;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// The multiply-adds USE-lite needs for a sentence of n pieces (see the top).
double UsefulMacs(size_t n) {
  const double p = static_cast<double>(n);
  return n == 0 ? 0 : p * 4653056.0 + 1536.0 * p * p + 262144.0;
}

// ---- the FLOP bound ------------------------------------------------------------

// One FMA-loop thread: `chunks` rounds of kInner iterations of 12 independent
// multiply-adds (enough to cover the FMA latency on two pipes), kept in
// registers; returns a value that depends on all of them so nothing is elided.
constexpr long kInner = 1 << 16;

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) float FmaAvx2(long chunks, long* macs) {
  __m256 a0 = _mm256_set1_ps(0.5f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
         a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (long c = 0; c < chunks; ++c) {
    for (long i = 0; i < kInner; ++i) {
      a0 = _mm256_fmadd_ps(a0, x, y), a1 = _mm256_fmadd_ps(a1, x, y), a2 = _mm256_fmadd_ps(a2, x, y);
      a3 = _mm256_fmadd_ps(a3, x, y), a4 = _mm256_fmadd_ps(a4, x, y), a5 = _mm256_fmadd_ps(a5, x, y);
      a6 = _mm256_fmadd_ps(a6, x, y), a7 = _mm256_fmadd_ps(a7, x, y), a8 = _mm256_fmadd_ps(a8, x, y);
      a9 = _mm256_fmadd_ps(a9, x, y), a10 = _mm256_fmadd_ps(a10, x, y), a11 = _mm256_fmadd_ps(a11, x, y);
      // Keeps the 12 chains in registers and in this loop.
      __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5), "+x"(a6),
                       "+x"(a7), "+x"(a8), "+x"(a9), "+x"(a10), "+x"(a11));
    }
  }
  *macs = chunks * kInner * 12 * 8;
  const __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                 _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
  const __m256 t = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
  float out[8];
  _mm256_storeu_ps(out, t);
  return out[0];
}

__attribute__((target("avx512f"))) float FmaAvx512(long chunks, long* macs) {
  __m512 a0 = _mm512_set1_ps(0.5f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0,
         a8 = a0, a9 = a0, a10 = a0, a11 = a0;
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (long c = 0; c < chunks; ++c) {
    for (long i = 0; i < kInner; ++i) {
      a0 = _mm512_fmadd_ps(a0, x, y), a1 = _mm512_fmadd_ps(a1, x, y), a2 = _mm512_fmadd_ps(a2, x, y);
      a3 = _mm512_fmadd_ps(a3, x, y), a4 = _mm512_fmadd_ps(a4, x, y), a5 = _mm512_fmadd_ps(a5, x, y);
      a6 = _mm512_fmadd_ps(a6, x, y), a7 = _mm512_fmadd_ps(a7, x, y), a8 = _mm512_fmadd_ps(a8, x, y);
      a9 = _mm512_fmadd_ps(a9, x, y), a10 = _mm512_fmadd_ps(a10, x, y), a11 = _mm512_fmadd_ps(a11, x, y);
      __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6),
                       "+v"(a7), "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11));
    }
  }
  *macs = chunks * kInner * 12 * 16;
  const __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                                 _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
  const __m512 t = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
  float out[16];
  _mm512_storeu_ps(out, t);
  return out[0];
}
#endif

enum class Isa { kNone, kAvx2, kAvx512 };

const char* IsaName(Isa isa) {
  return isa == Isa::kAvx512 ? "AVX-512" : isa == Isa::kAvx2 ? "AVX2" : "no";
}

double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// What `threads` FMA-loop threads running together for about `seconds` did:
// multiply-adds per second of wall clock (what these cores give right now,
// whatever else runs on them) and per CPU-second they got (one core's peak).
struct FmaRates {
  double per_second = 0;
  double per_cpu_second = 0;
};

// Where the loops leave their results, so that they are not optimised away.
std::atomic<float> g_sink{0};

FmaRates FmaRate(Isa isa, int threads, double seconds) {
#if defined(__x86_64__)
  if (isa == Isa::kNone) return {};
  std::atomic<bool> stop{false};
  // Each thread's multiply-adds and CPU seconds, read after the joins.
  std::vector<long> done(static_cast<size_t>(threads), 0);
  std::vector<double> cpu(static_cast<size_t>(threads), 0);
  std::vector<std::thread> pool;
  const auto start = Clock::now();
  for (size_t t = 0; t < done.size(); ++t) {
    pool.emplace_back([&, t] {
      const double cpu0 = ThreadCpuSeconds();
      float keep = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        long macs = 0;
        keep += isa == Isa::kAvx512 ? FmaAvx512(4, &macs) : FmaAvx2(4, &macs);
        done[t] += macs;
      }
      cpu[t] = ThreadCpuSeconds() - cpu0;
      g_sink.store(keep, std::memory_order_relaxed);
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  const double wall = Seconds(start);
  double macs = 0, cpu_total = 0;
  for (size_t t = 0; t < done.size(); ++t) macs += static_cast<double>(done[t]), cpu_total += cpu[t];
  return {macs / wall, cpu_total > 0 ? macs / cpu_total : 0};
#else
  (void)isa, (void)threads, (void)seconds;
  return {};
#endif
}

// The faster of the loops this CPU runs (AVX-512 is no faster where a core
// splits it into two 256-bit halves, and twice as fast where it has two
// 512-bit FMA units).
Isa PickIsa() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = __builtin_cpu_supports("avx512f");
  if (!avx2) return Isa::kNone;
  if (!avx512) return Isa::kAvx2;
  return FmaRate(Isa::kAvx512, 1, 0.2).per_cpu_second > FmaRate(Isa::kAvx2, 1, 0.2).per_cpu_second
             ? Isa::kAvx512
             : Isa::kAvx2;
#else
  return Isa::kNone;
#endif
}

// ---- the sentences -------------------------------------------------------------

// Distinct sentences of 10-20 everyday words, the same on every run.
std::vector<std::string> Sentences(size_t n, uint32_t seed) {
  static const char* kWords[] = {
      "the",     "a",      "market",  "dog",     "runs",    "quickly", "over",    "green",  "hills",
      "while",   "people", "watch",   "from",    "their",   "windows", "and",     "talk",   "about",
      "weather", "prices", "today",   "city",    "council", "voted",   "to",      "build",  "new",
      "bridge",  "near",   "river",   "school",  "children", "played", "football", "after", "lunch",
      "science", "shows",  "that",    "coffee",  "may",     "help",    "memory",  "in",     "older",
      "adults",  "music",  "festival", "drew",   "thousands", "of",    "visitors", "this",  "summer"};
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const int words = 10 + static_cast<int>(rng() % 11);
    std::string s;
    for (int w = 0; w < words; ++w) {
      std::string word = kWords[rng() % (sizeof kWords / sizeof kWords[0])];
      if (w == 0) word[0] = static_cast<char>(word[0] - 'a' + 'A');
      s += (w == 0 ? "" : " ") + word;
    }
    out.push_back(s + " #" + std::to_string(i) + ".");
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string models = extract::DefaultModelsDir(argv[0]);
  size_t per_thread = 512;
  int threads = 2, intra = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--models")) models = argv[i + 1];
    else if (!std::strcmp(argv[i], "--sentences")) per_thread = std::strtoul(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--intra")) intra = std::atoi(argv[i + 1]);
  }
  const std::filesystem::path folder = std::filesystem::path(models) / "use-lite";
  std::ifstream in(folder / "config.json");
  if (!in) {
    std::fprintf(stderr, "%s/config.json is missing: run scripts/fetch_tfjs.sh\n", folder.c_str());
    return 1;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  strata::Json config = strata::Json::parse(buf.str());
  if (intra > 0) config["threads"] = intra;
  auto loaded = extract::UseEmbedder::Load("use-lite", folder.string(), config);
  if (!loaded.ok()) {
    std::fprintf(stderr, "use-lite: %s\n", loaded.status().message().c_str());
    return 1;
  }
  extract::UseEmbedder& model = **loaded;

  std::vector<std::vector<std::string>> texts;
  size_t pieces = 0, count = 0;
  double macs = 0;
  for (int t = 0; t < threads; ++t) {
    texts.push_back(Sentences(per_thread, 1000 + static_cast<uint32_t>(t)));
    for (const auto& s : texts.back()) {
      const size_t n = model.Tokenize(s).ids.size();
      pieces += n, ++count, macs += UsefulMacs(n);
    }
  }
  // The cores a row may use: each caller's run spreads over `intra` threads
  // (0: one per core).
  const int hw = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int cores = std::min(hw, threads * (intra > 0 ? intra : hw));
  const Isa isa = PickIsa();
  std::printf("USE-lite (%s), %d caller threads, %d intra-op thread(s), %zu sentences per thread, "
              "%.1f pieces per sentence\n",
              model.fingerprint().c_str(), threads, intra, per_thread,
              static_cast<double>(pieces) / static_cast<double>(count));
  std::printf("  work: %.1f M multiply-adds per sentence (its own pieces, no padding); FLOP bound: "
              "fp32 %s FMA loop on %d thread(s), measured around each row\n",
              macs / static_cast<double>(count) / 1e6, IsaName(isa), cores);

  // Warm-up: the first runs allocate ONNX Runtime's arenas.
  (void)model.Embed({texts[0].begin(), texts[0].begin() + 16}, extract::EmbedRole::kPassage);

  {
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (const auto& s : texts[t]) (void)model.Tokenize(s);
      });
    }
    for (auto& th : pool) th.join();
    std::printf("  tokenizer only          %10.0f sentences/s\n",
                static_cast<double>(count) / Seconds(start));
  }
  std::printf("  %-22s %11s %8s %13s %11s %11s %18s\n", "call of", "sentences/s", "GMAC/s",
              "bound GMAC/s", "% of bound", "cores used", "% of bound per");
  std::printf("  %-22s %11s %8s %13s %11s %11s %18s\n", "", "", "", "", "", "", "core-second");
  for (size_t batch : {size_t{1}, size_t{16}, size_t{64}}) {
    const FmaRates before = FmaRate(isa, cores, 0.5);
    const double cpu0 = CpuSeconds();
    const auto start = Clock::now();
    std::vector<std::thread> pool;
    std::atomic<bool> failed{false};
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        const auto& mine = texts[t];
        for (size_t i = 0; i < mine.size(); i += batch) {
          std::vector<std::string> chunk(mine.begin() + static_cast<ptrdiff_t>(i),
                                         mine.begin() + static_cast<ptrdiff_t>(std::min(mine.size(), i + batch)));
          if (!model.Embed(chunk, extract::EmbedRole::kPassage).ok()) failed = true;
        }
      });
    }
    for (auto& th : pool) th.join();
    const double wall = Seconds(start), cpu = CpuSeconds() - cpu0;
    const FmaRates after = FmaRate(isa, cores, 0.5);
    if (failed) {
      std::fprintf(stderr, "an Embed call failed\n");
      return 1;
    }
    const double rate = macs / wall, bound = std::max(before.per_second, after.per_second);
    const double core_peak = std::max(before.per_cpu_second, after.per_cpu_second);
    std::printf("  %-3zu sentence(s)        %11.0f %8.1f", batch, static_cast<double>(count) / wall, rate / 1e9);
    if (bound > 0) {
      // Per core-second: the work done per CPU-second the process used,
      // against what the FMA loop does per CPU-second.
      std::printf(" %13.1f %10.1f%% %11.2f %17.1f%%\n", bound / 1e9, 100 * rate / bound, cpu / wall,
                  100 * (macs / cpu) / core_peak);
    } else {
      std::printf(" %13s %11s %11.2f %18s\n", "n/a", "n/a", cpu / wall, "n/a");
    }
  }
  return 0;
}
