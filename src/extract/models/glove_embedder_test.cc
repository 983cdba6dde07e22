#include "extract/models/glove_embedder.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "extract/models/models_test_util.h"

namespace strata::extract {
namespace {

using testing_util::ModelFile;
using testing_util::ScratchDir;

float Cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return static_cast<float>(dot / std::sqrt(na * nb));
}

double Norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += x * x;
  return std::sqrt(s);
}

class GloveEmbedderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = GloveEmbedder::Load(ModelFile("glove-100d.bin"));
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    model_ = std::move(loaded).value().release();
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(model_, nullptr); }
  static GloveEmbedder* model_;
};
GloveEmbedder* GloveEmbedderTest::model_ = nullptr;

TEST(GloveTokenizerTest, LowercasesAndSplitsOnPunctuation) {
  EXPECT_EQ(GloveTokens("Hello, World! It's 2017...x"),
            (std::vector<std::string>{"hello", "world", "it", "s", "2017", "x"}));
}

TEST(GloveTokenizerTest, KeepsMultibyteLettersInsideWords) {
  EXPECT_EQ(GloveTokens("Café Zürich naïve"), (std::vector<std::string>{"café", "zürich", "naïve"}));
}

TEST(GloveTokenizerTest, UnicodePunctuationSeparates) {
  // Curly apostrophe, em dash, guillemets, ellipsis, no-break space, ideographic full stop, emoji.
  EXPECT_EQ(GloveTokens("don\u2019t\u2014stop \u00abok\u00bb wait\u2026now\u00a0here\u3002done\U0001F600end"),
            (std::vector<std::string>{"don", "t", "stop", "ok", "wait", "now", "here", "done", "end"}));
}

TEST(GloveTokenizerTest, MalformedUtf8AndLongRunsAreSafe) {
  EXPECT_EQ(GloveTokens("ab\xff" "cd\xc3"), (std::vector<std::string>{"ab", "cd"}));
  const std::string long_word(GloveTokenizer::kMaxTokenBytes + 1, 'a');
  EXPECT_EQ(GloveTokens("one " + long_word + " two"), (std::vector<std::string>{"one", "two"}));
  EXPECT_TRUE(GloveTokens("").empty());
  EXPECT_TRUE(GloveTokens(" ,.;!? ").empty());
}

TEST_F(GloveEmbedderTest, DescribesItself) {
  EXPECT_EQ(model_->name(), "glove_100d_sif");
  EXPECT_EQ(model_->dimensions(), 100);
  EXPECT_EQ(model_->distance(), "cosine");
  EXPECT_EQ(model_->vocab_size(), 341479);
  EXPECT_TRUE(model_->removes_common_component());
  EXPECT_NE(model_->fingerprint().find("glove_100d_sif"), std::string::npos);
}

TEST_F(GloveEmbedderTest, RanksFollowFrequency) {
  EXPECT_EQ(model_->RankOf("the"), 0);
  EXPECT_GT(model_->RankOf("puppy"), model_->RankOf("dog"));
  EXPECT_GT(model_->RankOf("dog"), 0);
  EXPECT_EQ(model_->RankOf("Dog"), -1);  // the vocabulary is lowercase
  EXPECT_EQ(model_->RankOf("qqqzzzxq"), -1);
}

TEST_F(GloveEmbedderTest, ParaphraseIsCloserThanUnrelated) {
  auto puppy = model_->EmbedOne("A puppy is playing in the park.");
  auto dog = model_->EmbedOne("The dog runs on the grass.");
  auto stocks = model_->EmbedOne("Stock markets fell sharply today.");
  EXPECT_GT(Cosine(puppy, dog), Cosine(puppy, stocks) + 0.3f);
  EXPECT_GT(Cosine(puppy, dog), Cosine(dog, stocks) + 0.3f);
}

// Each sentence's nearest neighbour among the others' paraphrases is its own,
// and unrelated sentences are near orthogonal (the common component removal
// is what brings them from ~0.5 down to ~0).
TEST_F(GloveEmbedderTest, RetrievesParaphrasesAmongDistractors) {
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"Stock markets fell sharply today.", "Shares dropped steeply on Wall Street this afternoon."},
      {"Heavy rain caused flooding in the city.", "The town was flooded after a storm."},
      {"Scientists discovered a new species of frog.", "Researchers found a previously unknown amphibian."},
      {"She is studying medicine at the university.", "The student is training to become a doctor."},
      {"He bought a new laptop for work.", "He purchased a computer for his job."},
      {"Police arrested a suspect in the robbery.", "Officers detained a man over the theft."},
      {"Farmers harvest wheat in the autumn.", "Grain crops are gathered in the fall."},
      {"The judge sentenced him to five years in prison.", "He was jailed for five years by the court."},
  };
  double unrelated = 0;
  int unrelated_count = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    auto a = model_->EmbedOne(pairs[i].first);
    const float own = Cosine(a, model_->EmbedOne(pairs[i].second));
    for (size_t j = 0; j < pairs.size(); ++j) {
      if (j == i) continue;
      const float other = Cosine(a, model_->EmbedOne(pairs[j].second));
      EXPECT_GT(own, other) << pairs[i].first << " | " << pairs[j].second;
      unrelated += other;
      ++unrelated_count;
    }
  }
  EXPECT_LT(unrelated / unrelated_count, 0.2);
}

TEST_F(GloveEmbedderTest, VectorsAreUnitLength) {
  for (const char* text : {"dog", "The dog runs on the grass.", "Stock markets fell sharply today."}) {
    EXPECT_NEAR(Norm(model_->EmbedOne(text)), 1.0, 1e-5) << text;
  }
}

TEST_F(GloveEmbedderTest, DeterministicAndCaseInsensitive) {
  const auto a = model_->EmbedOne("The Dog Runs On The Grass");
  EXPECT_EQ(a, model_->EmbedOne("The Dog Runs On The Grass"));
  EXPECT_EQ(a, model_->EmbedOne("the dog runs on the grass"));
  EXPECT_EQ(a, model_->EmbedOne("the dog, runs on... the grass!"));
}

TEST_F(GloveEmbedderTest, NoKnownWordGivesZeroVector) {
  for (const char* text : {"", "   ", "?!... ---", "qqqzzzxq vvvbbbnnnk", "日本語のテキスト"}) {
    auto v = model_->EmbedOne(text);
    ASSERT_EQ(v.size(), 100u);
    EXPECT_EQ(Norm(v), 0.0) << text;
  }
  // Unknown words do not change a text's vector.
  EXPECT_EQ(model_->EmbedOne("the dog qqqzzzxq"), model_->EmbedOne("the dog"));
}

TEST_F(GloveEmbedderTest, BatchMatchesSingleAndIgnoresRole) {
  const std::vector<std::string> texts = {"first text", "", "second text about cats"};
  auto batch = model_->Embed(texts, EmbedRole::kQuery);
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ((*batch)[i], model_->EmbedOne(texts[i]));
  auto passages = model_->Embed(texts, EmbedRole::kPassage);
  ASSERT_TRUE(passages.ok());
  EXPECT_EQ(*passages, *batch);
}

TEST_F(GloveEmbedderTest, ThreadsGetTheSameVectors) {
  const std::vector<std::string> texts = {"A puppy is playing in the park.", "Stock markets fell.",
                                          "Researchers found a previously unknown amphibian."};
  std::vector<std::vector<float>> expected;
  for (const auto& t : texts) expected.push_back(model_->EmbedOne(t));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 500; ++round) {
        const size_t i = static_cast<size_t>(round + t) % texts.size();
        if (model_->EmbedOne(texts[i]) != expected[i]) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(GloveEmbedderLoadTest, MissingFileIsAnError) {
  auto loaded = GloveEmbedder::Load("/nonexistent/glove-100d.bin");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("/nonexistent/glove-100d.bin"), std::string::npos);
}

TEST(GloveEmbedderLoadTest, TruncatedOrForeignFileIsAnError) {
  ScratchDir dir;
  const std::string source = ModelFile("glove-100d.bin");
  std::string head(4096, '\0');
  {
    std::ifstream in(source, std::ios::binary);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
  }
  const std::string truncated = (dir.path() / "truncated.bin").string();
  std::ofstream(truncated, std::ios::binary) << head;
  auto a = GloveEmbedder::Load(truncated);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("truncated"), std::string::npos) << a.status().message();
  EXPECT_NE(a.status().message().find("fetch_models.sh"), std::string::npos);

  const std::string foreign = (dir.path() / "foreign.bin").string();
  std::ofstream(foreign, std::ios::binary) << std::string(4096, 'x');
  auto b = GloveEmbedder::Load(foreign);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("magic"), std::string::npos) << b.status().message();
}

// Throughput on one thread; not run by default (timing depends on the machine):
//   strata_extract_models_tests --gtest_also_run_disabled_tests
//     --gtest_filter='*DISABLED_Throughput*'
TEST_F(GloveEmbedderTest, DISABLED_Throughput) {
  const auto time = [](const auto& fn) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const double load = time([] { ASSERT_TRUE(GloveEmbedder::Load(ModelFile("glove-100d.bin")).ok()); });
  std::printf("glove: load %.0f ms (file in page cache)\n", load * 1e3);

  const std::vector<std::string> sentences = {
      "A puppy is playing in the park with a red ball.",
      "Stock markets fell sharply today after the central bank raised interest rates again.",
      "The museum exhibits ancient Egyptian art, including statues, jewellery and papyrus scrolls.",
      "How do I reset my password?",
  };
  std::string paragraph;
  while (paragraph.size() < 1000) paragraph += sentences[paragraph.size() % 4] + " ";
  std::vector<float> out(100);
  for (const auto& [label, texts, n] :
       {std::tuple{"sentences of ~62 bytes", sentences, 200000},
        std::tuple{"paragraphs of ~1 KB", std::vector<std::string>{paragraph}, 20000}}) {
    const double secs = time([&, &texts = texts, n = n] {
      for (int i = 0; i < n; ++i) model_->EmbedInto(texts[static_cast<size_t>(i) % texts.size()], out.data());
    });
    std::printf("glove: %s: %.0f texts/s on one thread\n", label, n / secs);
  }
}

}  // namespace
}  // namespace strata::extract
