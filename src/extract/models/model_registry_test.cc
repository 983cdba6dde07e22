#include "extract/models/model_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "extract/models/models_test_util.h"

namespace strata::extract {
namespace {

namespace fs = std::filesystem;
using testing_util::ModelsDir;
using testing_util::ScratchDir;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(ModelRegistryTest, DefaultModelIsSharedAndCached) {
  ModelRegistry registry(ModelsDir());
  auto first = registry.Get(kGloveModel);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = registry.Get("glove-100d");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(first->get(), second->get());
  EXPECT_EQ((*first)->dimensions(), 100);
  EXPECT_EQ((*first)->name(), "glove_100d_sif");

  auto a = (*first)->Embed({"The dog runs on the grass."}, EmbedRole::kPassage);
  auto b = (*second)->Embed({"The dog runs on the grass."}, EmbedRole::kPassage);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  auto st = registry.cache()->stats();
  EXPECT_EQ(st.misses, 1u);
  EXPECT_EQ(st.hits, 1u);
}

TEST(ModelRegistryTest, UnknownModelListsAvailable) {
  ModelRegistry registry(ModelsDir());
  for (const char* name : {"no-such-model", "../models", "", ".hidden", "a/b"}) {
    auto r = registry.Get(name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.status().code(), StatusCode::kValidation) << name;
    EXPECT_TRUE(Contains(r.status().message(), "unknown model '" + std::string(name) + "'"))
        << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), "glove-100d")) << r.status().message();
    EXPECT_EQ(r.status().details()["validation_errors"][0]["location"], "body.model");
  }
}

TEST(ModelRegistryTest, MissingFilesSayHowToFetchThem) {
  ScratchDir empty;
  ModelRegistry registry(empty.str());
  auto glove = registry.Get(kGloveModel);
  ASSERT_FALSE(glove.ok());
  EXPECT_EQ(glove.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(glove.status().message(), "scripts/fetch_models.sh")) << glove.status().message();
  auto lid = registry.LanguageIdModel();
  ASSERT_FALSE(lid.ok());
  EXPECT_EQ(lid.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(lid.status().message(), "scripts/fetch_models.sh")) << lid.status().message();
  auto other = registry.Get("e5-small");
  ASSERT_FALSE(other.ok());
  EXPECT_TRUE(Contains(other.status().message(), "available: none")) << other.status().message();
  EXPECT_TRUE(registry.List().empty());
}

TEST(ModelRegistryTest, FolderWithBadBackendIsAServerError) {
  ScratchDir dir;
  fs::create_directories(dir.path() / "mystery");
  std::ofstream(dir.path() / "mystery" / "config.json") << R"({"backend": "carrier-pigeon", "dimensions": 7})";
  fs::create_directories(dir.path() / "broken");
  std::ofstream(dir.path() / "broken" / "config.json") << "{not json";
  fs::create_directories(dir.path() / "not-a-model");  // no config.json: ignored
  ModelRegistry registry(dir.str());

  auto mystery = registry.Get("mystery");
  ASSERT_FALSE(mystery.ok());
  EXPECT_EQ(mystery.status().code(), StatusCode::kInternal);
  EXPECT_TRUE(Contains(mystery.status().message(), "\"backend\"")) << mystery.status().message();
  auto broken = registry.Get("broken");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), StatusCode::kInternal);
  EXPECT_EQ(registry.Get("not-a-model").status().code(), StatusCode::kValidation);

  auto list = registry.List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "broken");
  EXPECT_EQ(list[1]["name"], "mystery");
  EXPECT_EQ(list[1]["backend"], "carrier-pigeon");
  EXPECT_EQ(list[1]["dimensions"], 7);
  EXPECT_EQ(list[1]["loaded"], false);
}

TEST(ModelRegistryTest, FolderModelsGoToTheirBackend) {
  ScratchDir dir;
  fs::create_directories(dir.path() / "remote");
  // Loading an HTTP model sends nothing: the port is never contacted here.
  std::ofstream(dir.path() / "remote" / "config.json")
      << R"({"backend": "http", "url": "http://127.0.0.1:9", "model": "m", "dimensions": 8})";
  fs::create_directories(dir.path() / "local");
  std::ofstream(dir.path() / "local" / "config.json") << R"({"backend": "onnx"})";
  ModelRegistry registry(dir.str());

  auto remote = registry.Get("remote");
  ASSERT_TRUE(remote.ok()) << remote.status().ToString();
  EXPECT_EQ((*remote)->dimensions(), 8);
  EXPECT_NE(dynamic_cast<CachingEmbedder*>(remote->get()), nullptr);
  auto again = registry.Get("remote");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(remote->get(), again->get());

  // The ONNX factory answers for "local" (its folder has no model.onnx).
  auto local = registry.Get("local");
  ASSERT_FALSE(local.ok());
  EXPECT_NE(local.status().code(), StatusCode::kValidation);
  EXPECT_FALSE(Contains(local.status().message(), "must set \"backend\"")) << local.status().message();

  auto list = registry.List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1]["name"], "remote");
  EXPECT_EQ(list[1]["loaded"], true);
  EXPECT_EQ(list[1]["dimensions"], 8);
}

TEST(ModelRegistryTest, ListDescribesTheBuiltInAndDefaultModels) {
  ModelRegistry registry(ModelsDir());
  auto before = registry.List();
  auto it = std::find_if(before.begin(), before.end(), [](const Json& m) { return m["name"] == "glove-100d"; });
  ASSERT_NE(it, before.end());
  EXPECT_EQ((*it)["backend"], "glove");
  EXPECT_EQ((*it)["dimensions"], 100);
  EXPECT_EQ((*it)["default"], false);
  EXPECT_EQ((*it)["loaded"], false);
  // The default text model is USE-lite, when scripts/fetch_tfjs.sh has made it.
  auto use = std::find_if(before.begin(), before.end(), [](const Json& m) { return m["name"] == kDefaultTextModel; });
  if (use != before.end()) {
    EXPECT_EQ((*use)["default"], true);
    EXPECT_EQ((*use)["dimensions"], 512);
  }
  ASSERT_TRUE(registry.Get(kGloveModel).ok());
  for (const Json& m : registry.List()) {
    if (m["name"] == "glove-100d") {
      EXPECT_EQ(m["loaded"], true);
    }
  }
}

TEST(ModelRegistryTest, LanguageIdLoadsOnce) {
  ModelRegistry registry(ModelsDir());
  auto a = registry.LanguageIdModel();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = registry.LanguageIdModel();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ((*a)->Detect("Bonjour, comment allez-vous aujourd'hui ?").language, "fr");
}

// Embedding through the registry (cache keying included); not run by default:
//   strata_extract_models_tests --gtest_also_run_disabled_tests
//     --gtest_filter='*DISABLED_CachedThroughput*'
TEST(ModelRegistryTest, DISABLED_CachedThroughput) {
  ModelRegistry registry(ModelsDir(), size_t{256} << 20);
  auto model = registry.Get(kGloveModel);
  ASSERT_TRUE(model.ok());
  std::vector<std::vector<std::string>> batches(1000);
  for (size_t b = 0; b < batches.size(); ++b) {
    for (int i = 0; i < 100; ++i) {
      batches[b].push_back("Item " + std::to_string(b * 100 + i) + ": a puppy is playing in the park.");
    }
  }
  for (const char* pass : {"misses", "hits"}) {
    const auto start = std::chrono::steady_clock::now();
    for (const auto& batch : batches) ASSERT_TRUE((*model)->Embed(batch, EmbedRole::kPassage).ok());
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("registry glove-100d, batches of 100, all %s: %.0f texts/s on one thread\n", pass,
                100000 / secs);
  }
}

TEST(DefaultModelsDirTest, PrefersTheCheckoutOfTheBinary) {
  ScratchDir root;
  fs::create_directories(root.path() / "build");
  fs::create_directories(root.path() / ".cache" / "models");
  const std::string exe = (root.path() / "build" / "strata").string();
  EXPECT_EQ(DefaultModelsDir(exe), (root.path() / ".cache" / "models").string());

  ScratchDir bare;
  fs::create_directories(bare.path() / "bin");
  EXPECT_EQ(DefaultModelsDir((bare.path() / "bin" / "strata").string()), "./.cache/models");
}

}  // namespace
}  // namespace strata::extract
