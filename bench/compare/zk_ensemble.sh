#!/usr/bin/env bash
# zk_ensemble.sh: a three-server Apache ZooKeeper 3.8 ensemble on loopback,
# for the side-by-side benchmark (bench/compare.sh). Uses the Debian
# packages' server jar (/usr/share/java/zookeeper.jar) and /usr/bin/java.
#
# Usage:
#   zk_ensemble.sh start DIR [BASE_PORT]   create DIR/zk1..zk3, start all three,
#                                          wait (60 s) until each is leader or
#                                          follower. BASE_PORT default 22181.
#   zk_ensemble.sh stop DIR                SIGTERM every server, SIGKILL after
#                                          10 s; safe when nothing runs.
#   zk_ensemble.sh kill DIR N              SIGKILL server N, wait until gone.
#   zk_ensemble.sh launch DIR N            start server N again (its config and
#                                          data as they are); does not wait.
#   zk_ensemble.sh wait-serving DIR N [TIMEOUT_S]
#                                          wait (default 60 s) until server N
#                                          answers srvr with a Mode.
#   zk_ensemble.sh wipe DIR N              delete server N's data except myid
#                                          (server N must be down).
#   zk_ensemble.sh mode DIR N              print N's mode (leader, follower,
#                                          ...); "unavailable" and status 1 if
#                                          it reports none.
#   zk_ensemble.sh leader DIR              print the leader's N (status 1: none)
#   zk_ensemble.sh follower DIR            print the smallest follower's N
#   zk_ensemble.sh port DIR N              print N's client port
#   zk_ensemble.sh pid DIR N               print N's pid (status 1: not running)
#
# Layout: DIR/ensemble.env (ports and JVM flags, written by start),
# DIR/zkN/conf/{zoo.cfg,log4j.properties}, DIR/zkN/data/{myid,version-2},
# DIR/zkN/log/{zookeeper.log,out}, DIR/zkN/pid.
#
# Ports: client BASE+N-1; quorum BASE+707+N-1 and election BASE+1707+N-1
# (ZooKeeper's customary 2181/2888/3888 spacing: 22181, 22888, 23888...).
#
# Configuration: ZooKeeper's defaults (tickTime=2000, initLimit=10,
# syncLimit=5 as in the shipped example; forceSync, snapCount, autopurge,
# maxClientCnxns, globalOutstandingLimit left unset, i.e. at their
# defaults) except what three servers on one host need: distinct client,
# quorum and election ports and data directories, the AdminServer off (its
# port 8080 would collide), and the four-letter words srvr and mntr allowed
# (3.5+ allows only srvr by default). clientPortAddress=127.0.0.1 keeps the
# client port off the network (the quorum ports bind to 127.0.0.1 already).
#
# Environment: ZK_SERVER_HEAP (MB, default 1000) and SERVER_JVMFLAGS, as in
# upstream ZooKeeper's bin/zkEnv.sh; read by start and kept for launch.

set -euo pipefail

readonly ZK_JAR=/usr/share/java/zookeeper.jar
readonly ZK_MAIN=org.apache.zookeeper.server.quorum.QuorumPeerMain
readonly JAVA=${JAVA:-/usr/bin/java}
readonly SERVERS=(1 2 3)

die() {
  echo "zk_ensemble.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

# need_server N: dies unless N is 1, 2 or 3.
need_server() {
  [[ "${1:-}" =~ ^[123]$ ]] ||
    die "server number must be 1, 2 or 3, not '${1:-}'"
}

# load_env DIR: reads the ports and JVM flags recorded by start.
load_env() {
  local dir=$1
  [[ -f "$dir/ensemble.env" ]] || die "$dir: no ensemble (run start first)"
  # shellcheck source=/dev/null
  source "$dir/ensemble.env"
}

client_port() { echo $((BASE_PORT + $1 - 1)); }
quorum_port() { echo $((BASE_PORT + 707 + $1 - 1)); }
election_port() { echo $((BASE_PORT + 1707 + $1 - 1)); }

# four_letter PORT WORD: sends a four-letter word to 127.0.0.1:PORT and
# prints the answer (nothing, status != 0, if nothing listens).
four_letter() {
  local port=$1 word=$2
  (
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf '%s' "$word" >&3
    timeout 5 cat <&3
  ) 2>/dev/null
}

# listening PORT: whether something accepts connections on 127.0.0.1:PORT.
listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# server_mode DIR N: prints N's srvr Mode (leader, follower, observer,
# standalone, read-only), or nothing if it reports none.
server_mode() {
  four_letter "$(client_port "$2")" srvr | sed -n 's/^Mode: *//p' || true
}

# alive PID: whether PID is a live (not zombie) process.
alive() {
  local pid=$1 stat
  kill -0 "$pid" 2>/dev/null || return 1
  { stat=$(<"/proc/$pid/stat"); } 2>/dev/null || return 1
  stat=${stat##*) }  # the state follows "(comm) "
  [[ "${stat%% *}" != Z ]]
}

# running_pid DIR N: prints N's pid if its pid file names a live
# QuorumPeerMain with N's config (not a reused pid); status 1 otherwise.
running_pid() {
  local dir=$1 n=$2 pid
  [[ -f "$dir/zk$n/pid" ]] || return 1
  pid=$(<"$dir/zk$n/pid")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
    grep -qF -- "$ZK_MAIN $dir/zk$n/conf/zoo.cfg" || return 1
  echo "$pid"
}

# wait_gone PID TIMEOUT_S: waits until PID is gone; status 1 on timeout.
wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while alive "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# write_config DIR N: writes N's zoo.cfg, log4j.properties and myid.
write_config() {
  local dir=$1 n=$2 s
  local home="$dir/zk$n"
  mkdir -p "$home/conf" "$home/data" "$home/log"
  {
    echo "# Written by zk_ensemble.sh: ZooKeeper's defaults except ports,"
    echo "# directories, the AdminServer and the four-letter-word list."
    echo "tickTime=2000"
    echo "initLimit=10"
    echo "syncLimit=5"
    echo "dataDir=$home/data"
    echo "clientPort=$(client_port "$n")"
    echo "clientPortAddress=127.0.0.1"
    echo "admin.enableServer=false"
    echo "4lw.commands.whitelist=srvr,mntr"
    for s in "${SERVERS[@]}"; do
      echo "server.$s=127.0.0.1:$(quorum_port "$s"):$(election_port "$s")"
    done
  } >"$home/conf/zoo.cfg"
  # The level and format of upstream's conf/log4j.properties (INFO, to a
  # file), without rolling; the Debian jar needs the slf4j-log4j12 binding
  # on the class path (see classpath) for this file to be used at all.
  cat >"$home/conf/log4j.properties" <<EOF
log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=$home/log/zookeeper.log
log4j.appender.FILE.Append=true
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n
EOF
  echo "$n" >"$home/data/myid"
}

# classpath DIR N: N's conf directory (for log4j.properties) and the server
# jar (its manifest names its other dependencies). The Debian jar's
# manifest names slf4j-api but no slf4j binding, so without one the server
# logs nothing ("Defaulting to no-operation (NOP) logger"); add Debian's
# slf4j-log4j12 binding and log4j 1.2 when installed, so that
# log4j.properties takes effect.
classpath() {
  local cp="$1/zk$2/conf:$ZK_JAR" jar
  for jar in /usr/share/java/slf4j-log4j12.jar /usr/share/java/log4j-1.2.jar; do
    [[ -f "$jar" ]] && cp="$cp:$jar"
  done
  echo "$cp"
}

# launch_server DIR N: starts N in the background (detached from this
# shell's stdin/stdout), records its pid. Dies if N already runs.
launch_server() {
  local dir=$1 n=$2 pid
  local home="$dir/zk$n"
  [[ -f "$home/conf/zoo.cfg" ]] || die "$home: no configuration"
  if pid=$(running_pid "$dir" "$n"); then
    die "server $n already runs (pid $pid)"
  fi
  (
    cd "$home"
    exec nohup "$JAVA" "${JVM_FLAGS[@]}" \
      "-Dzookeeper.log.dir=$home/log" \
      -cp "$(classpath "$dir" "$n")" "$ZK_MAIN" "$home/conf/zoo.cfg" \
      >>"$home/log/out" 2>&1 </dev/null
  ) &
  pid=$!
  echo "$pid" >"$home/pid"
  # Until the subshell execs java, the pid is not yet recognizably N's.
  local deadline=$((SECONDS + 5))
  until running_pid "$dir" "$n" >/dev/null; do
    alive "$pid" || die "server $n exited at once: see $home/log/out"
    ((SECONDS < deadline)) || die "server $n (pid $pid) did not start java"
    sleep 0.01
  done
}

# wait_serving DIR N TIMEOUT_S: waits until N reports a Mode.
wait_serving() {
  local dir=$1 n=$2 timeout=$3
  local deadline=$((SECONDS + timeout))
  while [[ -z "$(server_mode "$dir" "$n")" ]]; do
    if ((SECONDS >= deadline)); then
      echo "zk_ensemble.sh: server $n not serving after ${timeout} s" >&2
      return 1
    fi
    sleep 0.1
  done
}

# stop_all DIR: SIGTERM, then SIGKILL after 10 s, every server with a pid.
stop_all() {
  local dir=$1 n pid
  local -a pids=()
  for n in "${SERVERS[@]}"; do
    if pid=$(running_pid "$dir" "$n"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  local deadline=$((SECONDS + 10))
  for pid in "${pids[@]}"; do
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 10 ||
        echo "zk_ensemble.sh: pid $pid survives SIGKILL" >&2
    fi
  done
  for n in "${SERVERS[@]}"; do rm -f "$dir/zk$n/pid"; done
}

cmd_start() {
  local dir=${1:-} base=${2:-22181} n p
  [[ -n "$dir" ]] || usage
  if ! [[ "$base" =~ ^[0-9]+$ ]] || ((base < 1024 || base + 1710 > 65535)); then
    die "BASE_PORT must be in 1024..63825, not '$base'"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [[ -f "$dir/ensemble.env" ]]; then
    load_env "$dir"
    for n in "${SERVERS[@]}"; do
      if running_pid "$dir" "$n" >/dev/null; then
        die "$dir: server $n already runs (stop it first)"
      fi
    done
  fi
  BASE_PORT=$base
  for n in "${SERVERS[@]}"; do
    for p in "$(client_port "$n")" "$(quorum_port "$n")" \
      "$(election_port "$n")"; do
      if listening "$p"; then die "port $p on 127.0.0.1 is in use"; fi
    done
  done
  # The heap upstream's bin/zkEnv.sh gives the server by default
  # (ZK_SERVER_HEAP=1000 -> SERVER_JVMFLAGS="-Xmx1000m ..."), and the two
  # flags its bin/zkServer.sh start adds. Debian's zkEnv.sh
  # (/usr/share/zookeeper/bin) sets no heap at all, which would leave the
  # JVM's default of a quarter of physical memory.
  JVM_FLAGS=("-Xmx${ZK_SERVER_HEAP:-1000}m" -XX:+HeapDumpOnOutOfMemoryError
    "-XX:OnOutOfMemoryError=kill -9 %p")
  if [[ -n "${SERVER_JVMFLAGS:-}" ]]; then
    local -a extra
    read -r -a extra <<<"$SERVER_JVMFLAGS"
    JVM_FLAGS+=("${extra[@]}")
  fi
  {
    echo "BASE_PORT=$BASE_PORT"
    declare -p JVM_FLAGS
  } >"$dir/ensemble.env"
  for n in "${SERVERS[@]}"; do write_config "$dir" "$n"; done
  local started=$SECONDS
  # Leave nothing running if start fails.
  STARTING_DIR=$dir
  trap 'stop_all "$STARTING_DIR"' EXIT
  for n in "${SERVERS[@]}"; do launch_server "$dir" "$n"; done
  local deadline=$((SECONDS + 60)) mode
  for n in "${SERVERS[@]}"; do
    while :; do
      mode=$(server_mode "$dir" "$n")
      [[ "$mode" == leader || "$mode" == follower ]] && break
      if ((SECONDS >= deadline)); then
        echo "zk_ensemble.sh: server $n not leader or follower after 60 s" >&2
        for p in "${SERVERS[@]}"; do
          echo "--- $dir/zk$p/log (tail)" >&2
          tail -n 5 "$dir/zk$p/log/out" "$dir/zk$p/log/zookeeper.log" >&2 ||
            true
        done
        exit 1
      fi
      sleep 0.1
    done
  done
  trap - EXIT
  echo "ensemble up in $((SECONDS - started)) s: leader $(cmd_leader "$dir")," \
    "client ports $(client_port 1),$(client_port 2),$(client_port 3)" >&2
}

cmd_stop() {
  local dir=${1:-}
  [[ -n "$dir" ]] || usage
  [[ -d "$dir" ]] || return 0
  dir=$(cd "$dir" && pwd)
  stop_all "$dir"
}

cmd_kill() {
  local dir=$1 n=$2 pid
  if pid=$(running_pid "$dir" "$n"); then
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "server $n (pid $pid) survives SIGKILL"
  fi
  rm -f "$dir/zk$n/pid"
}

cmd_wipe() {
  local dir=$1 n=$2 pid
  local data="$dir/zk$n/data"
  if pid=$(running_pid "$dir" "$n"); then
    die "server $n runs (pid $pid): kill it before wiping"
  fi
  [[ -f "$data/myid" ]] || die "$data: no myid, refusing to wipe"
  find "$data" -mindepth 1 -maxdepth 1 ! -name myid -exec rm -rf {} +
}

cmd_mode() {
  local mode
  mode=$(server_mode "$1" "$2")
  if [[ -z "$mode" ]]; then
    echo unavailable
    return 1
  fi
  echo "$mode"
}

# Prints the smallest N of DIR ($1) whose mode is $2; status 1 if none.
first_in_mode() {
  local n
  for n in "${SERVERS[@]}"; do
    if [[ "$(server_mode "$1" "$n")" == "$2" ]]; then
      echo "$n"
      return 0
    fi
  done
  echo "zk_ensemble.sh: no $2" >&2
  return 1
}

cmd_leader() { first_in_mode "$1" leader; }

cmd_follower() { first_in_mode "$1" follower; }

main() {
  local cmd=${1:-}
  [[ -n "$cmd" ]] || usage
  shift
  case "$cmd" in
    start) cmd_start "$@"; return ;;
    stop) cmd_stop "$@"; return ;;
    -h | --help | help) usage ;;
  esac
  local dir=${1:-}
  [[ -n "$dir" ]] || usage
  [[ -d "$dir" ]] || die "$dir: no such directory"
  dir=$(cd "$dir" && pwd)
  load_env "$dir"
  case "$cmd" in
    leader) cmd_leader "$dir" ;;
    follower) cmd_follower "$dir" ;;
    kill | launch | wait-serving | wipe | mode | port | pid)
      need_server "${2:-}"
      local n=$2
      case "$cmd" in
        kill) cmd_kill "$dir" "$n" ;;
        launch) launch_server "$dir" "$n" ;;
        wait-serving)
          local timeout=${3:-60}
          [[ "$timeout" =~ ^[0-9]+$ ]] ||
            die "TIMEOUT must be seconds, not '$timeout'"
          wait_serving "$dir" "$n" "$timeout"
          ;;
        wipe) cmd_wipe "$dir" "$n" ;;
        mode) cmd_mode "$dir" "$n" ;;
        port) client_port "$n" ;;
        pid) running_pid "$dir" "$n" || die "server $n is not running" ;;
      esac
      ;;
    *) usage ;;
  esac
}

main "$@"
