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

