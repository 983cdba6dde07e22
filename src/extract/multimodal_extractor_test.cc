// multimodal_extractor@v1 on fixtures made at test time (ffmpeg lavfi shots
// joined with hard cuts at known times, espeak-ng speech, drawtext captions):
// one document per scene with the true times and frames, a keyframe thumbnail
// showing that scene, its visual embedding; exact time splits; silence
// splits; the words of a scene's speech in that scene; on-screen text;
// audio files as timed transcript segments; parameters checked; and broken or
// oversized files failing alone while the run goes on.
#include "extract/multimodal_extractor.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include <opencv2/imgcodecs.hpp>

#include "extract/models/model_registry.h"
#include "extract/models/models_test_util.h"
#include "extract/parameters.h"
#include "media/video.h"
#include "media/video_test_util.h"
#include "media/visual_features.h"

namespace strata::extract {
namespace {

namespace mt = media::video_testing;

#define REQUIRE_FFMPEG() \
  if (!mt::HaveFfmpeg()) GTEST_SKIP() << "the ffmpeg command line is not installed (it makes the fixtures)"

class MultimodalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    models_ = std::make_unique<ModelRegistry>(testing_util::ModelsDir());
    extractor_ = MakeMultimodalExtractor(*models_, limits_);
  }

  Result<Json> Params(const Json& given) {
    return ResolveParameters(extractor_->info().parameter_schema, given, "parameters");
  }

  // Runs the extractor with `given` parameters on one item.
  Result<std::vector<ExtractedDocument>> Run(const Json& given, const std::string& input, const std::string& path) {
    auto params = Params(given);
    if (!params.ok()) return params.status();
    RETURN_IF_ERROR(extractor_->CheckParameters(*params, "parameters"));
    ASSIGN_OR_RETURN(auto run, extractor_->Start(*params));
    return RunWith(*run, input, path);
  }

  static Result<std::vector<ExtractedDocument>> RunWith(ExtractorRun& run, const std::string& input,
                                                        const std::string& path) {
    ExtractItem item;
    item.source_id = "obj";
    InputValue v;
    v.name = input;
    v.blob_path = path;
    v.size_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
    item.inputs.push_back(v);
    std::vector<ExtractedDocument> docs;
    RETURN_IF_ERROR(run.Extract(item, [&](ExtractedDocument&& d) {
      docs.push_back(std::move(d));
      return Status::Ok();
    }));
    return docs;
  }

  // Dimensions of the default text model (the transcription vector's).
  int TextDimensions() {
    auto m = models_->Get(kDefaultTextModel);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? (*m)->dimensions() : -1;
  }

  static const std::vector<float>* Vector(const ExtractedDocument& d, const std::string& name) {
    for (const auto& [n, v] : d.vectors) {
      if (n == name) return &v;
    }
    return nullptr;
  }

  media::MediaLimits limits_;
  std::unique_ptr<ModelRegistry> models_;
  std::unique_ptr<Extractor> extractor_;
};

// The scene fixture: cuts at 3.0, 5.5 and 8.0 s; 11 s in all.
bool MakeScenes(const std::string& path, const std::string& audio = "") {
  return mt::MakeShotsVideo(path, {{"testsrc2", 3}, {"smptebars", 2.5}, {"color=c=red", 2.5}, {"mandelbrot", 3}},
                            audio);
}

TEST_F(MultimodalTest, DescribesItselfAndChecksParameters) {
  const ExtractorInfo& info = extractor_->info();
  EXPECT_EQ(info.id(), "multimodal_extractor_v1");
  EXPECT_TRUE(info.emits_blobs);
  EXPECT_TRUE(info.input_schema.contains("video"));
  auto defaults = Params(Json());
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ((*defaults)["split_method"], "time");
  EXPECT_EQ((*defaults)["time_split_interval"], 10);
  EXPECT_EQ((*defaults)["scene_detection_threshold"], 0.5);
  EXPECT_EQ((*defaults)["max_segment_duration"], 30);
  EXPECT_EQ((*defaults)["silence_db_threshold"], -40);
  EXPECT_EQ((*defaults)["run_ocr"], false);
  EXPECT_EQ((*defaults)["enable_thumbnails"], true);
  EXPECT_EQ((*defaults)["segment_length_seconds"], 120);
  auto outs = extractor_->VectorOutputs(*defaults);
  ASSERT_TRUE(outs.ok()) << outs.status().ToString();
  ASSERT_EQ(outs->size(), 3u);
  EXPECT_EQ((*outs)[0].storage_name, "multimodal_extractor_v1_multimodal");
  EXPECT_EQ((*outs)[0].dimensions, media::kVisualEmbeddingDimensions);
  EXPECT_EQ((*outs)[1].storage_name, "multimodal_extractor_v1_transcription");
  EXPECT_EQ((*outs)[1].dimensions, TextDimensions());
  EXPECT_EQ((*outs)[2].type, "sparse");

  EXPECT_FALSE(Params({{"split_method", "shots"}}).ok());
  EXPECT_FALSE(Params({{"scene_detection_threshold", 2}}).ok());
  EXPECT_FALSE(Params({{"bogus", 1}}).ok());
  auto french = Params({{"transcription_language", "fr"}});
  ASSERT_TRUE(french.ok());
  Status st = extractor_->CheckParameters(*french, "parameters");
  EXPECT_EQ(st.code(), StatusCode::kValidation);
  EXPECT_NE(st.ToString().find("only English"), std::string::npos) << st.ToString();
  auto describe = Params({{"run_video_description", true}});
  ASSERT_TRUE(describe.ok());
  st = extractor_->CheckParameters(*describe, "parameters");
  EXPECT_NE(st.ToString().find("no video description model is available here"), std::string::npos) << st.ToString();
  EXPECT_TRUE(extractor_->CheckParameters(*Params({{"use_cdn", true}, {"transcription_language", "en"}}), "p").ok());
}

TEST_F(MultimodalTest, OneDocumentPerSceneWithTimesThumbnailsAndEmbeddings) {
  REQUIRE_FFMPEG();
  mt::TempDir dir;
  std::string path = dir / "scenes.mp4";
  ASSERT_TRUE(MakeScenes(path));
  auto docs = Run({{"split_method", "scene"}, {"run_transcription", false}}, "video", path);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 4u);
  const double starts[] = {0, 3.0, 5.5, 8.0};
  for (size_t i = 0; i < docs->size(); ++i) {
    const ExtractedDocument& d = (*docs)[i];
    SCOPED_TRACE(i);
    EXPECT_EQ(d.modality, "video");
    EXPECT_EQ(d.fields["segment_index"], static_cast<int>(i));
    EXPECT_EQ(d.position["segment_index"], static_cast<int>(i));
    EXPECT_NEAR(d.fields["start_time"].get<double>(), starts[i], 0.2);
    double end = i + 1 < docs->size() ? starts[i + 1] : 11.0;
    EXPECT_NEAR(d.fields["end_time"].get<double>(), end, 0.2);
    EXPECT_NEAR(d.fields["duration"].get<double>(), end - starts[i], 0.3);
    EXPECT_EQ(d.fields["fps"], 25.0);
    EXPECT_EQ(d.fields["width"], 640);
    EXPECT_EQ(d.fields["height"], 360);
    // Frames and times agree at 25 fps.
    EXPECT_NEAR(d.fields["start_frame"].get<double>() / 25.0, d.fields["start_time"].get<double>(), 1e-3);
    if (i > 0) {
      EXPECT_EQ(d.fields["start_frame"], (*docs)[i - 1].fields["end_frame"]);
    }
    EXPECT_EQ(d.fields["transcription"], "");
    // The keyframe sits inside the segment, near its middle.
    double kt = d.fields["keyframe_time"];
    EXPECT_GT(kt, d.fields["start_time"].get<double>());
    EXPECT_LT(kt, d.fields["end_time"].get<double>());
    ASSERT_EQ(d.blobs.size(), 1u);
    EXPECT_EQ(d.blobs[0].field, "thumbnail");
    EXPECT_EQ(d.blobs[0].mime_type, "image/jpeg");
    cv::Mat thumb = cv::imdecode(std::vector<uchar>(d.blobs[0].bytes.begin(), d.blobs[0].bytes.end()), cv::IMREAD_COLOR);
    ASSERT_FALSE(thumb.empty());
    EXPECT_EQ(thumb.cols, 320);
    EXPECT_EQ(thumb.rows, 180);
    if (i == 2) {  // the red scene's thumbnail is red
      cv::Scalar m = cv::mean(thumb);
      EXPECT_GT(m[2], 200);
      EXPECT_LT(m[0], 60);
    }
    const auto* v = Vector(d, "multimodal_extractor_v1_multimodal");
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(static_cast<int>(v->size()), media::kVisualEmbeddingDimensions);
    // No speech, no on-screen text: no text vector.
    EXPECT_EQ(Vector(d, "multimodal_extractor_v1_transcription"), nullptr);
  }
  // The last segment ends after the last frame (lavfi rounds the 3 s shots
  // to whole frames: 275 or 276 in all).
  EXPECT_NEAR(docs->back().fields["end_frame"].get<double>(), 275, 1);
}

TEST_F(MultimodalTest, TimeSplitIsExactAndOptionalOutputsCanBeOff) {
  REQUIRE_FFMPEG();
  mt::TempDir dir;
  std::string path = dir / "twelve.mp4";
  ASSERT_TRUE(mt::MakeShotsVideo(path, {{"testsrc2", 12}}));
  auto docs = Run({{"split_method", "time"}, {"time_split_interval", 5}, {"run_transcription", false},
                   {"enable_thumbnails", false}, {"run_multimodal_embedding", false}, {"detect_objects", false},
                   {"detect_faces", false}},
                  "video", path);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 3u);
  const int frames[] = {0, 125, 250, 300};
  for (int i = 0; i < 3; ++i) {
    const Json& f = (*docs)[i].fields;
    EXPECT_DOUBLE_EQ(f["start_time"].get<double>(), 5.0 * i);
    EXPECT_DOUBLE_EQ(f["end_time"].get<double>(), std::min(12.0, 5.0 * (i + 1)));
    EXPECT_EQ(f["start_frame"], frames[i]);
    EXPECT_EQ(f["end_frame"], frames[i + 1]);
    EXPECT_TRUE((*docs)[i].blobs.empty());
    EXPECT_TRUE((*docs)[i].vectors.empty());
    EXPECT_TRUE(f["keyframe_time"].is_null());
    EXPECT_FALSE(f.contains("objects"));
    EXPECT_FALSE(f.contains("faces"));
  }
}

// Real photos that Debian's opencv-doc ships, shown 3 s each: a football
// match, then a portrait. Each scene's keyframe gets its objects, a caption
// in the text embedding and full-text index, and its faces.
TEST_F(MultimodalTest, KeyframesGetObjectsCaptionAndFaces) {
  REQUIRE_FFMPEG();
  const std::string football = "/usr/share/doc/opencv-doc/examples/data/messi5.jpg";
  const std::string portrait = "/usr/share/doc/opencv-doc/opencv4/html/227943776_1.jpg";
  if (!std::filesystem::exists(football) || !std::filesystem::exists(portrait)) {
    GTEST_SKIP() << "opencv-doc's photos are missing: install opencv-doc (scripts/deps.sh)";
  }
  mt::TempDir dir;
  std::string path = dir / "photos.mp4";
  const std::string scale = "scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2,"
                            "setsar=1,fps=25,format=yuv420p";
  ASSERT_TRUE(mt::Ffmpeg("-loop 1 -t 3 -i \"" + football + "\" -loop 1 -t 3 -i \"" + portrait +
                         "\" -filter_complex \"[0]" + scale + "[a];[1]" + scale + "[b];[a][b]concat=n=2:v=1\" " +
                         mt::VideoEncoderArgs() + " \"" + path + "\""));
  auto docs = Run({{"split_method", "scene"}, {"run_transcription", false}}, "video", path);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  const Json& match = (*docs)[0].fields;
  std::set<std::string> labels;
  for (const auto& o : match["objects"]) labels.insert(o["label"].get<std::string>());
  EXPECT_TRUE(labels.count("sports ball")) << match["objects"];
  EXPECT_TRUE(labels.count("person")) << match["objects"];
  EXPECT_EQ(match["caption"].get<std::string>().rfind("A scene with ", 0), 0u) << match["caption"];
  EXPECT_NE((*docs)[0].searchable_text.find("sports ball"), std::string::npos) << (*docs)[0].searchable_text;
  const Json& face = (*docs)[1].fields;
  ASSERT_EQ(face["faces"].size(), 1u) << face["faces"];
  const Json& box = face["faces"][0]["bbox"];
  EXPECT_GE(box[0].get<int>(), 0);
  EXPECT_LE(box[2].get<int>(), 640);
  EXPECT_LE(box[3].get<int>(), 360);
  // The caption is part of the text the segment is embedded by.
  bool has_text_vector = false;
  for (const auto& [name, v] : (*docs)[0].vectors) has_text_vector = has_text_vector || name.find("transcription") != std::string::npos;
  EXPECT_TRUE(has_text_vector);
}

TEST_F(MultimodalTest, LongScenesAreCutAtMaxSegmentDuration) {
  REQUIRE_FFMPEG();
  mt::TempDir dir;
  std::string path = dir / "long.mp4";
  ASSERT_TRUE(mt::MakeShotsVideo(path, {{"color=c=green", 7}, {"smptebars", 2}}));
  auto docs = Run({{"split_method", "scene"}, {"max_segment_duration", 3}, {"run_transcription", false}}, "video", path);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  std::vector<double> starts;
  for (const auto& d : *docs) starts.push_back(d.fields["start_time"]);
  ASSERT_EQ(starts.size(), 4u) << ::testing::PrintToString(starts);
  EXPECT_NEAR(starts[1], 3.0, 1e-6);
  EXPECT_NEAR(starts[2], 6.0, 1e-6);
  EXPECT_NEAR(starts[3], 7.0, 0.2);
}

TEST_F(MultimodalTest, OnScreenTextIsReadAndSearchable) {
  REQUIRE_FFMPEG();
  mt::TempDir dir;
  std::string path = dir / "caption.mp4";
  // Black text on white for 3 s, drawn by ffmpeg (fontconfig's DejaVu Sans).
  if (!mt::Ffmpeg("-f lavfi -i color=c=white:s=640x360:r=25:d=3 -vf \"drawtext=font='DejaVu Sans':text='HARBOUR "
                  "LIGHTHOUSE':fontsize=56:fontcolor=black:x=(w-text_w)/2:y=(h-text_h)/2\" " +
                  mt::VideoEncoderArgs() + " \"" + path + "\"")) {
    GTEST_SKIP() << "this ffmpeg cannot draw text (drawtext needs libfreetype and fontconfig)";
  }
  auto docs = Run({{"split_method", "time"}, {"run_transcription", false}, {"run_ocr", true}}, "video", path);
  if (!docs.ok() && docs.status().code() == StatusCode::kUnavailable) GTEST_SKIP() << docs.status().ToString();
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 1u);
  const ExtractedDocument& d = docs->front();
  EXPECT_NE(d.fields["ocr_text"].get<std::string>().find("LIGHTHOUSE"), std::string::npos) << d.fields.dump();
  EXPECT_NE(d.searchable_text.find("LIGHTHOUSE"), std::string::npos);
  EXPECT_NE(Vector(d, "multimodal_extractor_v1_transcription"), nullptr);
}

TEST_F(MultimodalTest, SilenceSplitCutsInThePauses) {
  REQUIRE_FFMPEG();
  if (!mt::HaveEspeak()) GTEST_SKIP() << "espeak-ng is not installed (it speaks the fixture)";
  mt::TempDir dir;
  ASSERT_TRUE(mt::Speak("Good morning everyone.", dir / "a.wav"));
  ASSERT_TRUE(mt::Speak("The meeting starts now.", dir / "b.wav"));
  std::string wav = dir / "talk.wav";
  // a, 3 s of silence, b.
  ASSERT_TRUE(mt::Ffmpeg("-i \"" + (dir / "a.wav") + "\" -i \"" + (dir / "b.wav") +
                         "\" -filter_complex \"[0:a]aresample=16000,apad=pad_dur=3[a];[1:a]aresample=16000[b];"
                         "[a][b]concat=n=2:v=0:a=1[o]\" -map \"[o]\" -ac 1 \"" + wav + "\""));
  auto a = media::ProbeMedia(dir / "a.wav");
  ASSERT_TRUE(a.ok());
  std::string path = dir / "talk.mp4";
  ASSERT_TRUE(mt::MakeShotsVideo(path, {{"color=c=gray", a->duration_seconds + 5}}, wav));
  auto docs = Run({{"split_method", "silence"}, {"run_transcription", false}}, "video", path);
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  // The cut is in the pause [a, a + 3], near its middle.
  EXPECT_NEAR((*docs)[1].fields["start_time"].get<double>(), a->duration_seconds + 1.5, 0.4);
}

// The scene fixture with a sentence spoken in scene 2 (3.0-5.5 s) from 3.2 s
// and another in scene 4 (8.0-11 s) from 8.4 s, as a 16 kHz track.
bool MakeTalkingScenes(const mt::TempDir& dir, const std::string& path) {
  return mt::Speak("the president spoke about the economy", dir / "s2.wav") &&
         mt::Speak("the weather is lovely today", dir / "s4.wav") &&
         mt::Ffmpeg("-i \"" + (dir / "s2.wav") + "\" -i \"" + (dir / "s4.wav") +
                    "\" -filter_complex \"[0:a]adelay=3200[x];[1:a]adelay=8400[y];[x][y]amix=inputs=2:normalize=0,"
                    "apad\" -t 11 -ar 16000 -ac 1 \"" + (dir / "track.wav") + "\"") &&
         MakeScenes(path, dir / "track.wav");
}

TEST_F(MultimodalTest, SpeechOfASceneLandsInThatScene) {
  REQUIRE_FFMPEG();
  if (!mt::HaveEspeak()) GTEST_SKIP() << "espeak-ng is not installed (it speaks the fixture)";
  mt::TempDir dir;
  std::string path = dir / "talk.mp4";
  ASSERT_TRUE(MakeTalkingScenes(dir, path));
  auto docs = Run({{"split_method", "scene"}}, "video", path);
  if (!docs.ok() && docs.status().code() == StatusCode::kUnavailable) GTEST_SKIP() << docs.status().ToString();
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 4u);
  std::vector<std::string> heard;
  for (const auto& d : *docs) heard.push_back(d.fields["transcription"]);
  // PocketSphinx hears this voice's "president" and "economy" reliably; each
  // sentence lands in its own scene and nowhere else.
  EXPECT_EQ(heard[0], "");
  EXPECT_NE(heard[1].find("economy"), std::string::npos) << heard[1];
  EXPECT_NE(heard[1].find("president"), std::string::npos) << heard[1];
  EXPECT_EQ(heard[2], "");
  EXPECT_NE(heard[3].find("weather"), std::string::npos) << heard[3];
  EXPECT_EQ(heard[1].find("weather"), std::string::npos) << heard[1];
  // The text is embedded and is what full-text search reads.
  EXPECT_NE(Vector((*docs)[1], "multimodal_extractor_v1_transcription"), nullptr);
  EXPECT_EQ((*docs)[1].searchable_text, heard[1]);
  EXPECT_EQ(Vector((*docs)[0], "multimodal_extractor_v1_transcription"), nullptr);
}

TEST_F(MultimodalTest, AudioBecomesTimedTranscriptSegments) {
  REQUIRE_FFMPEG();
  if (!mt::HaveEspeak()) GTEST_SKIP() << "espeak-ng is not installed (it speaks the fixture)";
  mt::TempDir dir;
  ASSERT_TRUE(mt::Speak("computers are useful machines", dir / "a.wav"));
  std::string path = dir / "talk.wav";
  // The sentence at 1 s and at 6 s: with 4 s segments, two documents.
  ASSERT_TRUE(mt::Ffmpeg("-i \"" + (dir / "a.wav") + "\" -i \"" + (dir / "a.wav") +
                         "\" -filter_complex \"[0:a]adelay=1000[x];[1:a]adelay=6000[y];[x][y]amix=inputs=2:normalize=0,"
                         "apad\" -t 8 -ar 16000 -ac 1 \"" + path + "\""));
  auto docs = Run({{"segment_length_seconds", 4}}, "video", path);
  if (!docs.ok() && docs.status().code() == StatusCode::kUnavailable) GTEST_SKIP() << docs.status().ToString();
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].modality, "audio");
  EXPECT_NEAR((*docs)[0].fields["start_time"].get<double>(), 1.0, 0.5);
  EXPECT_NEAR((*docs)[1].fields["start_time"].get<double>(), 6.0, 0.5);
  for (const auto& d : *docs) {
    EXPECT_NE(d.fields["transcription"].get<std::string>().find("computers"), std::string::npos) << d.fields.dump();
    EXPECT_NE(Vector(d, "multimodal_extractor_v1_transcription"), nullptr);
  }
}

TEST_F(MultimodalTest, AQueryStringIsEmbeddedAsText) {
  auto params = Params(Json());
  ASSERT_TRUE(params.ok());
  auto run = extractor_->Start(*params);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ExtractItem item{"query", {}};
  item.inputs.push_back({"video", "harbour lighthouse", "", "", 0});
  item.inputs.push_back({"audio", "harbour lighthouse", "", "", 0});
  std::vector<ExtractedDocument> docs;
  ASSERT_TRUE((*run)->Extract(item, [&](ExtractedDocument&& d) {
                      docs.push_back(std::move(d));
                      return Status::Ok();
                    }).ok());
  ASSERT_EQ(docs.size(), 1u);
  const auto* v = Vector(docs[0], "multimodal_extractor_v1_transcription");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(static_cast<int>(v->size()), TextDimensions());
}

TEST_F(MultimodalTest, BrokenAndOversizedFilesFailAloneAndTheRunGoesOn) {
  REQUIRE_FFMPEG();
  mt::TempDir dir;
  std::string good = dir / "good.mp4";
  ASSERT_TRUE(mt::MakeShotsVideo(good, {{"testsrc2", 2}, {"color=c=blue", 2}}));
  std::string bytes = mt::ReadFile(good);
  mt::WriteFile(dir / "half.mp4", bytes.substr(0, bytes.size() / 2));
  mt::WriteFile(dir / "notes.mp4", "Meeting notes: bring the slides.\n");
  std::string tone = dir / "tone.wav";
  ASSERT_TRUE(mt::Ffmpeg("-f lavfi -i sine=f=440:d=1 \"" + tone + "\""));

  limits_.max_duration_seconds = 3;
  extractor_ = MakeMultimodalExtractor(*models_, limits_);
  auto params = Params({{"split_method", "scene"}, {"run_transcription", false}});
  ASSERT_TRUE(params.ok());
  auto run = extractor_->Start(*params);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  for (const std::string name : {"half.mp4", "notes.mp4", "good.mp4"}) {
    auto r = RunWith(**run, "video", dir / name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.status().code(), StatusCode::kValidation) << r.status().ToString();
    if (name == "good.mp4") {
      EXPECT_NE(r.status().ToString().find("max_duration_seconds"), std::string::npos) << r.status().ToString();
    }
  }
  // A sound file as the video: its (here untranscribed) audio segments.
  auto audio_as_video = RunWith(**run, "video", tone);
  ASSERT_TRUE(audio_as_video.ok()) << audio_as_video.status().ToString();
  ASSERT_EQ(audio_as_video->size(), 1u);
  EXPECT_EQ(audio_as_video->front().modality, "audio");
  EXPECT_NEAR(audio_as_video->front().fields["end_time"].get<double>(), 1.0, 0.05);
  // The same run still reads a good file.
  std::string shorter = dir / "short.mp4";
  ASSERT_TRUE(mt::MakeShotsVideo(shorter, {{"testsrc2", 1}, {"smptebars", 1}}));
  auto ok = RunWith(**run, "video", shorter);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->size(), 2u);
}

}  // namespace
}  // namespace strata::extract
