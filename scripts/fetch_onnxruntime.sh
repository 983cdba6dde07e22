#!/usr/bin/env bash
# Fetches ONNX Runtime, which runs the ONNX embedding models users bring, into
# .cache/onnxruntime/ (gitignored):
#   lib/libonnxruntime.so.1         loaded at run time with dlopen, so strata starts
#                                   without it and only an ONNX model needs it
#   include/onnxruntime_c_api.h     the C API header the embedder compiles against
#
# Neither Debian bookworm nor PyPI is reachable for a prebuilt ONNX Runtime, so:
# - the library comes from the npm package onnxruntime-node, which carries the
#   official prebuilt CPU build (its install script is never run: we only unpack);
# - the header comes from Debian's libonnxruntime-dev of the SAME upstream version
#   (no npm package of ONNX Runtime ships the C header). That package is in a newer
#   Debian release than this machine's, so apt-get reads that release's index into a
#   private folder here and downloads the .deb there; the machine's own apt sources
#   and package database are not touched, and nothing is installed.
#
# Idempotent: once both files are cached for ORT_VERSION it does nothing and needs
# no network. Bump ORT_VERSION (and DEBIAN_REVISION/DEBIAN_SUITE if Debian's
# packaging differs) to move to another release.
set -euo pipefail

ORT_VERSION=1.21.0
DEBIAN_REVISION=+dfsg-1   # Debian's package version is ${ORT_VERSION}${DEBIAN_REVISION}
DEBIAN_SUITE=trixie       # the Debian release that packages that version

cd "$(dirname "$0")/.."
dest=.cache/onnxruntime
lib=$dest/lib/libonnxruntime.so.1
header=$dest/include/onnxruntime_c_api.h
stamp=$dest/VERSION

if [[ -f $lib && -f $header && "$(cat "$stamp" 2>/dev/null)" == "$ORT_VERSION" ]]; then
  echo "onnxruntime: $ORT_VERSION cached in $dest"
  exit 0
fi

case "$(uname -m)" in
  x86_64) npm_arch=x64 ;;
  aarch64 | arm64) npm_arch=arm64 ;;
  *) echo "onnxruntime: no prebuilt library for $(uname -m)" >&2; exit 1 ;;
esac
for tool in npm apt-get dpkg-deb tar; do
  command -v "$tool" >/dev/null || { echo "onnxruntime: $tool is required" >&2; exit 1; }
done

work=$dest/download
rm -rf "$work"
mkdir -p "$work" "$dest/lib" "$dest/include"
trap 'rm -rf "$work"' EXIT

# --- the library, from npm --------------------------------------------------
echo "onnxruntime: npm pack onnxruntime-node@$ORT_VERSION (unpacked only, no install scripts)"
tgz=$(cd "$work" && npm pack --ignore-scripts --silent "onnxruntime-node@$ORT_VERSION" | tail -n 1)
# The folder is bin/napi-v3/... in older releases and bin/napi-v6/... in newer ones.
member=$(tar -tzf "$work/$tgz" | grep -E "^package/bin/napi-v[0-9]+/linux/$npm_arch/libonnxruntime\.so\.1$" | head -n 1)
if [[ -z $member ]]; then
  echo "onnxruntime: $tgz has no linux/$npm_arch/libonnxruntime.so.1" >&2
  exit 1
fi
tar -xzf "$work/$tgz" -C "$work" "$member"
install -m 0644 "$work/$member" "$lib.part"
mv -f "$lib.part" "$lib"
echo "onnxruntime: $member -> $lib"

# --- the header, from Debian --------------------------------------------------
# The machine's own main archive (as apt-cache policy shows it), so no mirror is
# hard-coded here.
mirror=$(apt-cache policy | awk '$3 ~ /^[a-z]+\/main$/ && $2 ~ /^https?:/ {print $2; exit}')
if [[ -z $mirror ]]; then
  echo "onnxruntime: cannot tell this machine's Debian mirror from apt-cache policy" >&2
  exit 1
fi
apt_dir=$(pwd)/$work/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $DEBIAN_SUITE main" \
  >"$apt_dir/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o Dir::State::status=/dev/null -o "APT::Sandbox::User=$(id -un)"
)
deb_version="$ORT_VERSION$DEBIAN_REVISION"
echo "onnxruntime: apt-get download libonnxruntime-dev=$deb_version ($DEBIAN_SUITE index, private to $work)"
apt-get "${apt_opts[@]}" -qq update
(cd "$work" && apt-get "${apt_opts[@]}" -qq download "libonnxruntime-dev=$deb_version")
dpkg-deb --fsys-tarfile "$work"/libonnxruntime-dev_*.deb |
  tar -x -C "$work" ./usr/include/onnxruntime/onnxruntime_c_api.h
# A header of another release would compile but ask the library for a different
# API version: refuse it here rather than at run time.
api_version=$(echo "$ORT_VERSION" | cut -d. -f2)
if ! grep -q "^#define ORT_API_VERSION $api_version\$" "$work/usr/include/onnxruntime/onnxruntime_c_api.h"; then
  echo "onnxruntime: the header is not of API version $api_version" >&2
  exit 1
fi
install -m 0644 "$work/usr/include/onnxruntime/onnxruntime_c_api.h" "$header"
echo "onnxruntime: onnxruntime_c_api.h (API version $api_version) -> $header"

echo "$ORT_VERSION" >"$stamp"
echo "onnxruntime: $ORT_VERSION ready in $dest"
