// Timed transcripts: the three formats read to the same cues, and grouping
// into time segments never cuts a cue.
#include "extract/transcript.h"

#include <gtest/gtest.h>

namespace strata::extract {
namespace {

const char* kSrt =
    "1\r\n00:00:01,000 --> 00:00:04,500\r\nHello <i>there</i>.\r\n\r\n"
    "2\r\n00:00:05,000 --> 00:00:07,250\r\nSecond line\r\nwraps here.\r\n\r\n"
    "3\r\n01:00:00,000 --> 01:00:02,000\r\n{\\an8}An hour in.\r\n";

TEST(TranscriptTest, ReadsSrt) {
  auto cues = ParseTranscript(kSrt);
  ASSERT_TRUE(cues.ok()) << cues.status().message();
  ASSERT_EQ(cues->size(), 3u);
  EXPECT_DOUBLE_EQ((*cues)[0].start, 1.0);
  EXPECT_DOUBLE_EQ((*cues)[0].end, 4.5);
  EXPECT_EQ((*cues)[0].text, "Hello there.");
  EXPECT_EQ((*cues)[1].text, "Second line wraps here.");
  EXPECT_DOUBLE_EQ((*cues)[1].end, 7.25);
  EXPECT_DOUBLE_EQ((*cues)[2].start, 3600.0);
  EXPECT_EQ((*cues)[2].text, "An hour in.");
}

TEST(TranscriptTest, ReadsWebVttWithHeaderNotesAndSettings) {
  const char* vtt =
      "WEBVTT - a talk\nKind: captions\nLanguage: en\n\n"
      "NOTE this block is a comment\nspanning lines\n\n"
      "intro\n00:01.000 --> 00:03.000 align:start position:10%\n<v Ana>Welcome</v> everyone\n\n"
      "00:00:03.500 --> 00:00:06.000\nToday: indexes.\n";
  auto cues = ParseTranscript(vtt);
  ASSERT_TRUE(cues.ok()) << cues.status().message();
  ASSERT_EQ(cues->size(), 2u);
  EXPECT_DOUBLE_EQ((*cues)[0].start, 1.0);
  EXPECT_DOUBLE_EQ((*cues)[0].end, 3.0);
  EXPECT_EQ((*cues)[0].text, "Welcome everyone");
  EXPECT_EQ((*cues)[1].text, "Today: indexes.");
}

TEST(TranscriptTest, ReadsJsonSegmentListsAndObjects) {
  auto list = ParseTranscript(R"([{"start": 0, "end": 2.5, "text": " one "}, {"start_time": 3, "end_time": 4, "transcription": "two"}])");
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].text, "one");
  EXPECT_DOUBLE_EQ((*list)[1].start, 3.0);
  EXPECT_EQ((*list)[1].text, "two");
  auto whisper = ParseTranscript(R"({"text": "all", "segments": [{"start": 1, "end": 2, "text": "x"}]})");
  ASSERT_TRUE(whisper.ok());
  EXPECT_EQ(whisper->size(), 1u);
}

TEST(TranscriptTest, BadTranscriptsSayWhatIsWrong) {
  auto plain = ParseTranscript("just some text without any timing");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("needs a timed transcript"), std::string::npos) << plain.status().message();
  auto backwards = ParseTranscript("1\n00:00:05,000 --> 00:00:01,000\nx\n");
  ASSERT_FALSE(backwards.ok());
  EXPECT_NE(backwards.status().message().find("ends before"), std::string::npos);
  auto bad_time = ParseTranscript("1\n00:xx:05,000 --> 00:00:09,000\nx\n");
  ASSERT_FALSE(bad_time.ok());
  EXPECT_NE(bad_time.status().message().find("line 2"), std::string::npos) << bad_time.status().message();
  auto lost = ParseTranscript("1\n00:00:01,000 --> 00:00:02,000\nx\n\n2\nno timing here\n");
  ASSERT_FALSE(lost.ok());
  EXPECT_NE(lost.status().message().find("line 6"), std::string::npos) << lost.status().message();
  EXPECT_FALSE(ParseTranscript(R"([{"start": 1, "text": "no end"}])").ok());
  EXPECT_FALSE(ParseTranscript("[1, 2]").ok());
  EXPECT_FALSE(ParseTranscript("{broken").ok());
  EXPECT_FALSE(ParseTranscript("").ok());
  EXPECT_FALSE(ParseTranscript("WEBVTT\n\n").ok());  // no cue at all
}

TEST(TranscriptTest, GroupsCuesIntoSegmentsWithoutCuttingThem) {
  std::vector<Cue> cues = {{10, 14, "c"}, {0, 4, "a"}, {5, 9, "b"}, {15, 40, "d long"}, {41, 42, ""}, {41, 43, "e"}};
  auto segs = GroupCues(cues, 10);
  ASSERT_EQ(segs.size(), 4u);
  EXPECT_EQ(segs[0].text, "a b");  // c ends at 14 > 0 + 10
  EXPECT_DOUBLE_EQ(segs[0].start, 0);
  EXPECT_DOUBLE_EQ(segs[0].end, 9);
  EXPECT_EQ(segs[1].text, "c");  // d (to 40) would pass 10 + 10
  EXPECT_EQ(segs[2].text, "d long");  // longer than a segment: alone, whole
  EXPECT_EQ(segs[3].text, "e");       // would pass 15 + 10; the empty cue is skipped
  auto one = GroupCues(cues, 1000);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].text, "a b c d long e");
  EXPECT_DOUBLE_EQ(one[0].end, 43);
}

}  // namespace
}  // namespace strata::extract
