#!/usr/bin/env bash
# Installs what is missing, builds synod and runs the demo: a one-peer
# ensemble on its embedded defaults, in a fresh data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps
cmake --preset release >/dev/null
cmake --build --preset release --target synod_demo
data_dir=$(mktemp -d -t synod-demo-XXXXXX)
trap 'rm -rf "$data_dir"' EXIT
./build/release/examples/synod_demo "$data_dir"
