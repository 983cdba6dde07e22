#include "extract/models/ort_session.h"

#include <utility>

#include "extract/models/onnx_session.h"

namespace strata::extract {

#if !STRATA_HAVE_ORT_API

// Built without the C API header: LoadOnnxRuntime says so, and nothing else runs.
Result<std::unique_ptr<OrtModelSession>> OrtModelSession::Open(std::string, const std::string&, int) {
  ASSIGN_OR_RETURN(const OnnxRuntime* rt, LoadOnnxRuntime());
  (void)rt;
  return Status::Internal("unreachable: ONNX Runtime loaded without its header");
}
OrtModelSession::~OrtModelSession() = default;
Status OrtModelSession::Check(OrtStatus*, const std::string&) const { return Status::Ok(); }
Status OrtModelSession::ReadSignature(std::vector<OnnxTensorInfo>&, std::vector<OnnxTensorInfo>&) const {
  return Status::Ok();
}

#else

Status OrtModelSession::Check(OrtStatus* status, const std::string& what) const {
  if (status == nullptr) return Status::Ok();
  std::string message = rt_->api->GetErrorMessage(status);
  rt_->api->ReleaseStatus(status);
  return Error(what + ": " + message);
}

Status OrtModelSession::ReadSignature(std::vector<OnnxTensorInfo>& inputs,
                                      std::vector<OnnxTensorInfo>& outputs) const {
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
        info.is_int32 = element == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32;
        info.is_float = element == ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
      }
      (input ? inputs : outputs).push_back(std::move(info));
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<OrtModelSession>> OrtModelSession::Open(std::string label,
                                                               const std::string& path, int threads) {
  ASSIGN_OR_RETURN(const OnnxRuntime* rt, LoadOnnxRuntime());
  const OrtApi* api = rt->api;
  std::unique_ptr<OrtModelSession> s(new OrtModelSession);
  s->rt_ = rt;
  s->label_ = std::move(label);
  // The same options for every model.
  Owned<OrtSessionOptions> options(api->ReleaseSessionOptions);
  RETURN_IF_ERROR(s->Check(api->CreateSessionOptions(options.out()), "creating session options"));
  if (threads > 0) {
    RETURN_IF_ERROR(s->Check(api->SetIntraOpNumThreads(options.get(), threads), "setting threads"));
  }
  // The graph runs its nodes one after another (no inter-op pool); all of
  // ONNX Runtime's graph rewrites apply (its default, stated).
  RETURN_IF_ERROR(s->Check(api->SetInterOpNumThreads(options.get(), 1), "setting threads"));
  RETURN_IF_ERROR(s->Check(api->SetSessionGraphOptimizationLevel(options.get(), ORT_ENABLE_ALL),
                           "setting the optimisation level"));
  // Idle intra-op threads sleep instead of spinning. The engine's workers run
  // the model concurrently and share the cores with the server, so a spinning
  // pool burns the CPU the other runs need: with 2 callers on 2 cores the work
  // done per CPU-second was 37-57% of the FMA bound spinning against 56-68%
  // not (bench/use_bench.cc --intra 0, USE-lite; BENCHMARKS.md).
  RETURN_IF_ERROR(s->Check(
      api->AddSessionConfigEntry(options.get(), "session.intra_op.allow_spinning", "0"),
      "turning off spinning"));
  RETURN_IF_ERROR(s->Check(api->CreateSession(rt->env, path.c_str(), options.get(), &s->session_),
                           "loading " + path));
  RETURN_IF_ERROR(s->Check(api->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &s->cpu_),
                           "describing CPU memory"));
  return s;
}

OrtModelSession::~OrtModelSession() {
  if (rt_ == nullptr) return;
  if (cpu_ != nullptr) rt_->api->ReleaseMemoryInfo(cpu_);
  if (session_ != nullptr) rt_->api->ReleaseSession(session_);
}

#endif  // STRATA_HAVE_ORT_API

}  // namespace strata::extract
