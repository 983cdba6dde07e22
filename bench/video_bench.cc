// Video decomposition throughput next to the decoder's own speed, measured in
// the same run on the same file: a 640×360, 25 fps H.264 video of about 60 s
// with a hard cut every 5 s (made with ffmpeg's lavfi sources), then
//   - `ffmpeg -threads 2 -i f -f null -`: the FFmpeg command line decoding
//     every frame and discarding it (the ceiling for anything that looks at
//     every frame);
//   - multimodal_extractor@v1 with split_method scene and thumbnails (no OCR,
//     no transcription, no embeddings, no object or face detection): decode,
//     scale every frame to 160×90 for the scene score, keep keyframe
//     candidates, encode one JPEG per scene.
// Both are printed as seconds of video per wall-clock second, with their
// ratio (the aim is at least 0.8× the decoder's speed). Each is the best of
// --runs runs.
//
// --memory: peak memory of the same extractor path on a short and a long
// file (by default 1 and 60 minutes; 640×360 H.264, ultrafast, ~250 kbit/s,
// a hard cut every 5 s; the long file is the short one looped with
// `-stream_loop`, no re-encoding). Each file is processed in a child process
// of its own so that its peak resident set (getrusage's ru_maxrss, from
// wait4) is its alone; printed with the resident set before Extract (the
// libraries and the extractor), seconds of video per second, the same two
// figures for the ffmpeg command line decoding the file (the reference), and
// the ratio of the two peaks (flat memory: close to 1).
//
// usage: strata_bench_video [--seconds N] [--runs R] [--keep DIR]
//        strata_bench_video --memory [--short-seconds N] [--long-seconds N] [--keep DIR]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
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

// x264 settings of the speed run's file, and of the memory run's (quick to
// make for an hour of video, and small).
constexpr const char* kSpeedEncoder = "-c:v libx264 -preset medium";
constexpr const char* kMemoryEncoder = "-c:v libx264 -preset ultrafast -b:v 250k";

// A video of `seconds` seconds, a new shot every 5 s cycling through sources
// that differ in colour and motion.
bool MakeVideo(const std::string& path, int seconds, const std::string& encoder) {
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
             "\" -map \"[v]\" " + encoder + " -pix_fmt yuv420p -r 25 \"" + path + "\"");
}

// multimodal_extractor@v1 as the engine runs it for a collection with
// split_method scene and thumbnails (no OCR, no transcription, no
// embeddings, no object or face detection), and the item that hands it
// `path` as the video blob.
struct ExtractorUnderTest {
  std::unique_ptr<extract::ModelRegistry> models;
  std::unique_ptr<extract::Extractor> extractor;
  std::unique_ptr<extract::ExtractorRun> run;
  extract::ExtractItem item;
};

strata::Result<ExtractorUnderTest> MakeExtractor(const char* argv0, const std::string& path) {
  ExtractorUnderTest t;
  t.models = std::make_unique<extract::ModelRegistry>(extract::DefaultModelsDir(argv0));
  media::MediaLimits limits;
  t.extractor = extract::MakeMultimodalExtractor(*t.models, limits);
  ASSIGN_OR_RETURN(auto params, extract::ResolveParameters(t.extractor->info().parameter_schema,
                                                           {{"split_method", "scene"},
                                                            {"enable_thumbnails", true},
                                                            {"run_transcription", false},
                                                            {"run_transcription_embedding", false},
                                                            {"run_multimodal_embedding", false},
                                                            {"run_ocr", false},
                                                            {"detect_objects", false},
                                                            {"detect_faces", false}},
                                                           "parameters"));
  ASSIGN_OR_RETURN(t.run, t.extractor->Start(params));
  t.item.source_id = "bench";
  extract::InputValue v;
  v.name = "video";
  v.blob_path = path;
  v.size_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
  t.item.inputs.push_back(v);
  return t;
}

// A /proc/self/status figure in KiB ("VmRSS", "VmHWM"); -1 when absent.
long StatusKib(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::atol(line.c_str() + key.size() + 1);
  }
  return -1;
}

struct MemoryRun {
  double length = 0, seconds = 0;
  size_t scenes = 0;
  long rss_before_kib = 0, peak_kib = 0;
};

// Processes `path` in a child process (forked before this process starts any
// thread: FFmpeg's decoder threads live in the child only) and returns its
// figures; the peak is the child's ru_maxrss.
strata::Result<MemoryRun> MeasureInChild(const char* argv0, const std::string& path) {
  int fds[2];
  if (pipe(fds) != 0) return strata::Status::Internal("pipe failed");
  pid_t pid = fork();
  if (pid < 0) return strata::Status::Internal("fork failed");
  if (pid == 0) {
    close(fds[0]);
    MemoryRun m;
    int code = 1;
    auto probe = media::ProbeMedia(path);
    auto t = probe.ok() ? MakeExtractor(argv0, path) : strata::Result<ExtractorUnderTest>(probe.status());
    if (t.ok()) {
      m.length = probe->duration_seconds;
      m.rss_before_kib = StatusKib("VmRSS");
      auto t0 = Clock::now();
      strata::Status st = t->run->Extract(t->item, [&](extract::ExtractedDocument&&) {
        ++m.scenes;  // written and dropped, as the engine does
        return strata::Status::Ok();
      });
      m.seconds = Seconds(t0);
      if (st.ok()) {
        code = 0;
      } else {
        std::fprintf(stderr, "%s\n", st.ToString().c_str());
      }
    } else {
      std::fprintf(stderr, "%s\n", t.status().ToString().c_str());
    }
    if (code == 0 && write(fds[1], &m, sizeof m) != static_cast<ssize_t>(sizeof m)) code = 1;
    _exit(code);
  }
  close(fds[1]);
  MemoryRun m;
  ssize_t got = read(fds[0], &m, sizeof m);
  close(fds[0]);
  int status = 0;
  rusage ru{};
  if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      got != static_cast<ssize_t>(sizeof m)) {
    return strata::Status::Internal("the measuring child failed on " + path);
  }
  m.peak_kib = ru.ru_maxrss;  // KiB on Linux
  return m;
}

// The reference: the ffmpeg command line decoding `path` (2 threads, frames
// discarded), its wall time and peak resident set.
strata::Result<MemoryRun> MeasureFfmpeg(const std::string& path) {
  const std::string cmd = "exec ffmpeg -nostdin -hide_banner -loglevel error -threads 2 -i \"" + path + "\" -f null -";
  auto t0 = Clock::now();
  pid_t pid = fork();
  if (pid < 0) return strata::Status::Internal("fork failed");
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  rusage ru{};
  if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return strata::Status::Internal("ffmpeg failed on " + path);
  }
  MemoryRun m;
  m.seconds = Seconds(t0);
  m.peak_kib = ru.ru_maxrss;
  return m;
}

int MemoryBench(const char* argv0, int short_seconds, int long_seconds, const std::filesystem::path& dir) {
  const std::string short_path = (dir / "short.mp4").string(), long_path = (dir / "long.mp4").string();
  if (!MakeVideo(short_path, short_seconds, kMemoryEncoder)) {
    std::fprintf(stderr, "ffmpeg could not make the video\n");
    return 1;
  }
  const int loops = (long_seconds + short_seconds - 1) / short_seconds;
  if (!Run("ffmpeg -nostdin -hide_banner -loglevel error -y -stream_loop " + std::to_string(loops - 1) + " -i \"" +
           short_path + "\" -c copy -t " + std::to_string(long_seconds) + " \"" + long_path + "\"")) {
    std::fprintf(stderr, "ffmpeg could not make the long video\n");
    return 1;
  }
  std::vector<MemoryRun> runs, refs;
  for (const std::string& path : {short_path, long_path}) {
    auto m = MeasureInChild(argv0, path);
    auto ref = m.ok() ? MeasureFfmpeg(path) : strata::Result<MemoryRun>(m.status());
    if (!ref.ok()) {
      std::fprintf(stderr, "%s\n", ref.status().ToString().c_str());
      return 1;
    }
    std::printf("%.0f s of 640x360 H.264 at 25 fps (%.1f MB):\n", m->length,
                static_cast<double>(std::filesystem::file_size(path)) / 1e6);
    std::printf("  multimodal_extractor scene split + thumbs %7.1f s of video per s (%.1f s, %zu scenes), "
                "peak RSS %.1f MiB (%.1f MiB before Extract)\n",
                m->length / m->seconds, m->seconds, m->scenes, m->peak_kib / 1024.0, m->rss_before_kib / 1024.0);
    std::printf("  ffmpeg -threads 2 -f null (decode only)   %7.1f s of video per s (%.1f s), peak RSS %.1f MiB\n",
                m->length / ref->seconds, ref->seconds, ref->peak_kib / 1024.0);
    runs.push_back(*m);
    refs.push_back(*ref);
  }
  auto ratio = [](const std::vector<MemoryRun>& r) {
    return static_cast<double>(r[1].peak_kib) / static_cast<double>(r[0].peak_kib);
  };
  std::printf("peak RSS long / short, %.0fx the video: extractor %.2fx, ffmpeg %.2fx\n",
              runs[1].length / runs[0].length, ratio(runs), ratio(refs));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = 60, runs = 3, short_seconds = 60, long_seconds = 3600;
  bool memory = false;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--memory") {
      memory = true;
    } else if (a == "--seconds" && has_value) {
      seconds = std::atoi(argv[++i]);
    } else if (a == "--runs" && has_value) {
      runs = std::atoi(argv[++i]);
    } else if (a == "--short-seconds" && has_value) {
      short_seconds = std::atoi(argv[++i]);
    } else if (a == "--long-seconds" && has_value) {
      long_seconds = std::atoi(argv[++i]);
    } else if (a == "--keep" && has_value) {
      keep = argv[++i];
    } else {
      std::fprintf(stderr, "unknown or incomplete option %s\n", a.c_str());
      return 2;
    }
  }
  if (std::system("ffmpeg -hide_banner -encoders 2>/dev/null | grep -q ' libx264 '") != 0) {
    std::fprintf(stderr, "ffmpeg with libx264 is needed to make the benchmark's video\n");
    return 1;
  }
  std::filesystem::path dir =
      keep.empty() ? std::filesystem::temp_directory_path() / "strata-video-bench" : std::filesystem::path(keep);
  std::filesystem::create_directories(dir);
  if (memory) {
    if (short_seconds <= 0 || long_seconds <= 0) {
      std::fprintf(stderr, "--short-seconds and --long-seconds must be positive\n");
      return 2;
    }
    int code = MemoryBench(argv[0], short_seconds, long_seconds, dir);
    if (keep.empty()) std::filesystem::remove_all(dir);
    return code;
  }
  const std::string path = (dir / "bench.mp4").string();
  if (!MakeVideo(path, seconds, kSpeedEncoder)) {
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

  auto ex = MakeExtractor(argv[0], path);
  if (!ex.ok()) {
    std::fprintf(stderr, "%s\n", ex.status().ToString().c_str());
    return 1;
  }
  double best_extract = 1e30;
  size_t scenes = 0, thumb_bytes = 0;
  for (int r = 0; r < runs; ++r) {
    scenes = 0;
    thumb_bytes = 0;
    auto t0 = Clock::now();
    strata::Status st = ex->run->Extract(ex->item, [&](extract::ExtractedDocument&& d) {
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
