#include "extract/models/image_model_session.h"

#include <algorithm>
#include <cstring>

#include "extract/models/ort_session.h"

namespace strata::extract {

const OnnxTensorInfo* ImageModelSession::Input(const std::string& name) const {
  for (const OnnxTensorInfo& i : inputs_) {
    if (i.name == name) return &i;
  }
  return nullptr;
}

const OnnxTensorInfo* ImageModelSession::Output(const std::string& name) const {
  for (const OnnxTensorInfo& o : outputs_) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

ImageModelSession::ImageModelSession() = default;
ImageModelSession::~ImageModelSession() = default;

Result<std::unique_ptr<ImageModelSession>> ImageModelSession::Open(const std::string& model_name,
                                                                   const std::string& path,
                                                                   int threads) {
  std::unique_ptr<ImageModelSession> s(new ImageModelSession);
  ASSIGN_OR_RETURN(s->ort_, OrtModelSession::Open("model " + model_name, path, threads));
  RETURN_IF_ERROR(s->Describe());
  return s;
}

#if !STRATA_HAVE_ORT_API

// Built without the C API header: OrtModelSession::Open fails, and nothing else runs.
Status ImageModelSession::Describe() { return Status::Ok(); }
Result<std::vector<FloatTensor>> ImageModelSession::Run(const std::string&, const std::vector<float>&,
                                                        const std::vector<int64_t>&,
                                                        const std::vector<std::string>&) const {
  return Status::Internal("ONNX Runtime is not available in this build");
}

#else

// Reads the name, element type and shape of every input and output.
Status ImageModelSession::Describe() {
  return ort_->ReadSignature(inputs_, outputs_);
}

Result<std::vector<FloatTensor>> ImageModelSession::Run(const std::string& input,
                                                        const std::vector<float>& data,
                                                        const std::vector<int64_t>& shape,
                                                        const std::vector<std::string>& outputs) const {
  const OrtModelSession& ort = *ort_;
  const OrtApi* api = ort.api();
  size_t count = 1;
  for (int64_t d : shape) count *= static_cast<size_t>(std::max<int64_t>(d, 0));
  if (count != data.size()) return ort.Error("input has the wrong size");
  Owned<OrtValue> value(api->ReleaseValue);
  // The tensor borrows `data`, which outlives the Run below.
  RETURN_IF_ERROR(ort.Check(api->CreateTensorWithDataAsOrtValue(
                                ort.cpu(), const_cast<float*>(data.data()), data.size() * sizeof(float),
                                shape.data(), shape.size(), ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, value.out()),
                            "creating input " + input));
  const char* input_name = input.c_str();
  const OrtValue* inputs[1] = {value.get()};
  std::vector<const char*> names;
  for (const std::string& o : outputs) names.push_back(o.c_str());
  std::vector<OrtValue*> results(outputs.size(), nullptr);
  OrtStatus* run =
      api->Run(ort.session(), nullptr, &input_name, inputs, 1, names.data(), names.size(), results.data());
  // Every result is released at the end, whether the run or a read failed.
  std::vector<std::unique_ptr<Owned<OrtValue>>> owned;
  for (OrtValue*& r : results) {
    owned.push_back(std::make_unique<Owned<OrtValue>>(api->ReleaseValue));
    *owned.back()->out() = r;
  }
  RETURN_IF_ERROR(ort.Check(run, "running"));

  std::vector<FloatTensor> out(outputs.size());
  for (size_t k = 0; k < outputs.size(); ++k) {
    OrtValue* result = owned[k]->get();
    Owned<OrtTensorTypeAndShapeInfo> info(api->ReleaseTensorTypeAndShapeInfo);
    RETURN_IF_ERROR(ort.Check(api->GetTensorTypeAndShape(result, info.out()), "reading " + outputs[k]));
    ONNXTensorElementDataType element = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    RETURN_IF_ERROR(ort.Check(api->GetTensorElementType(info.get(), &element), "reading " + outputs[k]));
    if (element != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
      return ort.Error("output " + outputs[k] + " is not float32");
    }
    size_t rank = 0;
    RETURN_IF_ERROR(ort.Check(api->GetDimensionsCount(info.get(), &rank), "reading " + outputs[k]));
    out[k].shape.resize(rank);
    RETURN_IF_ERROR(
        ort.Check(api->GetDimensions(info.get(), out[k].shape.data(), rank), "reading " + outputs[k]));
    size_t n = 1;
    for (int64_t d : out[k].shape) n *= static_cast<size_t>(std::max<int64_t>(d, 0));
    void* raw = nullptr;
    RETURN_IF_ERROR(ort.Check(api->GetTensorMutableData(result, &raw), "reading " + outputs[k]));
    out[k].data.resize(n);
    if (n > 0) std::memcpy(out[k].data.data(), raw, n * sizeof(float));
  }
  return out;
}

#endif  // STRATA_HAVE_ORT_API

}  // namespace strata::extract
