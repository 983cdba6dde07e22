// document_graph_extractor@v1 on the PDFs tests/media/make_pdf_fixtures.py
// writes at test time (python3-reportlab, python3-pil) with their ground
// truth: a two-page report (header, paragraphs, a table, a list, page
// numbers), a scanned page, and bad files that end as item errors.
#include "extract/document_graph_extractor.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "extract/models/model_registry.h"
#include "extract/models/models_test_util.h"
#include "extract/parameters.h"
#include "media/image.h"
#include "media/pdf_test_util.h"

namespace strata::extract {
namespace {

namespace fs = std::filesystem;

using media::pdf_testing::Normalise;

class DocumentGraphTest : public media::pdf_testing::PdfFixtureTest {
 protected:
  void SetUp() override {
    PdfFixtureTest::SetUp();
    if (IsSkipped()) return;
    models_ = std::make_unique<ModelRegistry>(testing_util::ModelsDir());
    extractor_ = MakeDocumentGraphExtractor(*models_, limits_);
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
    v.name = "pdf";
    v.blob_path = Path(file);
    v.mime_type = "application/pdf";
    v.size_bytes = static_cast<int64_t>(fs::file_size(v.blob_path));
    item.inputs.push_back(v);
    std::vector<ExtractedDocument> docs;
    RETURN_IF_ERROR(run.Extract(item, [&](ExtractedDocument&& d) {
      docs.push_back(std::move(d));
      return Status::Ok();
    }));
    return docs;
  }

  media::MediaLimits limits_;
  std::unique_ptr<ModelRegistry> models_;
  std::unique_ptr<Extractor> extractor_;
};

TEST_F(DocumentGraphTest, OneDocumentPerBlockWithTextBoxPageThumbnailAndVector) {
  auto run = Start(Json::object());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  auto docs = RunOn(**run, "report.pdf");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  const Json& truth = truth_["report.pdf"];
  ASSERT_EQ(docs->size(), truth[0]["blocks"].size() + truth[1]["blocks"].size());
  auto model = models_->Get(kDefaultTextModel);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const size_t dims = static_cast<size_t>((*model)->dimensions());
  std::map<int, std::string> thumbnail_of_page;
  size_t k = 0;
  for (int page = 1; page <= 2; ++page) {
    const Json& want = truth[page - 1]["blocks"];
    for (size_t b = 0; b < want.size(); ++b, ++k) {
      const ExtractedDocument& d = (*docs)[k];
      SCOPED_TRACE(d.fields.dump());
      EXPECT_EQ(d.modality, "pdf");
      EXPECT_EQ(d.fields["page_number"], page);
      EXPECT_EQ(d.fields["block_index"], static_cast<int>(b));
      EXPECT_EQ(d.position, (Json{{"page_number", page}, {"block_index", static_cast<int>(b)}}));
      EXPECT_EQ(Normalise(d.fields["text"].get<std::string>()), Normalise(want[b]["text"].get<std::string>()));
      EXPECT_EQ(d.fields["object_type"], want[b]["object_type"]);
      EXPECT_EQ(d.fields["source"], "text_layer");
      EXPECT_EQ(d.searchable_text, d.fields["text"].get<std::string>());
      const Json& bbox = d.fields["bbox"];
      ASSERT_EQ(bbox.size(), 4u);
      EXPECT_GE(bbox[0].get<double>(), 0);
      EXPECT_GE(bbox[1].get<double>(), 0);
      EXPECT_LT(bbox[0].get<double>(), bbox[2].get<double>());
      EXPECT_LT(bbox[1].get<double>(), bbox[3].get<double>());
      EXPECT_LE(bbox[2].get<double>(), d.fields["page_width"].get<double>());
      EXPECT_LE(bbox[3].get<double>(), d.fields["page_height"].get<double>());
      EXPECT_EQ(d.fields["page_width"], 612);
      EXPECT_EQ(d.fields["page_height"], 792);
      double score = d.fields["confidence_score"];
      EXPECT_GT(score, 0);
      EXPECT_LE(score, 1);
      EXPECT_TRUE(d.fields["confidence_tag"].get<std::string>().find_first_of("ABCD") == 0);
      ASSERT_EQ(d.vectors.size(), 1u);
      EXPECT_EQ(d.vectors[0].first, "document_graph_extractor_v1_embedding");
      EXPECT_EQ(d.vectors[0].second.size(), dims);
      ASSERT_EQ(d.blobs.size(), 1u);
      EXPECT_EQ(d.blobs[0].field, "page_thumbnail");
      EXPECT_EQ(d.blobs[0].role, "thumbnail");
      EXPECT_EQ(d.blobs[0].mime_type, "image/jpeg");
      auto [it, fresh] = thumbnail_of_page.emplace(page, d.blobs[0].bytes);
      if (!fresh) {
        EXPECT_TRUE(it->second == d.blobs[0].bytes) << "one image per page";
      }
    }
  }
  EXPECT_NE(thumbnail_of_page[1], thumbnail_of_page[2]);
  // The page image is the page at render_dpi (150): 8.5 x 11 in.
  auto img = media::DecodeImageBytes(thumbnail_of_page[1], media::MediaLimits{});
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(img->width, 1275);
  EXPECT_EQ(img->height, 1650);
}

TEST_F(DocumentGraphTest, ParametersTurnPartsOff) {
  auto run = Start({{"generate_thumbnails", false},
                    {"run_text_embedding", false},
                    {"use_layout_detection", false},
                    {"min_confidence_for_vlm", 0.5}});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  auto docs = RunOn(**run, "report.pdf");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  std::string all, want;
  for (const auto& d : *docs) {
    EXPECT_TRUE(d.blobs.empty());
    EXPECT_TRUE(d.vectors.empty());
    EXPECT_EQ(d.fields["object_type"], "paragraph");
    all += d.fields["text"].get<std::string>() + " ";
  }
  for (const auto& page : truth_["report.pdf"]) {
    for (const auto& b : page["blocks"]) want += b["text"].get<std::string>() + " ";
  }
  EXPECT_EQ(Normalise(all), Normalise(want));

  auto small = Start({{"render_dpi", 72}, {"run_text_embedding", false}});
  ASSERT_TRUE(small.ok());
  auto docs72 = RunOn(**small, "report.pdf");
  ASSERT_TRUE(docs72.ok());
  auto img = media::DecodeImageBytes(docs72->front().blobs.at(0).bytes, media::MediaLimits{});
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img->width, 612);
  EXPECT_EQ(img->height, 792);

  auto vlm = Start({{"use_vlm_correction", true}});
  ASSERT_FALSE(vlm.ok());
  EXPECT_EQ(vlm.status().code(), StatusCode::kValidation);
  EXPECT_NE(vlm.status().ToString().find("no VLM is available here"), std::string::npos) << vlm.status().ToString();
  EXPECT_NE(vlm.status().ToString().find("parameters.use_vlm_correction"), std::string::npos);
  EXPECT_FALSE(Start({{"render_dpi", 5000}}).ok());
  EXPECT_FALSE(Start({{"bogus", 1}}).ok());
}

TEST_F(DocumentGraphTest, ScannedPageIsReadByOcr) {
  auto run = Start(Json::object());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  auto docs = RunOn(**run, "scanned.pdf");
  if (!docs.ok() && docs.status().code() == StatusCode::kUnavailable) GTEST_SKIP() << docs.status().ToString();
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_FALSE(docs->empty());
  std::string got;
  for (const auto& d : *docs) {
    EXPECT_EQ(d.fields["source"], "ocr");
    EXPECT_EQ(d.fields["page_number"], 1);
    EXPECT_LE(d.fields["bbox"][2].get<double>(), 612);
    EXPECT_LE(d.fields["bbox"][3].get<double>(), 792);
    EXPECT_EQ(d.blobs.size(), 1u);
    got += d.fields["text"].get<std::string>() + " ";
  }
  // Word accuracy: expected words found, in order, over the expected count.
  std::vector<std::string> want_words, got_words;
  for (const auto& line : truth_["scanned.pdf"]) {
    std::istringstream in(line.get<std::string>());
    for (std::string w; in >> w;) want_words.push_back(w);
  }
  std::istringstream in(got);
  for (std::string w; in >> w;) got_words.push_back(w);
  std::vector<std::vector<int>> lcs(want_words.size() + 1, std::vector<int>(got_words.size() + 1, 0));
  for (size_t i = 1; i <= want_words.size(); ++i) {
    for (size_t j = 1; j <= got_words.size(); ++j) {
      lcs[i][j] = want_words[i - 1] == got_words[j - 1] ? lcs[i - 1][j - 1] + 1
                                                        : std::max(lcs[i - 1][j], lcs[i][j - 1]);
    }
  }
  EXPECT_GE(lcs.back().back(), 0.95 * static_cast<double>(want_words.size())) << got;
  auto img = media::DecodeImageBytes(docs->front().blobs[0].bytes, media::MediaLimits{});
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img->width, 1275);  // scaled down from the 300 dpi OCR rendering to render_dpi

  auto no_ocr = Start({{"run_ocr", false}});
  ASSERT_TRUE(no_ocr.ok());
  auto none = RunOn(**no_ocr, "scanned.pdf");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().ToString().find("run_ocr is false"), std::string::npos) << none.status().ToString();
}

TEST_F(DocumentGraphTest, BadFilesAreItemErrorsAndTheRunGoesOn) {
  limits_.max_pages = 3;
  extractor_ = MakeDocumentGraphExtractor(*models_, limits_);
  auto run = Start({{"generate_thumbnails", false}});
  ASSERT_TRUE(run.ok());
  for (const auto& [file, says] : std::vector<std::pair<std::string, std::string>>{
           {"truncated.pdf", "truncated or corrupt"},
           {"not_a_pdf.pdf", "not a PDF"},
           {"encrypted.pdf", "encrypted"},
           {"five_pages.pdf", "max_pages"}}) {
    auto docs = RunOn(**run, file);
    ASSERT_FALSE(docs.ok()) << file;
    EXPECT_EQ(docs.status().code(), StatusCode::kValidation) << file;
    EXPECT_NE(docs.status().ToString().find(says), std::string::npos) << docs.status().ToString();
    EXPECT_NE(docs.status().ToString().find("inputs.pdf"), std::string::npos) << docs.status().ToString();
  }
  auto docs = RunOn(**run, "report.pdf");  // the same run reads a good file after the bad ones
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  EXPECT_EQ(docs->size(), 10u);
}

TEST_F(DocumentGraphTest, TextQueryGetsTheBlockVector) {
  auto run = Start(Json::object());
  ASSERT_TRUE(run.ok());
  ExtractItem item{"query", {}};
  InputValue v;
  v.name = "pdf";
  v.value = "nitrate levels at the river stations";
  item.inputs.push_back(v);
  std::vector<ExtractedDocument> docs;
  ASSERT_TRUE(run->get()->Extract(item, [&](ExtractedDocument&& d) {
    docs.push_back(std::move(d));
    return Status::Ok();
  }).ok());
  ASSERT_EQ(docs.size(), 1u);
  ASSERT_EQ(docs[0].vectors.size(), 1u);
  EXPECT_EQ(docs[0].vectors[0].first, "document_graph_extractor_v1_embedding");
}

TEST_F(DocumentGraphTest, DescribesItsOutputsAndVectors) {
  const ExtractorInfo& info = extractor_->info();
  EXPECT_EQ(info.id(), "document_graph_extractor_v1");
  EXPECT_TRUE(info.emits_blobs);
  EXPECT_EQ(info.position_fields, (std::vector<std::string>{"page_number", "block_index"}));
  auto params = ResolveParameters(info.parameter_schema, Json(), "parameters");
  ASSERT_TRUE(params.ok());
  EXPECT_EQ((*params)["render_dpi"], 150);
  EXPECT_EQ((*params)["use_layout_detection"], true);
  EXPECT_EQ((*params)["use_vlm_correction"], false);
  Json out = extractor_->OutputSchema(*params);
  for (const char* f : {"text", "object_type", "bbox", "page_number", "block_index", "confidence_score",
                        "confidence_tag", "page_width", "page_height", "source"}) {
    EXPECT_TRUE(out.contains(f)) << f;
  }
  auto vectors = extractor_->VectorOutputs(*params);
  ASSERT_TRUE(vectors.ok());
  ASSERT_EQ(vectors->size(), 2u);
  EXPECT_EQ((*vectors)[0].storage_name, "document_graph_extractor_v1_embedding");
  EXPECT_EQ((*vectors)[0].dimensions, (*models_->Get(kDefaultTextModel))->dimensions());
  EXPECT_EQ((*vectors)[1].type, "sparse");
}

}  // namespace
}  // namespace strata::extract
