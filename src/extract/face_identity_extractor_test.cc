// face_identity_extractor@v1 on real photos of faces that Debian's opencv-doc
// ships (two different men; four people in a 2 x 2 grid), copies of one made
// at test time (mirrored, rescaled, recompressed; blurred; grayscale), a
// synthetic landscape, a 1 x 1 image and a text file named .jpg.
#include "extract/face_identity_extractor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "extract/models/model_registry.h"
#include "extract/models/models_test_util.h"
#include "extract/models/onnx_runtime.h"
#include "extract/parameters.h"
#include "extract/registry.h"

namespace strata::extract {
namespace {

namespace fs = std::filesystem;

constexpr const char* kManA = "/usr/share/doc/opencv-doc/opencv4/html/227943776_1.jpg";
constexpr const char* kManB = "/usr/share/doc/opencv-doc/opencv4/html/230501201_1.jpg";
constexpr const char* kFourPeople = "/usr/share/doc/opencv-doc/opencv4/html/facereg.jpg";
constexpr const char* kIdentity = "face_identity_extractor_v1_identity";

// Why the face models cannot run here, or "".
std::string ModelsMissing(const std::string& dir) {
  std::error_code ec;
  for (const char* m : {"blazeface", "mobilefacenet"}) {
    if (!fs::exists(fs::path(dir) / m / "model.onnx", ec)) {
      return std::string(m) + "/model.onnx is missing from " + dir + "; run scripts/fetch_tfjs.sh";
    }
  }
  if (!fs::exists(OnnxRuntimeLibraryPath(), ec)) {
    return "ONNX Runtime is not at " + OnnxRuntimeLibraryPath() + "; run scripts/fetch_onnxruntime.sh";
  }
  return "";
}

class FaceIdentityExtractorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing_util::ScratchDir();
    const cv::Mat a = cv::imread(kManA, cv::IMREAD_COLOR), b = cv::imread(kManB, cv::IMREAD_COLOR);
    const cv::Mat four = cv::imread(kFourPeople, cv::IMREAD_COLOR);
    photos_ok_ = !a.empty() && !b.empty() && !four.empty();
    if (!photos_ok_) return;
    const fs::path d = dir_->path();
    cv::imwrite((d / "a.jpg").string(), a, {cv::IMWRITE_JPEG_QUALITY, 95});
    cv::imwrite((d / "b.jpg").string(), b, {cv::IMWRITE_JPEG_QUALITY, 95});
    cv::imwrite((d / "four.png").string(), four);
    // The same man mirrored, at 60 %, recompressed harder.
    cv::Mat copy;
    cv::flip(a, copy, 1);
    cv::resize(copy, copy, {}, 0.6, 0.6, cv::INTER_AREA);
    cv::imwrite((d / "a_copy.jpg").string(), copy, {cv::IMWRITE_JPEG_QUALITY, 70});
    cv::Mat blurred, gray;
    cv::GaussianBlur(a, blurred, {0, 0}, 4);
    cv::imwrite((d / "a_blurred.jpg").string(), blurred);
    cv::cvtColor(a, gray, cv::COLOR_BGR2GRAY);
    cv::imwrite((d / "a_gray.jpg").string(), gray);
    cv::Mat land(300, 500, CV_8UC3);
    for (int y = 0; y < land.rows; ++y) land.row(y).setTo(cv::Scalar(230 - y / 3, 180 - y / 4, 110 + y / 5));
    cv::fillPoly(land, std::vector<std::vector<cv::Point>>{{{0, 200}, {150, 90}, {300, 180}, {500, 100}, {500, 300},
                                                             {0, 300}}},
                 cv::Scalar(70, 120, 60));
    cv::circle(land, {420, 60}, 30, cv::Scalar(120, 230, 255), cv::FILLED);
    cv::imwrite((d / "landscape.jpg").string(), land);
    cv::imwrite((d / "one.png").string(), cv::Mat(1, 1, CV_8UC3, cv::Scalar(255, 128, 0)));
    std::ofstream(d / "fake.jpg") << "not an image at all\n";
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (!photos_ok_) GTEST_SKIP() << "opencv-doc's photos are missing: install opencv-doc (scripts/deps.sh)";
    const std::string models_dir = testing_util::ModelsDir();
    if (const std::string why = ModelsMissing(models_dir); !why.empty()) GTEST_SKIP() << why;
    models_ = std::make_unique<ModelRegistry>(models_dir);
    extractor_ = MakeFaceIdentityExtractor(*models_, limits_);
  }

  Result<std::unique_ptr<ExtractorRun>> Start(const Json& given) {
    ASSIGN_OR_RETURN(Json params, ResolveParameters(extractor_->info().parameter_schema, given, "parameters"));
    RETURN_IF_ERROR(extractor_->CheckParameters(params, "parameters"));
    return extractor_->Start(params);
  }

  static Result<std::vector<ExtractedDocument>> RunOn(ExtractorRun& run, const std::string& file) {
    ExtractItem item;
    item.source_id = file;
    InputValue v;
    v.name = "image";
    v.blob_path = (dir_->path() / file).string();
    v.size_bytes = static_cast<int64_t>(fs::file_size(v.blob_path));
    item.inputs.push_back(v);
    std::vector<ExtractedDocument> docs;
    RETURN_IF_ERROR(run.Extract(item, [&](ExtractedDocument&& d) {
      docs.push_back(std::move(d));
      return Status::Ok();
    }));
    return docs;
  }

  // The documents of `file` with default parameters.
  std::vector<ExtractedDocument> Faces(const std::string& file) {
    if (!run_) {
      auto r = Start(Json::object());
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) return {};
      run_ = std::move(*r);
    }
    auto docs = RunOn(*run_, file);
    EXPECT_TRUE(docs.ok()) << docs.status().ToString();
    return docs.ok() ? std::move(*docs) : std::vector<ExtractedDocument>{};
  }

  static const std::vector<float>* Vector(const ExtractedDocument& d) {
    for (const auto& [n, v] : d.vectors) {
      if (n == kIdentity) return &v;
    }
    return nullptr;
  }

  static inline testing_util::ScratchDir* dir_ = nullptr;
  static inline bool photos_ok_ = false;
  media::MediaLimits limits_;
  std::unique_ptr<ModelRegistry> models_;
  std::unique_ptr<Extractor> extractor_;
  std::unique_ptr<ExtractorRun> run_;
};

TEST_F(FaceIdentityExtractorTest, IsRegisteredWithItsSchemaAndVector) {
  ExtractorRegistry registry(*models_);
  const Extractor* e = registry.Find("face_identity_extractor", "v1");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->info().input_types, std::vector<std::string>{"image"});
  EXPECT_EQ(e->info().position_fields, std::vector<std::string>{"face_index"});
  EXPECT_TRUE(e->info().emits_blobs);
  EXPECT_THAT(e->info().description, testing::HasSubstr("video"));
  Json d = registry.Describe(*e);
  const Json& indexes = d["required_vector_indexes"];
  ASSERT_EQ(indexes.size(), 1u) << d.dump();
  EXPECT_EQ(indexes[0]["feature_uri"], "mixpeek://face_identity_extractor@v1/identity");
  EXPECT_EQ(indexes[0]["name"], kIdentity);
  EXPECT_EQ(indexes[0]["index"]["dimensions"], 1024);
  EXPECT_EQ(indexes[0]["index"]["distance"], "cosine");
  auto defaults = ResolveParameters(e->info().parameter_schema, Json(), "parameters");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ((*defaults)["detection_model"], "blazeface");
  EXPECT_EQ((*defaults)["min_face_size"], 20);
  EXPECT_EQ((*defaults)["detection_threshold"], 0.5);
  EXPECT_EQ((*defaults)["output_mode"], "per_face");
  EXPECT_EQ((*defaults)["include_face_crops"], false);
  Json schema = e->OutputSchema(*defaults);
  for (const char* f : {"face_index", "bbox", "landmarks", "detection_score", "quality_score", "frame_number",
                        "timestamp"}) {
    EXPECT_TRUE(schema.contains(f)) << f;
  }
}

TEST_F(FaceIdentityExtractorTest, ParametersAreValidated) {
  auto scrfd = Start({{"detection_model", "scrfd_2.5g"}});
  ASSERT_FALSE(scrfd.ok());
  EXPECT_EQ(scrfd.status().code(), StatusCode::kValidation);
  EXPECT_THAT(scrfd.status().ToString(), testing::HasSubstr("scrfd_2.5g"));
  EXPECT_THAT(scrfd.status().ToString(), testing::HasSubstr("available: blazeface"));
  EXPECT_THAT(scrfd.status().ToString(), testing::HasSubstr("parameters.detection_model"));
  for (const Json& bad : {Json{{"output_mode", "per_video"}}, Json{{"min_face_size", 0}},
                          Json{{"detection_threshold", 1.5}}, Json{{"max_faces_per_image", "many"}},
                          Json{{"include_face_crops", "yes"}}, Json{{"no_such_parameter", 1}}}) {
    auto r = Start(bad);
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kValidation) << bad.dump();
  }
  // The video parameters are accepted (and ignored: images only).
  EXPECT_TRUE(Start({{"max_video_length", 30}, {"video_sampling_fps", 2.0}, {"video_deduplication", true}}).ok());
}

TEST_F(FaceIdentityExtractorTest, OneDocumentPerFaceWithItsFields) {
  auto docs = Faces("a.jpg");
  ASSERT_EQ(docs.size(), 1u);
  const ExtractedDocument& d = docs[0];
  EXPECT_EQ(d.modality, "image");
  EXPECT_EQ(d.position, Json({{"face_index", 0}}));
  EXPECT_EQ(d.fields["face_index"], 0);
  EXPECT_EQ(d.fields["face_count"], 1);
  ASSERT_EQ(d.fields["bbox"].size(), 4u);
  const double x1 = d.fields["bbox"][0], y1 = d.fields["bbox"][1], x2 = d.fields["bbox"][2], y2 = d.fields["bbox"][3];
  EXPECT_NEAR((x1 + x2) / 2, 221, 20);  // the face of the 434 x 434 photo
  EXPECT_NEAR((y1 + y2) / 2, 202, 20);
  EXPECT_GT(x2 - x1, 120);
  for (const char* k : {"left_eye", "right_eye", "nose", "mouth", "left_ear", "right_ear"}) {
    ASSERT_TRUE(d.fields["landmarks"].contains(k)) << k;
    EXPECT_EQ(d.fields["landmarks"][k].size(), 2u);
  }
  EXPECT_LT(d.fields["landmarks"]["left_eye"][0].get<double>(), d.fields["landmarks"]["right_eye"][0].get<double>());
  EXPECT_GT(d.fields["detection_score"].get<double>(), 0.8);
  EXPECT_GT(d.fields["quality_score"].get<double>(), 0.3);
  EXPECT_LE(d.fields["quality_score"].get<double>(), 1.0);
  EXPECT_TRUE(d.fields["frame_number"].is_null());
  EXPECT_TRUE(d.fields["timestamp"].is_null());
  EXPECT_EQ(d.fields["image_width"], 434);
  const auto* v = Vector(d);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->size(), 1024u);
  EXPECT_TRUE(d.blobs.empty());  // include_face_crops is off by default
}

TEST_F(FaceIdentityExtractorTest, AGroupGivesOneDocumentPerFaceAndCropsWhenAsked) {
  auto docs = Faces("four.png");
  ASSERT_EQ(docs.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(docs[i].fields["face_index"], i);
    EXPECT_EQ(docs[i].position["face_index"], i);
    EXPECT_EQ(docs[i].fields["face_count"], 4);
  }
  auto two = Start({{"max_faces_per_image", 2}, {"include_face_crops", true}});
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  auto limited = RunOn(**two, "four.png");
  ASSERT_TRUE(limited.ok()) << limited.status().ToString();
  ASSERT_EQ(limited->size(), 2u);
  for (const ExtractedDocument& d : *limited) {
    ASSERT_EQ(d.blobs.size(), 1u);
    EXPECT_EQ(d.blobs[0].field, "face_crop");
    EXPECT_EQ(d.blobs[0].role, "processed");
    EXPECT_EQ(d.blobs[0].mime_type, "image/jpeg");
    std::vector<uint8_t> bytes(d.blobs[0].bytes.begin(), d.blobs[0].bytes.end());
    cv::Mat crop = cv::imdecode(bytes, cv::IMREAD_COLOR);
    ASSERT_FALSE(crop.empty());
    EXPECT_EQ(crop.cols, crop.rows);
    EXPECT_GE(crop.cols, 112);
  }
}

TEST_F(FaceIdentityExtractorTest, PerImageListsTheFacesInOneDocument) {
  auto run = Start({{"output_mode", "per_image"}});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  auto docs = RunOn(**run, "four.png");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 1u);
  const ExtractedDocument& d = (*docs)[0];
  EXPECT_EQ(d.position, Json::object());
  EXPECT_EQ(d.fields["face_count"], 4);
  ASSERT_EQ(d.fields["faces"].size(), 4u);
  EXPECT_TRUE(d.fields["faces"][0].contains("bbox"));
  EXPECT_TRUE(d.fields["faces"][0].contains("landmarks"));
  EXPECT_TRUE(d.fields["frame_number"].is_null());
  ASSERT_NE(Vector(d), nullptr);
  // An image without a face still gets its document, without a vector.
  auto empty = RunOn(**run, "landscape.jpg");
  ASSERT_TRUE(empty.ok());
  ASSERT_EQ(empty->size(), 1u);
  EXPECT_EQ((*empty)[0].fields["face_count"], 0);
  EXPECT_EQ(Vector((*empty)[0]), nullptr);
}

TEST_F(FaceIdentityExtractorTest, NoFaceNoDocument) {
  EXPECT_TRUE(Faces("landscape.jpg").empty());
  EXPECT_TRUE(Faces("one.png").empty());
}

// What a feature_search by document does: the nearest documents by cosine of
// the identity vector.
TEST_F(FaceIdentityExtractorTest, TheSamePersonIsTheNearestFace) {
  auto a = Faces("a.jpg"), copy = Faces("a_copy.jpg"), gray = Faces("a_gray.jpg"), b = Faces("b.jpg"),
       four = Faces("four.png");
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(copy.size(), 1u);
  ASSERT_EQ(gray.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(four.size(), 4u);
  const auto& query = *Vector(a[0]);
  const float same = FaceCosine(query, *Vector(copy[0]));
  const float same_gray = FaceCosine(query, *Vector(gray[0]));
  float others = FaceCosine(query, *Vector(b[0]));
  for (const auto& d : four) others = std::max(others, FaceCosine(query, *Vector(d)));
  EXPECT_GT(same, 0.7f);
  EXPECT_GT(same_gray, 0.7f);
  EXPECT_LT(others, 0.5f);
  EXPECT_GT(same - others, 0.25f);
}

TEST_F(FaceIdentityExtractorTest, QualityFallsForABlurredFaceAndFiltersFaces) {
  auto sharp = Faces("a.jpg"), blurred = Faces("a_blurred.jpg");
  ASSERT_EQ(sharp.size(), 1u);
  ASSERT_EQ(blurred.size(), 1u);
  EXPECT_LT(blurred[0].fields["quality_score"].get<double>(), sharp[0].fields["quality_score"].get<double>() - 0.1);
  auto strict = Start({{"quality_threshold", 0.99}});
  ASSERT_TRUE(strict.ok());
  auto none = RunOn(**strict, "a_blurred.jpg");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  // min_face_size drops the four small faces (about 65 px) of the group photo.
  auto large = Start({{"min_face_size", 100}});
  ASSERT_TRUE(large.ok());
  auto kept = RunOn(**large, "four.png");
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->empty());
}

TEST_F(FaceIdentityExtractorTest, BadItemsAreValidationErrors) {
  auto run = Start(Json::object());
  ASSERT_TRUE(run.ok());
  auto fake = RunOn(**run, "fake.jpg");
  ASSERT_FALSE(fake.ok());
  EXPECT_EQ(fake.status().code(), StatusCode::kValidation);
  EXPECT_THAT(fake.status().ToString(), testing::HasSubstr("inputs.image"));
  ExtractItem missing;
  auto st = (*run)->Extract(missing, [](ExtractedDocument&&) { return Status::Ok(); });
  EXPECT_EQ(st.code(), StatusCode::kValidation);
}

TEST_F(FaceIdentityExtractorTest, AnImageQueryGivesItsBestFacesVector) {
  auto run = Start(Json::object());
  ASSERT_TRUE(run.ok());
  std::ifstream in(dir_->path() / "a.jpg", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ExtractItem item;
  item.inputs.push_back({"image", Json(bytes), "", "", 0});
  std::vector<ExtractedDocument> docs;
  ASSERT_TRUE((*run)->Extract(item, [&](ExtractedDocument&& d) {
                     docs.push_back(std::move(d));
                     return Status::Ok();
                   }).ok());
  ASSERT_EQ(docs.size(), 1u);
  auto a = Faces("a.jpg");
  ASSERT_EQ(a.size(), 1u);
  EXPECT_GT(FaceCosine(*Vector(docs[0]), *Vector(a[0])), 0.9999f);
  ExtractItem text;
  text.inputs.push_back({"image", Json("a face, please"), "", "", 0});
  auto st = (*run)->Extract(text, [](ExtractedDocument&&) { return Status::Ok(); });
  EXPECT_EQ(st.code(), StatusCode::kValidation);
}

}  // namespace
}  // namespace strata::extract
