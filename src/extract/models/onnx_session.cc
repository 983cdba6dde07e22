#include "extract/models/onnx_session.h"

#include <cstring>

#include "extract/models/ort_session.h"

namespace strata::extract {

OnnxSession::OnnxSession() = default;
OnnxSession::~OnnxSession() = default;

const std::string& OnnxSession::runtime_version() const { return ort_->runtime().version; }

Result<std::unique_ptr<OnnxSession>> OnnxSession::Open(const std::string& model_path, int threads) {
  std::unique_ptr<OnnxSession> s(new OnnxSession);
  ASSIGN_OR_RETURN(s->ort_, OrtModelSession::Open("ONNX model " + model_path, model_path, threads));
  RETURN_IF_ERROR(s->Describe());
  return s;
}

#if !STRATA_HAVE_ORT_API

// Built without the C API header: OrtModelSession::Open fails, and nothing else runs.
Status OnnxSession::Describe() { return Status::Ok(); }
Result<FloatTensor> OnnxSession::Run(const std::vector<Feed>&, int64_t, int64_t,
                                     const std::string&) const {
  return Status::Internal("ONNX Runtime is not available in this build");
}

#else

// Reads the name, element type and shape of every input and output.
Status OnnxSession::Describe() {
  return ort_->ReadSignature(inputs_, outputs_);
}

Result<FloatTensor> OnnxSession::Run(const std::vector<Feed>& feeds, int64_t batch, int64_t seq,
                                     const std::string& output) const {
  const OrtModelSession& ort = *ort_;
  const OrtApi* api = ort.api();
  const int64_t shape[2] = {batch, seq};
  std::vector<std::unique_ptr<Owned<OrtValue>>> values;
  std::vector<const OrtValue*> inputs;
  std::vector<const char*> names;
  for (const auto& [name, data] : feeds) {
    if (data->size() != static_cast<size_t>(batch * seq)) {
      return Status::Internal("ONNX input " + name + " has the wrong size");
    }
    values.push_back(std::make_unique<Owned<OrtValue>>(api->ReleaseValue));
    // The tensor borrows `data`, which outlives the Run below.
    RETURN_IF_ERROR(
        ort.Check(api->CreateTensorWithDataAsOrtValue(
                      ort.cpu(), const_cast<int64_t*>(data->data()), data->size() * sizeof(int64_t),
                      shape, 2, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, values.back()->out()),
                  "creating input " + name));
    inputs.push_back(values.back()->get());
    names.push_back(name.c_str());
  }

  const char* output_name = output.c_str();
  Owned<OrtValue> result(api->ReleaseValue);
  RETURN_IF_ERROR(ort.Check(api->Run(ort.session(), nullptr, names.data(), inputs.data(),
                                     inputs.size(), &output_name, 1, result.out()),
                            "running"));

  FloatTensor out;
  Owned<OrtTensorTypeAndShapeInfo> info(api->ReleaseTensorTypeAndShapeInfo);
  RETURN_IF_ERROR(
      ort.Check(api->GetTensorTypeAndShape(result.get(), info.out()), "reading the output"));
  ONNXTensorElementDataType element = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  size_t rank = 0;
  RETURN_IF_ERROR(ort.Check(api->GetTensorElementType(info.get(), &element), "reading the output"));
  if (element != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
    return ort.Error("output " + output + " is not float32");
  }
  RETURN_IF_ERROR(ort.Check(api->GetDimensionsCount(info.get(), &rank), "reading the output"));
  out.shape.resize(rank);
  RETURN_IF_ERROR(
      ort.Check(api->GetDimensions(info.get(), out.shape.data(), rank), "reading the output"));
  size_t count = 1;
  for (int64_t d : out.shape) count *= static_cast<size_t>(d);
  void* data = nullptr;
  RETURN_IF_ERROR(ort.Check(api->GetTensorMutableData(result.get(), &data), "reading the output"));
  out.data.resize(count);
  if (count > 0) std::memcpy(out.data.data(), data, count * sizeof(float));
  return out;
}

#endif  // STRATA_HAVE_ORT_API

}  // namespace strata::extract
