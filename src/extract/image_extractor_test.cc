// image_extractor@v1 on fixtures made at test time with PIL: a photo-like
// picture and a rescaled, recompressed copy (near-duplicates by hash and by
// visual embedding), a different picture, rendered text (OCR, full-text,
// text vector), an EXIF-rotated JPEG, grayscale, CMYK, 1×1, an animated GIF;
// and bad items (a declared 20000×20000 PNG, a truncated JPEG, text named
// .jpg, an empty file) each ending as a validation error while the same run
// goes on.
#include "extract/image_extractor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "extract/models/model_registry.h"
#include "extract/models/models_test_util.h"
#include "extract/parameters.h"
#include "media/image.h"
#include "media/image_test_util.h"
#include "media/visual_features.h"

namespace strata::extract {
namespace {

namespace mt = media::image_testing;

constexpr const char* kFixtures = R"(
import sys, random
from PIL import Image, ImageDraw, ImageFont
d = sys.argv[1]
def photo(seed, w=640, h=480):
    rnd = random.Random(seed)
    # A smooth colour gradient (drawn small, scaled up), then random shapes.
    sw, sh = 64, 48
    img = Image.new("RGB", (sw, sh))
    px = img.load()
    a, b = rnd.choice([(1, 0), (0, 1), (1, 1)]), rnd.randint(0, 2)
    for y in range(sh):
        for x in range(sw):
            t = (x * a[0] + y * a[1]) / (sw * a[0] + sh * a[1])
            c = (int(40 + 180 * t), int(90 + 100 * (1 - t)), int(160 - 120 * t))
            px[x, y] = c[b:] + c[:b]
    img = img.resize((w, h), Image.BILINEAR)
    dr = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = rnd.randint(0, w - 60), rnd.randint(0, h - 60)
        x1, y1 = x0 + rnd.randint(30, 220), y0 + rnd.randint(30, 200)
        col = tuple(rnd.randint(0, 255) for _ in range(3))
        (dr.ellipse if rnd.random() < 0.5 else dr.rectangle)([x0, y0, x1, y1], fill=col)
    return img
p = photo(1)
p.save(d + "/photo.jpg", quality=92)
p.resize((400, 300), Image.LANCZOS).save(d + "/near.jpg", quality=60)
photo(2).save(d + "/other.jpg", quality=92)
t = Image.new("RGB", (900, 260), (248, 248, 240))
font = ImageFont.truetype("DejaVuSans.ttf", 36)
dr = ImageDraw.Draw(t)
dr.text((30, 40), "Lighthouse keeper inventory", font=font, fill=(20, 20, 20))
dr.text((30, 130), "seventeen brass lanterns", font=font, fill=(20, 20, 20))
t.save(d + "/text.png")
r = Image.new("RGB", (300, 200), (200, 30, 30))
ImageDraw.Draw(r).rectangle([0, 0, 149, 199], fill=(30, 30, 200))
ex = Image.Exif()
ex[0x0112] = 6          # Orientation: rotate 90 CW to view
ex[0x010F] = "Nikon"    # Make
ex[0x0110] = "D750"     # Model
r.save(d + "/rotated.jpg", exif=ex.tobytes(), quality=92)
photo(3).convert("L").save(d + "/gray.jpg")
photo(4).convert("CMYK").save(d + "/cmyk.jpg")
Image.new("RGB", (1, 1), (0, 128, 255)).save(d + "/one.png")
frames = [Image.new("RGB", (64, 48), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
frames[0].save(d + "/anim.gif", save_all=True, append_images=frames[1:], duration=80, loop=0)
g = Image.new("RGB", (320, 240))
gp = g.load()
for y in range(240):
    for x in range(320):
        gp[x, y] = (x * 255 // 320, y * 255 // 240, 128)
g.save(d + "/gradient.png")
)";

class ImageExtractorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new mt::TempDir();
    if (mt::PythonWithPil().empty()) return;
    fixtures_ok_ = mt::RunPython(kFixtures, dir_->path());
    if (!fixtures_ok_) return;
    std::string photo = mt::ReadFile((*dir_) / "photo.jpg");
    mt::WriteFile((*dir_) / "truncated.jpg", photo.substr(0, photo.size() / 2));
    mt::WriteFile((*dir_) / "fake.jpg", "this is a text file, not a JPEG\n");
    mt::WriteFile((*dir_) / "empty.png", "");
    mt::WriteFile((*dir_) / "doc.png", "%PDF-1.4\n%%EOF\n");
    // A PNG signature and an IHDR declaring 20000 x 20000 (400 MP), no pixels.
    std::string bomb = std::string("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
    for (uint32_t v : {20000u, 20000u}) {
      for (int i = 3; i >= 0; --i) bomb.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    }
    bomb += std::string("\x08\x02\0\0\0\0\0\0\0", 9);
    mt::WriteFile((*dir_) / "bomb.png", bomb);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (mt::PythonWithPil().empty()) GTEST_SKIP() << "python3 with PIL (python3-pil) is not installed";
    ASSERT_TRUE(fixtures_ok_) << "the PIL fixture script failed";
    models_ = std::make_unique<ModelRegistry>(testing_util::ModelsDir());
    extractor_ = MakeImageExtractor(*models_, limits_);
  }

  Result<std::unique_ptr<ExtractorRun>> Start(const Json& given) {
    ASSIGN_OR_RETURN(Json params, ResolveParameters(extractor_->info().parameter_schema, given, "parameters"));
    RETURN_IF_ERROR(extractor_->CheckParameters(params, "parameters"));
    return extractor_->Start(params);
  }

  static Result<ExtractedDocument> RunOn(ExtractorRun& run, const std::string& file) {
    ExtractItem item;
    item.source_id = file;
    InputValue v;
    v.name = "image";
    v.blob_path = (*dir_) / file;
    v.size_bytes = static_cast<int64_t>(std::filesystem::file_size(v.blob_path));
    item.inputs.push_back(v);
    std::vector<ExtractedDocument> docs;
    RETURN_IF_ERROR(run.Extract(item, [&](ExtractedDocument&& d) {
      docs.push_back(std::move(d));
      return Status::Ok();
    }));
    if (docs.size() != 1) return Status::Internal("expected one document, got " + std::to_string(docs.size()));
    return std::move(docs[0]);
  }

  // Without OCR, faces and objects: the fast path most tests need.
  Result<ExtractedDocument> Quick(const std::string& file) {
    if (!quick_) {
      auto r = Start({{"run_ocr", false}, {"detect_faces", false}, {"detect_objects", false}});
      if (!r.ok()) return r.status();
      quick_ = std::move(*r);
    }
    return RunOn(*quick_, file);
  }

  static const std::vector<float>* Vector(const ExtractedDocument& d, const std::string& name) {
    for (const auto& [n, v] : d.vectors) {
      if (n == name) return &v;
    }
    return nullptr;
  }
  static double Cosine(const std::vector<float>& a, const std::vector<float>& b) {
    double dot = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    return dot / std::sqrt(na * nb);
  }
  static int Hamming(const ExtractedDocument& a, const ExtractedDocument& b) {
    uint64_t x = std::stoull(a.fields["phash"].get<std::string>(), nullptr, 16);
    uint64_t y = std::stoull(b.fields["phash"].get<std::string>(), nullptr, 16);
    return media::HammingDistance(x, y);
  }

  static inline mt::TempDir* dir_ = nullptr;
  static inline bool fixtures_ok_ = false;
  media::MediaLimits limits_;
  std::unique_ptr<ModelRegistry> models_;
  std::unique_ptr<Extractor> extractor_;
  std::unique_ptr<ExtractorRun> quick_;
};

TEST_F(ImageExtractorTest, PhotoGivesItsFieldsVectorsAndThumbnail) {
  auto run = Start(Json::object());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  auto d = RunOn(**run, "photo.jpg");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->modality, "image");
  EXPECT_EQ(d->fields["width"], 640);
  EXPECT_EQ(d->fields["height"], 480);
  EXPECT_EQ(d->fields["format"], "jpeg");
  EXPECT_EQ(d->fields["mime_type"], "image/jpeg");
  EXPECT_TRUE(d->fields["exif"].is_object());
  ASSERT_TRUE(d->fields["phash"].is_string());
  EXPECT_EQ(d->fields["phash"].get<std::string>().size(), 16u);
  EXPECT_TRUE(d->fields.contains("ocr_text"));
  ASSERT_TRUE(d->fields["faces"].is_array());
  EXPECT_TRUE(d->fields["faces"].empty()) << d->fields["faces"];

  const auto* visual = Vector(*d, "image_extractor_v1_visual");
  ASSERT_NE(visual, nullptr);
  EXPECT_EQ(static_cast<int>(visual->size()), media::kVisualEmbeddingDimensions);
  const auto* hash = Vector(*d, "image_extractor_v1_phash");
  ASSERT_NE(hash, nullptr);
  ASSERT_EQ(hash->size(), 64u);
  double norm = 0;
  for (float f : *hash) norm += f * f;
  EXPECT_NEAR(norm, 1.0, 1e-6);

  ASSERT_EQ(d->blobs.size(), 1u);
  const ExtractedBlob& thumb = d->blobs[0];
  EXPECT_EQ(thumb.field, "thumbnail");
  EXPECT_EQ(thumb.role, "thumbnail");
  EXPECT_EQ(thumb.type, "image");
  EXPECT_EQ(thumb.mime_type, "image/jpeg");
  auto t = media::DecodeImageBytes(thumb.bytes, limits_);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->format, "jpeg");
  EXPECT_EQ(t->width, 320);
  EXPECT_EQ(t->height, 240);
}

TEST_F(ImageExtractorTest, NearDuplicateIsCloseByHashAndLooksDifferentImageIsFar) {
  auto photo = Quick("photo.jpg");
  auto near = Quick("near.jpg");
  auto other = Quick("other.jpg");
  ASSERT_TRUE(photo.ok() && near.ok() && other.ok()) << photo.status().ToString() << near.status().ToString()
                                                    << other.status().ToString();
  int dup = Hamming(*photo, *near), diff = Hamming(*photo, *other);
  EXPECT_LE(dup, 6) << "rescaled + recompressed copy";
  EXPECT_GE(diff, 16) << "a different picture";
  // The hash vector's cosine is 1 - 2 * hamming / 64, exactly.
  const auto* hp = Vector(*photo, "image_extractor_v1_phash");
  const auto* hn = Vector(*near, "image_extractor_v1_phash");
  const auto* ho = Vector(*other, "image_extractor_v1_phash");
  ASSERT_TRUE(hp && hn && ho);
  EXPECT_NEAR(Cosine(*hp, *hn), 1 - 2.0 * dup / 64, 1e-6);
  EXPECT_NEAR(Cosine(*hp, *ho), 1 - 2.0 * diff / 64, 1e-6);
  // The visual embedding ranks the copy above the different picture.
  const auto* vp = Vector(*photo, "image_extractor_v1_visual");
  const auto* vn = Vector(*near, "image_extractor_v1_visual");
  const auto* vo = Vector(*other, "image_extractor_v1_visual");
  ASSERT_TRUE(vp && vn && vo);
  EXPECT_GT(Cosine(*vp, *vn), Cosine(*vp, *vo));
  EXPECT_GT(Cosine(*vp, *vn), 0.9);
}

TEST_F(ImageExtractorTest, TextInTheImageIsReadIndexedAndEmbedded) {
  auto run = Start({{"detect_faces", false}, {"detect_objects", false}});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  auto d = RunOn(**run, "text.png");
  if (!d.ok() && d.status().code() == StatusCode::kUnavailable) GTEST_SKIP() << d.status().ToString();
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  std::string text = d->fields["ocr_text"];
  for (const char* w : {"Lighthouse", "keeper", "inventory", "seventeen", "brass", "lanterns"}) {
    EXPECT_NE(text.find(w), std::string::npos) << w << " in: " << text;
    EXPECT_NE(d->searchable_text.find(w), std::string::npos) << w;
  }
  const auto* tv = Vector(*d, "image_extractor_v1_text");
  ASSERT_NE(tv, nullptr);
  auto glove = models_->Get(kDefaultTextModel);
  ASSERT_TRUE(glove.ok());
  EXPECT_EQ(static_cast<int>(tv->size()), (*glove)->dimensions());
  // An image without text has no text vector and no full-text entry.
  auto g = RunOn(**run, "gradient.png");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->fields["ocr_text"], "");
  EXPECT_EQ(Vector(*g, "image_extractor_v1_text"), nullptr);
  EXPECT_EQ(g->searchable_text, "");
}

TEST_F(ImageExtractorTest, ExifOrientationIsAppliedAndMetadataKept) {
  auto d = Quick("rotated.jpg");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  // Stored 300 x 200 with orientation 6: upright it is 200 wide, 300 tall.
  EXPECT_EQ(d->fields["width"], 200);
  EXPECT_EQ(d->fields["height"], 300);
  EXPECT_EQ(d->fields["exif"].value("make", ""), "Nikon");
  EXPECT_EQ(d->fields["exif"].value("model", ""), "D750");
  // Rotated clockwise, the stored left half (blue) is on top.
  auto thumb = media::DecodeImageBytes(d->blobs.at(0).bytes, limits_);
  ASSERT_TRUE(thumb.ok());
  cv::Vec3b top = thumb->bgr.at<cv::Vec3b>(thumb->height / 4, thumb->width / 2);
  cv::Vec3b bottom = thumb->bgr.at<cv::Vec3b>(3 * thumb->height / 4, thumb->width / 2);
  EXPECT_GT(top[0], 150);     // blue
  EXPECT_GT(bottom[2], 150);  // red
}

TEST_F(ImageExtractorTest, GrayCmykOnePixelAndAnimatedGifDecode) {
  struct Case {
    const char* file;
    const char* format;
    int w, h;
  };
  for (const Case& c : {Case{"gray.jpg", "jpeg", 640, 480}, Case{"cmyk.jpg", "jpeg", 640, 480},
                        Case{"one.png", "png", 1, 1}, Case{"anim.gif", "gif", 64, 48}}) {
    auto d = Quick(c.file);
    ASSERT_TRUE(d.ok()) << c.file << ": " << d.status().ToString();
    EXPECT_EQ(d->fields["format"], c.format) << c.file;
    EXPECT_EQ(d->fields["width"], c.w) << c.file;
    EXPECT_EQ(d->fields["height"], c.h) << c.file;
    EXPECT_EQ(d->blobs.size(), 1u) << c.file;
  }
  // With every model on (objects, faces, MobileNetV2, OCR) the odd ones still
  // give a document: nothing found in them, no error.
  auto all = Start(Json::object());
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  for (const char* f : {"gray.jpg", "cmyk.jpg", "one.png", "anim.gif"}) {
    auto d = RunOn(**all, f);
    ASSERT_TRUE(d.ok()) << f << ": " << d.status().ToString();
    EXPECT_TRUE(d->fields["objects"].is_array()) << f;
    EXPECT_TRUE(d->fields["faces"].is_array()) << f;
    ASSERT_NE(Vector(*d, "image_extractor_v1_embedding"), nullptr) << f;
  }
  // The GIF's first frame is red.
  auto gif = Quick("anim.gif");
  auto thumb = media::DecodeImageBytes(gif->blobs.at(0).bytes, limits_);
  ASSERT_TRUE(thumb.ok());
  cv::Vec3b p = thumb->bgr.at<cv::Vec3b>(24, 32);
  EXPECT_GT(p[2], 200);
  EXPECT_LT(p[1], 50);
}

TEST_F(ImageExtractorTest, BadFilesAreValidationErrorsAndTheRunGoesOn) {
  struct Case {
    const char* file;
    const char* says;
  };
  for (const Case& c : {Case{"bomb.png", "max_pixels"}, Case{"truncated.jpg", "truncated"},
                        Case{"fake.jpg", "not an image"}, Case{"empty.png", "not an image"},
                        Case{"doc.png", "not an image"}}) {
    auto d = Quick(c.file);
    ASSERT_FALSE(d.ok()) << c.file;
    EXPECT_EQ(d.status().code(), StatusCode::kValidation) << c.file;
    EXPECT_NE(d.status().message().find(c.says), std::string::npos) << c.file << ": " << d.status().message();
    EXPECT_EQ(d.status().details().at("validation_errors").at(0).value("location", ""), "inputs.image")
        << d.status().details();
    // The same run reads the next good image.
    auto ok = Quick("one.png");
    EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  }
}

TEST_F(ImageExtractorTest, ParametersSwitchOutputsOff) {
  auto run = Start({{"run_ocr", false}, {"detect_faces", false}, {"detect_objects", false},
                    {"enable_thumbnails", false}, {"use_cdn", true}, {"model", nullptr}});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  auto d = RunOn(**run, "text.png");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_FALSE(d->fields.contains("ocr_text"));
  EXPECT_FALSE(d->fields.contains("faces"));
  EXPECT_FALSE(d->fields.contains("objects"));
  EXPECT_FALSE(d->fields.contains("caption"));
  EXPECT_TRUE(d->blobs.empty());
  EXPECT_EQ(Vector(*d, "image_extractor_v1_text"), nullptr);
  EXPECT_EQ(Vector(*d, "image_extractor_v1_embedding"), nullptr);
  EXPECT_NE(Vector(*d, "image_extractor_v1_visual"), nullptr);

  auto small = Start({{"run_ocr", false}, {"detect_faces", false}, {"detect_objects", false}, {"thumbnail_size", 100}});
  ASSERT_TRUE(small.ok());
  auto s = RunOn(**small, "photo.jpg");
  ASSERT_TRUE(s.ok());
  auto thumb = media::DecodeImageBytes(s->blobs.at(0).bytes, limits_);
  ASSERT_TRUE(thumb.ok());
  EXPECT_EQ(thumb->width, 100);
  EXPECT_EQ(thumb->height, 75);

  EXPECT_EQ(Start({{"no_such_parameter", 1}}).status().code(), StatusCode::kValidation);
  EXPECT_EQ(Start({{"thumbnail_size", 0}}).status().code(), StatusCode::kValidation);
  EXPECT_EQ(Start({{"embedding_model", "no-such-model"}}).status().code(), StatusCode::kValidation);
  auto bad_model = Start({{"model", "no-such-image-model"}});
  EXPECT_EQ(bad_model.status().code(), StatusCode::kValidation);
  EXPECT_NE(bad_model.status().message().find("parameters.model"), std::string::npos) << bad_model.status().message();
  auto defaults = ResolveParameters(extractor_->info().parameter_schema, Json(), "parameters");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ((*defaults)["enable_thumbnails"], true);
  EXPECT_EQ((*defaults)["use_cdn"], false);
  EXPECT_EQ((*defaults)["run_ocr"], true);
  EXPECT_EQ((*defaults)["detect_faces"], true);
  EXPECT_EQ((*defaults)["detect_objects"], true);
  EXPECT_EQ((*defaults)["thumbnail_size"], 320);
  EXPECT_EQ((*defaults)["model"], kDefaultImageModel);
}

TEST_F(ImageExtractorTest, OutputsAndQueriesShareTheDocumentsVectors) {
  auto outs = extractor_->VectorOutputs(
      *ResolveParameters(extractor_->info().parameter_schema, Json(), "parameters"));
  ASSERT_TRUE(outs.ok()) << outs.status().ToString();
  std::map<std::string, int> dims;
  for (const auto& o : *outs) dims[o.storage_name] = o.dimensions;
  EXPECT_EQ(dims.at("image_extractor_v1_visual"), media::kVisualEmbeddingDimensions);
  EXPECT_EQ(dims.at("image_extractor_v1_phash"), 64);
  EXPECT_GT(dims.at("image_extractor_v1_text"), 0);
  EXPECT_EQ(dims.at("image_extractor_v1_bm25"), 0);
  EXPECT_EQ(dims.at("image_extractor_v1_embedding"), 1792);  // MobileNetV2-1.4 by default

  // A retriever query carrying an image's bytes gets the document's vectors.
  auto doc = Quick("photo.jpg");
  ASSERT_TRUE(doc.ok());
  ASSERT_TRUE(quick_);
  ExtractItem q{"query", {}};
  InputValue v;
  v.name = "image";
  v.value = mt::ReadFile((*dir_) / "photo.jpg");
  q.inputs.push_back(v);
  std::vector<ExtractedDocument> got;
  ASSERT_TRUE(quick_->Extract(q, [&](ExtractedDocument&& d) {
                      got.push_back(std::move(d));
                      return Status::Ok();
                    }).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(*Vector(got[0], "image_extractor_v1_visual"), *Vector(*doc, "image_extractor_v1_visual"));
  EXPECT_EQ(*Vector(got[0], "image_extractor_v1_phash"), *Vector(*doc, "image_extractor_v1_phash"));
  EXPECT_EQ(*Vector(got[0], "image_extractor_v1_embedding"), *Vector(*doc, "image_extractor_v1_embedding"));
  // A text query gets the text vector.
  q.inputs[0].value = "lighthouse keeper";
  got.clear();
  ASSERT_TRUE(quick_->Extract(q, [&](ExtractedDocument&& d) {
                      got.push_back(std::move(d));
                      return Status::Ok();
                    }).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(Vector(got[0], "image_extractor_v1_text"), nullptr);
  EXPECT_EQ(Vector(got[0], "image_extractor_v1_visual"), nullptr);
}

// Real photos that Debian's opencv-doc ships (scripts/deps.sh installs it).
constexpr const char* kPhotos = "/usr/share/doc/opencv-doc/examples/data/";
constexpr const char* kFacePhoto = "/usr/share/doc/opencv-doc/opencv4/html/227943776_1.jpg";

TEST_F(ImageExtractorTest, RealPhotosGetObjectsFacesCaptionAndNeuralEmbedding) {
  const std::vector<std::string> files = {"messi5.jpg", "fruits.jpg", "licenseplate_motion.jpg", "baboon.jpg",
                                          "HappyFish.jpg", "building.jpg"};
  for (const auto& f : files) {
    if (!std::filesystem::exists(std::string(kPhotos) + f)) GTEST_SKIP() << kPhotos << f << " is missing: install opencv-doc";
    std::filesystem::copy_file(std::string(kPhotos) + f, (*dir_) / f, std::filesystem::copy_options::overwrite_existing);
  }
  std::filesystem::copy_file(kFacePhoto, (*dir_) / "face.jpg", std::filesystem::copy_options::overwrite_existing);
  auto run = Start(Json::object());  // the defaults
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  std::map<std::string, ExtractedDocument> docs;
  for (const auto& f : files) {
    auto d = RunOn(**run, f);
    ASSERT_TRUE(d.ok()) << f << ": " << d.status().ToString();
    docs[f] = std::move(*d);
  }

  // The football photo: a person and a sports ball, boxes inside the picture.
  const ExtractedDocument& messi = docs["messi5.jpg"];
  std::set<std::string> labels;
  for (const auto& o : messi.fields["objects"]) {
    labels.insert(o["label"].get<std::string>());
    const auto& b = o["bbox"];
    EXPECT_GE(b[0].get<int>(), 0);
    EXPECT_GE(b[1].get<int>(), 0);
    EXPECT_LE(b[2].get<int>(), messi.fields["width"].get<int>());
    EXPECT_LE(b[3].get<int>(), messi.fields["height"].get<int>());
    EXPECT_LT(b[0].get<int>(), b[2].get<int>());
    EXPECT_GE(o["score"].get<double>(), 0.3);
  }
  EXPECT_TRUE(labels.count("person")) << messi.fields["objects"];
  EXPECT_TRUE(labels.count("sports ball")) << messi.fields["objects"];
  const std::string caption = messi.fields["caption"];
  EXPECT_EQ(caption.rfind("A photo of ", 0), 0u) << caption;
  EXPECT_NE(caption.find("sports ball"), std::string::npos) << caption;
  EXPECT_NE(messi.searchable_text.find("sports ball"), std::string::npos) << messi.searchable_text;
  // The car photo has a car.
  bool car = false;
  for (const auto& o : docs["licenseplate_motion.jpg"].fields["objects"]) car = car || o["label"] == "car";
  EXPECT_TRUE(car) << docs["licenseplate_motion.jpg"].fields["objects"];

  // "a man kicking a ball" shares no label word with the caption, yet its
  // text vector is nearest the football photo's.
  ExtractItem q{"query", {}};
  InputValue v;
  v.name = "image";
  v.value = "a man kicking a ball";
  q.inputs.push_back(v);
  std::vector<ExtractedDocument> got;
  ASSERT_TRUE((*run)->Extract(q, [&](ExtractedDocument&& d) {
                      got.push_back(std::move(d));
                      return Status::Ok();
                    }).ok());
  ASSERT_EQ(got.size(), 1u);
  const auto* qv = Vector(got[0], "image_extractor_v1_text");
  ASSERT_NE(qv, nullptr);
  std::string best;
  double best_score = -2;
  std::string scores;
  for (const auto& [f, d] : docs) {
    const auto* tv = Vector(d, "image_extractor_v1_text");
    if (tv == nullptr) continue;
    double c = Cosine(*qv, *tv);
    scores += f + "=" + std::to_string(c) + " (" + d.searchable_text + ") ";
    if (c > best_score) best_score = c, best = f;
  }
  EXPECT_EQ(best, "messi5.jpg") << scores;

  // MobileNetV2: a mirrored crop of a photo is nearer to it than other photos are.
  const auto* e = Vector(messi, "image_extractor_v1_embedding");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->size(), 1792u);
  cv::Mat m = cv::imread((*dir_) / "messi5.jpg");
  cv::Mat crop;
  cv::flip(m(cv::Rect(m.cols / 10, m.rows / 10, m.cols * 8 / 10, m.rows * 8 / 10)), crop, 1);
  cv::imwrite((*dir_) / "messi_crop.jpg", crop);
  auto c = RunOn(**run, "messi_crop.jpg");
  ASSERT_TRUE(c.ok());
  const double same = Cosine(*e, *Vector(*c, "image_extractor_v1_embedding"));
  for (const auto& [f, d] : docs) {
    if (f == "messi5.jpg") continue;
    EXPECT_GT(same, Cosine(*e, *Vector(d, "image_extractor_v1_embedding")) + 0.1) << f;
  }

  // Faces: the portrait has one, boxes inside the picture; the fruit has none.
  auto face = RunOn(**run, "face.jpg");
  ASSERT_TRUE(face.ok()) << face.status().ToString();
  ASSERT_EQ(face->fields["faces"].size(), 1u) << face->fields["faces"];
  const auto& fb = face->fields["faces"][0]["bbox"];
  EXPECT_GE(fb[0].get<int>(), 0);
  EXPECT_LE(fb[2].get<int>(), face->fields["width"].get<int>());
  EXPECT_GT(face->fields["faces"][0]["score"].get<double>(), 0.5);
  EXPECT_TRUE(docs["fruits.jpg"].fields["faces"].empty()) << docs["fruits.jpg"].fields["faces"];
}

}  // namespace
}  // namespace strata::extract
