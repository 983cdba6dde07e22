#include "extract/models/inference_cache.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

namespace strata::extract {
namespace {

// Records every text it is asked to embed; the vector encodes the text.
class CountingEmbedder : public Embedder {
 public:
  explicit CountingEmbedder(std::string fp = "counting/v1") : fingerprint_(std::move(fp)) {}
  const std::string& name() const override { return name_; }
  int dimensions() const override { return 3; }
  std::string fingerprint() const override { return fingerprint_; }
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts,
                                                EmbedRole role) override {
    std::lock_guard lock(mu_);
    ++calls_;
    if (fail_) return Status::Unavailable("model down");
    std::vector<std::vector<float>> out;
    for (const auto& t : texts) {
      seen_.push_back(t);
      out.push_back(Vector(t, role));
      if (short_answer_) break;
    }
    return out;
  }
  static std::vector<float> Vector(const std::string& t, EmbedRole role) {
    return {static_cast<float>(t.size()), t.empty() ? 0.0f : static_cast<float>(t[0]),
            role == EmbedRole::kQuery ? 1.0f : 2.0f};
  }

  std::vector<std::string> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  void set_fail(bool f) { fail_ = f; }
  void set_short_answer(bool s) { short_answer_ = s; }

 private:
  std::string name_ = "counting";
  std::string fingerprint_;
  std::mutex mu_;
  std::vector<std::string> seen_;
  int calls_ = 0;
  bool fail_ = false;
  bool short_answer_ = false;
};

using Strings = std::vector<std::string>;

TEST(InferenceCacheTest, RepeatedTextIsEmbeddedOnce) {
  auto inner = std::make_shared<CountingEmbedder>();
  auto cache = std::make_shared<InferenceCache>(1 << 20);
  CachingEmbedder e(inner, cache);
  for (int i = 0; i < 3; ++i) {
    auto r = e.Embed({"hello"}, EmbedRole::kPassage);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)[0], CountingEmbedder::Vector("hello", EmbedRole::kPassage));
  }
  EXPECT_EQ(inner->seen(), Strings{"hello"});
  EXPECT_EQ(inner->calls(), 1);
  auto st = cache->stats();
  EXPECT_EQ(st.hits, 2u);
  EXPECT_EQ(st.misses, 1u);
  EXPECT_EQ(st.entries, 1u);
  EXPECT_GT(st.bytes, 0u);
}

TEST(InferenceCacheTest, BatchSendsOnlyDistinctMisses) {
  auto inner = std::make_shared<CountingEmbedder>();
  CachingEmbedder e(inner, std::make_shared<InferenceCache>(1 << 20));
  auto first = e.Embed({"a", "bb", "a"}, EmbedRole::kPassage);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(inner->seen(), (Strings{"a", "bb"}));
  auto second = e.Embed({"a", "ccc", "bb", "ccc"}, EmbedRole::kPassage);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(inner->seen(), (Strings{"a", "bb", "ccc"}));
  ASSERT_EQ(second->size(), 4u);
  const Strings texts = {"a", "ccc", "bb", "ccc"};
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ((*second)[i], CountingEmbedder::Vector(texts[i], EmbedRole::kPassage)) << i;
  }
  // All hits: the model is not called at all.
  ASSERT_TRUE(e.Embed({"bb", "a"}, EmbedRole::kPassage).ok());
  EXPECT_EQ(inner->calls(), 2);
  ASSERT_TRUE(e.Embed({}, EmbedRole::kPassage).ok());
  EXPECT_EQ(inner->calls(), 2);
}

TEST(InferenceCacheTest, RolesAndModelsAreKeptApart) {
  auto cache = std::make_shared<InferenceCache>(1 << 20);
  auto m1 = std::make_shared<CountingEmbedder>("model-one");
  auto m2 = std::make_shared<CountingEmbedder>("model-two");
  CachingEmbedder e1(m1, cache), e2(m2, cache);
  auto q = e1.Embed({"text"}, EmbedRole::kQuery);
  auto p = e1.Embed({"text"}, EmbedRole::kPassage);
  ASSERT_TRUE(q.ok() && p.ok());
  EXPECT_NE((*q)[0], (*p)[0]);
  EXPECT_EQ(m1->calls(), 2);
  ASSERT_TRUE(e2.Embed({"text"}, EmbedRole::kQuery).ok());
  EXPECT_EQ(m2->calls(), 1);
  EXPECT_NE(InferenceCache::Key("ab", EmbedRole::kQuery, "c"), InferenceCache::Key("a", EmbedRole::kQuery, "bc"));
  EXPECT_EQ(InferenceCache::Key("a", EmbedRole::kQuery, "bc").size(), 64u);
}

TEST(InferenceCacheTest, EvictsLeastRecentlyUsedWithinBudget) {
  const size_t entry = InferenceCache::EntryBytes(64, 3);
  InferenceCache cache(2 * entry, /*shards=*/1);
  const std::string a = InferenceCache::Key("m", EmbedRole::kPassage, "a");
  const std::string b = InferenceCache::Key("m", EmbedRole::kPassage, "b");
  const std::string c = InferenceCache::Key("m", EmbedRole::kPassage, "c");
  cache.Insert(a, {1, 1, 1});
  cache.Insert(b, {2, 2, 2});
  std::vector<float> out;
  ASSERT_TRUE(cache.Lookup(a, &out));  // a is now the most recent
  EXPECT_EQ(out, (std::vector<float>{1, 1, 1}));
  cache.Insert(c, {3, 3, 3});  // over budget: b goes
  EXPECT_FALSE(cache.Lookup(b, &out));
  EXPECT_TRUE(cache.Lookup(a, &out));
  EXPECT_TRUE(cache.Lookup(c, &out));
  auto st = cache.stats();
  EXPECT_EQ(st.entries, 2u);
  EXPECT_EQ(st.evictions, 1u);
  EXPECT_LE(st.bytes, 2 * entry);
  // Replacing an entry keeps one copy.
  cache.Insert(c, {4, 4, 4});
  ASSERT_TRUE(cache.Lookup(c, &out));
  EXPECT_EQ(out, (std::vector<float>{4, 4, 4}));
  EXPECT_EQ(cache.stats().entries, 2u);
}

TEST(InferenceCacheTest, ZeroBudgetCachesNothing) {
  auto inner = std::make_shared<CountingEmbedder>();
  CachingEmbedder e(inner, std::make_shared<InferenceCache>(0));
  ASSERT_TRUE(e.Embed({"x"}, EmbedRole::kPassage).ok());
  ASSERT_TRUE(e.Embed({"x"}, EmbedRole::kPassage).ok());
  EXPECT_EQ(inner->calls(), 2);
  EXPECT_EQ(e.cache()->stats().entries, 0u);
}

TEST(InferenceCacheTest, ErrorsPassThroughAndAreNotCached) {
  auto inner = std::make_shared<CountingEmbedder>();
  CachingEmbedder e(inner, std::make_shared<InferenceCache>(1 << 20));
  inner->set_fail(true);
  auto r = e.Embed({"x"}, EmbedRole::kPassage);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  inner->set_fail(false);
  ASSERT_TRUE(e.Embed({"x"}, EmbedRole::kPassage).ok());
  EXPECT_EQ(inner->calls(), 2);

  inner->set_short_answer(true);  // a model that drops texts is caught
  auto short_answer = e.Embed({"y", "z"}, EmbedRole::kPassage);
  ASSERT_FALSE(short_answer.ok());
  EXPECT_EQ(short_answer.status().code(), StatusCode::kInternal);
}

TEST(InferenceCacheTest, DelegatesDescription) {
  auto inner = std::make_shared<CountingEmbedder>("fp-7");
  CachingEmbedder e(inner, std::make_shared<InferenceCache>(1 << 20));
  EXPECT_EQ(e.name(), "counting");
  EXPECT_EQ(e.dimensions(), 3);
  EXPECT_EQ(e.distance(), "cosine");
  EXPECT_EQ(e.fingerprint(), "fp-7");
}

TEST(InferenceCacheTest, ConcurrentCallersGetRightVectors) {
  auto inner = std::make_shared<CountingEmbedder>();
  CachingEmbedder e(inner, std::make_shared<InferenceCache>(1 << 20));
  const Strings texts = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"};
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string& text = texts[static_cast<size_t>(i * (t + 1)) % texts.size()];
        auto r = e.Embed({text}, EmbedRole::kQuery);
        if (!r.ok() || (*r)[0] != CountingEmbedder::Vector(text, EmbedRole::kQuery)) ++wrong[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int w : wrong) EXPECT_EQ(w, 0);
  // Threads may race on a first miss, but never more than once per thread per text.
  EXPECT_LE(inner->seen().size(), texts.size() * 4);
  auto st = e.cache()->stats();
  EXPECT_EQ(st.hits + st.misses, 2000u);
}

}  // namespace
}  // namespace strata::extract
