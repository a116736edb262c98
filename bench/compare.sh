#!/usr/bin/env bash
# synod and Apache ZooKeeper 3.8 side by side, in one run on this machine.
#
# Installs what is missing (synod's build dependencies, Debian's zookeeper,
# libzookeeper-mt-dev and gnuplot-nox), builds the load generators, then:
#   1. measures the physical floor: fdatasync latency and loopback TCP RTT;
#   2. starts a three-server ZooKeeper ensemble on loopback (forceSync on,
#      its defaults otherwise), runs the workloads through its asynchronous
#      C client at a follower, and stops it; then, in a fresh ensemble,
#      creates the big tree (--big-znodes) and measures memory per znode, a
#      follower's restart and a wiped follower's catch-up;
#   3. starts a three-peer synod ensemble on loopback (defaults; group commit
#      is always on) whose third peer is the load generator's own process (a
#      follower), runs the same workloads through its Coordinator, then
#      through the client service from a non-peer process, then through
#      its ZooKeeper port with ZooKeeper's own C client, and stops it;
#      then measures the same big-tree figures in a fresh ensemble;
#   4. writes results.csv, floor.csv, bigtree.csv, report.md and chart.png
#      in the output directory and prints the report.
#
# Usage: bash bench/compare.sh [--smoke] [--out DIR] [--seconds S]
#                              [--big-znodes N] [--bin-dir DIR] [--no-install]
#   --smoke       tiny sizes, for CI: checks the whole pipeline, measures
#                 nothing worth reading
#   --out DIR     where the results go (default build/compare)
#   --seconds S   counted seconds per workload row (default 5; 1 s warmup)
#   --big-znodes  size of the big tree (default 1000000)
#   --bin-dir     use the binaries built in DIR instead of building release
#   --no-install  do not install packages
# BENCH_WORK (default: a new directory under /tmp) holds the servers' data.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

smoke=0 out=build/compare seconds=5 warmup=1 big=1000000 bin_dir="" install=1
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1 ;;
    --out) out=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    --big-znodes) big=$2; shift ;;
    --bin-dir) bin_dir=$2; shift ;;
    --no-install) install=0 ;;
    *) echo "compare.sh: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
  shift
done
keys=10000 in_flight=1,256 populate_bytes=100
if [ "$smoke" = 1 ]; then
  seconds=0.3 warmup=0.1 big=2000 keys=200 in_flight=1,16
fi

if [ "$install" = 1 ]; then
  bash .ci/install-deps zookeeper libzookeeper-mt-dev gnuplot-nox
fi
if [ -z "$bin_dir" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release --target synod-peer synod-cli synod_load \
    zk_load bench_floor bench_report
  bin_dir=build/release
fi
bin_dir=$(cd "$bin_dir" && pwd)
bench_bin=$bin_dir/bench/compare
for b in "$bin_dir/synod-peer" "$bin_dir/synod-cli" "$bench_bin/synod_load" \
         "$bench_bin/zk_load" "$bench_bin/bench_floor" "$bench_bin/bench_report"; do
  [ -x "$b" ] || { echo "compare.sh: $b was not built" >&2; exit 1; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/results.csv "$out"/floor.csv "$out"/bigtree.csv "$out"/chart.png

work=${BENCH_WORK:-$(mktemp -d -t synod-compare-XXXXXX)}
mkdir -p "$work"
zk="$root/bench/compare/zk_ensemble.sh"
synod_pids=()
cleanup() {
  bash "$zk" stop "$work/zk" >/dev/null 2>&1 || true
  bash "$zk" stop "$work/zk-big" >/dev/null 2>&1 || true
  for pid in "${synod_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -z "${BENCH_WORK:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

say() { echo "== $*" >&2; }
now_ns() { date +%s%N; }
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
# Prints the value of "key=value" in the text given.
value_of() { sed -n "s/^$1=//p"; }
bigtree() { echo "$1,$2,$3" >> "$out/bigtree.csv"; }
# Runs the function named $3 (it starts a server), then the probe command
# after it until the newest znode reads there; records that time as $1's
# metric $2.
time_until_read() {
  local system=$1 metric=$2 launch=$3 t0 probe; shift 3
  t0=$(now_ns)
  "$launch"
  probe=$("$@" --probe="$last" --probe-value-bytes="$populate_bytes" --since-ns="$t0")
  bigtree "$system" "$metric" "$(echo "$probe" | value_of probe_seconds)"
}
# Creates the big tree with the load generator given after the system's
# name and the pid of the server whose memory is measured; sets `last`.
populate_big() {
  local system=$1 pid=$2; shift 2
  local rss_before populated
  rss_before=$(rss_kb "$pid")
  populated=$("$@" --populate="$big" --populate-value-bytes="$populate_bytes")
  last=$(echo "$populated" | value_of last)
  bigtree "$system" populate_seconds "$(echo "$populated" | value_of populate_seconds)"
  bigtree "$system" rss_bytes_per_znode "$(( ($(rss_kb "$pid") - rss_before) * 1024 / big ))"
}
echo "system,metric,value" > "$out/bigtree.csv"

common=(--seconds="$seconds" --warmup="$warmup" --keys="$keys"
        --in-flight="$in_flight" --sessions=4 --value-bytes=1024
        --csv="$out/results.csv")

say "The physical floor"
"$bench_bin/bench_floor" --dir="$work" > "$out/floor.csv"
cat "$out/floor.csv" >&2

# ---- ZooKeeper.
say "ZooKeeper 3.8: three servers on loopback"
bash "$zk" start "$work/zk" 22181 >&2
f=$(bash "$zk" follower "$work/zk")
fport=$(bash "$zk" port "$work/zk" "$f")
say "ZooKeeper: the workloads through server $f (a follower), C client"
"$bench_bin/zk_load" --system=zookeeper --servers="127.0.0.1:$fport" "${common[@]}"

bash "$zk" stop "$work/zk" >&2

# The big tree goes into a fresh ensemble, so that memory per znode counts
# its znodes alone (not the workloads' leftovers).
say "ZooKeeper: a fresh ensemble for the big tree, $big znodes of $populate_bytes bytes"
bash "$zk" start "$work/zk-big" 22191 >&2
f=$(bash "$zk" follower "$work/zk-big")
fport=$(bash "$zk" port "$work/zk-big" "$f")
fpid=$(bash "$zk" pid "$work/zk-big" "$f")
# The live heap after a full collection, in bytes (jcmd comes with the JDK).
live_heap() {
  command -v jcmd >/dev/null || return 0
  jcmd "$1" GC.run >/dev/null
  jcmd "$1" GC.heap_info | sed -n 's/.*used \([0-9]*\)K.*/\1/p' | head -1
}
heap0=$(live_heap "$fpid")
populate_big zookeeper "$fpid" "$bench_bin/zk_load" --servers="127.0.0.1:$fport"
heap1=$(live_heap "$fpid")
if [ -n "$heap0" ] && [ -n "$heap1" ]; then
  bigtree zookeeper heap_bytes_per_znode "$(( (heap1 - heap0) * 1024 / big ))"
fi

launch_zk_follower() { bash "$zk" launch "$work/zk-big" "$f"; }
say "ZooKeeper: restart of server $f (a follower)"
bash "$zk" kill "$work/zk-big" "$f"
time_until_read zookeeper restart_seconds launch_zk_follower \
  "$bench_bin/zk_load" --servers="127.0.0.1:$fport"

say "ZooKeeper: server $f wiped, catching up"
bash "$zk" kill "$work/zk-big" "$f"
bash "$zk" wipe "$work/zk-big" "$f"
time_until_read zookeeper catchup_seconds launch_zk_follower \
  "$bench_bin/zk_load" --servers="127.0.0.1:$fport"
bash "$zk" stop "$work/zk-big" >&2

# ---- synod.
base=22281 zk_base=22381
peers=("127.0.0.1:$base" "127.0.0.1:$((base + 1))" "127.0.0.1:$((base + 2))")
seeds=$(IFS=,; echo "${peers[*]}")
# Peer i serves ZooKeeper's protocol on zk_base + i.
start_peer() {
  "$bin_dir/synod-peer" --listen "${peers[$1]}" --seeds "$seeds" \
    --zk-listen "127.0.0.1:$((zk_base + $1))" \
    --data-dir "$work/$data/p$1" --log-level warning \
    >>"$work/$data/p$1.log" 2>&1 &
  synod_pids[$1]=$!
}
role() {
  { "$bin_dir/synod-cli" --peer "$1" --connect-timeout 1s status 2>/dev/null ||
    true; } | sed -n 's/^role: //p'
}
# Waits until peer $1 reports one of the roles given.
wait_role() {
  local p=$1; shift
  for _ in $(seq 1 600); do
    local r; r=$(role "${peers[$p]}")
    for want in "$@"; do [ "$r" = "$want" ] && return 0; done
    sleep 0.1
  done
  echo "compare.sh: peer ${peers[$p]} never became $*; logs in $work/$data" >&2
  exit 1
}
data=synod
mkdir -p "$work/synod" "$work/synod-big"
say "synod: three peers on loopback; the third is the load generator"
start_peer 0
start_peer 1
wait_role 0 leader follower
wait_role 1 leader follower
say "synod: the workloads through the embedded peer (${peers[2]}, a follower)"
"$bench_bin/synod_load" --system=synod-embedded --listen="${peers[2]}" \
  --seeds="$seeds" --data-dir="$work/synod/p2" "${common[@]}"

start_peer 2
wait_role 2 follower
say "synod: the workloads through the client service of ${peers[2]} (a follower), from another process"
"$bench_bin/synod_load" --system=synod-remote --peer="${peers[2]}" "${common[@]}"
say "synod: the workloads through the ZooKeeper port of ${peers[2]} (a follower), ZooKeeper's C client"
"$bench_bin/zk_load" --system=synod-zk --servers="127.0.0.1:$((zk_base + 2))" \
  "${common[@]}"

for pid in "${synod_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
wait 2>/dev/null || true
synod_pids=()

say "synod: a fresh ensemble for the big tree, $big znodes of $populate_bytes bytes"
base=22291 zk_base=22391
peers=("127.0.0.1:$base" "127.0.0.1:$((base + 1))" "127.0.0.1:$((base + 2))")
seeds=$(IFS=,; echo "${peers[*]}")
data=synod-big
for i in 0 1 2; do start_peer "$i"; done
for i in 0 1 2; do wait_role "$i" leader follower; done
v=""  # the victim: a follower, as for ZooKeeper
for i in 0 1 2; do
  if [ -z "$v" ] && [ "$(role "${peers[$i]}")" = follower ]; then v=$i; fi
done
populate_big synod "${synod_pids[$v]}" "$bench_bin/synod_load" --peer="${peers[$v]}"

launch_synod_follower() { start_peer "$v"; }
say "synod: restart of peer ${peers[$v]} (a follower)"
kill -9 "${synod_pids[$v]}"; wait "${synod_pids[$v]}" 2>/dev/null || true
time_until_read synod restart_seconds launch_synod_follower \
  "$bench_bin/synod_load" --peer="${peers[$v]}"

say "synod: peer ${peers[$v]} wiped, catching up"
kill -9 "${synod_pids[$v]}"; wait "${synod_pids[$v]}" 2>/dev/null || true
rm -rf "$work/$data/p$v"
time_until_read synod catchup_seconds launch_synod_follower \
  "$bench_bin/synod_load" --peer="${peers[$v]}"
for pid in "${synod_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
wait 2>/dev/null || true
synod_pids=()

# ---- The report.
say "The report"
"$bench_bin/bench_report" --results="$out/results.csv" --floor="$out/floor.csv" \
  --bigtree="$out/bigtree.csv" --out="$out"
gnuplot "$out/chart.gp"
rows=$(($(wc -l < "$out/results.csv") - 1))
want=$(( 4 * 5 * $(echo "$in_flight" | tr ',' '\n' | wc -l) ))
if [ "$rows" != "$want" ] || [ ! -s "$out/chart.png" ]; then
  echo "compare.sh: expected $want result rows and a chart, got $rows rows" >&2
  exit 1
fi
say "Results in $out: results.csv floor.csv bigtree.csv report.md chart.png"
