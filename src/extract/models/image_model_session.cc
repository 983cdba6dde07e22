#include "extract/models/image_model_session.h"

#include <algorithm>
#include <cstring>

#include "extract/models/ort_c_api.h"

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

#if !STRATA_HAVE_ORT_API

// Built without the C API header: LoadOnnxRuntime says so, and nothing else runs.
Result<std::unique_ptr<ImageModelSession>> ImageModelSession::Open(const std::string&,
                                                                   const std::string&, int) {
  ASSIGN_OR_RETURN(const OnnxRuntime* rt, LoadOnnxRuntime());
  (void)rt;
  return Status::Internal("unreachable: ONNX Runtime loaded without its header");
}
ImageModelSession::~ImageModelSession() = default;
Status ImageModelSession::Check(OrtStatus*, const std::string&) const { return Status::Ok(); }
Status ImageModelSession::Describe() { return Status::Ok(); }
Result<std::vector<FloatTensor>> ImageModelSession::Run(const std::string&, const std::vector<float>&,
                                                        const std::vector<int64_t>&,
                                                        const std::vector<std::string>&) const {
  return Status::Internal("ONNX Runtime is not available in this build");
}

#else

namespace {

// Releases an ONNX Runtime object at the end of a scope.
template <typename T>
class Owned {
 public:
  using Release = void(ORT_API_CALL*)(T*);
  explicit Owned(Release release) : release_(release) {}
  ~Owned() {
    if (ptr_ != nullptr) release_(ptr_);
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  T** out() { return &ptr_; }
  T* get() const { return ptr_; }

 private:
  Release release_;
  T* ptr_ = nullptr;
};

}  // namespace

Status ImageModelSession::Check(OrtStatus* status, const std::string& what) const {
  if (status == nullptr) return Status::Ok();
  std::string message = rt_->api->GetErrorMessage(status);
  rt_->api->ReleaseStatus(status);
  return Status::Internal("model " + model_name_ + ": " + what + ": " + message);
}

Result<std::unique_ptr<ImageModelSession>> ImageModelSession::Open(const std::string& model_name,
                                                                   const std::string& path,
                                                                   int threads) {
  ASSIGN_OR_RETURN(const OnnxRuntime* rt, LoadOnnxRuntime());
  const OrtApi* api = rt->api;
  std::unique_ptr<ImageModelSession> s(new ImageModelSession);
  s->rt_ = rt;
  s->model_name_ = model_name;
  Owned<OrtSessionOptions> options(api->ReleaseSessionOptions);
  RETURN_IF_ERROR(s->Check(api->CreateSessionOptions(options.out()), "creating session options"));
  if (threads > 0) {
    RETURN_IF_ERROR(s->Check(api->SetIntraOpNumThreads(options.get(), threads), "setting threads"));
  }
  RETURN_IF_ERROR(s->Check(api->CreateSession(rt->env, path.c_str(), options.get(), &s->session_),
                           "loading " + path));
  RETURN_IF_ERROR(s->Check(api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &s->cpu_),
                           "describing CPU memory"));
  RETURN_IF_ERROR(s->Describe());
  return s;
}

ImageModelSession::~ImageModelSession() {
  if (rt_ == nullptr) return;
  if (cpu_ != nullptr) rt_->api->ReleaseMemoryInfo(cpu_);
  if (session_ != nullptr) rt_->api->ReleaseSession(session_);
}

// Reads the name, element type and shape of every input and output.
Status ImageModelSession::Describe() {
  const OrtApi* api = rt_->api;
  OrtAllocator* allocator = nullptr;
  RETURN_IF_ERROR(Check(api->GetAllocatorWithDefaultOptions(&allocator), "getting an allocator"));
  for (bool input : {true, false}) {
    size_t count = 0;
    RETURN_IF_ERROR(Check(input ? api->SessionGetInputCount(session_, &count)
                                : api->SessionGetOutputCount(session_, &count),
                          "counting inputs and outputs"));
    for (size_t i = 0; i < count; ++i) {
      OnnxTensorInfo info;
      char* name = nullptr;
      RETURN_IF_ERROR(Check(input ? api->SessionGetInputName(session_, i, allocator, &name)
                                  : api->SessionGetOutputName(session_, i, allocator, &name),
                            "reading names"));
      info.name = name;
      RETURN_IF_ERROR(Check(api->AllocatorFree(allocator, name), "freeing a name"));
      Owned<OrtTypeInfo> type(api->ReleaseTypeInfo);
      RETURN_IF_ERROR(Check(input ? api->SessionGetInputTypeInfo(session_, i, type.out())
                                  : api->SessionGetOutputTypeInfo(session_, i, type.out()),
                            "reading the type of " + info.name));
      ONNXType kind = ONNX_TYPE_UNKNOWN;
      RETURN_IF_ERROR(Check(api->GetOnnxTypeFromTypeInfo(type.get(), &kind), "reading a type"));
      if (kind == ONNX_TYPE_TENSOR) {
        const OrtTensorTypeAndShapeInfo* tensor = nullptr;  // owned by `type`
        RETURN_IF_ERROR(Check(api->CastTypeInfoToTensorInfo(type.get(), &tensor), "reading a type"));
        ONNXTensorElementDataType element = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
        size_t rank = 0;
        RETURN_IF_ERROR(Check(api->GetTensorElementType(tensor, &element), "reading a type"));
        RETURN_IF_ERROR(Check(api->GetDimensionsCount(tensor, &rank), "reading a shape"));
        info.shape.resize(rank);
        RETURN_IF_ERROR(Check(api->GetDimensions(tensor, info.shape.data(), rank), "reading a shape"));
        info.is_int64 = element == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
        info.is_float = element == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
      }
      (input ? inputs_ : outputs_).push_back(std::move(info));
    }
  }
  return Status::Ok();
}

Result<std::vector<FloatTensor>> ImageModelSession::Run(const std::string& input,
                                                        const std::vector<float>& data,
                                                        const std::vector<int64_t>& shape,
                                                        const std::vector<std::string>& outputs) const {
  const OrtApi* api = rt_->api;
  size_t count = 1;
  for (int64_t d : shape) count *= static_cast<size_t>(std::max<int64_t>(d, 0));
  if (count != data.size()) return Status::Internal("model " + model_name_ + ": input has the wrong size");
  Owned<OrtValue> value(api->ReleaseValue);
  // The tensor borrows `data`, which outlives the Run below.
  RETURN_IF_ERROR(Check(api->CreateTensorWithDataAsOrtValue(
                            cpu_, const_cast<float*>(data.data()), data.size() * sizeof(float),
                            shape.data(), shape.size(), ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, value.out()),
                        "creating input " + input));
  const char* input_name = input.c_str();
  const OrtValue* inputs[1] = {value.get()};
  std::vector<const char*> names;
  for (const std::string& o : outputs) names.push_back(o.c_str());
  std::vector<OrtValue*> results(outputs.size(), nullptr);
  OrtStatus* run = api->Run(session_, nullptr, &input_name, inputs, 1, names.data(), names.size(),
                            results.data());
  // Every result is released at the end, whether the run or a read failed.
  std::vector<std::unique_ptr<Owned<OrtValue>>> owned;
  for (OrtValue*& r : results) {
    owned.push_back(std::make_unique<Owned<OrtValue>>(api->ReleaseValue));
    *owned.back()->out() = r;
  }
  RETURN_IF_ERROR(Check(run, "running"));

  std::vector<FloatTensor> out(outputs.size());
  for (size_t k = 0; k < outputs.size(); ++k) {
    OrtValue* result = owned[k]->get();
    Owned<OrtTensorTypeAndShapeInfo> info(api->ReleaseTensorTypeAndShapeInfo);
    RETURN_IF_ERROR(Check(api->GetTensorTypeAndShape(result, info.out()), "reading " + outputs[k]));
    ONNXTensorElementDataType element = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
    RETURN_IF_ERROR(Check(api->GetTensorElementType(info.get(), &element), "reading " + outputs[k]));
    if (element != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
      return Status::Internal("model " + model_name_ + ": output " + outputs[k] + " is not float32");
    }
    size_t rank = 0;
    RETURN_IF_ERROR(Check(api->GetDimensionsCount(info.get(), &rank), "reading " + outputs[k]));
    out[k].shape.resize(rank);
    RETURN_IF_ERROR(Check(api->GetDimensions(info.get(), out[k].shape.data(), rank), "reading " + outputs[k]));
    size_t n = 1;
    for (int64_t d : out[k].shape) n *= static_cast<size_t>(std::max<int64_t>(d, 0));
    void* raw = nullptr;
    RETURN_IF_ERROR(Check(api->GetTensorMutableData(result, &raw), "reading " + outputs[k]));
    out[k].data.resize(n);
    if (n > 0) std::memcpy(out[k].data.data(), raw, n * sizeof(float));
  }
  return out;
}

#endif  // STRATA_HAVE_ORT_API

}  // namespace strata::extract
