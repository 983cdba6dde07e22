#include "extract/models/onnx_clip.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>

#include <opencv2/imgproc.hpp>

#include "core/crypto.h"
#include "extract/models/clip_bpe.h"
#include "extract/models/embedder_config.h"
#include "extract/models/image_model_session.h"
#include "extract/models/onnx_embedder.h"
#include "extract/models/onnx_session.h"
#include "extract/models/wordpiece.h"

namespace strata::extract {
namespace {

namespace fs = std::filesystem;

// CLIP's own normalisation (OpenAI's clip/clip.py _transform, and
// HuggingFace's CLIPImageProcessor defaults).
constexpr std::array<float, 3> kClipMean = {0.48145466f, 0.4578275f, 0.40821073f};
constexpr std::array<float, 3> kClipStd = {0.26862954f, 0.26130258f, 0.27577711f};

struct ClipOptions : OnnxFolderOptions {
  std::string image_model, text_model;
  std::string image_input, image_output, text_output;
  int image_size = 224;
  std::array<float, 3> mean = kClipMean, std = kClipStd;
  std::string tokenizer;
  int max_length = 77;
  int dimensions = 0;  // 0: as the models declare
  bool normalize = true;
};

// mean or std: three numbers (std's positive), else the default.
std::array<float, 3> Triple(ConfigFields& f, const Json& config, const std::string& key,
                            const std::array<float, 3>& fallback, bool positive) {
  if (!config.contains(key)) return fallback;
  const Json& v = config[key];
  std::array<float, 3> out{};
  bool ok = v.is_array() && v.size() == 3;
  for (size_t i = 0; ok && i < 3; ++i) {
    ok = v[i].is_number() && (!positive || v[i].get<double>() > 0);
    if (ok) out[i] = v[i].get<float>();
  }
  if (!ok) {
    f.Error(key, std::string("must be an array of three ") + (positive ? "positive " : "") + "numbers (R, G, B)");
    return fallback;
  }
  return out;
}

Result<ClipOptions> ParseOptions(const std::string& name, const std::string& folder, const Json& config) {
  ConfigFields f(name, config);
  ClipOptions o;
  static_cast<OnnxFolderOptions&>(o) = ParseOnnxFolderOptions(f);
  if (f.String("task", "") != kClipTask) f.Error("task", std::string("must be \"") + kClipTask + "\"");
  o.image_model = f.String("image_model", "image_model.onnx");
  o.text_model = f.String("text_model", "text_model.onnx");
  o.image_input = f.String("image_input", "pixel_values");
  o.image_output = f.String("image_output", "image_embeds");
  o.text_output = f.String("text_output", "text_embeds");
  o.image_size = f.Int("image_size", 224, 1, 4096);
  o.mean = Triple(f, config, "mean", kClipMean, false);
  o.std = Triple(f, config, "std", kClipStd, true);
  std::error_code ec;
  o.tokenizer = f.OneOf("tokenizer", {"bpe", "wordpiece"},
                        fs::exists(fs::path(folder) / "vocab.json", ec) ? "bpe" : "wordpiece");
  o.max_length = f.Int("max_length", 77, 2, 1 << 16);
  o.dimensions = f.Int("dimensions", 0, 1, 1 << 16);
  o.normalize = f.Bool("normalize", true);
  RETURN_IF_ERROR(f.Finish());
  return o;
}

Status WithModel(const std::string& name, const Status& s) {
  return Status(s.code(), "model " + name + ": " + s.message());
}

// A file of the folder, Unavailable when missing.
Result<fs::path> FolderFile(const std::string& name, const std::string& folder, const std::string& file) {
  const fs::path path = fs::path(folder) / file;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return Status::Unavailable("model " + name + ": " + path.string() + " is missing");
  }
  return path;
}

// The vector size of an output [batch, D]: D as declared, checked against
// config.json's dimensions; Internal when it is neither known nor [batch, D].
Result<int> OutputDimensions(const std::string& name, const std::string& file, const OnnxTensorInfo* out,
                             const std::string& wanted, int configured) {
  auto fail = [&](const std::string& why) { return Status::Internal("model " + name + ": " + file + " " + why); };
  if (out == nullptr) return fail("has no output " + wanted);
  if (!out->is_float) return fail("output " + out->name + " is not float32");
  if (out->shape.size() != 2) {
    return fail("output " + out->name + " has rank " + std::to_string(out->shape.size()) + "; expected [batch, dim]");
  }
  const int64_t declared = out->shape[1];
  if (configured > 0 && declared > 0 && declared != configured) {
    return fail("output " + out->name + " has " + std::to_string(declared) + " dimensions but config.json says " +
                std::to_string(configured));
  }
  const int dims = configured > 0 ? configured : static_cast<int>(declared);
  if (dims <= 0) return fail("output " + out->name + " does not declare its size: set dimensions in config.json");
  return dims;
}

void Normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= inv;
}

// Rows [start, start + n) of a [batch, dims] output, checked and normalised.
Status CopyRows(const std::string& name, const std::string& output, const FloatTensor& t, size_t n, size_t dims,
                bool normalize, std::vector<std::vector<float>>& out, size_t first) {
  if (t.shape != std::vector<int64_t>{static_cast<int64_t>(n), static_cast<int64_t>(dims)}) {
    std::string got;
    for (int64_t d : t.shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
    return Status::Internal("model " + name + ": output " + output + " has shape [" + got + "], expected [" +
                            std::to_string(n) + ", " + std::to_string(dims) + "]");
  }
  for (size_t k = 0; k < n; ++k) {
    std::vector<float> v(t.data.begin() + static_cast<std::ptrdiff_t>(k * dims),
                         t.data.begin() + static_cast<std::ptrdiff_t>((k + 1) * dims));
    if (normalize) Normalize(v);
    out[first + k] = std::move(v);
  }
  return Status::Ok();
}

class ClipTextEmbedder final : public Embedder {
 public:
  ClipTextEmbedder(std::string name, ClipOptions options, std::optional<WordPieceTokenizer> wordpiece,
                   std::optional<ClipBpeTokenizer> bpe, std::unique_ptr<OnnxSession> session, bool attention_mask,
                   int dimensions, std::string fingerprint)
      : name_(std::move(name)),
        options_(std::move(options)),
        wordpiece_(std::move(wordpiece)),
        bpe_(std::move(bpe)),
        session_(std::move(session)),
        attention_mask_(attention_mask),
        dimensions_(dimensions),
        fingerprint_(std::move(fingerprint)) {}

  const std::string& name() const override { return name_; }
  int dimensions() const override { return dimensions_; }
  std::string fingerprint() const override { return fingerprint_; }

  // CLIP embeds queries and captions alike: the role changes nothing.
  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts, EmbedRole) override {
    std::vector<std::vector<float>> out(texts.size());
    const size_t batch = static_cast<size_t>(options_.batch_size);
    for (size_t start = 0; start < texts.size(); start += batch) {
      const size_t n = std::min(batch, texts.size() - start);
      std::vector<std::vector<int64_t>> ids(n);
      size_t seq = 0;
      for (size_t k = 0; k < n; ++k) {
        ids[k] = bpe_ ? bpe_->Encode(texts[start + k], options_.max_length)
                      : wordpiece_->Encode(texts[start + k], options_.max_length);
        seq = std::max(seq, ids[k].size());
      }
      const int64_t pad = bpe_ ? bpe_->pad_id() : wordpiece_->pad_id();
      std::vector<int64_t> input_ids(n * seq, pad), mask(n * seq, 0);
      for (size_t k = 0; k < n; ++k) {
        std::copy(ids[k].begin(), ids[k].end(), input_ids.begin() + static_cast<std::ptrdiff_t>(k * seq));
        std::fill_n(mask.begin() + static_cast<std::ptrdiff_t>(k * seq), ids[k].size(), 1);
      }
      std::vector<OnnxSession::Feed> feeds = {{"input_ids", &input_ids}};
      if (attention_mask_) feeds.emplace_back("attention_mask", &mask);
      ASSIGN_OR_RETURN(FloatTensor t, session_->Run(feeds, static_cast<int64_t>(n), static_cast<int64_t>(seq),
                                                    options_.text_output));
      RETURN_IF_ERROR(CopyRows(name_, options_.text_output, t, n, static_cast<size_t>(dimensions_),
                               options_.normalize, out, start));
    }
    return out;
  }

 private:
  std::string name_;
  ClipOptions options_;
  std::optional<WordPieceTokenizer> wordpiece_;
  std::optional<ClipBpeTokenizer> bpe_;
  std::unique_ptr<OnnxSession> session_;
  bool attention_mask_;
  int dimensions_;
  std::string fingerprint_;
};

class ClipImageEmbedder final : public ImageEmbedder {
 public:
  ClipImageEmbedder(std::string name, ClipOptions options, std::unique_ptr<ImageModelSession> session,
                    int dimensions, std::string fingerprint)
      : name_(std::move(name)),
        options_(std::move(options)),
        session_(std::move(session)),
        dimensions_(dimensions),
        fingerprint_(std::move(fingerprint)) {}

  const std::string& name() const override { return name_; }
  int dimensions() const override { return dimensions_; }
  std::string fingerprint() const override { return fingerprint_; }

  // All the images of a call go through one model run (split only above
  // batch_size).
  Result<std::vector<std::vector<float>>> EmbedImages(const std::vector<cv::Mat>& images) override {
    for (size_t i = 0; i < images.size(); ++i) {
      const int channels = images[i].channels();
      if (images[i].empty() || (channels != 1 && channels != 3 && channels != 4)) {
        return Status::Invalid("images[" + std::to_string(i) + "]",
                               "image " + std::to_string(i) + " is empty or has " + std::to_string(channels) +
                                   " channels; expected a BGR, gray or BGRA image");
      }
    }
    std::vector<std::vector<float>> out(images.size());
    const size_t batch = static_cast<size_t>(options_.batch_size);
    const size_t side = static_cast<size_t>(options_.image_size);
    const size_t per_image = 3 * side * side;
    for (size_t start = 0; start < images.size(); start += batch) {
      const size_t n = std::min(batch, images.size() - start);
      std::vector<float> pixels(n * per_image);
      for (size_t k = 0; k < n; ++k) {
        const std::vector<float> one = ClipPixelValues(images[start + k], options_.image_size, options_.mean,
                                                       options_.std);
        std::copy(one.begin(), one.end(), pixels.begin() + static_cast<std::ptrdiff_t>(k * per_image));
      }
      const std::vector<int64_t> shape = {static_cast<int64_t>(n), 3, static_cast<int64_t>(side),
                                          static_cast<int64_t>(side)};
      ASSIGN_OR_RETURN(std::vector<FloatTensor> t,
                       session_->Run(options_.image_input, pixels, shape, {options_.image_output}));
      RETURN_IF_ERROR(CopyRows(name_, options_.image_output, t.at(0), n, static_cast<size_t>(dimensions_),
                               options_.normalize, out, start));
    }
    return out;
  }

 private:
  std::string name_;
  ClipOptions options_;
  std::unique_ptr<ImageModelSession> session_;
  int dimensions_;
  std::string fingerprint_;
};

Json CommonIdentity(const ClipOptions& o, int dimensions) {
  return {{"dimensions", dimensions}, {"normalize", o.normalize}};
}

}  // namespace

bool IsClipConfig(const Json& config) {
  return config.is_object() && config.contains("task") && config["task"] == kClipTask;
}

std::vector<float> ClipPixelValues(const cv::Mat& image, int size, const std::array<float, 3>& mean,
                                   const std::array<float, 3>& std) {
  const size_t side = static_cast<size_t>(size);
  std::vector<float> out(3 * side * side, 0.0f);
  if (image.empty() || size <= 0) return out;
  cv::Mat eight = image;
  if (image.depth() == CV_16U) {
    image.convertTo(eight, CV_8U, 1.0 / 257.0);
  } else if (image.depth() != CV_8U) {
    image.convertTo(eight, CV_8U);
  }
  cv::Mat bgr = eight;
  if (eight.channels() == 1) cv::cvtColor(eight, bgr, cv::COLOR_GRAY2BGR);
  if (eight.channels() == 4) cv::cvtColor(eight, bgr, cv::COLOR_BGRA2BGR);

  // CLIP's transform (OpenAI's clip/clip.py: Resize(n_px, BICUBIC),
  // CenterCrop(n_px); HuggingFace's CLIPImageProcessor does the same): the
  // shortest side scaled to `size`, the longer one to int(size * long /
  // short), then the centre square, its offset (long - size) // 2 as
  // HuggingFace computes it. Bicubic when enlarging; area averaging when
  // shrinking, since PIL's bicubic widens its filter to antialias a
  // reduction and OpenCV's does not.
  const int w = bgr.cols, h = bgr.rows;
  const int short_side = std::min(w, h), long_side = std::max(w, h);
  const int long_new = std::max(size, static_cast<int>(static_cast<int64_t>(size) * long_side / short_side));
  const cv::Size resized = w <= h ? cv::Size(size, long_new) : cv::Size(long_new, size);
  cv::Mat scaled;
  const bool shrink = short_side > size;
  cv::resize(bgr, scaled, resized, 0, 0, shrink ? cv::INTER_AREA : cv::INTER_CUBIC);
  const cv::Mat crop = scaled(cv::Rect((resized.width - size) / 2, (resized.height - size) / 2, size, size));

  for (int y = 0; y < size; ++y) {
    const cv::Vec3b* row = crop.ptr<cv::Vec3b>(y);
    for (int x = 0; x < size; ++x) {
      for (int c = 0; c < 3; ++c) {  // RGB planes from BGR pixels
        const float v = static_cast<float>(row[x][2 - c]) / 255.0f;
        out[(static_cast<size_t>(c) * side + static_cast<size_t>(y)) * side + static_cast<size_t>(x)] =
            (v - mean[static_cast<size_t>(c)]) / std[static_cast<size_t>(c)];
      }
    }
  }
  return out;
}

Result<std::unique_ptr<Embedder>> MakeOnnxClipTextEmbedder(const std::string& name, const std::string& folder,
                                                           const Json& config) {
  ASSIGN_OR_RETURN(ClipOptions options, ParseOptions(name, folder, config));
  ASSIGN_OR_RETURN(fs::path model, FolderFile(name, folder, options.text_model));
  std::optional<WordPieceTokenizer> wordpiece;
  std::optional<ClipBpeTokenizer> bpe;
  Json tokenizer_identity;
  if (options.tokenizer == "bpe") {
    ASSIGN_OR_RETURN(fs::path vocab, FolderFile(name, folder, "vocab.json"));
    ASSIGN_OR_RETURN(fs::path merges, FolderFile(name, folder, "merges.txt"));
    Result<ClipBpeTokenizer> t = ClipBpeTokenizer::FromFiles(vocab.string(), merges.string());
    if (!t.ok()) return WithModel(name, t.status());
    bpe = std::move(t).value();
    tokenizer_identity = {{"bpe", FileStamp(vocab.string()) + "/" + FileStamp(merges.string())}};
  } else {
    std::string file;
    ASSIGN_OR_RETURN(WordPieceTokenizer t, LoadFolderTokenizer(name, folder, options.lowercase, &file));
    tokenizer_identity = {{"wordpiece", fs::path(file).filename().string() + "/" + FileStamp(file)},
                          {"lowercase", t.options().lowercase}};
    wordpiece = std::move(t);
  }
  Result<std::unique_ptr<OnnxSession>> session = OnnxSession::Open(model.string(), options.threads);
  if (!session.ok()) return WithModel(name, session.status());
  ASSIGN_OR_RETURN(BertInputs inputs, CheckBertInputs(name, **session));
  if (inputs.token_type_ids) {
    return Status::Internal("model " + name + ": " + options.text_model +
                            " has a token_type_ids input; a CLIP text tower takes input_ids and attention_mask");
  }
  ASSIGN_OR_RETURN(int dimensions,
                   OutputDimensions(name, options.text_model, FindOutput(**session, options.text_output, ""),
                                    options.text_output, options.dimensions));
  Json identity = CommonIdentity(options, dimensions);
  identity["tower"] = "text";
  identity["model"] = FileStamp(model.string());
  identity["output"] = options.text_output;
  identity["max_length"] = options.max_length;
  identity["tokenizer"] = tokenizer_identity;
  std::string fingerprint = name + "/onnx-clip-text/" + Sha256Hex(identity.dump()).substr(0, 16);
  return std::unique_ptr<Embedder>(new ClipTextEmbedder(name, std::move(options), std::move(wordpiece),
                                                        std::move(bpe), std::move(session).value(),
                                                        inputs.attention_mask, dimensions, std::move(fingerprint)));
}

Result<std::unique_ptr<ImageEmbedder>> MakeOnnxClipImageEmbedder(const std::string& name,
                                                                 const std::string& folder, const Json& config) {
  ASSIGN_OR_RETURN(ClipOptions options, ParseOptions(name, folder, config));
  ASSIGN_OR_RETURN(fs::path model, FolderFile(name, folder, options.image_model));
  ASSIGN_OR_RETURN(std::unique_ptr<ImageModelSession> session,
                   ImageModelSession::Open(name, model.string(), options.threads));
  auto fail = [&](const std::string& why) {
    return Status::Internal("model " + name + ": " + options.image_model + " " + why);
  };
  const OnnxTensorInfo* in = session->Input(options.image_input);
  if (in == nullptr) return fail("has no input " + options.image_input);
  if (session->inputs().size() != 1) return fail("must have one input, " + options.image_input);
  if (!in->is_float || in->shape.size() != 4) return fail("input " + in->name + " must be float32 [N, 3, H, W]");
  const int64_t side = options.image_size;
  if ((in->shape[1] > 0 && in->shape[1] != 3) || (in->shape[2] > 0 && in->shape[2] != side) ||
      (in->shape[3] > 0 && in->shape[3] != side)) {
    return fail("input " + in->name + " has shape [" + std::to_string(in->shape[0]) + ", " +
                std::to_string(in->shape[1]) + ", " + std::to_string(in->shape[2]) + ", " +
                std::to_string(in->shape[3]) + "]; config.json's image_size gives [N, 3, " + std::to_string(side) +
                ", " + std::to_string(side) + "]");
  }
  ASSIGN_OR_RETURN(int dimensions, OutputDimensions(name, options.image_model, session->Output(options.image_output),
                                                    options.image_output, options.dimensions));
  Json identity = CommonIdentity(options, dimensions);
  identity["tower"] = "image";
  identity["model"] = FileStamp(model.string());
  identity["output"] = options.image_output;
  identity["image_size"] = options.image_size;
  identity["mean"] = options.mean;
  identity["std"] = options.std;
  std::string fingerprint = name + "/onnx-clip-image/" + Sha256Hex(identity.dump()).substr(0, 16);
  return std::unique_ptr<ImageEmbedder>(new ClipImageEmbedder(name, std::move(options), std::move(session),
                                                              dimensions, std::move(fingerprint)));
}

}  // namespace strata::extract
