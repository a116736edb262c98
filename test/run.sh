#!/usr/bin/env bash
# Runs synod's whole test suite: installs what is missing, builds, runs every
# test tier (unit, sim, integration, fuzz corpora), the install consumer
# check and the benchmark smoke run, every fuzzer for a bounded time, then
# the same suite under ASan+UBSan (without the in-process differential run
# against ZooKeeper: the asan test preset's filter; the run through the
# ZooKeeper port drives the same operations through more of synod) and
# under TSan (TSan without the tests of
# single-threaded code, SYNOD_SINGLE_THREADED_TESTS, nor the differential
# runs against ZooKeeper, one request at a time: the tsan test preset's
# filter; the ZooKeeper port's own process tests stay), and clang's
# thread-safety analysis over the library and tools (-Werror=thread-safety: every
# ABSL_GUARDED_BY and lock annotation is checked). Every pass runs even
# when an earlier one failed; the script fails at the end if any did,
# naming them.
# SYNOD_SANITIZERS=0 skips the sanitizer passes.
set -uo pipefail
cd "$(dirname "$0")/.."
# The benchmark's smoke run (bench/compare.sh --smoke) needs ZooKeeper, its
# C client and gnuplot; the metrics test checks /metrics with promtool
# (Debian's prometheus); the differential test through ZooKeeper's Java
# client compiles its driver with the JDK; kazoo's recipes run against the
# ZooKeeper port (python3-kazoo, for Debian's /usr/bin/python3).
bash .ci/install-deps zookeeper libzookeeper-mt-dev gnuplot-nox prometheus \
  default-jdk-headless python3-kazoo || exit 1
jobs=${SYNOD_JOBS:-2}
# ccache hits across clones at different paths (paths become relative),
# and for the files compiled with a precompiled header (test/test_pch.h).
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros}"
failed=()
timings=()

run_suite() {
  local preset=$1
  # A failure list left by an earlier run must not be reported as this one's.
  rm -f "build/$preset/Testing/Temporary/LastTestsFailed.log"
  cmake --preset "$preset" >/dev/null &&
    cmake --build --preset "$preset" -j "$jobs" &&
    ctest --preset "$preset" -j "$jobs" --timeout 600
}

# The library and tools built with clang -Wthread-safety -Werror=thread-safety
# (the thread-safety preset); compiling is the check.
build_thread_safety() {
  cmake --preset thread-safety >/dev/null &&
    cmake --build --preset thread-safety -j "$jobs" --target synod synod-peer synod-cli synod-dump
}

# Runs "$@" as the pass named $1's first argument, remembering a failure
# and how long the pass took.
pass() {
  local name=$1
  shift
  echo "synod: pass '$name'"
  local start=$SECONDS
  if ! "$@"; then
    echo "synod: pass '$name' FAILED"
    failed+=("$name")
  fi
  timings+=("$name $((SECONDS - start)) s")
  echo "synod: pass '$name' took $((SECONDS - start)) s"
}

pass relwithdebinfo run_suite relwithdebinfo
pass thread-safety build_thread_safety
pass install bash test/install/check.sh build/relwithdebinfo
# Every fuzzer for a bounded time (SYNOD_FUZZ_SECONDS per target, 0 skips).
if [ "${SYNOD_FUZZ_SECONDS:-20}" != 0 ]; then
  pass fuzz bash test/fuzz/run_fuzzers.sh "${SYNOD_FUZZ_SECONDS:-20}"
fi
if [ "${SYNOD_SANITIZERS:-1}" != 0 ]; then
  pass asan run_suite asan
  pass tsan run_suite tsan
fi
echo "synod: pass times: $(IFS=,; echo "${timings[*]}" | sed 's/,/, /g'); total $SECONDS s"
if [ ${#failed[@]} -gt 0 ]; then
  # What failed and why, at the end where a truncated log still shows it.
  for name in "${failed[@]}"; do
    if [ -d "build/$name/Testing" ]; then
      bash test/report_failures.sh "build/$name" 40
    fi
  done
  echo "synod: FAILED passes: ${failed[*]}"
  exit 1
fi
echo "synod: all test tiers passed"
