// The ONNX cross-encoder against tiny models that
// tests/models/make_cross_encoder_onnx.py writes (with python3-onnx): a pair's
// score is the sum of per-token weights over the document segment, so the
// expected scores below are sums of the script's WEIGHTS:
//   [CLS] 128, [SEP] 0.5, [PAD] 64, solar 4, panel 2, ##s 1, sun 8, power 16,
//   wind 0.25, any other token 0.
// Only the closing [SEP] is in the document segment, so every document scores
// 0.5 more than its words.
#include "extract/models/onnx_cross_encoder.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "extract/models/model_registry.h"
#include "extract/models/models_test_util.h"
#include "extract/models/onnx_runtime.h"
#include "extract/models/wordpiece.h"

namespace strata::extract {
namespace {

namespace fs = std::filesystem;
using testing_util::ScratchDir;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

Json ReadJson(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return Json::parse(s.str());
}

void WriteJson(const fs::path& path, const Json& j) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << j.dump();
}

// As onnx_embedder_test.cc: Debian's interpreter has python3-onnx.
std::string Python() { return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; }

// ---- pairs, as the tokenizer encodes them (no ONNX Runtime needed) -----------

WordPieceTokenizer TinyTokenizer() {
  std::unordered_map<std::string, int64_t> vocab;
  int64_t id = 0;
  for (const char* t : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b", "c", "d", "e", "f"}) vocab[t] = id++;
  auto t = WordPieceTokenizer::FromVocab(std::move(vocab), {});
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

constexpr int64_t CLS = 2, SEP = 3, A = 4, B = 5, C = 6, D = 7, E = 8, F = 9;

TEST(OnnxCrossEncoderPairs, EncodesQueryThenDocumentWithSegments) {
  const WordPieceTokenizer t = TinyTokenizer();
  auto p = t.EncodePair("a b", "c d e", 512);
  EXPECT_EQ(p.ids, (std::vector<int64_t>{CLS, A, B, SEP, C, D, E, SEP}));
  EXPECT_EQ(p.type_ids, (std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 1}));

  auto empty = t.EncodePair("", "", 512);
  EXPECT_EQ(empty.ids, (std::vector<int64_t>{CLS, SEP, SEP}));
  EXPECT_EQ(empty.type_ids, (std::vector<int64_t>{0, 0, 1}));
}

TEST(OnnxCrossEncoderPairs, TruncatesTheDocumentFirstThenTheQuery) {
  const WordPieceTokenizer t = TinyTokenizer();
  // 2 + 4 pieces and 3 specials: 9 tokens; 7 allowed cuts the document to 2.
  auto p = t.EncodePair("a b", "c d e f", 7);
  EXPECT_EQ(p.ids, (std::vector<int64_t>{CLS, A, B, SEP, C, D, SEP}));
  EXPECT_EQ(p.type_ids, (std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1}));
  // The query alone fills the budget: no document piece is left, then the
  // query is cut too.
  auto q = t.EncodePair("a b c d", "e f", 5);
  EXPECT_EQ(q.ids, (std::vector<int64_t>{CLS, A, B, SEP, SEP}));
  EXPECT_EQ(q.type_ids, (std::vector<int64_t>{0, 0, 0, 0, 1}));
  // Exactly at the limit nothing is cut; below 3 there is no limit.
  EXPECT_EQ(t.EncodePair("a", "b", 5).ids.size(), 5u);
  EXPECT_EQ(t.EncodePair("a b c", "d e f", 0).ids.size(), 9u);
}

// ---- the model -------------------------------------------------------------

class OnnxCrossEncoderTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(OnnxRuntimeLibraryPath())) return;
    std::string tmpl = (fs::temp_directory_path() / "strata_xenc_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = new fs::path(tmpl);
    const std::string src = STRATA_SOURCE_DIR;
    const std::string script = src + "/tests/models/make_cross_encoder_onnx.py";
    const std::vector<std::pair<std::string, std::string>> variants = {
        {"b1", "--output b1"},
        {"b", "--output b"},
        {"b2", "--output b2"},
        {"b3", "--output b3"},
        {"tokens", "--output tokens"},
        {"named", "--output b1 --output-name relevance"},
        {"lean", "--no-token-type-ids"},
    };
    for (const auto& [dir, flags] : variants) {
      std::string cmd = Python() + " " + script + " --out " + (*root_ / dir).string() + " " + flags;
      ASSERT_EQ(std::system(cmd.c_str()), 0)
          << "failed: " << cmd << " (needs python3-onnx and python3-numpy)";
    }
    // A sentence encoder, for the shapes a cross-encoder refuses.
    std::string cmd = Python() + " " + src + "/tests/models/make_bert_onnx.py --out " +
                      (*root_ / "bert").string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "failed: " << cmd;
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

  static fs::path Dir(const std::string& variant) { return *root_ / variant; }

  // The variant's config.json with `patch` merged in.
  static Result<std::unique_ptr<CrossEncoder>> Load(const std::string& variant,
                                                    const Json& patch = Json::object()) {
    Json config = ReadJson(Dir(variant) / "config.json");
    MergePatch(config, patch);
    return MakeOnnxCrossEncoder("tiny-" + variant, Dir(variant).string(), config);
  }
  static std::unique_ptr<CrossEncoder> Make(const std::string& variant = "b1",
                                            const Json& patch = Json::object()) {
    auto e = Load(variant, patch);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? std::move(e).value() : nullptr;
  }
  static std::vector<float> Scores(const CrossEncoder& e, const std::string& query,
                                   const std::vector<std::string>& docs) {
    auto s = e.Score(query, docs);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : std::vector<float>(docs.size(), -1.0f);
  }

  static fs::path* root_;
};

fs::path* OnnxCrossEncoderTest::root_ = nullptr;

const std::vector<std::string> kDocs = {
    "Solar panels on the roof.",  // solar panel ##s + [SEP]: 7.5
    "the cat and the dog",        // 0.5
    "Sun power!",                 // 24.5
    "",                           // 0.5
    "wind turbines",              // wind turbine ##s: 1.75
};
const std::vector<float> kScores = {7.5f, 0.5f, 24.5f, 0.5f, 1.75f};

TEST_F(OnnxCrossEncoderTest, ScoresFollowTheDocumentsTokens) {
  auto e = Make();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->name(), "tiny-b1");
  EXPECT_EQ(Scores(*e, "solar panels", kDocs), kScores);
  EXPECT_TRUE(Scores(*e, "solar panels", {}).empty());
}

TEST_F(OnnxCrossEncoderTest, QueryTokensDoNotCount) {
  // The query is segment 0 (and so are [CLS] and its [SEP]): whatever it holds,
  // the scores are the documents'.
  auto e = Make();
  ASSERT_TRUE(e);
  for (const char* query : {"", "sun sun sun power", "What is a solar panel?"}) {
    EXPECT_EQ(Scores(*e, query, kDocs), kScores) << query;
  }
}

TEST_F(OnnxCrossEncoderTest, ModelWithoutTokenTypeIdsIsNotFedThem) {
  // This model declares no token_type_ids (feeding them would fail the run)
  // and sums over every real token: [CLS] 128 + query + [SEP] + document +
  // [SEP]. Padding (64 each) must be masked out in a batch of unequal lengths.
  auto e = Make("lean");
  ASSERT_TRUE(e);
  EXPECT_EQ(Scores(*e, "solar", {"sun", "Solar panels on the roof."}),
            (std::vector<float>{128 + 4 + 0.5f + 8 + 0.5f, 128 + 4 + 0.5f + 7 + 0.5f}));
}

TEST_F(OnnxCrossEncoderTest, AcceptedOutputShapesGiveTheSameScores) {
  for (const char* variant : {"b", "b2", "named"}) {  // [batch], [batch, 2] (last column), output_name
    auto e = Make(variant);
    ASSERT_TRUE(e) << variant;
    EXPECT_EQ(Scores(*e, "solar panels", kDocs), kScores) << variant;
  }
}

TEST_F(OnnxCrossEncoderTest, OtherOutputShapesAreClearErrors) {
  // Three columns, known at load.
  auto three = Load("b3");
  ASSERT_FALSE(three.ok());
  EXPECT_EQ(three.status().code(), StatusCode::kInternal);
  EXPECT_TRUE(Contains(three.status().message(),
                       "model tiny-b3: model.onnx output logits has shape [?, 3]; a cross-encoder's "
                       "output must be [batch], [batch, 1] or [batch, 2]"))
      << three.status().message();

  // [batch, seq]: loads (the size is not known yet), then fails when it runs:
  // [CLS] q [SEP] sun [SEP] is 5 tokens.
  auto tokens = Make("tokens");
  ASSERT_TRUE(tokens);
  auto run = tokens->Score("q", {"sun", "power"});
  ASSERT_FALSE(run.ok());
  EXPECT_TRUE(Contains(run.status().message(), "model tiny-tokens: output logits has shape [2, 5]"))
      << run.status().message();
  EXPECT_TRUE(Contains(run.status().message(), "[batch], [batch, 1] or [batch, 2]"));

  // A sentence encoder's outputs, named by their declared shapes at load.
  const Json as_cross = {{"task", "cross_encoder"}};
  auto hidden = Load("bert", as_cross);  // no logits: the first output, last_hidden_state
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.status().code(), StatusCode::kInternal);
  EXPECT_TRUE(Contains(hidden.status().message(), "output last_hidden_state has shape [?, ?, 8]"))
      << hidden.status().message();
  auto pooled = Load("bert", {{"task", "cross_encoder"}, {"output_name", "sentence_embedding"}});
  ASSERT_FALSE(pooled.ok());
  EXPECT_TRUE(Contains(pooled.status().message(), "output sentence_embedding has shape [?, 8]"))
      << pooled.status().message();
  auto missing = Load("b1", {{"output_name", "scores"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(Contains(missing.status().message(), "no output scores")) << missing.status().message();
}

TEST_F(OnnxCrossEncoderTest, TruncatesTheDocumentToMaxLength) {
  // "solar panels" is 3 pieces: with [CLS] and two [SEP], 8 tokens leave 2
  // for the document, so "sun power solar" loses "solar".
  auto e = Make("b1", {{"max_length", 8}});
  ASSERT_TRUE(e);
  EXPECT_EQ(Scores(*e, "solar panels", {"sun power solar", "sun"}),
            (std::vector<float>{24.5f, 8.5f}));
  // A query that fills max_length leaves the document nothing but its [SEP].
  auto tight = Make("b1", {{"max_length", 5}});
  ASSERT_TRUE(tight);
  EXPECT_EQ(Scores(*tight, "solar panels sun", {"sun power"}), (std::vector<float>{0.5f}));
  // Without a limit in the way, all of it counts.
  EXPECT_EQ(Scores(*Make(), "solar panels", {"sun power solar"}), (std::vector<float>{28.5f}));
}

TEST_F(OnnxCrossEncoderTest, BatchesWithPaddingGiveTheSingleScores) {
  auto e = Make("b1", {{"batch_size", 2}});
  ASSERT_TRUE(e);
  std::vector<std::string> docs;
  for (int i = 0; i < 3; ++i) docs.insert(docs.end(), kDocs.begin(), kDocs.end());
  const std::vector<float> batched = Scores(*e, "solar", docs);
  ASSERT_EQ(batched.size(), docs.size());
  for (size_t i = 0; i < docs.size(); ++i) {
    EXPECT_EQ(batched[i], kScores[i % kDocs.size()]) << docs[i];
    EXPECT_EQ(batched[i], Scores(*e, "solar", {docs[i]})[0]) << docs[i];
  }
}

TEST_F(OnnxCrossEncoderTest, ConcurrentCallsShareOneSession) {
  auto e = Make();
  ASSERT_TRUE(e);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto got = e->Score("solar", kDocs);
        if (!got.ok() || *got != kScores) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST_F(OnnxCrossEncoderTest, BadFoldersAreClearErrors) {
  const Json config = ReadJson(Dir("b1") / "config.json");
  ScratchDir scratch;

  auto no_model = MakeOnnxCrossEncoder("ghost", (scratch.path() / "nowhere").string(), config);
  ASSERT_FALSE(no_model.ok());
  EXPECT_EQ(no_model.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(no_model.status().message(), "model ghost:")) << no_model.status().message();
  EXPECT_TRUE(Contains(no_model.status().message(), "model.onnx is missing"));

  fs::create_directories(scratch.path() / "untokenized");
  fs::copy_file(Dir("b1") / "model.onnx", scratch.path() / "untokenized" / "model.onnx");
  auto no_vocab =
      MakeOnnxCrossEncoder("untokenized", (scratch.path() / "untokenized").string(), config);
  ASSERT_FALSE(no_vocab.ok());
  EXPECT_EQ(no_vocab.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(no_vocab.status().message(), "neither tokenizer.json nor vocab.txt"))
      << no_vocab.status().message();

  auto not_cross = Load("b1", {{"task", nullptr}});
  ASSERT_FALSE(not_cross.ok());
  EXPECT_EQ(not_cross.status().code(), StatusCode::kInternal);
  EXPECT_TRUE(Contains(not_cross.status().message(),
                       "model tiny-b1: config.json: task must be \"cross_encoder\""))
      << not_cross.status().message();

  auto bad_fields = Load("b1", {{"max_length", "many"}, {"batch_size", 0}, {"backend", "http"}});
  ASSERT_FALSE(bad_fields.ok());
  for (const char* field : {"max_length", "batch_size", "backend"}) {
    EXPECT_TRUE(Contains(bad_fields.status().message(), field)) << bad_fields.status().message();
  }
}

// ---- through the model registry --------------------------------------------

// A models directory of "reranker" (a cross-encoder) and "encoder" (a
// sentence encoder).
TEST_F(OnnxCrossEncoderTest, RegistryLoadsCrossEncodersByNameOnce) {
  ScratchDir dir;
  fs::copy(Dir("b1"), dir.path() / "reranker", fs::copy_options::recursive);
  fs::copy(Dir("bert"), dir.path() / "encoder", fs::copy_options::recursive);
  ModelRegistry registry(dir.str());

  auto a = registry.GetCrossEncoder("reranker");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = registry.GetCrossEncoder("reranker");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ((*a)->name(), "reranker");
  EXPECT_EQ(Scores(**a, "solar", kDocs), kScores);

  // The embedder side keeps to embedders.
  auto embed = registry.Get("reranker");
  ASSERT_FALSE(embed.ok());
  EXPECT_EQ(embed.status().code(), StatusCode::kValidation);
  EXPECT_TRUE(Contains(embed.status().message(), "'reranker' is a cross-encoder"))
      << embed.status().message();
  auto unknown = registry.Get("nope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(Contains(unknown.status().message(), "available: encoder"))
      << unknown.status().message();
  EXPECT_FALSE(Contains(unknown.status().message(), "reranker")) << unknown.status().message();

  auto list = registry.List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "encoder");
  EXPECT_EQ(list[0]["task"], "embedding");
  EXPECT_EQ(list[1]["name"], "reranker");
  EXPECT_EQ(list[1]["task"], "cross_encoder");
  EXPECT_EQ(list[1]["loaded"], true);
  EXPECT_TRUE(list[1]["dimensions"].is_null());
}

TEST_F(OnnxCrossEncoderTest, RegistryReportsBrokenCrossEncoderFolders) {
  ScratchDir dir;
  WriteJson(dir.path() / "hollow" / "config.json", {{"backend", "onnx"}, {"task", "cross_encoder"}});
  WriteJson(dir.path() / "remote" / "config.json",
            {{"backend", "http"}, {"task", "cross_encoder"}, {"url", "http://127.0.0.1:9"}});
  ModelRegistry registry(dir.str());
  auto hollow = registry.GetCrossEncoder("hollow");
  ASSERT_FALSE(hollow.ok());
  EXPECT_EQ(hollow.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(Contains(hollow.status().message(), "model hollow:")) << hollow.status().message();
  auto remote = registry.GetCrossEncoder("remote");
  ASSERT_FALSE(remote.ok());
  EXPECT_EQ(remote.status().code(), StatusCode::kInternal);
  EXPECT_TRUE(Contains(remote.status().message(), "must set \"backend\" to \"onnx\""))
      << remote.status().message();
  // A failed load is retried: the files arrive, the model loads.
  fs::copy(Dir("b1"), dir.path() / "hollow", fs::copy_options::recursive |
                                                 fs::copy_options::overwrite_existing);
  auto fixed = registry.GetCrossEncoder("hollow");
  ASSERT_TRUE(fixed.ok()) << fixed.status().ToString();
}

// Names that are not cross-encoders need no ONNX Runtime to be refused.
TEST(OnnxCrossEncoderRegistry, NamesThatAreNotCrossEncodersAreNotFound) {
  ScratchDir dir;
  WriteJson(dir.path() / "encoder" / "config.json", {{"backend", "onnx"}});
  WriteJson(dir.path() / "reranker" / "config.json", {{"backend", "onnx"}, {"task", "cross_encoder"}});
  ModelRegistry registry(dir.str());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no-such-model", "unknown cross-encoder 'no-such-model'"},
      {"../reranker", "unknown cross-encoder '../reranker'"},
      {"encoder", "model 'encoder' is not a cross-encoder"},
      {"glove-100d", "model 'glove-100d' is the built-in embedding model, not a cross-encoder"},
  };
  for (const auto& [name, message] : cases) {
    auto r = registry.GetCrossEncoder(name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << name;
    EXPECT_TRUE(Contains(r.status().message(), message)) << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), "cross-encoders available: reranker"))
        << r.status().message();
  }

  ScratchDir empty;
  ModelRegistry none(empty.str());
  auto r = none.GetCrossEncoder("reranker");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "cross-encoders available: none (a cross-encoder is a "
                                             "folder of the models directory whose config.json has "
                                             "\"task\": \"cross_encoder\")"))
      << r.status().message();
}

}  // namespace
}  // namespace strata::extract
