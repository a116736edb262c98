#!/usr/bin/env bash
# Prints, for a build directory whose last ctest run had failures, each
# failed test's name and the last lines of its output (from ctest's
# LastTest.log), so the end of a CI log says what failed and why.
# Usage: test/report_failures.sh BUILD_DIR [LINES]
set -uo pipefail
dir=$1
lines=${2:-60}
log="$dir/Testing/Temporary/LastTest.log"
failed="$dir/Testing/Temporary/LastTestsFailed.log"
if [ ! -s "$failed" ]; then
  echo "synod: $dir: no failed tests recorded (the build or a step outside ctest failed)"
  exit 0
fi
echo "synod: $dir: failed tests:"
sed 's/^/  /' "$failed"
[ -f "$log" ] || exit 0
# LastTest.log holds each test as "N/M Test: NAME", its output between
# "Output:" and "<end of output>", then "Test Passed." or "Test Failed.".
awk -v keep="$lines" '
  /^[0-9]+\/[0-9]+ Test: / { name = $0; sub(/^[0-9]+\/[0-9]+ Test: /, "", name); n = 0; inout = 0; next }
  /^Output:$/ { inout = 1; getline; next }
  /^<end of output>$/ { inout = 0; next }
  inout { buf[n % keep] = $0; n++; next }
  /^Test Failed\./ {
    print "---- " name " (last " (n < keep ? n : keep) " lines)"
    start = n > keep ? n - keep : 0
    for (i = start; i < n; i++) print buf[i % keep]
  }
' "$log"
