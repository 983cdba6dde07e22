// The CLIP slot against a small CLIP-shaped pair of models that
// tests/models/make_clip_onnx.py writes (with python3-onnx), together with the
// embeddings numpy computes for a solid colour and a few texts. The towers are
// built so that colour words land next to images of that colour: the text
// "red" must find the red image.
#include "extract/models/onnx_clip.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <thread>

#include "extract/models/model_registry.h"
#include "extract/models/onnx_runtime.h"

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

// Debian's interpreter first: python3-onnx is installed for it.
std::string Python() { return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; }

double Dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

cv::Mat Solid(int w, int h, const cv::Scalar& bgr) { return cv::Mat(h, w, CV_8UC3, bgr); }

class OnnxClipTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(OnnxRuntimeLibraryPath())) return;
    std::string tmpl = (fs::temp_directory_path() / "strata_clip_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = new fs::path(tmpl);
    const std::string script = std::string(STRATA_SOURCE_DIR) + "/tests/models/make_clip_onnx.py";
    const std::string cmd = Python() + " " + script + " --out " + (*root_ / "tiny-clip").string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "failed: " << cmd << " (needs python3-onnx and python3-numpy)";
  }
  static void TearDownTestSuite() {
    if (root_ != nullptr) fs::remove_all(*root_);
    delete root_;
    root_ = nullptr;
  }
  void SetUp() override {
    if (root_ == nullptr) {
      GTEST_SKIP() << "ONNX Runtime is not at " << OnnxRuntimeLibraryPath() << "; run scripts/fetch_onnxruntime.sh";
    }
  }

  static fs::path Dir() { return *root_ / "tiny-clip"; }
  static Json Config(const Json& patch = Json::object()) {
    Json config = ReadJson(Dir() / "config.json");
    MergePatch(config, patch);
    return config;
  }
  static std::unique_ptr<ImageEmbedder> Images(const Json& patch = Json::object()) {
    auto e = MakeOnnxClipImageEmbedder("tiny-clip", Dir().string(), Config(patch));
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? std::move(e).value() : nullptr;
  }
  static std::unique_ptr<Embedder> Texts(const Json& patch = Json::object()) {
    auto e = MakeOnnxClipTextEmbedder("tiny-clip", Dir().string(), Config(patch));
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? std::move(e).value() : nullptr;
  }
  static Vec EmbedOne(ImageEmbedder& e, const cv::Mat& image) {
    auto r = e.EmbedImages({image});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->at(0) : Vec();
  }
  static Vec EmbedText(Embedder& e, const std::string& text) {
    auto r = e.Embed({text}, EmbedRole::kQuery);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->at(0) : Vec();
  }

  static fs::path* root_;
};

fs::path* OnnxClipTest::root_ = nullptr;

TEST_F(OnnxClipTest, BothTowersGiveUnitVectorsOfTheSameSize) {
  auto images = Images();
  auto texts = Texts();
  ASSERT_TRUE(images && texts);
  EXPECT_EQ(images->dimensions(), 32);
  EXPECT_EQ(texts->dimensions(), 32);
  EXPECT_NE(images->fingerprint(), texts->fingerprint());
  EXPECT_NEAR(std::sqrt(Dot(EmbedOne(*images, Solid(50, 40, {10, 200, 30})),
                            EmbedOne(*images, Solid(50, 40, {10, 200, 30})))),
              1.0, 1e-5);
  const Vec t = EmbedText(*texts, "a photo of a red dress");
  ASSERT_EQ(t.size(), 32u);
  EXPECT_NEAR(std::sqrt(Dot(t, t)), 1.0, 1e-5);
}

TEST_F(OnnxClipTest, AgreesWithNumpyOnPixelsAndTokens) {
  const Json expected = ReadJson(Dir() / "expected.json");
  auto images = Images();
  ASSERT_TRUE(images);
  const auto bgr = expected["solid"]["bgr"].get<std::vector<int>>();
  const Vec want = expected["solid"]["embedding"].get<Vec>();
  // Any size: the solid colour survives resizing and cropping exactly.
  for (const cv::Size size : {cv::Size(64, 64), cv::Size(300, 90), cv::Size(7, 20)}) {
    const Vec got = EmbedOne(*images, Solid(size.width, size.height, cv::Scalar(bgr[0], bgr[1], bgr[2])));
    ASSERT_EQ(got.size(), want.size());
    for (size_t d = 0; d < got.size(); ++d) EXPECT_NEAR(got[d], want[d], 1e-4) << size << " [" << d << "]";
  }
  auto texts = Texts();
  ASSERT_TRUE(texts);
  for (const Json& c : expected["texts"]) {
    const Vec got = EmbedText(*texts, c["text"].get<std::string>());
    const Vec w = c["embedding"].get<Vec>();
    ASSERT_EQ(got.size(), w.size());
    for (size_t d = 0; d < got.size(); ++d) EXPECT_NEAR(got[d], w[d], 1e-4) << c["text"] << " [" << d << "]";
  }
}

TEST_F(OnnxClipTest, TextFindsTheImageOfItsColour) {
  auto images = Images();
  auto texts = Texts();
  ASSERT_TRUE(images && texts);
  // Colour images with some structure (a white stripe), not flat fills.
  auto picture = [](const cv::Scalar& colour) {
    cv::Mat m = Solid(120, 90, colour);
    cv::rectangle(m, {10, 40}, {110, 50}, {255, 255, 255}, cv::FILLED);
    return m;
  };
  auto embedded = images->EmbedImages({picture({40, 40, 220}), picture({40, 200, 40}), picture({210, 50, 40})});
  ASSERT_TRUE(embedded.ok()) << embedded.status().ToString();
  const std::vector<std::pair<std::string, size_t>> queries = {
      {"red", 0}, {"green", 1}, {"blue", 2}, {"a photo of a green dress", 1}, {"the blue sky", 2}};
  for (const auto& [query, want] : queries) {
    const Vec q = EmbedText(*texts, query);
    size_t best = 0;
    for (size_t i = 1; i < embedded->size(); ++i) {
      if (Dot(q, (*embedded)[i]) > Dot(q, (*embedded)[best])) best = i;
    }
    EXPECT_EQ(best, want) << query;
  }
}

TEST_F(OnnxClipTest, ABatchEqualsImagesOneByOne) {
  auto images = Images({{"batch_size", 2}});  // 5 images: runs of 2, 2 and 1
  ASSERT_TRUE(images);
  cv::Mat gray(33, 47, CV_8UC1, cv::Scalar(128)), bgra(20, 10, CV_8UC4, cv::Scalar(200, 10, 10, 255));
  cv::Mat gradient(64, 96, CV_8UC3);
  for (int y = 0; y < gradient.rows; ++y) {
    for (int x = 0; x < gradient.cols; ++x) gradient.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x * 2), uchar(y * 3), 90);
  }
  const std::vector<cv::Mat> all = {Solid(10, 10, {0, 0, 255}), gray, bgra, gradient, Solid(1, 1, {0, 255, 0})};
  auto batch = images->EmbedImages(all);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->size(), all.size());
  auto whole = Images();  // the default batch size: one run
  auto together = whole->EmbedImages(all);
  ASSERT_TRUE(together.ok());
  for (size_t i = 0; i < all.size(); ++i) {
    const Vec one = EmbedOne(*images, all[i]);
    ASSERT_EQ(one.size(), 32u);
    for (size_t d = 0; d < one.size(); ++d) {
      EXPECT_NEAR((*batch)[i][d], one[d], 1e-5) << "image " << i;
      EXPECT_NEAR((*together)[i][d], one[d], 1e-5) << "image " << i;
    }
  }
  auto none = images->EmbedImages({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(OnnxClipTest, CropsTheCentreAfterResizingTheShortestSide) {
  // Blue | red | green thirds: CLIP's centre crop of a 3:1 image is the red
  // third alone; a stretched (uncropped) image would average all three.
  cv::Mat bands = Solid(300, 100, {255, 0, 0});
  bands(cv::Rect(100, 0, 100, 100)).setTo(cv::Scalar(0, 0, 255));
  bands(cv::Rect(200, 0, 100, 100)).setTo(cv::Scalar(0, 255, 0));
  auto images = Images();
  ASSERT_TRUE(images);
  const Vec red = EmbedOne(*images, Solid(10, 10, {0, 0, 255}));
  EXPECT_GT(Dot(EmbedOne(*images, bands), red), 0.999);
  cv::Mat tall;
  cv::rotate(bands, tall, cv::ROTATE_90_CLOCKWISE);
  EXPECT_GT(Dot(EmbedOne(*images, tall), red), 0.999);

  // The pixel values themselves: white is (1 - mean) / std on every channel.
  const std::array<float, 3> mean = {0.5f, 0.25f, 0.0f}, std = {0.5f, 0.25f, 1.0f};
  const Vec px = ClipPixelValues(Solid(5, 9, {255, 255, 255}), 4, mean, std);
  ASSERT_EQ(px.size(), 3u * 4 * 4);
  EXPECT_FLOAT_EQ(px[0], 1.0f);        // R plane
  EXPECT_FLOAT_EQ(px[16], 3.0f);       // G plane
  EXPECT_FLOAT_EQ(px[47], 1.0f);       // B plane, last pixel
  const Vec blue = ClipPixelValues(Solid(4, 4, {255, 0, 0}), 4, {0, 0, 0}, {1, 1, 1});
  EXPECT_FLOAT_EQ(blue[0], 0.0f);   // R
  EXPECT_FLOAT_EQ(blue[32], 1.0f);  // B: BGR input becomes RGB planes
}

TEST_F(OnnxClipTest, RefusesEmptyImagesAsInvalid) {
  auto images = Images();
  ASSERT_TRUE(images);
  auto r = images->EmbedImages({Solid(4, 4, {0, 0, 0}), cv::Mat()});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kValidation) << r.status().ToString();
  EXPECT_NE(r.status().message().find("image 1"), std::string::npos) << r.status().message();
}

TEST_F(OnnxClipTest, MissingOrWrongFilesAreClearErrors) {
  auto image_status = [](const Json& patch) {
    auto e = MakeOnnxClipImageEmbedder("tiny-clip", Dir().string(), Config(patch));
    return e.ok() ? Status::Ok() : e.status();
  };
  auto text_status = [](const Json& patch) {
    auto e = MakeOnnxClipTextEmbedder("tiny-clip", Dir().string(), Config(patch));
    return e.ok() ? Status::Ok() : e.status();
  };
  Status s = image_status({{"image_model", "absent.onnx"}});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("absent.onnx is missing"), std::string::npos) << s.message();
  s = text_status({{"text_model", "absent.onnx"}});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  s = text_status({{"tokenizer", "bpe"}});  // the folder has vocab.txt, not vocab.json
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("vocab.json is missing"), std::string::npos) << s.message();

  s = image_status({{"mean", {0.5, 0.5}}, {"image_size", 0}});
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  EXPECT_NE(s.message().find("mean"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("image_size"), std::string::npos) << s.message();
  s = image_status({{"image_size", 100}});  // the model takes 64x64
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  EXPECT_NE(s.message().find("image_size"), std::string::npos) << s.message();
  s = image_status({{"dimensions", 16}});
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  s = text_status({{"text_output", "pooler_output"}});
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  EXPECT_NE(s.message().find("pooler_output"), std::string::npos) << s.message();
  // The towers swapped: each model's inputs are not what the other takes.
  s = text_status({{"text_model", "image_model.onnx"}});
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  s = image_status({{"image_model", "text_model.onnx"}});
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
}

TEST_F(OnnxClipTest, RegistryServesTheTextTowerAsAnEmbedderAndTheImageTowerOnce) {
  const fs::path models = *root_ / "models";
  fs::create_directories(models);
  fs::copy(Dir(), models / "tiny-clip", fs::copy_options::recursive | fs::copy_options::skip_existing);
  ModelRegistry registry(models.string());

  auto text = registry.Get("tiny-clip");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ((*text)->dimensions(), 32);
  auto image = registry.GetImageEmbedder("tiny-clip");
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  auto again = registry.GetImageEmbedder("tiny-clip");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(image->get(), again->get());  // loaded once, shared

  // Through the registry, as a retriever would: the query lands in image space.
  auto red_image = (*image)->EmbedImages({Solid(30, 30, {30, 30, 230}), Solid(30, 30, {230, 30, 30})});
  ASSERT_TRUE(red_image.ok());
  auto q = (*text)->Embed({"red"}, EmbedRole::kQuery);
  ASSERT_TRUE(q.ok());
  EXPECT_GT(Dot(q->at(0), red_image->at(0)), Dot(q->at(0), red_image->at(1)));

  bool listed = false;
  for (const Json& m : registry.List()) {
    if (m["name"] != "tiny-clip") continue;
    listed = true;
    EXPECT_EQ(m["task"], "clip");
    EXPECT_EQ(m["backend"], "onnx");
    EXPECT_EQ(m["loaded"], true);
    EXPECT_EQ(m["dimensions"], 32);
  }
  EXPECT_TRUE(listed);

  auto unknown = registry.GetImageEmbedder("no-such-model");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("tiny-clip"), std::string::npos) << unknown.status().message();
  auto unknown_text = registry.Get("no-such-model");
  ASSERT_FALSE(unknown_text.ok());
  EXPECT_NE(unknown_text.status().message().find("tiny-clip"), std::string::npos)
      << unknown_text.status().message();
  EXPECT_FALSE(registry.GetCrossEncoder("tiny-clip").ok());

  // A CLIP folder with its image tower gone: the text tower still loads, the
  // image tower is Unavailable naming the file.
  fs::copy(Dir(), models / "broken-clip", fs::copy_options::recursive | fs::copy_options::skip_existing);
  fs::remove(models / "broken-clip" / "image_model.onnx");
  EXPECT_TRUE(registry.Get("broken-clip").ok());
  auto broken = registry.GetImageEmbedder("broken-clip");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), StatusCode::kUnavailable) << broken.status().ToString();
  EXPECT_NE(broken.status().message().find("image_model.onnx"), std::string::npos);
}

TEST_F(OnnxClipTest, ConcurrentCallsAgree) {
  auto images = Images();
  auto texts = Texts();
  ASSERT_TRUE(images && texts);
  const cv::Mat img = Solid(40, 30, {20, 180, 90});
  const Vec want_image = EmbedOne(*images, img), want_text = EmbedText(*texts, "green dress");
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      bool same = true;
      for (int i = 0; i < 5; ++i) {
        auto a = images->EmbedImages({img});
        auto b = texts->Embed({"green dress"}, EmbedRole::kPassage);
        same &= a.ok() && b.ok() && a->at(0) == want_image && b->at(0) == want_text;
      }
      ok[size_t(t)] = same;
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) EXPECT_TRUE(ok[size_t(t)]) << "thread " << t;
}

}  // namespace
}  // namespace strata::extract
