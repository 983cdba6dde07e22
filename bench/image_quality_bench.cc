// Similarity quality of the hand-made visual features (media/visual_features.h)
// on a labelled set: Fashion-MNIST (Debian: dataset-fashion-mnist), 10 classes
// of 28×28 gray clothing images. Each query image (from the test split) looks
// up its 10 nearest gallery images (from the training split); precision@10 is
// the share of them in the query's class. Printed next to the baseline of
// raw-pixel neighbours (the L2-normalised pixel vector, cosine) and to pHash
// Hamming neighbours, with embeddings/s for each and for 256×256 colour images.
//
//   strata_bench_image_quality [--data DIR] [--queries N] [--gallery N]
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <opencv2/core.hpp>
#include <string>
#include <utility>
#include <vector>

#include "media/visual_features.h"

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "%s\n", what.c_str());
  std::exit(1);
}

// An IDX file, gzip-compressed as Debian ships it or already uncompressed
// (zlib reads both): big-endian magic and sizes, then one byte per value.
std::string FindIdx(const std::string& dir, const std::string& stem) {
  for (const std::string& name : {stem + ".gz", stem}) {
    if (std::filesystem::exists(dir + "/" + name)) return dir + "/" + name;
  }
  Die("no " + stem + "[.gz] in " + dir + " (apt-get install dataset-fashion-mnist)");
}

std::vector<uint8_t> ReadIdx(const std::string& path, uint32_t magic, size_t limit,
                             std::vector<uint32_t>* dims) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) Die("cannot open " + path);
  const int ndims = static_cast<int>(magic & 0xff);
  std::vector<unsigned char> head(4 + 4 * static_cast<size_t>(ndims));
  if (gzread(f, head.data(), static_cast<unsigned>(head.size())) != static_cast<int>(head.size())) {
    Die(path + ": short header");
  }
  auto be32 = [&](size_t at) {
    return (uint32_t{head[at]} << 24) | (uint32_t{head[at + 1]} << 16) |
           (uint32_t{head[at + 2]} << 8) | head[at + 3];
  };
  if (be32(0) != magic) Die(path + ": not the expected IDX file");
  dims->clear();
  size_t item = 1;
  for (int d = 0; d < ndims; ++d) {
    dims->push_back(be32(4 + 4 * static_cast<size_t>(d)));
    if (d > 0) item *= dims->back();
  }
  const size_t count = std::min<size_t>((*dims)[0], limit);
  (*dims)[0] = static_cast<uint32_t>(count);
  std::vector<uint8_t> bytes(count * item);
  if (gzread(f, bytes.data(), static_cast<unsigned>(bytes.size())) != static_cast<int>(bytes.size())) {
    Die(path + ": short data");
  }
  gzclose(f);
  return bytes;
}

struct Split {
  std::vector<cv::Mat> images;
  std::vector<int> labels;
};

Split Load(const std::string& dir, const std::string& prefix, size_t limit) {
  std::vector<uint32_t> dims;
  std::vector<uint8_t> pixels = ReadIdx(FindIdx(dir, prefix + "-images-idx3-ubyte"), 0x803, limit, &dims);
  const int rows = static_cast<int>(dims[1]), cols = static_cast<int>(dims[2]);
  std::vector<uint8_t> labels = ReadIdx(FindIdx(dir, prefix + "-labels-idx1-ubyte"), 0x801, limit, &dims);
  Split s;
  const size_t n = std::min(labels.size(), pixels.size() / (static_cast<size_t>(rows) * cols));
  for (size_t i = 0; i < n; ++i) {
    s.images.push_back(cv::Mat(rows, cols, CV_8UC1, pixels.data() + i * rows * cols).clone());
    s.labels.push_back(labels[i]);
  }
  return s;
}

// One row per image; returns embeddings/s.
double EmbedAll(const std::vector<cv::Mat>& images, const std::function<std::vector<float>(const cv::Mat&)>& fn,
                cv::Mat* out) {
  const auto start = Clock::now();
  for (size_t i = 0; i < images.size(); ++i) {
    std::vector<float> v = fn(images[i]);
    if (out->empty()) *out = cv::Mat(static_cast<int>(images.size()), static_cast<int>(v.size()), CV_32F);
    std::memcpy(out->ptr<float>(static_cast<int>(i)), v.data(), v.size() * sizeof(float));
  }
  return static_cast<double>(images.size()) / Seconds(start);
}

// Mean share of same-label items among each query's 10 highest-scoring gallery
// items (ties broken by gallery order).
template <typename Score>
double PrecisionAt10(size_t queries, size_t gallery, const std::vector<int>& qlabels,
                     const std::vector<int>& glabels, const Score& score) {
  double total = 0;
  std::vector<std::pair<float, size_t>> ranked(gallery);
  for (size_t q = 0; q < queries; ++q) {
    for (size_t g = 0; g < gallery; ++g) ranked[g] = {-score(q, g), g};
    std::partial_sort(ranked.begin(), ranked.begin() + 10, ranked.end());
    int same = 0;
    for (int k = 0; k < 10; ++k) same += glabels[ranked[k].second] == qlabels[q];
    total += same / 10.0;
  }
  return total / static_cast<double>(queries);
}

double CosineP10(const cv::Mat& q, const cv::Mat& g, const Split& qs, const Split& gs) {
  const cv::Mat sims = q * g.t();  // rows are L2-normalised: cosine
  return PrecisionAt10(static_cast<size_t>(q.rows), static_cast<size_t>(g.rows), qs.labels, gs.labels,
                       [&](size_t i, size_t j) { return sims.at<float>(static_cast<int>(i), static_cast<int>(j)); });
}

std::vector<float> RawPixels(const cv::Mat& image) {
  std::vector<float> v(image.begin<uint8_t>(), image.end<uint8_t>());
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum > 0) {
    for (float& x : v) x = static_cast<float>(x / std::sqrt(sum));
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string data = "/usr/share/datasets/fashion-mnist";
  size_t nq = 2000, ng = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--data") data = argv[i + 1];
    else if (flag == "--queries") nq = std::strtoul(argv[i + 1], nullptr, 10);
    else if (flag == "--gallery") ng = std::strtoul(argv[i + 1], nullptr, 10);
    else Die("usage: " + std::string(argv[0]) + " [--data DIR] [--queries N] [--gallery N]");
  }
  const Split queries = Load(data, "t10k", nq);
  const Split gallery = Load(data, "train", ng);
  std::printf("Fashion-MNIST: %zu queries (test split) against %zu gallery images (train split)\n",
              queries.images.size(), gallery.images.size());
  std::printf("%-34s %6s %14s %14s\n", "neighbours by", "dims", "precision@10", "embeddings/s");

  cv::Mat rq, rg;
  EmbedAll(queries.images, RawPixels, &rq);
  const double raw_rate = EmbedAll(gallery.images, RawPixels, &rg);
  std::printf("%-34s %6d %14.4f %14.0f\n", "raw pixels (L2-normalised, cosine)", rq.cols,
              CosineP10(rq, rg, queries, gallery), raw_rate);

  cv::Mat vq, vg;
  EmbedAll(queries.images, strata::media::VisualEmbedding, &vq);
  const double visual_rate = EmbedAll(gallery.images, strata::media::VisualEmbedding, &vg);
  std::printf("%-34s %6d %14.4f %14.0f\n", "VisualEmbedding (cosine)", vq.cols,
              CosineP10(vq, vg, queries, gallery), visual_rate);

  std::vector<uint64_t> hq, hg;
  for (const cv::Mat& m : queries.images) hq.push_back(strata::media::PerceptualHash(m));
  const auto hash_start = Clock::now();
  for (const cv::Mat& m : gallery.images) hg.push_back(strata::media::PerceptualHash(m));
  const double hash_rate = static_cast<double>(hg.size()) / Seconds(hash_start);
  const double hash_p10 = PrecisionAt10(hq.size(), hg.size(), queries.labels, gallery.labels,
                                        [&](size_t i, size_t j) {
                                          return -static_cast<float>(strata::media::HammingDistance(hq[i], hg[j]));
                                        });
  std::printf("%-34s %6d %14.4f %14.0f\n", "PerceptualHash (Hamming)", 64, hash_p10, hash_rate);
  std::printf("%-34s %6s %14.4f\n", "chance (10 balanced classes)", "", 0.1);

  // Speed on photo-sized input: 256×256 colour images (smooth gradients plus
  // noise, so nothing is constant), where resizing dominates.
  std::vector<cv::Mat> photos;
  cv::RNG rng(7);
  for (int i = 0; i < 200; ++i) {
    cv::Mat m(256, 256, CV_8UC3);
    for (int y = 0; y < m.rows; ++y) {
      for (int x = 0; x < m.cols; ++x) {
        m.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>((x + i) & 255), static_cast<uint8_t>((y * 2) & 255),
                                          static_cast<uint8_t>(rng.uniform(0, 256)));
      }
    }
    photos.push_back(m);
  }
  cv::Mat pv;
  const double photo_rate = EmbedAll(photos, strata::media::VisualEmbedding, &pv);
  const auto photo_hash_start = Clock::now();
  uint64_t sink = 0;
  for (const cv::Mat& m : photos) sink ^= strata::media::PerceptualHash(m);
  const double photo_hash_rate = static_cast<double>(photos.size()) / Seconds(photo_hash_start);
  std::printf("256x256 BGR: VisualEmbedding %.0f/s (%.3f ms each), PerceptualHash %.0f/s (%llx)\n", photo_rate,
              1000.0 / photo_rate, photo_hash_rate, static_cast<unsigned long long>(sink & 0xf));
  return 0;
}
