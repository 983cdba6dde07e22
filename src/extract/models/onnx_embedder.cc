#include "extract/models/onnx_embedder.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <optional>

#include "core/crypto.h"
#include "extract/models/embedder_config.h"
#include "extract/models/onnx_session.h"
#include "extract/models/wordpiece.h"

namespace strata::extract {

namespace {

namespace fs = std::filesystem;

struct OnnxOptions : OnnxFolderOptions {
  std::string pooling;
  bool normalize = true;
  int dimensions = 0;  // 0: as the model declares
  int max_tokens = 512;
  std::string query_prefix, passage_prefix;
};

Result<OnnxOptions> ParseOptions(const std::string& name, const Json& config) {
  ConfigFields f(name, config);
  OnnxOptions o;
  static_cast<OnnxFolderOptions&>(o) = ParseOnnxFolderOptions(f);
  o.pooling = f.OneOf("pooling", {"mean", "cls"}, "mean");
  o.normalize = f.Bool("normalize", true);
  o.dimensions = f.Int("dimensions", 0, 1, 1 << 16);
  o.max_tokens = f.Int("max_tokens", 512, 2, 1 << 20);
  o.query_prefix = f.String("query_prefix", "");
  o.passage_prefix = f.String("passage_prefix", "");
  RETURN_IF_ERROR(f.Finish());
  return o;
}

Status WithModel(const std::string& name, const Status& s) {
  return Status(s.code(), "model " + name + ": " + s.message());
}

// What the model declares, checked once at load: which inputs to feed, which
// output to read and its rank, and the vector size.
struct Plan {
  bool attention_mask = false;
  bool token_type_ids = false;
  std::string output;
  size_t output_rank = 3;
  int dimensions = 0;
};

Result<Plan> MakePlan(const std::string& name, const OnnxSession& session, const OnnxOptions& o) {
  auto fail = [&](const std::string& why) {
    return Status::Internal("model " + name + ": " + why);
  };
  Plan plan;
  ASSIGN_OR_RETURN(BertInputs inputs, CheckBertInputs(name, session));
  plan.attention_mask = inputs.attention_mask;
  plan.token_type_ids = inputs.token_type_ids;

  const OnnxTensorInfo* out = FindOutput(session, o.output_name, "last_hidden_state");
  if (out == nullptr) return fail("model.onnx has no output " + o.output_name);
  if (!out->is_float) return fail("model.onnx output " + out->name + " is not float32");
  if (out->shape.size() != 2 && out->shape.size() != 3) {
    return fail("model.onnx output " + out->name + " has rank " +
                std::to_string(out->shape.size()) + "; expected [batch, seq, dim] or [batch, dim]");
  }
  plan.output = out->name;
  plan.output_rank = out->shape.size();

  const int64_t declared = out->shape.back();  // -1 when dynamic
  if (o.dimensions > 0 && declared > 0 && declared != o.dimensions) {
    return fail("config.json: dimensions is " + std::to_string(o.dimensions) + " but output " +
                out->name + " has " + std::to_string(declared));
  }
  plan.dimensions = o.dimensions > 0 ? o.dimensions : static_cast<int>(declared);
  if (plan.dimensions <= 0) {
    return fail("config.json: dimensions is required (output " + out->name +
                " does not declare its size)");
  }
  return plan;
}

void Normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  if (sum <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= inv;
}

class OnnxEmbedder final : public Embedder {
 public:
  OnnxEmbedder(std::string name, OnnxOptions options, WordPieceTokenizer tokenizer,
               std::unique_ptr<OnnxSession> session, Plan plan, std::string fingerprint)
      : name_(std::move(name)),
        options_(std::move(options)),
        tokenizer_(std::move(tokenizer)),
        session_(std::move(session)),
        plan_(std::move(plan)),
        fingerprint_(std::move(fingerprint)) {}

  const std::string& name() const override { return name_; }
  int dimensions() const override { return plan_.dimensions; }
  std::string fingerprint() const override { return fingerprint_; }

  Result<std::vector<std::vector<float>>> Embed(const std::vector<std::string>& texts,
                                                EmbedRole role) override {
    const std::string& prefix =
        role == EmbedRole::kQuery ? options_.query_prefix : options_.passage_prefix;
    std::vector<std::vector<int64_t>> ids(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      ids[i] = tokenizer_.Encode(prefix + texts[i], options_.max_tokens);
    }
    // Batches of similar lengths waste little on padding; results go back to
    // the callers' order.
    std::vector<size_t> order(texts.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return ids[a].size() < ids[b].size(); });
    std::vector<std::vector<float>> out(texts.size());
    const size_t batch = static_cast<size_t>(options_.batch_size);
    for (size_t start = 0; start < order.size(); start += batch) {
      std::vector<size_t> rows(order.begin() + start,
                               order.begin() + std::min(order.size(), start + batch));
      RETURN_IF_ERROR(RunBatch(ids, rows, out));
    }
    return out;
  }

 private:
  Status RunBatch(const std::vector<std::vector<int64_t>>& ids, const std::vector<size_t>& rows,
                  std::vector<std::vector<float>>& out) const {
    const size_t b = rows.size();
    size_t seq = 0;
    for (size_t r : rows) seq = std::max(seq, ids[r].size());
    std::vector<int64_t> input_ids(b * seq, tokenizer_.pad_id()), mask(b * seq, 0),
        types(b * seq, 0);
    for (size_t k = 0; k < b; ++k) {
      const std::vector<int64_t>& row = ids[rows[k]];
      std::copy(row.begin(), row.end(), input_ids.begin() + k * seq);
      std::fill_n(mask.begin() + k * seq, row.size(), 1);
    }
    std::vector<OnnxSession::Feed> feeds = {{"input_ids", &input_ids}};
    if (plan_.attention_mask) feeds.emplace_back("attention_mask", &mask);
    if (plan_.token_type_ids) feeds.emplace_back("token_type_ids", &types);

    ASSIGN_OR_RETURN(FloatTensor t, session_->Run(feeds, static_cast<int64_t>(b),
                                                  static_cast<int64_t>(seq), plan_.output));
    const size_t dims = static_cast<size_t>(plan_.dimensions);
    const bool pooled = t.shape.size() == 2;
    const std::vector<int64_t> want =
        pooled ? std::vector<int64_t>{static_cast<int64_t>(b), static_cast<int64_t>(dims)}
               : std::vector<int64_t>{static_cast<int64_t>(b), static_cast<int64_t>(seq),
                                      static_cast<int64_t>(dims)};
    if (t.shape != want) {
      std::string got;
      for (int64_t d : t.shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
      return Status::Internal("model " + name_ + ": output " + plan_.output + " has shape [" + got +
                              "], expected " + (pooled ? "[batch, " : "[batch, seq, ") +
                              std::to_string(dims) + "]");
    }
    for (size_t k = 0; k < b; ++k) {
      std::vector<float> v(dims, 0.0f);
      if (pooled) {
        std::copy_n(t.data.begin() + k * dims, dims, v.begin());
      } else if (options_.pooling == "cls") {
        std::copy_n(t.data.begin() + k * seq * dims, dims, v.begin());
      } else {  // mean over the real (unpadded) tokens
        const size_t n = ids[rows[k]].size();
        for (size_t j = 0; j < n; ++j) {
          const float* h = t.data.data() + (k * seq + j) * dims;
          for (size_t d = 0; d < dims; ++d) v[d] += h[d];
        }
        for (float& x : v) x /= static_cast<float>(n);
      }
      if (options_.normalize) Normalize(v);
      out[rows[k]] = std::move(v);
    }
    return Status::Ok();
  }

  std::string name_;
  OnnxOptions options_;
  WordPieceTokenizer tokenizer_;
  std::unique_ptr<OnnxSession> session_;
  Plan plan_;
  std::string fingerprint_;
};

}  // namespace

Result<WordPieceTokenizer> LoadFolderTokenizer(const std::string& name, const std::string& folder,
                                               std::optional<bool> lowercase, std::string* file) {
  std::error_code ec;
  const fs::path json = fs::path(folder) / "tokenizer.json", vocab = fs::path(folder) / "vocab.txt";
  const bool use_json = fs::exists(json, ec);
  if (!use_json && !fs::exists(vocab, ec)) {
    return Status::Unavailable("model " + name + ": " + folder +
                               " has neither tokenizer.json nor vocab.txt");
  }
  const std::string path = (use_json ? json : vocab).string();
  if (file != nullptr) *file = path;
  Result<WordPieceTokenizer> t = use_json ? WordPieceTokenizer::FromTokenizerJson(path, {})
                                          : WordPieceTokenizer::FromVocabFile(path, {});
  if (!t.ok()) return WithModel(name, t.status());
  if (lowercase) t->SetLowercase(*lowercase);
  return t;
}

OnnxFolderOptions ParseOnnxFolderOptions(ConfigFields& f) {
  OnnxFolderOptions o;
  std::string backend = f.String("backend", "onnx");
  if (backend != "onnx") f.Error("backend", "must be \"onnx\", not \"" + backend + "\"");
  o.output_name = f.String("output_name", "");
  o.lowercase = f.Bool("lowercase");
  o.batch_size = f.Int("batch_size", 32, 1, 4096);
  o.threads = f.Int("threads", 0, 0, 1024);
  return o;
}

const OnnxTensorInfo* FindOutput(const OnnxSession& session, const std::string& wanted,
                                 const std::string& fallback_name) {
  const std::string name = wanted.empty() ? fallback_name : wanted;
  for (const OnnxTensorInfo& t : session.outputs()) {
    if (t.name == name) return &t;
  }
  return wanted.empty() && !session.outputs().empty() ? &session.outputs()[0] : nullptr;
}

Result<BertInputs> CheckBertInputs(const std::string& name, const OnnxSession& session) {
  auto fail = [&](const std::string& why) {
    return Status::Internal("model " + name + ": " + why);
  };
  BertInputs inputs;
  bool has_ids = false;
  for (const OnnxTensorInfo& in : session.inputs()) {
    if (in.name != "input_ids" && in.name != "attention_mask" && in.name != "token_type_ids") {
      return fail("model.onnx has an input " + in.name +
                  "; Strata feeds only input_ids, attention_mask and token_type_ids");
    }
    if (!in.is_int64) return fail("model.onnx input " + in.name + " is not int64");
    has_ids |= in.name == "input_ids";
    inputs.attention_mask |= in.name == "attention_mask";
    inputs.token_type_ids |= in.name == "token_type_ids";
  }
  if (!has_ids) return fail("model.onnx has no input_ids input");
  return inputs;
}

Result<std::unique_ptr<Embedder>> MakeOnnxEmbedder(const std::string& name,
                                                   const std::string& folder, const Json& config) {
  ASSIGN_OR_RETURN(OnnxOptions options, ParseOptions(name, config));
  const fs::path model = fs::path(folder) / "model.onnx";
  std::error_code ec;
  if (!fs::exists(model, ec)) {
    return Status::Unavailable("model " + name + ": " + model.string() + " is missing");
  }
  std::string tokenizer_path;
  ASSIGN_OR_RETURN(WordPieceTokenizer tokenizer,
                   LoadFolderTokenizer(name, folder, options.lowercase, &tokenizer_path));
  const fs::path tokenizer_file(tokenizer_path);
  Result<std::unique_ptr<OnnxSession>> session = OnnxSession::Open(model.string(), options.threads);
  if (!session.ok()) return WithModel(name, session.status());
  ASSIGN_OR_RETURN(Plan plan, MakePlan(name, **session, options));

  // Everything that shapes the vectors, and the files' identity (size and
  // modification time: a replaced model or vocabulary changes it).
  Json identity = {
      {"pooling", plan.output_rank == 2 ? "model" : options.pooling},
      {"normalize", options.normalize},
      {"dimensions", plan.dimensions},
      {"max_tokens", options.max_tokens},
      {"query_prefix", options.query_prefix},
      {"passage_prefix", options.passage_prefix},
      {"output", plan.output},
      {"lowercase", tokenizer.options().lowercase},
      {"strip_accents", tokenizer.options().strip_accents},
      {"model", FileStamp(model.string())},
      {"tokenizer", tokenizer_file.filename().string() + "/" + FileStamp(tokenizer_file.string())}};
  std::string fingerprint = name + "/onnx/" + Sha256Hex(identity.dump()).substr(0, 16);
  return std::unique_ptr<Embedder>(new OnnxEmbedder(name, std::move(options), std::move(tokenizer),
                                                    std::move(session).value(), std::move(plan),
                                                    std::move(fingerprint)));
}

}  // namespace strata::extract
