// The CLIP slot of the ONNX backend: an image tower and a text tower that
// embed into one space, so a text query finds images. No CLIP-class model
// ships with Strata; a user brings a folder (e.g. an ONNX export of OpenAI's
// CLIP ViT-B/32 split into its two towers) whose config.json has
//   backend       "onnx"
//   task          "clip"
//   image_model   ONNX file: pixel_values float [N, 3, H, W] -> image_embeds
//                 [N, D] (default "image_model.onnx")
//   text_model    ONNX file: input_ids (and attention_mask when declared)
//                 int64 [N, T] -> text_embeds [N, D] (default "text_model.onnx")
//   image_input, image_output, text_output   tensor names (defaults above)
//   image_size    the square input side (default 224, CLIP's)
//   mean, std     per-channel RGB normalisation of pixels in [0, 1] (default
//                 CLIP's [0.48145466, 0.4578275, 0.40821073] and
//                 [0.26862954, 0.26130258, 0.27577711])
//   tokenizer     "bpe" (CLIP's byte-level BPE, vocab.json + merges.txt:
//                 clip_bpe.h) or "wordpiece" (vocab.txt or tokenizer.json);
//                 default: "bpe" when vocab.json is there
//   max_length    tokens per text, start and end included (default 77, CLIP's)
//   dimensions    D, when the models do not declare it (checked otherwise)
//   normalize     L2-normalise the vectors (default true)
//   lowercase, batch_size, threads   as for every ONNX folder (onnx_embedder.h)
// ModelRegistry::Get returns the text tower as an ordinary Embedder (so a
// retriever embeds its query into the image space with no other change);
// ModelRegistry::GetImageEmbedder returns the image tower.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/json_util.h"
#include "core/status.h"
#include "extract/models/embedder.h"
#include "extract/models/image_embedder.h"

namespace strata::extract {

// The config.json "task" of a CLIP folder.
inline constexpr const char* kClipTask = "clip";
bool IsClipConfig(const Json& config);

// Each loads its own tower only. Errors name the model: a missing file or ONNX
// Runtime is Unavailable, a broken config or a model that does not take or
// give what CLIP's towers do is Internal.
Result<std::unique_ptr<Embedder>> MakeOnnxClipTextEmbedder(const std::string& name, const std::string& folder,
                                                           const Json& config);
Result<std::unique_ptr<ImageEmbedder>> MakeOnnxClipImageEmbedder(const std::string& name,
                                                                 const std::string& folder, const Json& config);

// CLIP's image pre-processing for one 8-bit image (BGR, gray or BGRA): the
// shortest side resized to `size`, the centre size×size cropped, RGB order,
// pixel / 255, then (x - mean) / std per channel. Returns 3 × size × size
// floats, channel-major (one [3, H, W] slice of pixel_values).
std::vector<float> ClipPixelValues(const cv::Mat& image, int size, const std::array<float, 3>& mean,
                                   const std::array<float, 3>& std);

}  // namespace strata::extract
