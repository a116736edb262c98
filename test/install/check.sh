#!/usr/bin/env bash
# Installs synod from BUILD_DIR into a temporary prefix, then builds and runs
# a consumer that finds it with find_package(synod) and one built with
# pkg-config alone.
set -euo pipefail
build_dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d -t synod-install-XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$here" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer" "$work/data-cmake"
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" \
  c++ -std=c++17 "$here/consumer.cc" -o "$work/consumer-pc" \
  $(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs --static synod)
"$work/consumer-pc" "$work/data-pkgconfig"
echo "install check: find_package and pkg-config consumers passed"
