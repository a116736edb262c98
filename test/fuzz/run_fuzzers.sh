#!/usr/bin/env bash
# Fuzzes every target of test/fuzz for a bounded time:
#
#   bash test/fuzz/run_fuzzers.sh [seconds-per-target]   (default 20)
#
# Configures and builds the `fuzz` preset (clang, libFuzzer, ASan+UBSan),
# then runs each fuzzer over a copy of its seed corpus (the repository is
# never written to), SYNOD_JOBS (2) of them at a time, with
# -rss_limit_mb=2048 and a timeout per input.
# Prints per target the final "#N ... cov: X ft: Y" line (executions and
# coverage). Fails (non-zero) if any target crashes, leaks, times out or
# runs out of memory; the reproducer is left in the work directory, whose
# path is printed (SYNOD_FUZZ_WORKDIR chooses it; default a fresh mktemp).
# SYNOD_FUZZ_TARGETS="path acl" limits the run to some targets.
# SYNOD_FUZZ_SEED sets libFuzzer's seed (default 1, so that a run of the
# same tree explores the same way; another seed explores elsewhere).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
targets=${SYNOD_FUZZ_TARGETS:-"path acl node_record snapshot log_recovery txn_apply preparer peer_wire cli_line client_request zk_frame zk_connection"}
jobs=${SYNOD_JOBS:-2}

command -v clang++ >/dev/null || { echo "run_fuzzers: clang++ is missing (.ci/install-deps)" >&2; exit 1; }
cmake --preset fuzz >/dev/null
build_targets=()
for t in $targets; do build_targets+=("synod_fuzz_$t"); done
cmake --build --preset fuzz -j "$jobs" --target "${build_targets[@]}"

work=${SYNOD_FUZZ_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/synod-fuzz.XXXXXX")}
mkdir -p "$work"
echo "run_fuzzers: ${seconds}s per target, $jobs at a time, work directory $work"

# Fuzzes target $1 in $work/$1; its exit status is left in $work/$1/status.
fuzz_one() {
  local t=$1
  local dir="$work/$t"
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -R "test/fuzz/corpus/$t/." "$dir/corpus/"
  local status=0
  # The first directory is the working corpus (new inputs go there); crash,
  # leak, timeout and OOM reproducers go to artifacts/.
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "build/fuzz/test/fuzz/synod_fuzz_$t" "$dir/corpus" \
      -max_total_time="$seconds" -seed="${SYNOD_FUZZ_SEED:-1}" \
      -rss_limit_mb=2048 -timeout=10 \
      -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$dir/artifacts/" >"$dir/fuzz.log" 2>&1 || status=$?
  echo "$status" >"$dir/status"
}

# Each fuzzer is one process on one core: $jobs of them run at once.
running=0
for t in $targets; do
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

failed=()
for t in $targets; do
  dir="$work/$t"
  log="$dir/fuzz.log"
  status=$(cat "$dir/status" 2>/dev/null || echo "no status")
  final=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  printf '%-13s %s\n' "$t" "${final:-(no progress line)}"
  if [ "$status" != 0 ]; then
    failed+=("$t")
    echo "run_fuzzers: $t FAILED (exit $status); log $log, reproducer:" >&2
    ls "$dir/artifacts" >&2 || true
    grep -E 'ERROR|property failed|SUMMARY' "$log" | head -n 5 >&2 || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "run_fuzzers: failed: ${failed[*]}" >&2
  exit 1
fi
echo "run_fuzzers: all targets ran ${seconds}s without a failure"
