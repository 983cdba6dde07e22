// Timed transcripts for text_extractor's `split_by: time_segments`: captions
// (WebVTT, SRT) or the JSON segment lists speech recognisers write
// ([{start, end, text}], or {"segments": [...]}, as Whisper and Strata's own
// multimodal extractor do), grouped into segments of at most
// `segment_length_seconds` each.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace strata::extract {

// One caption or recognised utterance, in seconds from the media's start.
struct Cue {
  double start = 0, end = 0;
  std::string text;
};

// The format is told from the content: "WEBVTT" first -> WebVTT; '[' or '{'
// first -> JSON; else SRT ("1\n00:00:01,000 --> 00:00:04,000\ntext"). Cue
// settings, styling blocks (NOTE, STYLE, REGION) and markup tags (<i>, <v
// Speaker>, {\an8}) are dropped. Invalid (with the line or index at fault)
// when a timestamp cannot be read, a cue ends before it starts, or no cue is
// found.
Result<std::vector<Cue>> ParseTranscript(std::string_view text);

// Consecutive cues joined (by one space) into segments spanning at most
// `segment_length_seconds` from their first cue's start; a cue is never cut,
// so a single cue longer than that is a segment of its own. Cues are taken in
// start order; empty cues are skipped.
std::vector<Cue> GroupCues(std::vector<Cue> cues, double segment_length_seconds);

}  // namespace strata::extract
