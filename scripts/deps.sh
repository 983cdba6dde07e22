#!/usr/bin/env bash
# Installs the Debian packages Strata builds and tests with. Idempotent: it asks
# apt only for what dpkg says is missing, so a second run costs a few dpkg calls.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libsqlite3-dev libssl-dev libcurl4-openssl-dev libmagic-dev libmagic-mgc
  nlohmann-json3-dev libcpp-httplib-dev zlib1g-dev libbrotli-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-requests python3-jsonschema curl
  libfasttext-dev python3-onnx python3-numpy libjemalloc-dev
  libhnswlib-dev dataset-fashion-mnist
  # ICU: NFKC normalisation for USE-lite's SentencePiece tokenizer
  libicu-dev
  # Media: decoders, image processing, OCR, PDF, speech (the multimodal extractors)
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libavfilter-dev ffmpeg
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  libopencv-objdetect-dev libopencv-contrib-dev
  libtesseract-dev tesseract-ocr-eng libpoppler-cpp-dev libexiv2-dev
  libpocketsphinx-dev pocketsphinx-en-us
  # Test fixtures with known ground truth: speech, rendered text, PDFs
  espeak-ng python3-pil fonts-dejavu-core python3-reportlab poppler-utils
  pocketsphinx-testdata
  # Real photos of faces (two different people, Lena, Messi) in its examples and docs: face tests
  opencv-doc
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

