#!/usr/bin/env bash
# Installs what is missing, builds synod and runs the demo: a three-peer
# ensemble on loopback (synod-peer processes on their default settings),
# driven with synod-cli. It writes, watches, kills the leader with SIGKILL,
# shows the new leader and that no acknowledged write was lost, and brings
# the killed peer back. Then a peer is lost for good and a new instance on
# a fourth address joins and is made a voter in its place (the peers run
# with a 5 s dead-voter timeout, instead of 30 s, to keep the demo short).
#
# SYNOD_DEMO_PORT (default 7101) is the first of the four ports used.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps
cmake --preset release >/dev/null
cmake --build --preset release --target synod-peer synod-cli synod_demo

bin=build/release
base=${SYNOD_DEMO_PORT:-7101}
peers=("127.0.0.1:$base" "127.0.0.1:$((base + 1))" "127.0.0.1:$((base + 2))")
seeds=$(IFS=,; echo "${peers[*]}")
work=$(mktemp -d -t synod-demo-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cli() { "$bin/synod-cli" --peer "$@"; }
role() { cli "$1" status 2>/dev/null | sed -n 's/^role: //p'; }
start_peer() {
  local i=$1
  "$bin/synod-peer" --listen "${peers[$i]}" --seeds "$seeds" \
    --data-dir "$work/peer$i" --dead-voter-timeout 5s >"$work/peer$i.log" 2>&1 &
  pids[$i]=$!
}
# Waits until one of the peers given leads and prints its index.
wait_leader() {
  for _ in $(seq 1 300); do
    for i in "$@"; do
      if [ "$(role "${peers[$i]}")" = leader ]; then echo "$i"; return; fi
    done
    sleep 0.1
  done
  echo "no leader was elected; logs in $work" >&2
  exit 1
}

echo "== Starting three peers: ${peers[*]}"
for i in 0 1 2; do start_peer "$i"; done
leader=$(wait_leader 0 1 2)
for i in 0 1 2; do
  echo "   ${peers[$i]}: $(role "${peers[$i]}")"
done
a=$(( (leader + 1) % 3 ))
b=$(( (leader + 2) % 3 ))

echo "== A watch at ${peers[$b]}, a write at ${peers[$a]} (forwarded to the leader)"
cli "${peers[$a]}" create /config v1 >/dev/null
cli "${peers[$b]}" sync / >/dev/null
cli "${peers[$b]}" watch /config > "$work/watch.out" &
watcher=$!
sleep 0.5
cli "${peers[$a]}" set /config v2 >/dev/null
wait "$watcher"
echo "   the watcher saw: $(cat "$work/watch.out")"
echo "   /config at ${peers[$b]}: $(cli "${peers[$b]}" get /config | head -1)"

echo "== 100 writes through ${peers[$a]}, each acknowledged"
cli "${peers[$a]}" create /orders >/dev/null
{ for n in $(seq -w 1 100); do echo "create /orders/o$n x"; done; } |
  cli "${peers[$a]}" > "$work/acks.out"
acked=$(grep -c '^Created /orders/o' "$work/acks.out")
echo "   acknowledged: $acked"

echo "== kill -9 the leader, ${peers[$leader]}"
start=$(date +%s.%N)
kill -9 "${pids[$leader]}" 2>/dev/null
wait "${pids[$leader]}" 2>/dev/null || true
# A write caught in flight by the leader's death fails with ConnectionLoss:
# its outcome is unknown, and the client retries (a retried create that
# finds its node did apply the first time).
until out=$(cli "${peers[$a]}" create /after-failover ok 2>&1) ||
      [[ $out == *"Node already exists"* ]]; do
  echo "   $out -> retrying"
  sleep 0.1
done
end=$(date +%s.%N)
new=$(wait_leader "$a" "$b")
printf "   new leader: %s (the next write was acknowledged %.1f s after the kill)\n" \
  "${peers[$new]}" "$(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }')"
cli "${peers[$b]}" sync / >/dev/null
have=$(cli "${peers[$b]}" getAllChildrenNumber /orders)
echo "   /orders at ${peers[$b]}: $have children (acknowledged: $acked)"
if [ "$have" -lt "$acked" ]; then echo "   acknowledged writes were lost" >&2; exit 1; fi

echo "== The killed peer restarts from its data directory and catches up"
start_peer "$leader"
for _ in $(seq 1 300); do
  [ "$(role "${peers[$leader]}")" = follower ] && break
  sleep 0.1
done
cli "${peers[$leader]}" sync / >/dev/null
echo "   ${peers[$leader]}: $(role "${peers[$leader]}"), /after-failover = $(cli "${peers[$leader]}" get /after-failover | head -1)"

echo "== ${peers[$b]} is lost for good; a new instance joins on 127.0.0.1:$((base + 3))"
peers[3]="127.0.0.1:$((base + 3))"
kill -9 "${pids[$b]}" 2>/dev/null
wait "${pids[$b]}" 2>/dev/null || true
start=$(date +%s.%N)
start_peer 3
replaced=no
for _ in $(seq 1 600); do
  if cli "${peers[$a]}" members 2>/dev/null |
      grep -q "^[0-9]* ${peers[3]} voter serving"; then
    replaced=yes
    break
  fi
  sleep 0.1
done
end=$(date +%s.%N)
if [ "$replaced" != yes ]; then
  echo "   the new instance did not become a voter; logs in $work" >&2
  exit 1
fi
printf "   a voter again %.1f s after the loss; the members now:\n" \
  "$(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }')"
cli "${peers[$a]}" members | sed 's/^/     /'
cli "${peers[3]}" sync / >/dev/null
have=$(cli "${peers[3]}" getAllChildrenNumber /orders)
echo "   /orders at the new instance: $have children (acknowledged: $acked)"
if [ "$have" -lt "$acked" ]; then echo "   acknowledged writes were lost" >&2; exit 1; fi
echo "== Done: no acknowledged write was lost"
