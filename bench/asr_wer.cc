// Word error rate of the speech pipeline on the real recordings Debian ships
// in pocketsphinx-testdata, each with its reference transcript:
//   cards/     5 files, playing cards read aloud ("eight of spades ...")
//   librivox/  5 sentences of Sense and Sensibility from a LibriVox reading
// A set is a folder holding a file-id list (*.fileids or fileids), a
// transcript (*.transcription or transcription: "<s> words </s> (id)" per
// line) and <id>.wav files. Each file is transcribed twice:
//   pipeline  TranscribeFile (decode, Silero VAD or loudness spans, PocketSphinx)
//   whole     SpeechRecognizer::Transcribe on the whole file at once
// WER = (substitutions + deletions + insertions) / reference words, on
// lower-cased words without punctuation. Prints per-set WER, files/s and the
// real-time factor (audio seconds per second of work).
//
// usage: strata_bench_asr [--data DIR] [--models DIR]
//   DIR defaults: /usr/share/pocketsphinx/test/data, the default models dir.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "extract/models/model_registry.h"
#include "media/audio.h"
#include "media/speech.h"
#include "media/transcribe.h"

namespace fs = std::filesystem;
using namespace strata;
using namespace strata::media;

namespace {

std::vector<std::string> Normalise(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string token;
  while (in >> token) {
    if (token.front() == '<' || token.front() == '(') continue;  // <s>, </s>, (utterance id)
    std::string w;
    for (char c : token) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '\'') w += static_cast<char>(std::tolower(c));
    }
    if (!w.empty()) out.push_back(w);
  }
  return out;
}

// Levenshtein distance over words.
size_t EditDistance(const std::vector<std::string>& ref, const std::vector<std::string>& hyp) {
  std::vector<size_t> prev(hyp.size() + 1), cur(hyp.size() + 1);
  for (size_t j = 0; j <= hyp.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= ref.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= hyp.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ref[i - 1] == hyp[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[hyp.size()];
}

std::string Join(const std::vector<TranscriptSegment>& segments) {
  std::string all;
  for (const auto& s : segments) all += s.text + " ";
  return all;
}

struct Item {
  std::string id, wav;
  std::vector<std::string> ref;
};

// The (id -> reference) pairs of one set folder, or nothing when it is not one.
std::vector<Item> LoadSet(const fs::path& dir) {
  fs::path ids, trans;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name == "fileids" || e.path().extension() == ".fileids") ids = e.path();
    if (name == "transcription" || e.path().extension() == ".transcription") trans = e.path();
  }
  std::vector<Item> items;
  if (ids.empty() || trans.empty()) return items;
  std::map<std::string, std::string> refs;
  std::ifstream t(trans);
  for (std::string line; std::getline(t, line);) {
    size_t open = line.rfind('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) continue;
    refs[line.substr(open + 1, close - open - 1)] = line.substr(0, open);
  }
  std::ifstream f(ids);
  for (std::string id; std::getline(f, id);) {
    if (id.empty()) continue;
    fs::path wav = dir / (id + ".wav");
    auto ref = refs.find(fs::path(id).filename().string());
    if (!fs::exists(wav) || ref == refs.end()) continue;
    items.push_back({id, wav.string(), Normalise(ref->second)});
  }
  return items;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "/usr/share/pocketsphinx/test/data";
  std::string models = extract::DefaultModelsDir(argv[0]);
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--data") data = argv[i + 1];
    if (a == "--models") models = argv[i + 1];
  }
  auto recognizer = SpeechRecognizer::Create();
  if (!recognizer.ok()) {
    std::fprintf(stderr, "%s\n", recognizer.status().ToString().c_str());
    return 1;
  }
  auto vad = VoiceActivityDetector::Create(models);
  std::printf("segmenter: %s\n", vad.ok() ? "silero_vad" : ("energy (" + vad.status().message() + ")").c_str());

  std::vector<fs::path> dirs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(data, ec)) {
    if (e.is_directory()) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  std::printf("%-10s %5s %6s %14s %14s %10s %8s\n", "set", "files", "words", "WER pipeline", "WER whole",
              "files/s", "x real");
  size_t all_words = 0, all_err_p = 0, all_err_w = 0;
  for (const fs::path& dir : dirs) {
    std::vector<Item> items = LoadSet(dir);
    if (items.empty()) continue;
    size_t words = 0, err_p = 0, err_w = 0;
    double audio = 0, seconds = 0;
    for (const Item& item : items) {
      TranscribeOptions options;
      options.recognizer = recognizer->get();
      options.vad = vad.ok() ? vad->get() : nullptr;
      options.use_vad = vad.ok();
      TranscribeReport report;
      auto t0 = std::chrono::steady_clock::now();
      auto piped = TranscribeFile(item.wav, {}, options, &report);
      seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!piped.ok()) {
        std::fprintf(stderr, "%s: %s\n", item.id.c_str(), piped.status().ToString().c_str());
        return 1;
      }
      audio += report.duration_seconds;
      std::vector<int16_t> pcm;
      auto info = DecodeAudio(item.wav, {}, [&](const int16_t* s, size_t n, int64_t) {
        pcm.insert(pcm.end(), s, s + n);
        return Status::Ok();
      });
      auto whole = (*recognizer)->Transcribe(pcm.data(), pcm.size(), 0);
      if (!info.ok() || !whole.ok()) return 1;
      std::vector<std::string> hyp_p = Normalise(Join(*piped)), hyp_w = Normalise(Join(*whole));
      words += item.ref.size();
      err_p += EditDistance(item.ref, hyp_p);
      err_w += EditDistance(item.ref, hyp_w);
      std::printf("  %-44s %s\n", item.id.c_str(), Join(*piped).c_str());
    }
    std::printf("%-10s %5zu %6zu %13.1f%% %13.1f%% %10.2f %8.2f\n", dir.filename().string().c_str(), items.size(),
                words, 100.0 * err_p / words, 100.0 * err_w / words, items.size() / seconds, audio / seconds);
    all_words += words, all_err_p += err_p, all_err_w += err_w;
  }
  if (all_words == 0) {
    std::fprintf(stderr, "no sets with transcripts under %s (apt-get install pocketsphinx-testdata)\n", data.c_str());
    return 1;
  }
  std::printf("%-10s %5s %6zu %13.1f%% %13.1f%%\n", "all", "", all_words, 100.0 * all_err_p / all_words,
              100.0 * all_err_w / all_words);
  return 0;
}
