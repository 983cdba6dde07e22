// Test fixtures for the audio and speech tests, made at test time: tones and
// silence from ffmpeg's lavfi sources, speech from espeak-ng, assembled into
// WAV files whose ground truth (where the speech is, what is said) the test
// knows exactly.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "media/audio.h"
#include "media/speech.h"

#include "media/test_support.h"

namespace strata::media::testing {

namespace fs = std::filesystem;

using test_support::HaveTool;
using test_support::TempDir;

// Runs a shell command quietly; true when it exits 0.
inline bool Run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// Single-quotes `s` for the shell.
inline std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// ffmpeg -y -loglevel error <args>.
inline bool Ffmpeg(const std::string& args) {
  return Run("ffmpeg -nostdin -hide_banner -loglevel error -y " + args);
}

// All of a file's samples at 16 kHz mono (the file is small in tests).
inline Result<std::vector<int16_t>> DecodeAll(const std::string& path, const MediaLimits& limits = {}) {
  std::vector<int16_t> all;
  auto info = DecodeAudio(path, limits, [&](const int16_t* s, size_t n, int64_t start) {
    if (start != static_cast<int64_t>(all.size())) return Status::Internal("chunks out of order");
    all.insert(all.end(), s, s + n);
    return Status::Ok();
  });
  if (!info.ok()) return info.status();
  return all;
}

// Writes 16 kHz mono s16 samples as a canonical 44-byte-header WAV.
inline void WriteWav(const std::string& path, const std::vector<int16_t>& samples) {
  std::ofstream out(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
  uint32_t bytes = static_cast<uint32_t>(samples.size() * 2);
  out.write("RIFF", 4);
  u32(36 + bytes);
  out.write("WAVEfmt ", 8);
  u32(16);
  u16(1);  // PCM
  u16(1);  // mono
  u32(kSpeechSampleRate);
  u32(kSpeechSampleRate * 2);
  u16(2);
  u16(16);
  out.write("data", 4);
  u32(bytes);
  out.write(reinterpret_cast<const char*>(samples.data()), bytes);
}

// Speech from espeak-ng with the voice's own leading and trailing silence
// cut (silenceremove at -50 dB), so the samples are speech end to end.
inline Result<std::vector<int16_t>> SpeakTrimmed(const TempDir& dir, const std::string& text, int index) {
  std::string raw = dir / ("say" + std::to_string(index) + ".wav");
  std::string trimmed = dir / ("said" + std::to_string(index) + ".wav");
  // The US voice with the Klatt formant synthesiser: PocketSphinx's US
  // English model hears it far better than espeak-ng's default voice (about
  // 55-60% of the tests' content words against 22% measured).
  if (!Run("espeak-ng -v en-us+klatt -w " + Quote(raw) + " " + Quote(text))) {
    return Status::Internal("espeak-ng failed");
  }
  const std::string cut = "silenceremove=start_periods=1:start_threshold=-50dB";
  if (!Ffmpeg("-i " + Quote(raw) + " -af " + cut + ",areverse," + cut + ",areverse -ar 16000 -ac 1 " +
              Quote(trimmed))) {
    return Status::Internal("ffmpeg failed to trim the speech");
  }
  return DecodeAll(trimmed);
}

struct SpeechFixture {
  std::string wav;                 // 16 kHz mono
  std::vector<SpeechSpan> truth;   // where each sentence is, in seconds
  std::vector<std::string> sentences;
  double duration = 0;
};

// `sentences` spoken one after another with gaps of silence (faint noise at
// about -60 dBFS rather than digital zeros, as a real recording has) before,
// between and after them.
inline Result<SpeechFixture> MakeSpeechFixture(const TempDir& dir, const std::vector<std::string>& sentences,
                                               const std::vector<double>& gaps_seconds) {
  SpeechFixture f;
  f.sentences = sentences;
  std::vector<int16_t> pcm;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> noise(-30, 30);
  auto silence = [&](double seconds) {
    for (int i = 0; i < static_cast<int>(seconds * kSpeechSampleRate); ++i) {
      pcm.push_back(static_cast<int16_t>(noise(rng)));
    }
  };
  for (size_t i = 0; i < sentences.size(); ++i) {
    silence(gaps_seconds[i % gaps_seconds.size()]);
    auto speech = SpeakTrimmed(dir, sentences[i], static_cast<int>(i));
    if (!speech.ok()) return speech.status();
    double start = static_cast<double>(pcm.size()) / kSpeechSampleRate;
    pcm.insert(pcm.end(), speech->begin(), speech->end());
    f.truth.push_back({start, static_cast<double>(pcm.size()) / kSpeechSampleRate});
  }
  silence(gaps_seconds.back());
  f.duration = static_cast<double>(pcm.size()) / kSpeechSampleRate;
  f.wav = dir / "speech.wav";
  WriteWav(f.wav, pcm);
  return f;
}

// Lower-case words of `text`, letters and apostrophes only.
inline std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : text + " ") {
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '\'') {
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!w.empty()) {
      out.push_back(w);
      w.clear();
    }
  }
  return out;
}

// The share of the content words (not function words) of `sentences` that
// appear anywhere in `heard`.
inline double ContentWordRecall(const std::vector<std::string>& sentences, const std::string& heard) {
  static const std::set<std::string> kFunction = {
      "a",  "an", "the", "and", "or", "of", "to", "in", "on", "at", "is", "are", "was",
      "it", "we", "i",   "you", "he", "she", "they", "her", "his", "be", "will", "from", "these", "this"};
  std::vector<std::string> heard_words = Words(heard);
  std::set<std::string> got(heard_words.begin(), heard_words.end());
  int total = 0, found = 0;
  for (const std::string& s : sentences) {
    for (const std::string& w : Words(s)) {
      if (kFunction.count(w)) continue;
      ++total;
      found += got.count(w) > 0;
    }
  }
  return total == 0 ? 0 : static_cast<double>(found) / total;
}

}  // namespace strata::media::testing
