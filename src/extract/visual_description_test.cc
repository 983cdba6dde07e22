#include "extract/visual_description.h"

#include <gtest/gtest.h>

namespace strata::extract {
namespace {

Detection Det(const std::string& label, float score, float x, float y, float w, float h) {
  Detection d;
  d.label = label;
  d.score = score;
  d.box = cv::Rect2f(x, y, w, h);
  return d;
}

TEST(ObjectCaptionTest, CountsLabelsInOrderWithArticlesAndPlurals) {
  EXPECT_EQ(ObjectCaption({}, "A photo of"), "");
  EXPECT_EQ(ObjectCaption({Det("sports ball", 0.7f, 0, 0, 1, 1)}, "A photo of"), "A photo of a sports ball.");
  EXPECT_EQ(ObjectCaption({Det("person", 0.9f, 0, 0, 1, 1), Det("umbrella", 0.8f, 0, 0, 1, 1),
                           Det("person", 0.5f, 0, 0, 1, 1)},
                          "A scene with"),
            "A scene with two people and an umbrella.");
  EXPECT_EQ(ObjectCaption({Det("bus", 0.9f, 0, 0, 1, 1), Det("bus", 0.9f, 0, 0, 1, 1), Det("dog", 0.8f, 0, 0, 1, 1),
                           Det("skis", 0.4f, 0, 0, 1, 1)},
                          "A photo of"),
            "A photo of two buses, a dog and a pair of skis.");
  std::vector<Detection> many(12, Det("car", 0.5f, 0, 0, 1, 1));
  EXPECT_EQ(ObjectCaption(many, "A photo of"), "A photo of many cars.");
}

TEST(ObjectsJsonTest, LabelsScoresAndCornerBoxes) {
  Json j = ObjectsJson({Det("cat", 0.87654f, 10.4f, 20.6f, 100.0f, 50.0f)});
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["label"], "cat");
  EXPECT_DOUBLE_EQ(j[0]["score"].get<double>(), 0.8765);
  EXPECT_EQ(j[0]["bbox"], Json({10, 21, 110, 71}));
}

TEST(FacesJsonTest, BoxesAreClippedToThePicture) {
  DetectedFace f;
  f.x1 = -12.0f, f.y1 = 5.0f, f.x2 = 60.0f, f.y2 = 300.0f, f.score = 0.9f;
  Json j = FacesJson({f}, 200, 100);
  EXPECT_EQ(j[0]["bbox"], Json({0, 5, 60, 100}));
  EXPECT_DOUBLE_EQ(j[0]["score"].get<double>(), 0.9);
}

TEST(DescriptionTextTest, CaptionThenText) {
  EXPECT_EQ(DescriptionText("", ""), "");
  EXPECT_EQ(DescriptionText("A photo of a dog.", ""), "A photo of a dog.");
  EXPECT_EQ(DescriptionText("", "EXIT"), "EXIT");
  EXPECT_EQ(DescriptionText("A photo of a dog.", "EXIT"), "A photo of a dog.\nEXIT");
}

}  // namespace
}  // namespace strata::extract
