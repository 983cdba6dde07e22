#include "extract/models/language_id.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "extract/models/models_test_util.h"

namespace strata::extract {
namespace {

using testing_util::ModelFile;
using testing_util::ScratchDir;

class LanguageIdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = LanguageId::Load(ModelFile("lid.176.ftz"));
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    model_ = std::move(loaded).value().release();
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(model_, nullptr); }
  static LanguageId* model_;
};
LanguageId* LanguageIdTest::model_ = nullptr;

TEST_F(LanguageIdTest, DetectsCommonLanguages) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"en", "The quick brown fox jumps over the lazy dog near the river bank."},
      {"fr", "Le renard brun saute par-dessus le chien paresseux près de la rivière."},
      {"de", "Der schnelle braune Fuchs springt über den faulen Hund am Flussufer."},
      {"es", "El rápido zorro marrón salta sobre el perro perezoso junto al río."},
      {"ru", "Быстрая коричневая лиса прыгает через ленивую собаку у реки."},
      {"ja", "素早い茶色の狐が川のそばで怠け者の犬を飛び越える。"},
  };
  for (const auto& [language, text] : cases) {
    auto d = model_->Detect(text);
    EXPECT_EQ(d.language, language) << text;
    EXPECT_GT(d.score, 0.5f) << text;
    EXPECT_LE(d.score, 1.0f) << text;
  }
}

// fastText reads one line; a newline must not hide the rest of the text.
TEST_F(LanguageIdTest, ReadsPastNewlines) {
  auto d = model_->Detect(
      "Hi\nDies ist ein längerer deutscher Text über das Wetter, die Politik und das Leben in "
      "Berlin.\r\nEr hat mehrere Zeilen.");
  EXPECT_EQ(d.language, "de");
}

TEST_F(LanguageIdTest, NoWordsMeansNoLanguage) {
  for (const char* text : {"", "   ", "\n\n\t"}) {
    auto d = model_->Detect(text);
    EXPECT_EQ(d.language, "") << "[" << text << "]";
    EXPECT_EQ(d.score, 0.0f);
  }
}

TEST_F(LanguageIdTest, LongInputIsCut) {
  std::string text;
  while (text.size() < 2'000'000) text += "Ceci est une phrase en français, répétée très souvent. ";
  auto d = model_->Detect(text);
  EXPECT_EQ(d.language, "fr");
}

TEST_F(LanguageIdTest, TopKIsSortedAndBounded) {
  auto top = model_->DetectTopK("Dies ist ein Satz.", 3);
  ASSERT_FALSE(top.empty());
  ASSERT_LE(top.size(), 3u);
  EXPECT_EQ(top[0].language, "de");
  for (size_t i = 1; i < top.size(); ++i) EXPECT_GE(top[i - 1].score, top[i].score);
  EXPECT_TRUE(model_->DetectTopK("Dies ist ein Satz.", 0).empty());
  for (const auto& d : model_->DetectTopK("Dies ist ein Satz.", 5, 0.05f)) EXPECT_GE(d.score, 0.05f);
}

TEST_F(LanguageIdTest, ThreadsAgree) {
  const std::vector<std::string> texts = {"This is English text.", "Ceci est un texte français.",
                                          "Das ist ein deutscher Text."};
  const std::vector<std::string> expected = {"en", "fr", "de"};
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const size_t k = static_cast<size_t>(i + t) % texts.size();
        if (model_->Detect(texts[k]).language != expected[k]) ++wrong[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int w : wrong) EXPECT_EQ(w, 0);
}

TEST(LanguageIdLoadTest, MissingOrForeignFileIsAnError) {
  auto missing = LanguageId::Load("/nonexistent/lid.176.ftz");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/lid.176.ftz"), std::string::npos);

  ScratchDir dir;
  const std::string foreign = (dir.path() / "lid.176.ftz").string();
  std::ofstream(foreign, std::ios::binary) << std::string(1000, 'x');
  auto bad = LanguageId::Load(foreign);
  ASSERT_FALSE(bad.ok());
}

}  // namespace
}  // namespace strata::extract
