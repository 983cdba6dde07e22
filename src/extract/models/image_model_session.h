// One image model (a float32 NHWC input, float32 outputs) loaded into ONNX
// Runtime. OnnxSession (onnx_session.h) feeds int64 [batch, seq] text inputs
// only; the converted TF.js vision models take one float image tensor and
// give several float outputs, which this runs on the C API directly.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "extract/models/onnx_session.h"

namespace strata::extract {

class OrtModelSession;  // ort_session.h

class ImageModelSession {
 public:
  // threads: ONNX Runtime's intra-op threads (0: its default, one per core).
  // Errors name `model_name`: Unavailable when ONNX Runtime is missing,
  // Internal for a file it cannot load.
  static Result<std::unique_ptr<ImageModelSession>> Open(const std::string& model_name,
                                                         const std::string& path, int threads);
  ~ImageModelSession();
  ImageModelSession(const ImageModelSession&) = delete;
  ImageModelSession& operator=(const ImageModelSession&) = delete;

  const std::vector<OnnxTensorInfo>& inputs() const { return inputs_; }
  const std::vector<OnnxTensorInfo>& outputs() const { return outputs_; }
  // The declared input or output called `name`, else null.
  const OnnxTensorInfo* Input(const std::string& name) const;
  const OnnxTensorInfo* Output(const std::string& name) const;

  // Feeds `data` (row-major, shape `shape`) as the float input `input` and
  // returns the float outputs named, in order. Thread-safe: ONNX Runtime
  // allows concurrent Run calls on one session.
  Result<std::vector<FloatTensor>> Run(const std::string& input, const std::vector<float>& data,
                                       const std::vector<int64_t>& shape,
                                       const std::vector<std::string>& outputs) const;

 private:
  ImageModelSession();
  Status Describe();

  std::unique_ptr<OrtModelSession> ort_;
  std::vector<OnnxTensorInfo> inputs_, outputs_;
};

}  // namespace strata::extract
