#include "extract/models/onnx_cross_encoder.h"

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <optional>

#include "extract/models/embedder_config.h"
#include "extract/models/onnx_embedder.h"
#include "extract/models/onnx_session.h"
#include "extract/models/wordpiece.h"

namespace strata::extract {

namespace {

namespace fs = std::filesystem;

constexpr const char* kShapes = "[batch], [batch, 1] or [batch, 2]";

struct Options : OnnxFolderOptions {
  int max_length = 512;
};

Result<Options> ParseOptions(const std::string& name, const Json& config) {
  ConfigFields f(name, config);
  Options o;
  static_cast<OnnxFolderOptions&>(o) = ParseOnnxFolderOptions(f);
  std::string task = f.String("task", "");
  if (task != kCrossEncoderTask) {
    f.Error("task", std::string("must be \"") + kCrossEncoderTask + "\" for a cross-encoder, not " +
                        (task.empty() ? "missing" : "\"" + task + "\""));
  }
  o.max_length = f.Int("max_length", 512, 3, 1 << 20);
  RETURN_IF_ERROR(f.Finish());
  return o;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s;
  for (int64_t d : shape) s += (s.empty() ? "" : ", ") + (d < 0 ? std::string("?") : std::to_string(d));
  return "[" + s + "]";
}

// What the model declares, checked once at load.
struct Plan {
  BertInputs inputs;
  std::string output;
};

Result<Plan> MakePlan(const std::string& name, const OnnxSession& session, const Options& o) {
  auto fail = [&](const std::string& why) {
    return Status::Internal("model " + name + ": " + why);
  };
  Plan plan;
  ASSIGN_OR_RETURN(plan.inputs, CheckBertInputs(name, session));
  const OnnxTensorInfo* out = FindOutput(session, o.output_name, "logits");
  if (out == nullptr) return fail("model.onnx has no output " + o.output_name);
  if (!out->is_float) return fail("model.onnx output " + out->name + " is not float32");
  const size_t rank = out->shape.size();
  const int64_t last = rank == 0 ? 0 : out->shape.back();
  if (rank < 1 || rank > 2 || (rank == 2 && last > 2) || (rank == 2 && last == 0)) {
    return fail("model.onnx output " + out->name + " has shape " + ShapeString(out->shape) +
                "; a cross-encoder's output must be " + kShapes);
  }
  plan.output = out->name;
  return plan;
}

class OnnxCrossEncoder final : public CrossEncoder {
 public:
  OnnxCrossEncoder(std::string name, Options options, WordPieceTokenizer tokenizer,
                   std::unique_ptr<OnnxSession> session, Plan plan)
      : name_(std::move(name)),
        options_(std::move(options)),
        tokenizer_(std::move(tokenizer)),
        session_(std::move(session)),
        plan_(std::move(plan)) {}

  const std::string& name() const override { return name_; }

  Result<std::vector<float>> Score(const std::string& query,
                                   const std::vector<std::string>& documents) const override {
    std::vector<WordPieceTokenizer::Pair> pairs(documents.size());
    for (size_t i = 0; i < documents.size(); ++i) {
      pairs[i] = tokenizer_.EncodePair(query, documents[i], options_.max_length);
    }
    // Batches of similar lengths waste little on padding; scores go back to
    // the documents' order.
    std::vector<size_t> order(documents.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return pairs[a].ids.size() < pairs[b].ids.size();
    });
    std::vector<float> out(documents.size(), 0.0f);
    const size_t batch = static_cast<size_t>(options_.batch_size);
    for (size_t start = 0; start < order.size(); start += batch) {
      std::vector<size_t> rows(order.begin() + start,
                               order.begin() + std::min(order.size(), start + batch));
      RETURN_IF_ERROR(RunBatch(pairs, rows, out));
    }
    return out;
  }

 private:
  Status RunBatch(const std::vector<WordPieceTokenizer::Pair>& pairs,
                  const std::vector<size_t>& rows, std::vector<float>& out) const {
    const size_t b = rows.size();
    size_t seq = 0;
    for (size_t r : rows) seq = std::max(seq, pairs[r].ids.size());
    std::vector<int64_t> input_ids(b * seq, tokenizer_.pad_id()), mask(b * seq, 0),
        types(b * seq, 0);
    for (size_t k = 0; k < b; ++k) {
      const WordPieceTokenizer::Pair& p = pairs[rows[k]];
      std::copy(p.ids.begin(), p.ids.end(), input_ids.begin() + k * seq);
      std::copy(p.type_ids.begin(), p.type_ids.end(), types.begin() + k * seq);
      std::fill_n(mask.begin() + k * seq, p.ids.size(), 1);
    }
    std::vector<OnnxSession::Feed> feeds = {{"input_ids", &input_ids}};
    if (plan_.inputs.attention_mask) feeds.emplace_back("attention_mask", &mask);
    if (plan_.inputs.token_type_ids) feeds.emplace_back("token_type_ids", &types);

    Result<FloatTensor> t = session_->Run(feeds, static_cast<int64_t>(b),
                                          static_cast<int64_t>(seq), plan_.output);
    if (!t.ok()) return Status(t.status().code(), "model " + name_ + ": " + t.status().message());
    const std::vector<int64_t>& shape = t->shape;
    const int64_t rows_out = static_cast<int64_t>(b);
    const bool ok = (shape.size() == 1 && shape[0] == rows_out) ||
                    (shape.size() == 2 && shape[0] == rows_out && (shape[1] == 1 || shape[1] == 2));
    if (!ok) {
      return Status::Internal("model " + name_ + ": output " + plan_.output + " has shape " +
                              ShapeString(shape) + " for a batch of " + std::to_string(b) +
                              "; a cross-encoder's output must be " + kShapes);
    }
    const size_t cols = shape.size() == 1 ? 1 : static_cast<size_t>(shape[1]);
    for (size_t k = 0; k < b; ++k) out[rows[k]] = t->data[k * cols + cols - 1];
    return Status::Ok();
  }

  std::string name_;
  Options options_;
  WordPieceTokenizer tokenizer_;
  std::unique_ptr<OnnxSession> session_;
  Plan plan_;
};

}  // namespace

bool IsCrossEncoderConfig(const Json& config) {
  return config.is_object() && config.contains("task") && config["task"] == kCrossEncoderTask;
}

Result<std::unique_ptr<CrossEncoder>> MakeOnnxCrossEncoder(const std::string& name,
                                                           const std::string& folder,
                                                           const Json& config) {
  ASSIGN_OR_RETURN(Options options, ParseOptions(name, config));
  const fs::path model = fs::path(folder) / "model.onnx";
  std::error_code ec;
  if (!fs::exists(model, ec)) {
    return Status::Unavailable("model " + name + ": " + model.string() + " is missing");
  }
  ASSIGN_OR_RETURN(WordPieceTokenizer tokenizer,
                   LoadFolderTokenizer(name, folder, options.lowercase, nullptr));
  Result<std::unique_ptr<OnnxSession>> session = OnnxSession::Open(model.string(), options.threads);
  if (!session.ok()) {
    return Status(session.status().code(), "model " + name + ": " + session.status().message());
  }
  ASSIGN_OR_RETURN(Plan plan, MakePlan(name, **session, options));
  return std::unique_ptr<CrossEncoder>(new OnnxCrossEncoder(name, std::move(options),
                                                            std::move(tokenizer),
                                                            std::move(session).value(),
                                                            std::move(plan)));
}

}  // namespace strata::extract
