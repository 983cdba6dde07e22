// Utilities for tests that make their video and audio fixtures at test time
// with the ffmpeg command line (lavfi sources) and espeak-ng: whether the
// tools are there, and a fixture with hard cuts at known times. Its own
// namespace: the other media test utilities define names of their own (TempDir,
// Ffmpeg) that one test binary links together.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "media/test_support.h"

namespace strata::media::video_testing {

using test_support::ReadFile;
using test_support::TempDir;
using test_support::HaveTool;
using test_support::WriteFile;

inline bool HaveFfmpeg() {
  static const bool have = HaveTool("ffmpeg");
  return have;
}

inline bool HaveEspeak() {
  static const bool have = HaveTool("espeak-ng");
  return have;
}

// libx264 when this ffmpeg has it (what real uploads mostly are), else the
// built-in MPEG-4 part 2 encoder.
inline std::string VideoEncoderArgs() {
  static const std::string args = [] {
    bool x264 = std::system("ffmpeg -hide_banner -encoders 2>/dev/null | grep -q ' libx264 '") == 0;
    return x264 ? std::string("-c:v libx264 -preset ultrafast -pix_fmt yuv420p")
                : std::string("-c:v mpeg4 -q:v 4 -pix_fmt yuv420p");
  }();
  return args;
}

// Runs ffmpeg quietly with `args`; true on success.
inline bool Ffmpeg(const std::string& args) {
  return std::system(("ffmpeg -nostdin -hide_banner -loglevel error -y " + args).c_str()) == 0;
}

// One shot of a concatenated fixture: a lavfi source expression (without
// size/rate/duration) and its length.
struct Shot {
  std::string source;  // e.g. "testsrc2", "smptebars", "color=c=red", "mandelbrot"
  double seconds;
};

// A 640×360, 25 fps video of `shots` joined with hard cuts, so the cuts are
// at the running sums of the shots' lengths. `audio`: a WAV file laid under
// the video (padded with silence, cut to the video's length), "" for none.
inline bool MakeShotsVideo(const std::string& out, const std::vector<Shot>& shots, const std::string& audio = "",
                           const std::string& extra_output_args = "") {
  std::string inputs, filter, labels;
  double total = 0;
  for (size_t i = 0; i < shots.size(); ++i) {
    const std::string sep = shots[i].source.find('=') == std::string::npos ? "=" : ":";
    inputs += " -f lavfi -t " + std::to_string(shots[i].seconds) + " -i \"" + shots[i].source + sep + "s=640x360:r=25\"";
    filter += "[" + std::to_string(i) + ":v]format=yuv420p,setsar=1[v" + std::to_string(i) + "];";
    labels += "[v" + std::to_string(i) + "]";
    total += shots[i].seconds;
  }
  filter += labels + "concat=n=" + std::to_string(shots.size()) + ":v=1:a=0[v]";
  std::string maps = " -map \"[v]\"";
  if (!audio.empty()) {
    inputs += " -i \"" + audio + "\"";
    filter += ";[" + std::to_string(shots.size()) + ":a]apad,atrim=0:" + std::to_string(total) + "[a]";
    maps += " -map \"[a]\" -c:a aac -b:a 96k";
  }
  return Ffmpeg(inputs + " -filter_complex \"" + filter + "\"" + maps + " " + VideoEncoderArgs() + " -r 25 " +
                extra_output_args + " \"" + out + "\"");
}

// espeak-ng speaking `text` into a WAV file (22.05 kHz mono), with the US
// voice and the Klatt synthesiser: PocketSphinx's US English model hears it
// far better than the default voice (audio_test_util.h).
inline bool Speak(const std::string& text, const std::string& wav) {
  return std::system(("espeak-ng -v en-us+klatt -w \"" + wav + "\" \"" + text + "\" >/dev/null 2>&1").c_str()) == 0;
}

}  // namespace strata::media::video_testing
