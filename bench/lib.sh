# Shared helpers of the benchmarks in bench/. Sourced, never run.
#
# What every benchmark gets from here:
#   - options: --smoke | --quick | (full, the default), --rounds N, --duration SECONDS, --help
#   - a header: machine (nproc, model name), kernel, tool versions, CPU pinning, mode
#   - process control: every process is started pinned to a named CPU with taskset, its exact
#     command printed ("+ ..."), its pid remembered, and stopped by the EXIT trap
#   - the agent: start (its beyla_* counters are always on /metrics), wait for /readyz and for selected pids, scrape,
#     sum a metric, read its CPU time and RSS, stop
#   - numbers: median, spread, ratio; one "RESULT <benchmark> key=value ..." line per result
#
# Environment (all optional):
#   BENCH_SERVER_CPU=0 BENCH_LOAD_CPU=1 BENCH_AGENT_CPU=1   taskset CPU lists
#   BENCH_PORT_BASE     first port of the benchmark's block (each benchmark has its own default)
#   BENCH_OUT           directory for the run's logs (default bench/results/<name>-<timestamp>)
#   BENCH_AGENT_CLI     agent entry point (default packages/agent/dist/cli.js)
#   BENCH_NODE          node binary (default: node on PATH)
#   BENCH_CAPTURE_HOOKS the agent's BEYLA_EBPF_CAPTURE_HOOKS (auto, sockets, syscalls; default auto)

set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$BENCH_DIR/.." && pwd)
AGENT_CLI=${BENCH_AGENT_CLI:-$REPO_ROOT/packages/agent/dist/cli.js}
NODE_SERVER=$REPO_ROOT/e2e/fixtures/node-server.mjs
SERVER_CPU=${BENCH_SERVER_CPU:-0}
LOAD_CPU=${BENCH_LOAD_CPU:-1}
AGENT_CPU=${BENCH_AGENT_CPU:-1}
CLK_TCK=$(getconf CLK_TCK)

BENCH_NAME=""
BENCH_MODE=full        # full | quick | smoke
BENCH_ROUNDS=""        # set by --rounds, else the benchmark's default for the mode
BENCH_DURATION=""      # set by --duration, else the benchmark's default for the mode
BENCH_USAGE=""
BENCH_TMP=""
BENCH_RUN_DIR=""
BENCH_PIDS=()
SPAWNED_PID=""
AGENT_PID=""
AGENT_PORT=""
AGENT_LOG=""
AGENT_EXTRA_NODE_ARGS=()
AGENT_STARTS=0
AGENT_SPAWN_T=""

log() { printf '%s\n' "$*"; }
die() {
  printf 'bench %s: error: %s\n' "${BENCH_NAME:-?}" "$*" >&2
  exit 1
}

# ---------------------------------------------------------------- setup and options

# bench_init NAME USAGE: strict mode, temp dir, run dir, cleanup trap.
bench_init() {
  BENCH_NAME=$1
  BENCH_USAGE=$2
  BENCH_TMP=$(mktemp -d "/tmp/beyla-bench-$BENCH_NAME.XXXXXX")
  chmod 755 "$BENCH_TMP" # nginx workers run unprivileged and must read their document root
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# bench_common_arg "$@": handles one common option; sets BENCH_SHIFT to the words it used.
bench_common_arg() {
  case "$1" in
    --smoke) BENCH_MODE=smoke BENCH_SHIFT=1 ;;
    --quick) BENCH_MODE=quick BENCH_SHIFT=1 ;;
    --full) BENCH_MODE=full BENCH_SHIFT=1 ;;
    --rounds)
      [[ ${2-} =~ ^[1-9][0-9]*$ ]] || die "--rounds needs a positive integer, got '${2-}'"
      BENCH_ROUNDS=$2 BENCH_SHIFT=2
      ;;
    --duration)
      [[ ${2-} =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--duration needs seconds, got '${2-}'"
      BENCH_DURATION=$2 BENCH_SHIFT=2
      ;;
    -h | --help)
      printf '%s\n' "$BENCH_USAGE"
      BENCH_SHIFT=1
      exit 0
      ;;
    *) die "unknown argument '$1' (try --help)" ;;
  esac
}

# pick_by_mode FULL QUICK SMOKE: the value for the current mode.
pick_by_mode() {
  case "$BENCH_MODE" in
    full) printf '%s' "$1" ;;
    quick) printf '%s' "$2" ;;
    smoke) printf '%s' "$3" ;;
  esac
}

# bench_start_run: checks the tools and the CPUs, makes the run directory, prints the header.
# Call after the options are parsed.
bench_start_run() {
  local tool
  [ "$(id -u)" = 0 ] || die "run as root: the agent loads eBPF programs"
  for tool in taskset curl ss awk node; do
    command -v "$tool" >/dev/null || die "'$tool' is not installed"
  done
  [ -f "$AGENT_CLI" ] || die "$AGENT_CLI is missing: run 'bash scripts/setup.sh' first"
  check_cpus "$SERVER_CPU" && check_cpus "$LOAD_CPU" && check_cpus "$AGENT_CPU"
  BENCH_RUN_DIR=${BENCH_OUT:-$BENCH_DIR/results/$BENCH_NAME-$(date +%Y%m%d-%H%M%S)}
  mkdir -p "$BENCH_RUN_DIR"
  bench_header
}

# check_cpus LIST: every CPU of a taskset list ("1", "0,1", "0-1") exists and is allowed.
check_cpus() {
  taskset -c "$1" true 2>/dev/null || die "CPU list '$1' is not usable here (nproc=$(nproc))"
}

bench_header() {
  local model rev bpf_progs
  model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  rev=$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git -C "$REPO_ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    rev="$rev+uncommitted-changes"
  fi
  bpf_progs=$(count_tracepoint_bpf_programs)
  log "== beyla-ts benchmark: $BENCH_NAME =="
  log "date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  log "machine:  nproc=$(nproc) model name=\"${model:-unknown}\" memory=$(awk '/MemTotal/ {printf "%.1fGiB", $2/1048576}' /proc/meminfo)"
  log "kernel:   $(uname -r)"
  log "load:     loadavg $(cut -d' ' -f1-3 /proc/loadavg) at start; $bpf_progs tracepoint BPF programs loaded before the run"
  log "tools:    node $(node --version)$(tool_versions)"
  log "agent:    $AGENT_CLI (repo $rev), capture hooks ${BENCH_CAPTURE_HOOKS:-auto}"
  log "pinning:  server on CPU $SERVER_CPU, load generator on CPU $LOAD_CPU, agent on CPU $AGENT_CPU (taskset -c)"
  log "mode:     $BENCH_MODE${BENCH_ROUNDS:+, --rounds $BENCH_ROUNDS}${BENCH_DURATION:+, --duration $BENCH_DURATION}"
  log "logs:     $BENCH_RUN_DIR"
  log "commands: each line starting with '+' is a command exactly as run"
  if [[ $bpf_progs =~ ^[0-9]+$ ]] && [ "$bpf_progs" -gt 0 ]; then
    log "warning:  $bpf_progs tracepoint BPF programs are loaded by something else (another agent?): every side pays for them"
  fi
  if awk -v l="$(cut -d' ' -f1 /proc/loadavg)" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    log "warning:  the machine is busy (loadavg $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs): figures will be noisy"
  fi
}

tool_versions() {
  command -v nginx >/dev/null && printf ', %s' "$(nginx -v 2>&1 | sed 's/^nginx version: //')"
  command -v wrk >/dev/null && printf ', wrk %s' "$(wrk --version 2>&1 | awk 'NR==1 {print $2}')"
  command -v go >/dev/null && printf ', %s' "$(go version | awk '{print $3}')"
  command -v python3 >/dev/null && printf ', %s' "$(python3 --version 2>&1)"
  true
}

count_tracepoint_bpf_programs() {
  if command -v bpftool >/dev/null; then
    bpftool prog show 2>/dev/null | grep -cE ': (tracepoint|raw_tracepoint) ' || true
  else
    echo "unknown (no bpftool)"
  fi
}

# ---------------------------------------------------------------- processes

# show_cmd ARGS...: prints a command as it will run.
show_cmd() {
  local quoted
  quoted=$(printf '%q ' "$@")
  log "+ ${quoted% }"
}

# spawn LOGFILE CPU CMD...: starts CMD pinned to CPU in the background; pid in SPAWNED_PID.
spawn() {
  local logfile=$1 cpu=$2
  shift 2
  show_cmd taskset -c "$cpu" "$@"
  taskset -c "$cpu" "$@" >"$logfile" 2>&1 </dev/null &
  SPAWNED_PID=$!
  BENCH_PIDS+=("$SPAWNED_PID")
}

# proc_state PID: the state letter from /proc/PID/stat, or X when gone.
proc_state() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || {
    echo X
    return
  }
  stat=${stat##*) }
  echo "${stat%% *}"
}

# stop_pid PID [TIMEOUT_S]: SIGTERM, then SIGKILL after the timeout; reaps it.
stop_pid() {
  local pid=$1 timeout=${2:-10} i state
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 20; i++)); do
    state=$(proc_state "$pid")
    [ "$state" = X ] || [ "$state" = Z ] && break
    sleep 0.05
  done
  state=$(proc_state "$pid")
  if [ "$state" != X ] && [ "$state" != Z ]; then
    log "note: pid $pid did not stop within ${timeout}s of SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}

forget_pid() {
  local keep=() p
  for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  BENCH_PIDS=(${keep[@]+"${keep[@]}"})
}

bench_cleanup() {
  local status=$? i
  trap - EXIT INT TERM
  set +e
  if [ -n "$AGENT_PID" ]; then stop_pid "$AGENT_PID" 30; fi
  for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${BENCH_PIDS[i]}" 10; done
  [ -n "$BENCH_TMP" ] && rm -rf "$BENCH_TMP"
  if [ "$status" != 0 ]; then
    printf 'bench %s: failed (exit %s)%s\n' "$BENCH_NAME" "$status" "${BENCH_RUN_DIR:+; logs in $BENCH_RUN_DIR}" >&2
  fi
  exit "$status"
}

# port_free PORT: dies when something listens on it already.
port_free() {
  if [ -n "$(ss -Hltn "sport = :$1")" ]; then
    die "port $1 is in use; pick another block with BENCH_PORT_BASE"
  fi
}

# wait_listen PORT PID [TIMEOUT_S]: until something listens on PORT (checked with ss, so the
# server sees no probe connection); dies when PID exits first.
wait_listen() {
  local port=$1 pid=$2 timeout=${3:-15} i
  for ((i = 0; i < timeout * 20; i++)); do
    [ -n "$(ss -Hltn "sport = :$port")" ] && return 0
    case $(proc_state "$pid") in X | Z) die "pid $pid exited before listening on port $port" ;; esac
    sleep 0.05
  done
  die "nothing listens on port $port after ${timeout}s"
}

# ---------------------------------------------------------------- servers and load

# start_nginx PORT CPU [WORKERS]: Debian's nginx in the foreground, its own prefix, keep-alive,
# no access log, a 17-byte static file at /users/1 (the same size as the Node fixture's).
# Sets NGINX_PID (the master; its workers inherit the CPU pinning).
start_nginx() {
  local port=$1 cpu=$2 workers=${3:-1} prefix
  command -v nginx >/dev/null || die "nginx is not installed"
  port_free "$port"
  prefix=$BENCH_TMP/nginx-$port
  mkdir -p "$prefix/html/users" "$prefix/logs" "$prefix/tmp"
  printf '{"user":"alice"}\n' >"$prefix/html/users/1"
  chmod -R a+rX "$prefix"
  cat >"$prefix/nginx.conf" <<EOF
daemon off;
worker_processes $workers;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $prefix/tmp;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  default_type application/json;
  server {
    listen 127.0.0.1:$port;
    root $prefix/html;
  }
}
EOF
  cp "$prefix/nginx.conf" "$BENCH_RUN_DIR/nginx-$port.conf"
  spawn "$BENCH_RUN_DIR/nginx-$port.log" "$cpu" nginx -e "$prefix/logs/error.log" -p "$prefix" -c "$prefix/nginx.conf"
  NGINX_PID=$SPAWNED_PID
  wait_listen "$port" "$NGINX_PID"
}

# start_node_server PORT CPU: the e2e Node fixture. Sets NODE_SERVER_PID.
start_node_server() {
  port_free "$1"
  spawn "$BENCH_RUN_DIR/node-server-$1.log" "$2" node "$NODE_SERVER" "$1" 127.0.0.1
  NODE_SERVER_PID=$SPAWNED_PID
  wait_listen "$1" "$NODE_SERVER_PID"
}

# start_python_server PORT CPU: python3 -m http.server on 127.0.0.1. Sets PYTHON_PID.
start_python_server() {
  local dir=$BENCH_TMP/python-$1
  command -v python3 >/dev/null || die "python3 is not installed"
  port_free "$1"
  mkdir -p "$dir"
  printf 'hello\n' >"$dir/index.html"
  spawn "$BENCH_RUN_DIR/python-$1.log" "$2" python3 -m http.server "$1" --bind 127.0.0.1 --directory "$dir"
  PYTHON_PID=$SPAWNED_PID
  wait_listen "$1" "$PYTHON_PID"
}

# build_loadgen: builds bench/loadgen (standard library only, works offline). Sets LOADGEN.
# BENCH_LOADGEN=PATH uses an already built one (bench/smoke.sh builds it once for all).
build_loadgen() {
  if [ -n "${BENCH_LOADGEN-}" ]; then
    [ -x "$BENCH_LOADGEN" ] || die "BENCH_LOADGEN=$BENCH_LOADGEN is not executable"
    LOADGEN=$BENCH_LOADGEN
    return 0
  fi
  command -v go >/dev/null || die "go is not installed (needed for bench/loadgen)"
  LOADGEN=$BENCH_DIR/.build/loadgen
  mkdir -p "$BENCH_DIR/.build"
  # build beside it and rename: a run using the old binary is not disturbed
  (cd "$BENCH_DIR/loadgen" && GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 go build -o "$LOADGEN.$$" .) ||
    die "building bench/loadgen failed"
  mv -f "$LOADGEN.$$" "$LOADGEN"
}

# run_loadgen OUTFILE ARGS...: the load generator on the load CPU; its LOADGEN line goes to
# OUTFILE and is checked.
run_loadgen() {
  local out=$1
  shift
  show_cmd taskset -c "$LOAD_CPU" "$LOADGEN" "$@"
  taskset -c "$LOAD_CPU" "$LOADGEN" "$@" >"$out" 2>"$out.err" ||
    die "load generator failed: $(tail -3 "$out.err" 2>/dev/null)"
  grep -q '^LOADGEN ' "$out" || die "load generator printed no result line"
}

# kv FILE KEY: the value of KEY=value on the file's LOADGEN line.
kv() {
  awk -v k="$2" '/^LOADGEN / { for (i = 2; i <= NF; i++) { split($i, p, "="); if (p[1] == k) { print p[2]; exit } } }' "$1"
}

# run_wrk OUTFILE CONNS SECONDS URL: wrk --latency (1 thread, keep-alive) on the load CPU.
run_wrk() {
  local out=$1 conns=$2 secs=$3 url=$4
  command -v wrk >/dev/null || die "wrk is not installed"
  show_cmd taskset -c "$LOAD_CPU" wrk -t1 -c"$conns" -d"${secs}s" --latency "$url"
  taskset -c "$LOAD_CPU" wrk -t1 -c"$conns" -d"${secs}s" --latency "$url" >"$out" 2>&1 ||
    die "wrk failed: $(tail -3 "$out")"
}

# wrk_field FILE rps|p50|p99|requests|errors: a figure from wrk's output; latencies in µs.
wrk_field() {
  awk -v want="$2" '
    function us(v) {
      if (v ~ /us$/) return v + 0
      if (v ~ /ms$/) return (v + 0) * 1000
      if (v ~ /s$/) return (v + 0) * 1000000
      return v + 0
    }
    /^Requests\/sec:/ { rps = $2 }
    /^ +50%/ { p50 = us($2) }
    /^ +99%/ { p99 = us($2) }
    / requests in / { requests = $1 }
    /Non-2xx or 3xx responses:/ { errors += $NF }
    /Socket errors:/ { gsub(",", ""); errors += $4 + $6 + $8 + $10 }
    END {
      if (want == "rps") print rps
      else if (want == "p50") print p50
      else if (want == "p99") print p99
      else if (want == "requests") print requests
      else if (want == "errors") print errors + 0
    }' "$1"
}

# ---------------------------------------------------------------- the agent

# agent_start METRICS_PORT [--config FILE] [VAR=VALUE...]: starts the agent on AGENT_CPU with
# a clean environment (only PATH, HOME and the given variables, so nothing leaks in from the
# caller's shell), its beyla_* counters on /metrics, and waits for /readyz. AGENT_EXTRA_NODE_ARGS go to node.
agent_start() {
  local port=$1 config=() i
  shift
  if [ "${1-}" = --config ]; then
    config=(--config "$2")
    shift 2
  fi
  port_free "$port"
  AGENT_PORT=$port
  AGENT_STARTS=$((AGENT_STARTS + 1))
  AGENT_LOG=$BENCH_RUN_DIR/agent-$AGENT_STARTS.log
  AGENT_SPAWN_T=$(now_s)
  spawn "$AGENT_LOG" "$AGENT_CPU" env -i PATH="$PATH" HOME="${HOME:-/root}" \
    BEYLA_PROMETHEUS_PORT="$port" BEYLA_LOG_LEVEL=info \
    ${BENCH_CAPTURE_HOOKS:+BEYLA_EBPF_CAPTURE_HOOKS="$BENCH_CAPTURE_HOOKS"} "$@" \
    "$(command -v "${BENCH_NODE:-node}")" ${AGENT_EXTRA_NODE_ARGS[@]+"${AGENT_EXTRA_NODE_ARGS[@]}"} \
    "$AGENT_CLI" ${config[@]+"${config[@]}"}
  AGENT_PID=$SPAWNED_PID
  for ((i = 0; i < 600; i++)); do
    if curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$port/readyz"; then return 0; fi
    case $(proc_state "$AGENT_PID") in
      X | Z) die "the agent exited during start: $(tail -5 "$AGENT_LOG")" ;;
    esac
    sleep 0.05
  done
  die "the agent is not ready after 30s: $(tail -5 "$AGENT_LOG")"
}

# agent_wait_selected PID...: until the agent logged that it instruments every PID.
agent_wait_selected() {
  local pid i
  for pid in "$@"; do
    for ((i = 0; i < 300; i++)); do
      grep -q "msg=\"instrumenting process\" pid=$pid " "$AGENT_LOG" && break
      case $(proc_state "$AGENT_PID") in X | Z) die "the agent exited: $(tail -5 "$AGENT_LOG")" ;; esac
      sleep 0.05
    done
    grep -q "msg=\"instrumenting process\" pid=$pid " "$AGENT_LOG" ||
      die "the agent did not select pid $pid within 15s"
  done
}

# agent_stop: SIGTERM and wait (detaching the tracepoints takes seconds); sets AGENT_STOP_S.
agent_stop() {
  local t0
  [ -n "$AGENT_PID" ] || return 0
  t0=$(now_s)
  stop_pid "$AGENT_PID" 30
  AGENT_STOP_S=$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }')
  AGENT_PID=""
}

# scrape [OUTFILE]: the agent's /metrics (to stdout, or OUTFILE).
scrape() {
  curl -sf --max-time 20 "http://127.0.0.1:$AGENT_PORT/metrics" -o "${1:-/dev/stdout}" ||
    die "scraping http://127.0.0.1:$AGENT_PORT/metrics failed"
}

# metric_sum FILE NAME [SUBSTRING]: sum of NAME's samples (whose labels contain SUBSTRING).
metric_sum() {
  awk -v name="$2" -v sub_="${3-}" '
    index($0, name "{") == 1 || index($0, name " ") == 1 {
      if (sub_ == "" || index($0, sub_) > 0) s += $NF
    }
    END { printf "%.0f\n", s }' "$1"
}

# metric_count FILE NAME [SUBSTRING]: number of NAME's samples (series).
metric_count() {
  awk -v name="$2" -v sub_="${3-}" '
    index($0, name "{") == 1 || index($0, name " ") == 1 { if (sub_ == "" || index($0, sub_) > 0) n++ }
    END { print n + 0 }' "$1"
}

# agent_counters: scrapes once; sets RECEIVED, DROPPED, DISCARDED (all reasons), and
# HTTP_COUNT (sum of http_server_request_duration_seconds_count, optionally only the series
# whose labels contain $1).
agent_counters() {
  local f=$BENCH_TMP/counters.prom
  scrape "$f"
  RECEIVED=$(metric_sum "$f" beyla_ebpf_records_received_total)
  DROPPED=$(metric_sum "$f" beyla_ebpf_records_dropped_total)
  DISCARDED=$(metric_sum "$f" beyla_requests_discarded_total)
  HTTP_COUNT=$(metric_sum "$f" http_server_request_duration_seconds_count "${1-}")
}

# agent_settle [SUBSTRING]: counters as in agent_counters, once the received total stopped
# moving (the agent publishes its totals every second) — at most 15 s.
agent_settle() {
  local last=-1 i
  for ((i = 0; i < 15; i++)); do
    agent_counters "${1-}"
    [ "$RECEIVED" = "$last" ] && return 0
    last=$RECEIVED
    sleep 1.1
  done
  log "note: beyla_ebpf_records_received_total still moving after 15s"
}

# cpu_ticks PID: utime+stime of PID (all its threads) in clock ticks.
cpu_ticks() {
  local stat
  stat=$(cat "/proc/$1/stat") || die "pid $1 is gone"
  stat=${stat##*) }
  # after the comm: field 1 is state (stat's 3rd); utime and stime are stat's 14th and 15th
  awk '{ print $12 + $13 }' <<<"$stat"
}

# ticks_to_ms TICKS
ticks_to_ms() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.0f", t * 1000 / hz }'; }

# rss_mb PID: resident set size in MB (VmRSS).
rss_mb() { awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"; }

# rss_breakdown PID: "rss_anon_mb=.. rss_file_mb=.. bpf_maps_mb=.." (bpf_maps: resident BPF
# map memory mapped into the process, e.g. the ring buffer; part of rss_anon/rss_file).
rss_breakdown() {
  local maps
  maps=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { bpf = ($6 == "anon_inode:bpf-map") } /^Rss:/ && bpf { s += $2 } END { printf "%.1f", s / 1024 }' "/proc/$1/smaps" 2>/dev/null || echo "?")
  awk -v maps="$maps" '/^RssAnon:/ { a = $2 } /^RssFile:/ { f = $2 } /^RssShmem:/ { s = $2 }
    END { printf "rss_anon_mb=%.1f rss_file_mb=%.1f rss_shmem_mb=%.1f bpf_maps_mb=%s", a / 1024, f / 1024, s / 1024, maps }' "/proc/$1/status"
}

# cpu_snapshot: "busy total" jiffies per CPU, one "cpuN busy total" line each.
cpu_snapshot() { awk '/^cpu[0-9]/ { b = $2 + $3 + $4 + $7 + $8 + $9; print $1, b, b + $5 + $6 }' /proc/stat; }

# cpu_busy_pct BEFORE AFTER CPU: how busy CPU was between two snapshots, in %.
cpu_busy_pct() {
  awk -v cpu="cpu$3" -v a="$1" -v b="$2" 'BEGIN {
      n = split(a, x, "\n"); for (i = 1; i <= n; i++) { split(x[i], f, " "); if (f[1] == cpu) { b0 = f[2]; t0 = f[3] } }
      n = split(b, x, "\n"); for (i = 1; i <= n; i++) { split(x[i], f, " "); if (f[1] == cpu) { b1 = f[2]; t1 = f[3] } }
      if (t1 > t0) printf "%.0f", 100 * (b1 - b0) / (t1 - t0); else printf "?" }'
}

# first_cpu LIST: the first CPU of a taskset list, for cpu_busy_pct.
first_cpu() { local c=${1%%[,-]*}; printf '%s' "$c"; }

# ---------------------------------------------------------------- numbers

now_s() { date +%s.%N; }

# median NUMBERS...: the median (mean of the middle two for an even count), 2 decimals at
# most ("nan" when there are none).
median() {
  if [ $# = 0 ]; then
    echo nan
    return
  fi
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      s = sprintf("%.2f", m); sub(/0+$/, "", s); sub(/\.$/, "", s); print s }'
}

# spread_pct NUMBERS...: (max - min) / median in %, the round-to-round noise of one side.
spread_pct() {
  local m
  m=$(median "$@")
  printf '%s\n' "$@" | sort -g | awk -v m="$m" 'NR == 1 { lo = $1 } { hi = $1 } END {
      if (m > 0) printf "%.1f\n", 100 * (hi - lo) / m; else print "nan" }'
}

# ratio A B: A / B with 3 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f\n", a / b; else print "nan" }'; }

# calc EXPR: awk arithmetic, printed with %.6g ("calc '2 * 3'").
calc() { awk "BEGIN { printf \"%.6g\n\", $1 }"; }

# check_target WHAT CONDITION: prints "met" or "missed" (CONDITION is an awk expression).
check_target() { awk "BEGIN { print (($2) ? \"met\" : \"missed\") }"; }

# result KEY=VALUE...: the benchmark's machine-readable result line.
result() {
  local line
  line=$(printf 'RESULT %s %s' "$BENCH_NAME" "$*" | tr -s ' ')
  line=${line% }
  log "$line"
  printf '%s\n' "$line" >>"$BENCH_RUN_DIR/results.txt"
}

# ---------------------------------------------------------------- A/B rounds with wrk

# ab_wrk_benchmark: the A/B loop of overhead.sh and unselected.sh. Round r runs both sides,
# "base" (no agent process at all) and "agent", in the order base-agent for odd rounds and
# agent-base for even ones, so a drift of the machine hits both sides alike. On each side,
# every server is saturated by wrk in turn. The caller sets:
#   AB_SERVERS      ("name port" ...) the servers, already started on SERVER_CPU
#   AB_PATH         the request path
#   AB_CONNS AB_SECONDS AB_ROUNDS
#   AB_CAPTURE      yes: every server is instrumented; its requests must show in the metrics
#                   no:  no server is instrumented; its requests must not show
#   ab_agent_up     a function that starts the agent and waits until it selected what it must
# and gets AB_RPS, AB_P50, AB_P99: associative arrays keyed "side/name", each value the
# space-separated figures of the rounds.
declare -A AB_RPS=() AB_P50=() AB_P99=()
ab_wrk_benchmark() {
  local r side sides entry name port out before after rps p50 p99 errors reqs c0 t0 t1 note
  local captured dropped base_http base_drop agent_ms
  for ((r = 1; r <= AB_ROUNDS; r++)); do
    if ((r % 2)); then sides="base agent"; else sides="agent base"; fi
    for side in $sides; do
      if [ "$side" = agent ]; then
        ab_agent_up
        sleep "$(pick_by_mode 2 1 0)" # let the agent's start-up work finish
      fi
      for entry in "${AB_SERVERS[@]}"; do
        read -r name port <<<"$entry"
        out=$BENCH_RUN_DIR/wrk-r$r-$side-$name.txt
        if [ "$side" = agent ]; then
          agent_counters "server_port=\"$port\""
          base_http=$HTTP_COUNT base_drop=$DROPPED
          c0=$(cpu_ticks "$AGENT_PID")
        fi
        before=$(cpu_snapshot)
        t0=$(now_s)
        run_wrk "$out" "$AB_CONNS" "$AB_SECONDS" "http://127.0.0.1:$port$AB_PATH"
        t1=$(now_s)
        after=$(cpu_snapshot)
        rps=$(wrk_field "$out" rps) p50=$(wrk_field "$out" p50) p99=$(wrk_field "$out" p99)
        errors=$(wrk_field "$out" errors) reqs=$(wrk_field "$out" requests)
        if [ -z "$rps" ] || [ -z "$p99" ]; then die "could not read wrk's output $out"; fi
        [ "$errors" = 0 ] || die "wrk saw $errors errors against $name (see $out)"
        note=""
        if [ "$side" = agent ]; then
          agent_ms=$(ticks_to_ms $(($(cpu_ticks "$AGENT_PID") - c0)))
          sleep 0.3 # the agent drains the ring buffer every 100 ms
          agent_counters "server_port=\"$port\""
          captured=$((HTTP_COUNT - base_http)) dropped=$((DROPPED - base_drop))
          note=" agent_cpu_pct=$(awk -v ms="$agent_ms" -v s="$(calc "$t1 - $t0")" 'BEGIN { printf "%.0f", ms / 10 / s }') captured=$captured dropped=$dropped"
          if [ "$AB_CAPTURE" = yes ] && [ "$captured" -lt $((reqs * 9 / 10)) ]; then
            die "the agent captured $captured of wrk's $reqs requests to $name: it is not instrumenting it"
          fi
          if [ "$AB_CAPTURE" = no ] && [ "$captured" != 0 ]; then
            die "the agent captured $captured requests to $name, which must not be selected"
          fi
        fi
        log "run round=$r side=$side server=$name rps=$rps p50_us=$p50 p99_us=$p99 requests=$reqs cpu_server_pct=$(cpu_busy_pct "$before" "$after" "$(first_cpu "$SERVER_CPU")") cpu_load_pct=$(cpu_busy_pct "$before" "$after" "$(first_cpu "$LOAD_CPU")")$note"
        AB_RPS[$side/$name]="${AB_RPS[$side/$name]-} $rps"
        AB_P50[$side/$name]="${AB_P50[$side/$name]-} $p50"
        AB_P99[$side/$name]="${AB_P99[$side/$name]-} $p99"
      done
      if [ "$side" = agent ]; then
        agent_stop
        log "agent stopped in ${AGENT_STOP_S}s"
      fi
    done
  done
}

# ab_warmup SECONDS: wrk on every server, not measured (0: none).
ab_warmup() {
  local entry name port
  [ "$1" != 0 ] || return 0
  log "warm-up: ${1}s of wrk per server, not measured"
  for entry in "${AB_SERVERS[@]}"; do
    read -r name port <<<"$entry"
    run_wrk "$BENCH_RUN_DIR/wrk-warmup-$name.txt" "$AB_CONNS" "$1" "http://127.0.0.1:$port$AB_PATH"
  done
}

# ab_report TARGET_RPS_RATIO TARGET_P99_RATIO: one RESULT line per server: medians of each
# side, the ratios, each side's round-to-round spread, and whether the targets were met.
ab_report() {
  local entry name port br ar bp50 ap50 bp99 ap99 rr pr
  for entry in "${AB_SERVERS[@]}"; do
    read -r name port <<<"$entry"
    # shellcheck disable=SC2086 # the lists are space-separated numbers
    {
      br=$(median ${AB_RPS[base/$name]}) ar=$(median ${AB_RPS[agent/$name]})
      bp50=$(median ${AB_P50[base/$name]}) ap50=$(median ${AB_P50[agent/$name]})
      bp99=$(median ${AB_P99[base/$name]}) ap99=$(median ${AB_P99[agent/$name]})
      rr=$(ratio "$ar" "$br") pr=$(ratio "$ap99" "$bp99")
      result "server=$name rounds=$AB_ROUNDS seconds=$AB_SECONDS conns=$AB_CONNS" \
        "base_rps=$br agent_rps=$ar rps_ratio=$rr" \
        "base_p50_us=$bp50 agent_p50_us=$ap50 base_p99_us=$bp99 agent_p99_us=$ap99 p99_ratio=$pr" \
        "base_rps_spread_pct=$(spread_pct ${AB_RPS[base/$name]}) agent_rps_spread_pct=$(spread_pct ${AB_RPS[agent/$name]})" \
        "target_rps_ratio=$1 rps_target=$(check_target rps "$rr >= $1")" \
        "${2:+target_p99_ratio=$2 p99_target=$(check_target p99 "$pr <= $2")}"
    }
  done
}
