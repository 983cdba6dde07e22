// The part every ONNX model here shares: one ONNX Runtime session opened with
// Strata's session options, the CPU memory description its tensors use, and
// the turning of the C API's statuses into Status errors that name the model.
// The model classes (OnnxSession, ImageModelSession, the face and USE-lite
// sessions) read the model's inputs and outputs through it (ReadSignature),
// check them against what they feed, and keep their own runs on top of it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "extract/models/onnx_runtime.h"
#include "extract/models/ort_c_api.h"

struct OrtMemoryInfo;
struct OrtSession;
struct OrtStatus;

namespace strata::extract {

struct OnnxTensorInfo;  // onnx_session.h

class OrtModelSession {
 public:
  // Loads ONNX Runtime (Unavailable when it is missing) and the model at
  // `path`. `label` is how errors name the model, e.g. "model faceres".
  // threads: intra-op threads (0: ONNX Runtime's default, one per core).
  static Result<std::unique_ptr<OrtModelSession>> Open(std::string label, const std::string& path,
                                                       int threads);
  ~OrtModelSession();
  OrtModelSession(const OrtModelSession&) = delete;
  OrtModelSession& operator=(const OrtModelSession&) = delete;

  const OnnxRuntime& runtime() const { return *rt_; }
  const OrtApi* api() const { return rt_->api; }
  OrtSession* session() const { return session_; }
  const OrtMemoryInfo* cpu() const { return cpu_; }
  const std::string& label() const { return label_; }

  // Ok for a null status; else Internal, naming the model and `what` failed
  // (the status is released).
  Status Check(OrtStatus* status, const std::string& what) const;
  // The name, element type and shape of every input and output, in the
  // model's order (non-tensor ones with no type and no shape).
  Status ReadSignature(std::vector<OnnxTensorInfo>& inputs, std::vector<OnnxTensorInfo>& outputs) const;
  // Internal, naming the model: "<label>: <why>".
  Status Error(const std::string& why) const { return Status::Internal(label_ + ": " + why); }

 private:
  OrtModelSession() = default;

  const OnnxRuntime* rt_ = nullptr;
  OrtSession* session_ = nullptr;
  OrtMemoryInfo* cpu_ = nullptr;
  std::string label_;
};

#if STRATA_HAVE_ORT_API

// Releases an ONNX Runtime object (a tensor, a type info) at the end of a scope.
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

#endif  // STRATA_HAVE_ORT_API

}  // namespace strata::extract
