// The ONNX backend against a tiny BERT-shaped model that
// tests/models/make_bert_onnx.py writes (with python3-onnx) together with the
// hidden states numpy computes for a few texts: the embedder's vectors must be
// those states pooled and normalised, however the texts are batched.
#include "extract/models/onnx_embedder.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "extract/models/onnx_runtime.h"
#include "extract/models/wordpiece.h"

namespace strata::extract {
namespace {

namespace fs = std::filesystem;
using Vec = std::vector<float>;

Json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return Json::parse(s.str());
}

// Debian's interpreter first: python3-onnx is installed for it, and a python3
// earlier on PATH (a virtualenv, pyenv) may lack the module.
std::string Python() { return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; }

class OnnxEmbedderTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(OnnxRuntimeLibraryPath())) return;
    std::string tmpl = (fs::temp_directory_path() / "strata_onnx_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = new fs::path(tmpl);
    const std::string script = std::string(STRATA_SOURCE_DIR) + "/tests/models/make_bert_onnx.py";
    for (const char* variant : {"full", "lean"}) {
      std::string cmd = Python() + " " + script + " --out " + (*root_ / variant).string() +
                        (std::string(variant) == "lean" ? " --no-token-type-ids" : "");
      ASSERT_EQ(std::system(cmd.c_str()), 0)
          << "failed: " << cmd << " (needs python3-onnx and python3-numpy)";
    }
  }
  static void TearDownTestSuite() {
    if (root_ != nullptr) fs::remove_all(*root_);
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override {
    if (root_ == nullptr) {
      GTEST_SKIP() << "ONNX Runtime is not at " << OnnxRuntimeLibraryPath()
                   << "; run scripts/fetch_onnxruntime.sh";
    }
  }

  static fs::path Dir(const std::string& variant = "full") { return *root_ / variant; }

  // The folder's config.json with `patch` merged in.
  static std::unique_ptr<Embedder> Make(const Json& patch = Json::object(),
                                        const std::string& variant = "full") {
    Json config = ReadJson(Dir(variant) / "config.json");
    MergePatch(config, patch);
    auto e = MakeOnnxEmbedder("tiny", Dir(variant).string(), config);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? std::move(e).value() : nullptr;
  }

  // numpy's hidden states of `text` (as tokenized with max_tokens).
  static std::vector<Vec> Hidden(const std::string& text, int max_tokens = 32,
                                 const std::string& variant = "full") {
    for (const Json& c : ReadJson(Dir(variant) / "expected.json")) {
      if (c["text"] == text && c["max_tokens"] == max_tokens) {
        return c["hidden"].get<std::vector<Vec>>();
      }
    }
    ADD_FAILURE() << "no expected states for '" << text << "'";
    return {};
  }

  static Vec Normalized(Vec v) {
    double sum = 0;
    for (float x : v) sum += double(x) * x;
    for (float& x : v) x = static_cast<float>(x / std::sqrt(sum));
    return v;
  }
  static Vec Mean(const std::vector<Vec>& rows) {
    Vec v(rows.at(0).size(), 0.0f);
    for (const Vec& r : rows) {
      for (size_t d = 0; d < v.size(); ++d) v[d] += r[d] / static_cast<float>(rows.size());
    }
    return v;
  }
  static void ExpectNear(const Vec& got, const Vec& want, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t d = 0; d < got.size(); ++d)
      EXPECT_NEAR(got[d], want[d], 1e-5) << what << " [" << d << "]";
  }

  static fs::path* root_;
};

fs::path* OnnxEmbedderTest::root_ = nullptr;

const Json kNoPrefixes = {{"query_prefix", ""}, {"passage_prefix", ""}};
const std::vector<std::string> kTexts = {"hello world",
                                         "The quick brown fox jumped over the lazy dog.",
                                         "unwanted running cat!", "zebra", ""};

TEST_F(OnnxEmbedderTest, TokenizerAgreesWithTheScript) {
  auto tok = WordPieceTokenizer::FromVocabFile((Dir() / "vocab.txt").string(), {});
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  for (const Json& c : ReadJson(Dir() / "expected.json")) {
    EXPECT_EQ(tok->Encode(c["text"].get<std::string>(), c["max_tokens"].get<int>()),
              c["ids"].get<std::vector<int64_t>>())
        << c["text"];
  }
}

TEST_F(OnnxEmbedderTest, MeanPoolingNormalisedMatchesNumpy) {
  auto e = Make(kNoPrefixes);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->dimensions(), 8);
  auto vectors = e->Embed(kTexts, EmbedRole::kPassage);
  ASSERT_TRUE(vectors.ok()) << vectors.status().ToString();
  ASSERT_EQ(vectors->size(), kTexts.size());
  for (size_t i = 0; i < kTexts.size(); ++i) {
    ExpectNear((*vectors)[i], Normalized(Mean(Hidden(kTexts[i]))), kTexts[i]);
  }
}

TEST_F(OnnxEmbedderTest, UnnormalisedMeanAndClsPooling) {
  auto raw = Make({{"query_prefix", ""}, {"normalize", false}});
  auto cls = Make({{"query_prefix", ""}, {"pooling", "cls"}});
  ASSERT_TRUE(raw && cls);
  const std::string text = "unwanted running cat!";
  ExpectNear(raw->Embed({text}, EmbedRole::kQuery).value()[0], Mean(Hidden(text)), "mean");
  ExpectNear(cls->Embed({text}, EmbedRole::kQuery).value()[0], Normalized(Hidden(text)[0]), "cls");
}

TEST_F(OnnxEmbedderTest, PrefixesDependOnTheRole) {
  auto e = Make();  // query: / passage: from config.json
  ASSERT_TRUE(e);
  Vec query = e->Embed({"hello world"}, EmbedRole::kQuery).value()[0];
  Vec passage = e->Embed({"hello world"}, EmbedRole::kPassage).value()[0];
  ExpectNear(query, Normalized(Mean(Hidden("query: hello world"))), "query");
  ExpectNear(passage, Normalized(Mean(Hidden("passage: hello world"))), "passage");
  EXPECT_NE(query, passage);
  EXPECT_NE(e->fingerprint(), Make(kNoPrefixes)->fingerprint());
}

TEST_F(OnnxEmbedderTest, TruncatesAtMaxTokens) {
  Json patch = kNoPrefixes;
  patch["max_tokens"] = 6;
  const std::string text = "The quick brown fox jumped over the lazy dog.";
  ExpectNear(Make(patch)->Embed({text}, EmbedRole::kPassage).value()[0],
             Normalized(Mean(Hidden(text, 6))), "truncated");
}

TEST_F(OnnxEmbedderTest, BatchesWithPaddingGiveTheSingleVectors) {
  auto e = Make({{"batch_size", 3}});
  ASSERT_TRUE(e);
  std::vector<std::string> texts;
  for (int i = 0; i < 4; ++i) texts.insert(texts.end(), kTexts.begin(), kTexts.end());
  auto batched = e->Embed(texts, EmbedRole::kPassage);
  ASSERT_TRUE(batched.ok()) << batched.status().ToString();
  for (size_t i = 0; i < texts.size(); ++i) {
    ExpectNear((*batched)[i], e->Embed({texts[i]}, EmbedRole::kPassage).value()[0], texts[i]);
  }
}

TEST_F(OnnxEmbedderTest, TwoDimensionalOutputIsTheEmbedding) {
  auto e =
      Make({{"output_name", "sentence_embedding"}, {"normalize", false}, {"passage_prefix", ""}});
  ASSERT_TRUE(e);
  ExpectNear(e->Embed({"hello world"}, EmbedRole::kPassage).value()[0], Hidden("hello world")[0],
             "sentence_embedding");
}

TEST_F(OnnxEmbedderTest, ModelWithoutTokenTypeIds) {
  auto e = Make(kNoPrefixes, "lean");
  ASSERT_TRUE(e);
  ExpectNear(e->Embed({"hello world"}, EmbedRole::kPassage).value()[0],
             Normalized(Mean(Hidden("hello world", 32, "lean"))), "lean");
}

TEST_F(OnnxEmbedderTest, ConfigErrorsNameTheField) {
  Json config = ReadJson(Dir() / "config.json");
  MergePatch(config, {{"pooling", "max"}, {"max_tokens", "many"}});
  auto bad = MakeOnnxEmbedder("tiny", Dir().string(), config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("pooling must be \"mean\" or \"cls\""), std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find("max_tokens"), std::string::npos);

  config = ReadJson(Dir() / "config.json");
  config["dimensions"] = 9;
  auto wrong = MakeOnnxEmbedder("tiny", Dir().string(), config);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("dimensions is 9"), std::string::npos)
      << wrong.status().message();

  config = ReadJson(Dir() / "config.json");
  config["output_name"] = "pooler_output";
  auto missing = MakeOnnxEmbedder("tiny", Dir().string(), config);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no output pooler_output"), std::string::npos);

  auto no_folder =
      MakeOnnxEmbedder("tiny", (Dir() / "nowhere").string(), ReadJson(Dir() / "config.json"));
  ASSERT_FALSE(no_folder.ok());
  EXPECT_EQ(no_folder.status().code(), StatusCode::kUnavailable);
}

TEST_F(OnnxEmbedderTest, FingerprintFollowsConfigAndModelFile) {
  auto a = Make();
  EXPECT_EQ(a->fingerprint(), Make()->fingerprint());
  EXPECT_NE(a->fingerprint(), Make({{"pooling", "cls"}})->fingerprint());
  EXPECT_EQ(a->fingerprint().rfind("tiny/onnx/", 0), 0u);
  fs::path model = Dir() / "model.onnx";
  fs::last_write_time(model, fs::last_write_time(model) - std::chrono::hours(1));
  EXPECT_NE(a->fingerprint(), Make()->fingerprint());
}

TEST_F(OnnxEmbedderTest, ConcurrentCallsShareOneSession) {
  auto e = Make();
  ASSERT_TRUE(e);
  const Vec want = e->Embed({kTexts[1]}, EmbedRole::kPassage).value()[0];
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto got = e->Embed({kTexts[1], kTexts[0]}, EmbedRole::kPassage);
        if (!got.ok() || (*got)[0] != want) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// Not a benchmark: prints the rate for the record (the model is tiny, so this
// is mostly tokenizing and ONNX Runtime's per-run overhead).
TEST_F(OnnxEmbedderTest, Throughput) {
  auto e = Make();
  ASSERT_TRUE(e);
  std::vector<std::string> texts;
  for (int i = 0; i < 2000; ++i) texts.push_back(kTexts[i % 3] + " " + std::to_string(i));
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(e->Embed(texts, EmbedRole::kPassage).ok());
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ onnx     ] " << texts.size() << " texts in " << s * 1000
            << " ms: " << texts.size() / s << " texts/s\n";
}

// In a fresh process (a death test re-runs the binary), so no library is
// loaded yet: a missing library is a clear Unavailable, not a crash.
TEST(OnnxRuntime, MissingLibraryIsUnavailable) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        SetOnnxRuntimeLibrary("/nonexistent/libonnxruntime.so.1");
        auto rt = LoadOnnxRuntime();
        bool clear = !rt.ok() && rt.status().code() == StatusCode::kUnavailable &&
                     rt.status().message().find("fetch_onnxruntime.sh") != std::string::npos;
        std::cerr << rt.status().message() << "\n";
        std::exit(clear ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace strata::extract
