#include "extract/models/use_embedder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "extract/models/inference_cache.h"
#include "extract/models/model_registry.h"
#include "extract/models/models_test_util.h"
#include "extract/models/onnx_runtime.h"

namespace strata::extract {
namespace {

namespace fs = std::filesystem;
using testing_util::ScratchDir;

double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double d = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    d += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
  }
  return d / std::sqrt(na * nb);
}

double Norm(const std::vector<float>& a) {
  double s = 0;
  for (float x : a) s += double{x} * x;
  return std::sqrt(s);
}

Json ReadJson(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return Json::parse(s.str());
}

fs::path UseDir() { return fs::path(testing_util::ModelsDir()) / "use-lite"; }

// Why the real model cannot be used here, or "" when it can.
std::string ModelMissing() {
  std::error_code ec;
  if (!fs::exists(UseDir() / "model.onnx", ec) || !fs::exists(UseDir() / "vocab.json", ec)) {
    return UseDir().string() + " has no model.onnx and vocab.json; run scripts/fetch_tfjs.sh";
  }
  if (!fs::exists(OnnxRuntimeLibraryPath(), ec)) {
    return "ONNX Runtime is not at " + OnnxRuntimeLibraryPath() + "; run scripts/fetch_onnxruntime.sh";
  }
  if (std::string why; !NfkcAvailable(&why)) return why;
  return "";
}

// ---- the model (.cache/models/use-lite), loaded once for the suite ---------

class UseEmbedderTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!ModelMissing().empty()) return;
    auto e = UseEmbedder::Load("use-lite", UseDir().string(), ReadJson(UseDir() / "config.json"));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    model_ = std::move(e).value().release();
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  void SetUp() override {
    if (const std::string why = ModelMissing(); !why.empty()) GTEST_SKIP() << why;
    ASSERT_NE(model_, nullptr);
  }
  static std::vector<std::vector<float>> Embed(const std::vector<std::string>& texts) {
    auto v = model_->Embed(texts, EmbedRole::kPassage);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? std::move(v).value() : std::vector<std::vector<float>>(texts.size());
  }

  static UseEmbedder* model_;
};
UseEmbedder* UseEmbedderTest::model_ = nullptr;

TEST(LowerIfAllCapsTest, OnlyShoutedTextIsLowerCased) {
  EXPECT_EQ(LowerIfAllCaps("MEASUREMENT OF BLOOD PRESSURE IN RATS"), "measurement of blood pressure in rats");
  EXPECT_EQ(LowerIfAllCaps("NASA launched a probe"), "NASA launched a probe");
  EXPECT_EQ(LowerIfAllCaps("The U.S. economy"), "The U.S. economy");
  EXPECT_EQ(LowerIfAllCaps("1984, 2001"), "1984, 2001");
  EXPECT_EQ(LowerIfAllCaps(""), "");
}

TEST_F(UseEmbedderTest, DescribesItself) {
  EXPECT_EQ(model_->name(), "use_lite_512");
  EXPECT_EQ(model_->dimensions(), 512);
  EXPECT_EQ(model_->distance(), "cosine");
  EXPECT_EQ(model_->max_pieces(), 128);
  EXPECT_EQ(model_->tokenizer().size(), 8000);
  EXPECT_THAT(model_->fingerprint(), testing::StartsWith("use_lite_512/tfjs-onnx/"));
}

TEST_F(UseEmbedderTest, GivesUnitVectorsThatCaptureMeaning) {
  const auto v = Embed({"A puppy is playing in the park.", "The dog runs on the grass.",
                        "Stock markets fell sharply today."});
  ASSERT_EQ(v.size(), 3u);
  for (const auto& x : v) {
    ASSERT_EQ(x.size(), 512u);
    EXPECT_NEAR(Norm(x), 1.0, 1e-4);
  }
  // TF.js gives 0.5639 and 0.0443 for these pairs.
  const double related = Cosine(v[0], v[1]), unrelated = Cosine(v[0], v[2]);
  EXPECT_NEAR(related, 0.564, 0.005);
  EXPECT_NEAR(unrelated, 0.044, 0.005);
  std::printf("cosine puppy/dog %.4f, puppy/stocks %.4f\n", related, unrelated);
}

TEST_F(UseEmbedderTest, OneBatchGivesWhatEachTextGivesAlone) {
  const std::vector<std::string> texts = {"short", "", "a somewhat longer sentence about nothing much",
                                          "Hello, World!", ""};
  const auto together = Embed(texts);
  ASSERT_EQ(together.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto alone = Embed({texts[i]});
    ASSERT_EQ(alone.size(), 1u);
    EXPECT_GT(Cosine(together[i], alone[0]), 0.99999) << texts[i];
  }
  // The empty text has a defined vector, in a batch of empty texts too.
  const auto empties = Embed({"", ""});
  ASSERT_EQ(empties.size(), 2u);
  EXPECT_EQ(empties[0], together[1]);
  EXPECT_NEAR(Norm(empties[0]), 1.0, 1e-4);
  EXPECT_TRUE(Embed({}).empty());
}

TEST_F(UseEmbedderTest, ACallMixingLengthsGivesWhatEachTextGivesAlone) {
  // Short and long texts together: Embed runs them in separate runs (see
  // PlanUseRuns), and each still gets its own vector, in the callers' order.
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "word" + std::to_string(i) + " ";
  std::vector<std::string> texts;
  for (int i = 0; i < 6; ++i) {
    texts.push_back("cat " + std::to_string(i));
    texts.push_back(long_text + std::to_string(i));
  }
  std::vector<size_t> lengths;
  for (const auto& t : texts) lengths.push_back(model_->Tokenize(t).ids.size());
  std::sort(lengths.begin(), lengths.end());
  ASSERT_GT(PlanUseRuns(lengths, 256).size(), 1u);
  const auto together = Embed(texts);
  ASSERT_EQ(together.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto alone = Embed({texts[i]});
    EXPECT_GT(Cosine(together[i], alone[0]), 0.99999) << texts[i];
  }
  EXPECT_LT(Cosine(together[0], together[1]), 0.9);
}

TEST_F(UseEmbedderTest, TruncatesAtTheModelsLimit) {
  std::string head;
  for (int i = 0; i < 150; ++i) head += "word" + std::to_string(i) + " ";
  const UseEmbedder::Pieces p = model_->Tokenize(head + "and more");
  EXPECT_EQ(p.ids.size(), 128u);
  EXPECT_GT(p.total, 128u);
  EXPECT_TRUE(p.truncated());
  EXPECT_FALSE(model_->Tokenize("a short one").truncated());
  // What lies beyond the limit changes nothing, as in TF.js (whose graph drops it).
  const auto v = Embed({head + "cats and dogs", head + "stock markets fell"});
  EXPECT_EQ(v[0], v[1]);
  // Through the registry's cache wrapper too.
  CachingEmbedder cached(std::shared_ptr<Embedder>(model_, [](Embedder*) {}),
                         std::make_shared<InferenceCache>(1 << 20));
  ASSERT_EQ(AsUseEmbedder(cached), model_);
  EXPECT_EQ(AsUseEmbedder(*model_), model_);
}

TEST_F(UseEmbedderTest, ThreadsShareTheModel) {
  const std::vector<std::string> texts = {"first text", "second, rather different, text", ""};
  const auto want = Embed(texts);
  std::vector<std::vector<std::vector<float>>> got(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) got[t] = Embed(texts);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) {
    ASSERT_EQ(g.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_GT(Cosine(g[i], want[i]), 0.999999);
  }
}

TEST_F(UseEmbedderTest, RefusesBrokenConfigsAndMissingFiles) {
  Json config = ReadJson(UseDir() / "config.json");
  Json bad = config;
  bad["max_pieces"] = 512;
  auto e = UseEmbedder::Load("use-lite", UseDir().string(), bad);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInternal);
  EXPECT_THAT(e.status().message(), testing::HasSubstr("max_pieces"));

  bad = config;
  bad["dimensions"] = 100;
  e = UseEmbedder::Load("use-lite", UseDir().string(), bad);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(e.status().message(), testing::HasSubstr("dimensions"));

  ScratchDir empty;
  e = UseEmbedder::Load("use-lite", empty.str(), config);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(e.status().message(), testing::HasSubstr("model.onnx is missing"));
}

// ---- how a call is split into runs ---------------------------------------------

TEST(PlanUseRunsTest, PadsLittleAndKeepsRunsWithinTheBatchSize) {
  EXPECT_TRUE(PlanUseRuns({}, 256).empty());
  // Equal lengths: nothing to save by splitting, but no run above the limit.
  EXPECT_EQ(PlanUseRuns(std::vector<size_t>(64, 20), 256), std::vector<size_t>{64});
  EXPECT_EQ(PlanUseRuns(std::vector<size_t>(64, 20), 16), (std::vector<size_t>{16, 32, 48, 64}));
  EXPECT_EQ(PlanUseRuns({7}, 256), std::vector<size_t>{1});
  // Short texts are not padded to the long ones' length.
  std::vector<size_t> lengths(20, 3);
  lengths.insert(lengths.end(), 20, 128);
  EXPECT_EQ(PlanUseRuns(lengths, 256), (std::vector<size_t>{20, 40}));
  // Nearly equal lengths stay together: a run costs more than a piece of padding.
  EXPECT_EQ(PlanUseRuns({18, 19, 19, 20}, 256), std::vector<size_t>{4});
  // Any sorted input: increasing ends up to the last text, no run above the limit.
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::vector<size_t> l(1 + rng() % 300);
    for (auto& x : l) x = 1 + rng() % 128;
    std::sort(l.begin(), l.end());
    const size_t max_run = 1 + rng() % 64;
    const auto ends = PlanUseRuns(l, max_run);
    ASSERT_FALSE(ends.empty());
    EXPECT_EQ(ends.back(), l.size());
    size_t start = 0;
    for (size_t end : ends) {
      EXPECT_GT(end, start);
      EXPECT_LE(end - start, max_run);
      start = end;
    }
  }
}

// ---- the registry ------------------------------------------------------------

// A models directory with use-lite (linked to the real one) and an image model
// converted from TF.js, which is no text embedder.
class UseRegistryTest : public testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = ModelMissing(); !why.empty()) GTEST_SKIP() << why;
    fs::create_directory_symlink(UseDir(), dir_.path() / "use-lite");
    fs::create_directories(dir_.path() / "mobilenet");
    std::ofstream(dir_.path() / "mobilenet" / "config.json")
        << R"({"backend": "tfjs-onnx", "task": "image_embedding", "dimensions": 1792})";
  }
  ScratchDir dir_;
};

TEST_F(UseRegistryTest, LoadsUseLiteOnceBehindTheCache) {
  ModelRegistry registry(dir_.str());
  auto a = registry.Get("use-lite");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = registry.Get("use-lite");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_NE(dynamic_cast<CachingEmbedder*>(a->get()), nullptr);
  EXPECT_NE(AsUseEmbedder(**a), nullptr);
  EXPECT_EQ((*a)->name(), "use_lite_512");
  EXPECT_EQ((*a)->dimensions(), 512);

  bool listed = false;
  for (const Json& m : registry.List()) {
    if (m["name"] == "use-lite") {
      listed = true;
      EXPECT_EQ(m["backend"], "tfjs-onnx");
      EXPECT_EQ(m["task"], "embedding");
      EXPECT_EQ(m["dimensions"], 512);
      EXPECT_EQ(m["loaded"], true);
      EXPECT_EQ(m["default"], true);  // the default text model
    }
    if (m["name"] == "mobilenet") {
      EXPECT_EQ(m["task"], "image_embedding");
    }
  }
  EXPECT_TRUE(listed);
}

TEST_F(UseRegistryTest, RefusesConvertedModelsThatDoNotEmbedText) {
  ModelRegistry registry(dir_.str());
  auto m = registry.Get("mobilenet");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), testing::HasSubstr("image_embedding"));
  // An unknown name lists the text models only.
  auto unknown = registry.Get("nope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), testing::HasSubstr("use-lite"));
  EXPECT_THAT(unknown.status().message(), testing::Not(testing::HasSubstr("mobilenet")));
}

// ---- parity with TF.js (tests/models/use_reference.js) ----------------------

// Runs the reference script; Ok with its JSON, or the reason to skip.
struct Reference {
  Json json;
  std::string skip;
};
Reference RunReference(const std::string& args) {
  if (std::system("command -v node >/dev/null 2>&1") != 0) return {{}, "node is not installed"};
  const std::string script = std::string(STRATA_SOURCE_DIR) + "/tests/models/use_reference.js";
  // The script finds the models where the test does.
  const std::string cmd = "STRATA_MODELS_DIR='" + testing_util::ModelsDir() + "' node '" + script +
                          "' " + args + " 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return {{}, "cannot run " + cmd};
  std::string out;
  char buf[65536];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  const int status = pclose(pipe);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) return {{}, "reference: " + out};
  EXPECT_EQ(status, 0) << cmd << " failed: " << out;
  auto parsed = ParseJson(out, 8);
  EXPECT_TRUE(parsed.ok()) << out.substr(0, 500);
  return {parsed.ok() ? std::move(parsed).value() : Json(), ""};
}

std::vector<int32_t> Ids(const Json& row) { return row.get<std::vector<int32_t>>(); }

TEST(UseParityTest, TokenIdsMatchTheReferenceTokenizer) {
  std::error_code ec;
  if (!fs::exists(UseDir() / "vocab.json", ec)) {
    GTEST_SKIP() << UseDir().string() << "/vocab.json is missing; run scripts/fetch_tfjs.sh";
  }
  if (std::string why; !NfkcAvailable(&why)) GTEST_SKIP() << why;
  // Fixed pseudo-random strings over an alphabet of ASCII, accents, ligatures,
  // full-width and combining forms, CJK, emoji, spaces and controls.
  const std::vector<std::string> alphabet = {
      "a", "e", "t", "s", "T", "Q", "z", "0", "7", " ", " ", ".", ",", "'", "\"", "-", ":", ")",
      "\t", "\n", "\xc3\xa9", "\xc3\x9f", "\xc3\xb8", "\xe2\x80\x9c", "\xe2\x80\x94", "\xef\xac\x81",
      "\xe2\x91\xa0", "\xef\xbc\xa1", "\xcc\x81", "\xc2\xa0", "\xe6\x97\xa5", "\xea\xb0\x80",
      "\xf0\x9f\x98\x80", "\xe2\x82\xac", "\xce\xb1", "\xd0\x96"};
  std::mt19937 rng(20240501);
  std::vector<std::string> texts = {"", " ", "  two  spaces ", "Hello, World!", "\xef\xbf\xbd"};
  for (int i = 0; i < 400; ++i) {
    std::string s;
    const int n = 1 + static_cast<int>(rng() % 30);
    for (int k = 0; k < n; ++k) s += alphabet[rng() % alphabet.size()];
    texts.push_back(s);
  }
  ScratchDir dir;
  std::ofstream(dir.path() / "texts.json") << Json(texts).dump();
  Reference ref = RunReference("--ids-only '" + (dir.path() / "texts.json").string() + "'");
  if (!ref.skip.empty()) GTEST_SKIP() << ref.skip;
  ASSERT_TRUE(ref.json.contains("ids"));
  ASSERT_EQ(ref.json["ids"].size(), texts.size());

  auto tokenizer = SentencePieceTokenizer::FromVocabJson((UseDir() / "vocab.json").string());
  ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().ToString();
  int mismatches = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<int32_t> want = Ids(ref.json["ids"][i]);
    if (tokenizer->Encode(texts[i]) != want && ++mismatches <= 5) {
      ADD_FAILURE() << "ids differ for " << Json(texts[i]).dump();
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(UseParityTest, EmbeddingsMatchTensorFlowJs) {
  if (const std::string why = ModelMissing(); !why.empty()) GTEST_SKIP() << why;
  Reference ref = RunReference("");
  if (!ref.skip.empty()) GTEST_SKIP() << ref.skip;
  ASSERT_TRUE(ref.json.contains("embeddings"));
  const auto sentences = ref.json["sentences"].get<std::vector<std::string>>();
  ASSERT_GE(sentences.size(), 8u);

  auto model = UseEmbedder::Load("use-lite", UseDir().string(), ReadJson(UseDir() / "config.json"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto got = (*model)->Embed(sentences, EmbedRole::kQuery);  // one batch, one run
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  double worst = 1;
  for (size_t i = 0; i < sentences.size(); ++i) {
    EXPECT_EQ((*model)->tokenizer().Encode(sentences[i]), Ids(ref.json["ids"][i]))
        << Json(sentences[i]).dump();
    const Json& want = ref.json["embeddings"][i];
    ASSERT_TRUE(want.is_array()) << "TF.js gave no vector for " << Json(sentences[i]).dump();
    const double c = Cosine((*got)[i], want.get<std::vector<float>>());
    EXPECT_GE(c, 0.9999) << Json(sentences[i]).dump();
    worst = std::min(worst, c);
  }
  RecordProperty("worst_cosine", std::to_string(worst));
  std::printf("worst cosine with TF.js over %zu sentences: %.7f\n", sentences.size(), worst);
}

}  // namespace
}  // namespace strata::extract
