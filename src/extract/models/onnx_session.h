// One ONNX model loaded into ONNX Runtime, with just what a text encoder needs:
// the declared inputs and outputs, and a run over int64 [batch, seq] inputs
// that returns one float output. This file keeps ONNX Runtime's C API (and its
// manual memory management) away from the embedder's logic.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "extract/models/onnx_runtime.h"

namespace strata::extract {

class OrtModelSession;  // ort_session.h

struct OnnxTensorInfo {
  std::string name;
  std::vector<int64_t> shape;  // -1 for a dynamic dimension
  bool is_int64 = false;
  bool is_int32 = false;
  bool is_float = false;
};

struct FloatTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

class OnnxSession {
 public:
  // threads: ONNX Runtime's intra-op threads (0: its default, one per core).
  static Result<std::unique_ptr<OnnxSession>> Open(const std::string& model_path, int threads);
  ~OnnxSession();
  OnnxSession(const OnnxSession&) = delete;
  OnnxSession& operator=(const OnnxSession&) = delete;

  const std::vector<OnnxTensorInfo>& inputs() const { return inputs_; }
  const std::vector<OnnxTensorInfo>& outputs() const { return outputs_; }
  const std::string& runtime_version() const;

  // Feeds each named int64 tensor of shape [batch, seq] (data row-major) and
  // returns the output called `output`. Thread-safe: ONNX Runtime allows
  // concurrent Run calls on one session.
  using Feed = std::pair<std::string, const std::vector<int64_t>*>;
  Result<FloatTensor> Run(const std::vector<Feed>& feeds, int64_t batch, int64_t seq,
                          const std::string& output) const;

 private:
  OnnxSession();
  Status Describe();

  std::unique_ptr<OrtModelSession> ort_;
  std::vector<OnnxTensorInfo> inputs_, outputs_;
};

}  // namespace strata::extract
