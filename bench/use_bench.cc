// USE-lite throughput through UseEmbedder (tokenizer + one ONNX Runtime run
// per batch), in sentences/s, for batches of 1, 16 and 64 sentences of typical
// length (10-20 words), embedded by 2 threads sharing the model, next to the
// tokenizer alone on the same sentences. The model is called directly: no
// InferenceCache, every sentence is distinct.
//
// usage: strata_bench_use [--models DIR] [--sentences N] [--threads T] [--intra I]
//   --sentences  sentences per thread and batch size (default 512)
//   --threads    caller threads (default 2)
//   --intra      ONNX Runtime intra-op threads of the session (default 1, so
//                2 callers use 2 cores; 0: ONNX Runtime's default)
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

#include "core/json_util.h"
#include "extract/models/model_registry.h"
#include "extract/models/use_embedder.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace extract = strata::extract;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

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
  config["threads"] = intra;
  auto loaded = extract::UseEmbedder::Load("use-lite", folder.string(), config);
  if (!loaded.ok()) {
    std::fprintf(stderr, "use-lite: %s\n", loaded.status().message().c_str());
    return 1;
  }
  extract::UseEmbedder& model = **loaded;

  std::vector<std::vector<std::string>> texts;
  size_t pieces = 0, count = 0;
  for (int t = 0; t < threads; ++t) {
    texts.push_back(Sentences(per_thread, 1000 + static_cast<uint32_t>(t)));
    for (const auto& s : texts.back()) pieces += model.Tokenize(s).ids.size(), ++count;
  }
  std::printf("USE-lite (%s), %d caller threads, %d intra-op thread(s), %zu sentences per thread, "
              "%.1f pieces per sentence\n",
              model.fingerprint().c_str(), threads, intra, per_thread,
              static_cast<double>(pieces) / static_cast<double>(count));

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
  for (size_t batch : {size_t{1}, size_t{16}, size_t{64}}) {
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
    if (failed) {
      std::fprintf(stderr, "an Embed call failed\n");
      return 1;
    }
    std::printf("  batch %-3zu               %10.0f sentences/s\n", batch,
                static_cast<double>(count) / Seconds(start));
  }
  return 0;
}
