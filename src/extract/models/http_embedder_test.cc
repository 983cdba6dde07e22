// The HTTP backend against an in-process provider on loopback that speaks
// POST /v1/embeddings and answers deterministic vectors, in reverse order (so
// the client must sort by index), or misbehaves on request by model name.
#include "extract/models/http_embedder.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <mutex>
#include <thread>

namespace strata::extract {
namespace {

constexpr int kDims = 4;

std::vector<float> VectorOf(const std::string& text, int dims = kDims) {
  std::vector<float> v;
  for (int j = 0; j < dims; ++j) {
    v.push_back(static_cast<float>(text.size()) + 0.25f * j +
                (text.empty() ? 0.0f : static_cast<unsigned char>(text[0]) / 128.0f));
  }
  return v;
}

class FakeProvider {
 public:
  FakeProvider() {
    server_.Post("/v1/embeddings",
                 [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the loop runs would leave it running forever.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeProvider() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

  std::mutex mu;
  std::vector<size_t> batch_sizes;
  std::vector<std::string> inputs;
  std::string authorization;

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    Json body = Json::parse(req.body);
    const std::string model = body["model"];
    std::vector<std::string> texts = body["input"];
    {
      std::lock_guard<std::mutex> lock(mu);
      batch_sizes.push_back(texts.size());
      inputs.insert(inputs.end(), texts.begin(), texts.end());
      authorization = req.get_header_value("Authorization");
    }
    if (model == "fail500") {
      res.status = 500;
      res.set_content("upstream exploded: out of memory", "text/plain");
      return;
    }
    if (model == "needs-key" && req.get_header_value("Authorization") != "Bearer sekrit") {
      res.status = 401;
      res.set_content(R"({"error": {"message": "invalid api key"}})", "application/json");
      return;
    }
    if (model == "slow") std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    Json data = Json::array();
    size_t count = model == "wrongcount" ? texts.size() - 1 : texts.size();
    for (size_t i = count; i-- > 0;) {  // reversed: the client must sort by index
      data.push_back({{"object", "embedding"},
                      {"index", i},
                      {"embedding", VectorOf(texts[i], model == "wrongdim" ? 3 : kDims)}});
    }
    Json answer = {{"object", "list"}, {"data", data}, {"model", model}};
    res.set_content(answer.dump(), "application/json");
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

class HttpEmbedderTest : public testing::Test {
 protected:
  std::unique_ptr<Embedder> Make(Json patch = Json::object()) {
    Json config = {
        {"backend", "http"}, {"url", provider_.url()}, {"model", "tiny"}, {"dimensions", kDims}};
    MergePatch(config, patch);
    auto e = MakeHttpEmbedder("remote", config);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? std::move(e).value() : nullptr;
  }
  Status EmbedError(Json patch, std::vector<std::string> texts = {"a", "bb"}) {
    auto e = Make(std::move(patch));
    if (!e) return Status::Internal("no embedder");
    auto r = e->Embed(texts, EmbedRole::kPassage);
    EXPECT_FALSE(r.ok());
    return r.status();
  }

  FakeProvider provider_;
};

TEST_F(HttpEmbedderTest, BatchesAndKeepsInputOrder) {
  auto e = Make({{"max_batch", 3}});
  ASSERT_TRUE(e);
  std::vector<std::string> texts = {"a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g"};
  auto vectors = e->Embed(texts, EmbedRole::kPassage);
  ASSERT_TRUE(vectors.ok()) << vectors.status().ToString();
  ASSERT_EQ(vectors->size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ((*vectors)[i], VectorOf(texts[i])) << i;
  EXPECT_EQ(provider_.batch_sizes, (std::vector<size_t>{3, 3, 1}));
  EXPECT_EQ(e->dimensions(), kDims);
  EXPECT_TRUE(e->Embed({}, EmbedRole::kQuery).value().empty());
  EXPECT_EQ(provider_.batch_sizes.size(), 3u);  // no request for no texts
}

TEST_F(HttpEmbedderTest, PrefixesDependOnTheRole) {
  auto e = Make({{"query_prefix", "query: "}, {"passage_prefix", "passage: "}});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->Embed({"hello"}, EmbedRole::kQuery).value()[0], VectorOf("query: hello"));
  EXPECT_EQ(e->Embed({"hello"}, EmbedRole::kPassage).value()[0], VectorOf("passage: hello"));
  EXPECT_EQ(provider_.inputs, (std::vector<std::string>{"query: hello", "passage: hello"}));
  EXPECT_NE(e->fingerprint(), Make()->fingerprint());
}

TEST_F(HttpEmbedderTest, SendsTheKeyFromTheEnvironment) {
  setenv("STRATA_TEST_EMBED_KEY", "sekrit", 1);
  auto e = Make({{"model", "needs-key"}, {"api_key_env", "STRATA_TEST_EMBED_KEY"}});
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->Embed({"x"}, EmbedRole::kPassage).ok());
  EXPECT_EQ(provider_.authorization, "Bearer sekrit");
  EXPECT_EQ(e->fingerprint().find("sekrit"), std::string::npos);

  Status no_key = EmbedError({{"model", "needs-key"}});
  EXPECT_EQ(no_key.code(), StatusCode::kInternal);
  EXPECT_NE(no_key.message().find("HTTP 401: {\"error\": {\"message\": \"invalid api key\"}}"),
            std::string::npos)
      << no_key.message();
  EXPECT_EQ(provider_.authorization, "");

  unsetenv("STRATA_TEST_EMBED_KEY");
  auto unset = MakeHttpEmbedder("remote", {{"url", provider_.url()},
                                           {"model", "m"},
                                           {"dimensions", 4},
                                           {"api_key_env", "STRATA_TEST_EMBED_KEY"}});
  ASSERT_FALSE(unset.ok());
  EXPECT_NE(unset.status().message().find("api_key_env names the environment variable "
                                          "STRATA_TEST_EMBED_KEY, which is not set"),
            std::string::npos)
      << unset.status().message();
}

TEST_F(HttpEmbedderTest, ServerErrorIsUnavailableWithStatusAndBody) {
  Status s = EmbedError({{"model", "fail500"}});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("embedding server " + provider_.host() +
                             " answered HTTP 500: upstream exploded: out of memory"),
            std::string::npos)
      << s.message();
}

TEST_F(HttpEmbedderTest, WrongDimensionOrCountIsAnError) {
  Status dims = EmbedError({{"model", "wrongdim"}});
  EXPECT_EQ(dims.code(), StatusCode::kInternal);
  EXPECT_NE(dims.message().find("returned 3-dimensional vectors, but the model's config says "
                                "dimensions 4"),
            std::string::npos)
      << dims.message();
  Status count = EmbedError({{"model", "wrongcount"}});
  EXPECT_NE(count.message().find("returned 1 embeddings for 2 texts"), std::string::npos)
      << count.message();
}

TEST_F(HttpEmbedderTest, UnreachableOrSlowServerIsUnavailable) {
  // Nothing listens on port 1 of loopback: the connection is refused at once.
  Status refused = EmbedError({{"url", "http://127.0.0.1:1"}});
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
  EXPECT_NE(refused.message().find("embedding server 127.0.0.1:1 did not answer"),
            std::string::npos)
      << refused.message();
  Status slow = EmbedError({{"model", "slow"}, {"timeout_seconds", 1}});
  EXPECT_EQ(slow.code(), StatusCode::kUnavailable);
  EXPECT_NE(slow.message().find("did not answer"), std::string::npos) << slow.message();
}

TEST_F(HttpEmbedderTest, BaseUrlMayEndInV1) {
  auto e = Make({{"url", provider_.url() + "/v1/"}});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->Embed({"hi"}, EmbedRole::kPassage).value()[0], VectorOf("hi"));
}

TEST_F(HttpEmbedderTest, ConfigErrorsNameTheField) {
  auto missing = MakeHttpEmbedder("remote", {{"backend", "http"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(
      missing.status().message(),
      "model remote: config.json: url is required; model is required; dimensions is required");
  auto bad = MakeHttpEmbedder(
      "remote", {{"url", "ftp://example"}, {"model", "m"}, {"dimensions", 0}, {"max_batch", "x"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("url must be an http or https URL"), std::string::npos);
  EXPECT_NE(bad.status().message().find("dimensions must be an integer"), std::string::npos);
  EXPECT_NE(bad.status().message().find("max_batch must be an integer"), std::string::npos);
}

TEST_F(HttpEmbedderTest, ConcurrentCalls) {
  auto e = Make({{"max_batch", 2}});
  ASSERT_TRUE(e);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string text(static_cast<size_t>(t + i + 1), 'q');
        auto r = e->Embed({text, "z"}, EmbedRole::kPassage);
        if (!r.ok() || (*r)[0] != VectorOf(text) || (*r)[1] != VectorOf("z")) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace strata::extract
