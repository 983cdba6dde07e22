#include "extract/models/ort_session.h"

#include <utility>

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

#else

Status OrtModelSession::Check(OrtStatus* status, const std::string& what) const {
  if (status == nullptr) return Status::Ok();
  std::string message = rt_->api->GetErrorMessage(status);
  rt_->api->ReleaseStatus(status);
  return Error(what + ": " + message);
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
