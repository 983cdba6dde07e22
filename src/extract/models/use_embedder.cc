#include "extract/models/use_embedder.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <numeric>

#include "core/crypto.h"
#include "extract/models/embedder_config.h"
#include "extract/models/inference_cache.h"
#include "extract/models/onnx_session.h"
#include "extract/models/ort_session.h"

namespace strata::extract {

namespace fs = std::filesystem;

// The ONNX Runtime session of the model. OnnxSession (onnx_session.h) feeds
// dense int64 [batch, seq] tensors only; USE-lite takes a sparse batch (a
// rank-2 and a rank-1 tensor, int32 or int64), so this runs it directly on the
// C API.
class UseEmbedder::Session {
 public:
  struct Plan {
    bool int64_inputs = true;
    std::string output;
  };
  static Result<std::unique_ptr<Session>> Open(const std::string& model_name,
                                               const std::string& path, int threads,
                                               const std::string& output_name);
  // indices: n (sentence, position) pairs, row-major; values: n ids.
  // Returns the float output and its shape.
  Status Run(const std::vector<int64_t>& indices, const std::vector<int64_t>& values,
             std::vector<int64_t>* shape, std::vector<float>* out) const;

 private:
  Session() = default;
  Status Describe(const std::string& output_name);

  std::unique_ptr<OrtModelSession> ort_;
  Plan plan_;
};

Result<std::unique_ptr<UseEmbedder::Session>> UseEmbedder::Session::Open(
    const std::string& model_name, const std::string& path, int threads,
    const std::string& output_name) {
  std::unique_ptr<Session> s(new Session);
  ASSIGN_OR_RETURN(s->ort_, OrtModelSession::Open("model " + model_name, path, threads));
  RETURN_IF_ERROR(s->Describe(output_name));
  return s;
}

#if !STRATA_HAVE_ORT_API

// Built without the C API header: OrtModelSession::Open fails, and nothing else runs.
Status UseEmbedder::Session::Describe(const std::string&) { return Status::Ok(); }
Status UseEmbedder::Session::Run(const std::vector<int64_t>&, const std::vector<int64_t>&,
                                 std::vector<int64_t>*, std::vector<float>*) const {
  return Status::Internal("ONNX Runtime is not available in this build");
}

#else

// Checks the inputs are exactly `indices` and `values`, both int32 or both
// int64, and picks the float output.
Status UseEmbedder::Session::Describe(const std::string& output_name) {
  const OrtModelSession& ort = *ort_;
  std::vector<OnnxTensorInfo> inputs, outputs;
  RETURN_IF_ERROR(ort.ReadSignature(inputs, outputs));
  auto find = [](const std::vector<OnnxTensorInfo>& list, const std::string& name) -> const OnnxTensorInfo* {
    for (const auto& t : list) {
      if (t.name == name) return &t;
    }
    return nullptr;
  };
  const OnnxTensorInfo* indices = find(inputs, "indices");
  const OnnxTensorInfo* values = find(inputs, "values");
  const bool ints = indices != nullptr && values != nullptr && (indices->is_int64 || indices->is_int32) &&
                    indices->is_int64 == values->is_int64 && indices->is_int32 == values->is_int32;
  if (inputs.size() != 2 || !ints) {
    return ort.Error(
        "model.onnx must take exactly `indices` [N, 2] and `values` [N], both int32 or "
        "both int64 (the sparse input of the TF.js USE-lite graph)");
  }
  plan_.int64_inputs = indices->is_int64;
  const std::string wanted = output_name.empty() ? "embeddings" : output_name;
  for (const auto& t : outputs) {
    if (t.name == wanted || (output_name.empty() && outputs.size() == 1)) {
      if (!t.is_float) return ort.Error("output " + t.name + " is not float32");
      plan_.output = t.name;
    }
  }
  if (plan_.output.empty()) return ort.Error("model.onnx has no output " + wanted);
  return Status::Ok();
}

Status UseEmbedder::Session::Run(const std::vector<int64_t>& indices,
                                 const std::vector<int64_t>& values, std::vector<int64_t>* shape,
                                 std::vector<float>* out) const {
  const OrtModelSession& ort = *ort_;
  const OrtApi* api = ort.api();
  const int64_t n = static_cast<int64_t>(values.size());
  const int64_t indices_shape[2] = {n, 2};
  const int64_t values_shape[1] = {n};
  // The tensors borrow these buffers, which outlive the Run below.
  std::vector<int32_t> indices32, values32;
  void* indices_data = const_cast<int64_t*>(indices.data());
  void* values_data = const_cast<int64_t*>(values.data());
  size_t element = sizeof(int64_t);
  ONNXTensorElementDataType type = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
  if (!plan_.int64_inputs) {
    indices32.assign(indices.begin(), indices.end());
    values32.assign(values.begin(), values.end());
    indices_data = indices32.data();
    values_data = values32.data();
    element = sizeof(int32_t);
    type = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
  }
  Owned<OrtValue> indices_value(api->ReleaseValue), values_value(api->ReleaseValue);
  RETURN_IF_ERROR(ort.Check(
      api->CreateTensorWithDataAsOrtValue(ort.cpu(), indices_data, static_cast<size_t>(2 * n) * element,
                                          indices_shape, 2, type, indices_value.out()),
      "creating input indices"));
  RETURN_IF_ERROR(
      ort.Check(api->CreateTensorWithDataAsOrtValue(ort.cpu(), values_data, static_cast<size_t>(n) * element,
                                                    values_shape, 1, type, values_value.out()),
                "creating input values"));
  const char* input_names[2] = {"indices", "values"};
  const OrtValue* inputs[2] = {indices_value.get(), values_value.get()};
  const char* output_name = plan_.output.c_str();
  Owned<OrtValue> result(api->ReleaseValue);
  RETURN_IF_ERROR(ort.Check(
      api->Run(ort.session(), nullptr, input_names, inputs, 2, &output_name, 1, result.out()), "running"));

  Owned<OrtTensorTypeAndShapeInfo> info(api->ReleaseTensorTypeAndShapeInfo);
  RETURN_IF_ERROR(ort.Check(api->GetTensorTypeAndShape(result.get(), info.out()), "reading the output"));
  size_t rank = 0;
  RETURN_IF_ERROR(ort.Check(api->GetDimensionsCount(info.get(), &rank), "reading the output"));
  shape->assign(rank, 0);
  RETURN_IF_ERROR(ort.Check(api->GetDimensions(info.get(), shape->data(), rank), "reading the output"));
  size_t count = 1;
  for (int64_t d : *shape) count *= static_cast<size_t>(std::max<int64_t>(d, 0));
  void* data = nullptr;
  RETURN_IF_ERROR(ort.Check(api->GetTensorMutableData(result.get(), &data), "reading the output"));
  out->resize(count);
  if (count > 0) std::memcpy(out->data(), data, count * sizeof(float));
  return Status::Ok();
}

#endif  // STRATA_HAVE_ORT_API

UseEmbedder::UseEmbedder(SentencePieceTokenizer tokenizer) : tokenizer_(std::move(tokenizer)) {}
UseEmbedder::~UseEmbedder() = default;

std::string LowerIfAllCaps(std::string_view text) {
  bool upper = false;
  for (char c : text) {
    if (c >= 'a' && c <= 'z') return std::string(text);
    upper = upper || (c >= 'A' && c <= 'Z');
  }
  std::string out(text);
  if (upper) {
    for (char& c : out) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

UseEmbedder::Pieces UseEmbedder::Tokenize(std::string_view text) const {
  Pieces p;
  p.ids = tokenizer_.Encode(LowerIfAllCaps(text));
  p.total = p.ids.size();
  if (p.ids.size() > static_cast<size_t>(max_pieces_)) p.ids.resize(static_cast<size_t>(max_pieces_));
  return p;
}

Result<std::vector<std::vector<float>>> UseEmbedder::Run(const std::vector<const Pieces*>& batch) const {
  // Sentence k of the batch is row k of the output; positions start at 0 in
  // each sentence, as the reference builds them.
  std::vector<int64_t> indices, values;
  for (size_t k = 0; k < batch.size(); ++k) {
    const std::vector<int32_t>& ids = batch[k]->ids;
    for (size_t j = 0; j < ids.size(); ++j) {
      indices.push_back(static_cast<int64_t>(k));
      indices.push_back(static_cast<int64_t>(j));
      values.push_back(ids[j]);
    }
  }
  std::vector<int64_t> shape;
  std::vector<float> data;
  RETURN_IF_ERROR(session_->Run(indices, values, &shape, &data));
  // The graph sizes its batch from the largest sentence index: every row
  // holds a piece here, so it is the batch's size.
  const std::vector<int64_t> want = {static_cast<int64_t>(batch.size()), dimensions_};
  if (shape != want) {
    std::string got;
    for (int64_t d : shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
    return Status::Internal("model " + model_name_ + ": output has shape [" + got + "], expected [" +
                            std::to_string(batch.size()) + ", " + std::to_string(dimensions_) + "]");
  }
  std::vector<std::vector<float>> out(batch.size());
  const size_t dims = static_cast<size_t>(dimensions_);
  for (size_t k = 0; k < batch.size(); ++k) {
    out[k].assign(data.begin() + static_cast<ptrdiff_t>(k * dims),
                  data.begin() + static_cast<ptrdiff_t>((k + 1) * dims));
  }
  return out;
}

std::vector<size_t> PlanUseRuns(const std::vector<size_t>& lengths, size_t max_run) {
  // Estimated cost in multiply-adds (scripts/count_flops.py's counts): per
  // piece, the rows the graph gathers (the residual projection of layer 0 and
  // both feed-forward blocks); per padded position, the q/k/v and output
  // projections of both layers and the attention products; per run, the
  // measured fixed time at the measured rate (about 10 pieces' worth).
  constexpr double kPerPiece = 131072.0 + 2 * 1572864.0;
  constexpr double kPerPosition = 196608.0 + 131072.0 + 786432.0 + 262144.0;
  constexpr double kPerPositionSquared = 1536.0;
  constexpr double kPerRun = 48e6;
  const size_t n = lengths.size();
  max_run = std::max<size_t>(max_run, 1);
  std::vector<double> prefix(n + 1, 0);  // pieces of the first k texts
  for (size_t k = 0; k < n; ++k) prefix[k + 1] = prefix[k] + static_cast<double>(lengths[k]);
  // best[j]: the cheapest plan for the first j texts, whose last run starts at from[j].
  std::vector<double> best(n + 1, 0);
  std::vector<size_t> from(n + 1, 0);
  for (size_t j = 1; j <= n; ++j) {
    const double longest = static_cast<double>(lengths[j - 1]);  // sorted: the run's padded length
    const double per_row = longest * kPerPosition + longest * longest * kPerPositionSquared;
    best[j] = -1;
    for (size_t i = j - 1;; --i) {
      const double cost = best[i] + kPerRun + (prefix[j] - prefix[i]) * kPerPiece +
                          static_cast<double>(j - i) * per_row;
      if (best[j] < 0 || cost < best[j]) best[j] = cost, from[j] = i;
      if (i == 0 || j - i >= max_run) break;
    }
  }
  std::vector<size_t> ends;
  for (size_t j = n; j > 0; j = from[j]) ends.push_back(j);
  std::reverse(ends.begin(), ends.end());
  return ends;
}

Result<std::vector<std::vector<float>>> UseEmbedder::Embed(const std::vector<std::string>& texts,
                                                           EmbedRole /*role*/) {
  std::vector<Pieces> pieces(texts.size());
  std::vector<size_t> order;  // the texts that have pieces, shortest first
  for (size_t i = 0; i < texts.size(); ++i) {
    pieces[i] = Tokenize(texts[i]);
    if (!pieces[i].ids.empty()) order.push_back(i);
  }
  // Runs of similar lengths waste little on padding; results go back to the
  // callers' order.
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return pieces[a].ids.size() < pieces[b].ids.size(); });
  std::vector<size_t> lengths;
  lengths.reserve(order.size());
  for (size_t i : order) lengths.push_back(pieces[i].ids.size());
  std::vector<std::vector<float>> out(texts.size());
  size_t start = 0;
  for (size_t end : PlanUseRuns(lengths, static_cast<size_t>(batch_size_))) {
    std::vector<const Pieces*> rows;
    for (size_t r = start; r < end; ++r) rows.push_back(&pieces[order[r]]);
    ASSIGN_OR_RETURN(auto vectors, Run(rows));
    for (size_t r = start; r < end; ++r) out[order[r]] = std::move(vectors[r - start]);
    start = end;
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    if (pieces[i].ids.empty()) out[i] = empty_vector_;
  }
  return out;
}

Result<std::unique_ptr<UseEmbedder>> UseEmbedder::Load(const std::string& model_name,
                                                       const std::string& folder, const Json& config) {
  ConfigFields f(model_name, config);
  const std::string backend = f.String("backend", kTfjsOnnxBackend);
  if (backend != kTfjsOnnxBackend) f.Error("backend", std::string("must be \"") + kTfjsOnnxBackend + "\"");
  const std::string task = f.String("task", kSentenceEmbeddingTask);
  if (task != kSentenceEmbeddingTask) {
    f.Error("task", std::string("must be \"") + kSentenceEmbeddingTask + "\" for USE-lite");
  }
  const std::string model_file = f.String("model", "model.onnx");
  const std::string vocab_file = f.String("vocab", "vocab.json");
  const int dimensions = f.Int("dimensions", kDimensions, 1, 1 << 16);
  const int max_pieces = f.Int("max_pieces", kMaxPieces, 1, kMaxPieces);
  const int batch_size = f.Int("batch_size", 256, 1, 4096);
  const int threads = f.Int("threads", 0, 0, 1024);
  const std::string output_name = f.String("output_name", "");
  RETURN_IF_ERROR(f.Finish());

  const fs::path model = fs::path(folder) / model_file, vocab = fs::path(folder) / vocab_file;
  std::error_code ec;
  for (const fs::path& p : {model, vocab}) {
    if (!fs::is_regular_file(p, ec)) {
      return Status::Unavailable("model " + model_name + ": " + p.string() +
                                 " is missing (run scripts/fetch_tfjs.sh)");
    }
  }
  Result<SentencePieceTokenizer> tokenizer = SentencePieceTokenizer::FromVocabJson(vocab.string());
  if (!tokenizer.ok()) {
    return Status(tokenizer.status().code(), "model " + model_name + ": " + tokenizer.status().message());
  }
  std::unique_ptr<UseEmbedder> e(new UseEmbedder(std::move(tokenizer).value()));
  e->model_name_ = model_name;
  e->dimensions_ = dimensions;
  e->max_pieces_ = max_pieces;
  e->batch_size_ = batch_size;
  ASSIGN_OR_RETURN(e->session_, Session::Open(model_name, model.string(), threads, output_name));

  // The vector of the empty text. The graph cannot run a batch without any
  // piece (it sizes the batch from the pieces' sentence indices), but a
  // sentence without pieces before one with a piece is all padding, and its
  // row is what TF.js gives for "" (checked by the parity test). This first
  // run also checks the output's shape.
  {
    const std::vector<int32_t> a = e->tokenizer_.Encode("a");
    const std::vector<int64_t> indices = {1, 0};  // sentence 1, position 0
    const std::vector<int64_t> values = {a.empty() ? SentencePieceTokenizer::kUnknownId : a[0]};
    std::vector<int64_t> shape;
    std::vector<float> data;
    RETURN_IF_ERROR(e->session_->Run(indices, values, &shape, &data));
    if (shape != std::vector<int64_t>{2, dimensions}) {
      std::string got;
      for (int64_t d : shape) got += (got.empty() ? "" : ", ") + std::to_string(d);
      return Status::Internal("model " + model_name + ": output has shape [" + got + "] for 2 sentences; expected [2, " +
                              std::to_string(dimensions) + "] (config.json: dimensions)");
    }
    e->empty_vector_.assign(data.begin(), data.begin() + dimensions);
  }

  // Everything that shapes the vectors, and the files' identity (size and
  // modification time: a replaced model or vocabulary changes it).
  Json identity = {{"max_pieces", max_pieces},
                   {"dimensions", dimensions},
                   {"output", output_name},
                   {"model", FileStamp(model.string())},
                   {"vocab", FileStamp(vocab.string())}};
  e->fingerprint_ = e->name_ + "/tfjs-onnx/" + Sha256Hex(identity.dump()).substr(0, 16);
  return e;
}

const UseEmbedder* AsUseEmbedder(const Embedder& embedder) {
  if (const auto* use = dynamic_cast<const UseEmbedder*>(&embedder)) return use;
  if (const auto* caching = dynamic_cast<const CachingEmbedder*>(&embedder)) {
    return caching->inner() ? dynamic_cast<const UseEmbedder*>(caching->inner().get()) : nullptr;
  }
  return nullptr;
}

Result<std::unique_ptr<Embedder>> MakeUseEmbedder(const std::string& model_name,
                                                  const std::string& folder, const Json& config) {
  ASSIGN_OR_RETURN(std::unique_ptr<UseEmbedder> e, UseEmbedder::Load(model_name, folder, config));
  return std::unique_ptr<Embedder>(std::move(e));
}

}  // namespace strata::extract
