#!/usr/bin/env bash
# Prints the bin directory of a Node.js of the given major version (default: the current LTS the
# suite is tested on), fetching the official binary from the npm registry's platform package
# (node-<os>-<arch>) into a cache on first use. No system Node is replaced: callers put the
# printed directory first in PATH for the commands that should run on it.
#   PATH="$(bash scripts/node-runtime.sh)":$PATH npx -y pnpm@10 test
set -euo pipefail
# The Node.js release line in Active LTS (even majors enter LTS each October).
CURRENT_LTS=26
major=${1:-$CURRENT_LTS}
[[ $major =~ ^[0-9]+$ ]] || { echo "node-runtime: expected a major version number, got '$major'" >&2; exit 2; }
os=$(node -p process.platform)
arch=$(node -p process.arch)
pkg="node-${os}-${arch}"
cache="${TSVMM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tsvmm}/node-${major}-${os}-${arch}"
bin="$cache/node_modules/$pkg/bin"
if ! [ -x "$bin/node" ]; then
  mkdir -p "$cache"
  echo "node-runtime: fetching $pkg@$major from the npm registry into $cache" >&2
  # The platform package carries the official release binary; its install script is not needed.
  (cd "$cache" && npm install --no-save --no-package-lock --no-audit --no-fund --ignore-scripts \
    --loglevel=error "$pkg@$major" >&2)
fi
got=$("$bin/node" -p 'process.versions.node')
[ "${got%%.*}" = "$major" ] || { echo "node-runtime: $bin/node is $got, not Node $major" >&2; exit 1; }
echo "$bin"
