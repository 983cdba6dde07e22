// Video decomposition throughput next to the decoder's own speed, measured in
// the same run on the same file: a 640×360, 25 fps H.264 video of about 60 s
// with a hard cut every 5 s (made with ffmpeg's lavfi sources), then
//   - `ffmpeg -threads 2 -i f -f null -`: the FFmpeg command line decoding
//     every frame and discarding it (the ceiling for anything that looks at
//     every frame);
//   - multimodal_extractor@v1 with split_method scene and thumbnails (no OCR,
//     no transcription, no embeddings): decode, scale every frame to 160×90
//     for the scene score, keep keyframe candidates, encode one JPEG per scene.
// Both are printed as seconds of video per wall-clock second, with their
// ratio (the aim is at least 0.8× the decoder's speed). Each is the best of
// --runs runs.
//
// usage: strata_bench_video [--seconds N] [--runs R] [--keep DIR]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "extract/models/model_registry.h"
#include "extract/multimodal_extractor.h"
#include "extract/parameters.h"
#include "media/video.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace extract = strata::extract;
namespace media = strata::media;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

bool Run(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }

// A video of `seconds` seconds, a new shot every 5 s cycling through sources
// that differ in colour and motion.
bool MakeVideo(const std::string& path, int seconds) {
  const char* sources[] = {"testsrc2", "smptebars", "mandelbrot", "color=c=0x336699", "rgbtestsrc", "testsrc"};
  std::string inputs, filter, labels;
  int n = 0;
  for (int t = 0; t < seconds; t += 5, ++n) {
    std::string src = sources[n % 6];
    std::string sep = src.find('=') == std::string::npos ? "=" : ":";
    inputs += " -f lavfi -t 5 -i \"" + src + sep + "s=640x360:r=25\"";
    filter += "[" + std::to_string(n) + ":v]format=yuv420p,setsar=1[v" + std::to_string(n) + "];";
    labels += "[v" + std::to_string(n) + "]";
  }
  filter += labels + "concat=n=" + std::to_string(n) + ":v=1:a=0[v]";
  return Run("ffmpeg -nostdin -hide_banner -loglevel error -y" + inputs + " -filter_complex \"" + filter +
             "\" -map \"[v]\" -c:v libx264 -preset medium -pix_fmt yuv420p -r 25 \"" + path + "\"");
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 60, runs = 3;
  std::string keep;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--seconds") seconds = std::atoi(argv[i + 1]);
    if (a == "--runs") runs = std::atoi(argv[i + 1]);
    if (a == "--keep") keep = argv[i + 1];
  }
  if (std::system("ffmpeg -hide_banner -encoders 2>/dev/null | grep -q ' libx264 '") != 0) {
    std::fprintf(stderr, "ffmpeg with libx264 is needed to make the benchmark's video\n");
    return 1;
  }
  std::filesystem::path dir =
      keep.empty() ? std::filesystem::temp_directory_path() / "strata-video-bench" : std::filesystem::path(keep);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "bench.mp4").string();
  if (!MakeVideo(path, seconds)) {
    std::fprintf(stderr, "ffmpeg could not make the video\n");
    return 1;
  }
  auto probe = media::ProbeMedia(path);
  if (!probe.ok()) {
    std::fprintf(stderr, "%s\n", probe.status().ToString().c_str());
    return 1;
  }
  const double length = probe->duration_seconds;
  std::printf("video: %dx%d H.264, %.1f s at %.0f fps, %.1f MB\n", probe->width, probe->height, length, probe->fps,
              static_cast<double>(std::filesystem::file_size(path)) / 1e6);

  double best_ffmpeg = 1e30;
  for (int r = 0; r < runs; ++r) {
    auto t0 = Clock::now();
    if (!Run("ffmpeg -nostdin -hide_banner -loglevel error -threads 2 -i \"" + path + "\" -f null -")) return 1;
    best_ffmpeg = std::min(best_ffmpeg, Seconds(t0));
  }

  // The decode loop alone (every frame scaled to the 160×90 analysis size,
  // nothing else): what the extractor's own work adds is the difference.
  double best_decode = 1e30;
  for (int r = 0; r < runs; ++r) {
    auto t0 = Clock::now();
    auto info = media::DecodeVideo(path, {}, {}, [](const media::VideoFrame&) { return strata::Status::Ok(); });
    best_decode = std::min(best_decode, Seconds(t0));
    if (!info.ok()) {
      std::fprintf(stderr, "%s\n", info.status().ToString().c_str());
      return 1;
    }
  }

  extract::ModelRegistry models(extract::DefaultModelsDir(argv[0]));
  media::MediaLimits limits;
  auto ex = extract::MakeMultimodalExtractor(models, limits);
  auto params = extract::ResolveParameters(ex->info().parameter_schema,
                                           {{"split_method", "scene"},
                                            {"enable_thumbnails", true},
                                            {"run_transcription", false},
                                            {"run_transcription_embedding", false},
                                            {"run_multimodal_embedding", false},
                                            {"run_ocr", false}},
                                           "parameters");
  if (!params.ok()) {
    std::fprintf(stderr, "%s\n", params.status().ToString().c_str());
    return 1;
  }
  auto run = ex->Start(*params);
  if (!run.ok()) {
    std::fprintf(stderr, "%s\n", run.status().ToString().c_str());
    return 1;
  }
  extract::ExtractItem item;
  item.source_id = "bench";
  extract::InputValue v;
  v.name = "video";
  v.blob_path = path;
  v.size_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
  item.inputs.push_back(v);
  double best_extract = 1e30;
  size_t scenes = 0, thumb_bytes = 0;
  for (int r = 0; r < runs; ++r) {
    scenes = 0;
    thumb_bytes = 0;
    auto t0 = Clock::now();
    strata::Status st = (*run)->Extract(item, [&](extract::ExtractedDocument&& d) {
      ++scenes;
      for (const auto& b : d.blobs) thumb_bytes += b.bytes.size();
      return strata::Status::Ok();
    });
    best_extract = std::min(best_extract, Seconds(t0));
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
  }
  const double ffmpeg_speed = length / best_ffmpeg, extract_speed = length / best_extract;
  std::printf("ffmpeg -threads 2 -f null (decode only)     %7.1f s of video per s  (%.2f s)\n", ffmpeg_speed,
              best_ffmpeg);
  std::printf("media::DecodeVideo (decode + 160x90 scale) %7.1f s of video per s  (%.2f s)\n", length / best_decode,
              best_decode);
  std::printf("multimodal_extractor scene split + thumbs  %7.1f s of video per s  (%.2f s, %zu scenes, %zu KB of "
              "thumbnails)\n",
              extract_speed, best_extract, scenes, thumb_bytes / 1024);
  std::printf("ratio extractor / decoder: %.2fx (aim >= 0.8x)\n", extract_speed / ffmpeg_speed);
  if (keep.empty()) std::filesystem::remove_all(dir);
  return 0;
}
