#!/usr/bin/env bash
# Runs synod's whole test suite: installs what is missing, builds, runs every
# test tier (unit, sim, integration), the install consumer check and the
# benchmark smoke run, then the same suite under ASan+UBSan and under TSan.
# SYNOD_SANITIZERS=0 skips the sanitizer passes.
set -euo pipefail
cd "$(dirname "$0")/.."
# The benchmark's smoke run (bench/compare.sh --smoke) needs ZooKeeper, its
# C client and gnuplot.
bash .ci/install-deps zookeeper libzookeeper-mt-dev gnuplot-nox
jobs=${SYNOD_JOBS:-2}

run_suite() {
  local preset=$1
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  ctest --preset "$preset" -j "$jobs" --timeout 600
}

run_suite relwithdebinfo
bash test/install/check.sh build/relwithdebinfo
if [ "${SYNOD_SANITIZERS:-1}" != 0 ]; then
  run_suite asan
  run_suite tsan
fi
echo "synod: all test tiers passed"
