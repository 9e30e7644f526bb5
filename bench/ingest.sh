#!/usr/bin/env bash
# Ingest capacity: many tiny keep-alive requests on loopback to nginx, stepped up in rate;
# for each step, whether every request became a metric (records received = requests sent,
# http_server_request_duration_seconds_count = requests sent, no ring-buffer drops, nothing
# discarded) and the agent's CPU time per request (utime+stime from /proc/<pid>/stat).
# Targets: >= 100,000 req/s per agent core, i.e. <= 10 µs of agent CPU per request.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

bench_init ingest "Usage: bench/ingest.sh [--smoke|--quick] [--rounds N] [--duration SECONDS] [--steps \"10000 20000 max\"] [--profile]

Drives nginx (BENCH_NGINX_WORKERS workers, default 1, on BENCH_SERVER_CPU) with bench/loadgen
(\$BENCH_LOADGEN_CONNS connections, default 64) at each step's rate (\"max\" = closed loop, as
fast as it answers) while the agent instruments nginx, and reports the highest rate with zero
loss and the agent's CPU µs per request (gross, and net of its idle CPU use).
--profile runs the agent under node --cpu-prof and prints its top functions by self time.
Defaults: full steps \"10000 20000 40000 80000 max\", 3 rounds x 10 s each;
--quick \"10000 40000 max\", 1 x 3 s; --smoke \"max\", 1 x 1 s.
Pinning: nginx on BENCH_SERVER_CPU (0), loadgen on BENCH_LOAD_CPU (1), agent on BENCH_AGENT_CPU (1)
(set BENCH_AGENT_CPU=0-1 to let it use both). Ports: BENCH_PORT_BASE (20400) +1 nginx, +9 agent."

PROFILE=no
STEPS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) PROFILE=yes && shift ;;
    --steps)
      [[ ${2-} =~ ^([0-9]+|max)( ([0-9]+|max))*$ ]] || die "--steps needs rates or 'max', got '${2-}'"
      STEPS=$2
      shift 2
      ;;
    *)
      bench_common_arg "$@"
      shift "$BENCH_SHIFT"
      ;;
  esac
done
bench_start_run
build_loadgen

PORT_BASE=${BENCH_PORT_BASE:-20400}
NGINX_PORT=$((PORT_BASE + 1)) METRICS_PORT=$((PORT_BASE + 9))
STEPS=${STEPS:-$(pick_by_mode "10000 20000 40000 80000 max" "10000 40000 max" "max")}
ROUNDS=${BENCH_ROUNDS:-$(pick_by_mode 3 1 1)}
SECONDS_PER_RUN=${BENCH_DURATION:-$(pick_by_mode 10 3 1)}
IDLE_SECONDS=$(pick_by_mode 10 3 1)
CONNS=${BENCH_LOADGEN_CONNS:-64}
WORKERS=${BENCH_NGINX_WORKERS:-1}
log "plan: nginx ($WORKERS worker(s)) on CPU $SERVER_CPU; steps ($STEPS) x $ROUNDS rounds x ${SECONDS_PER_RUN}s, $CONNS connections; one agent for the whole run on CPU $AGENT_CPU; profile=$PROFILE"

start_nginx "$NGINX_PORT" "$SERVER_CPU" "$WORKERS"
NGINX_PIDS=$(pgrep -d' ' -P "$NGINX_PID" || true)
if [ "$PROFILE" = yes ]; then
  mkdir -p "$BENCH_RUN_DIR/profile"
  AGENT_EXTRA_NODE_ARGS=(--cpu-prof --cpu-prof-dir="$BENCH_RUN_DIR/profile")
fi
agent_start "$METRICS_PORT" BEYLA_OPEN_PORT="$NGINX_PORT"
# shellcheck disable=SC2086 # a list of pids
agent_wait_selected "$NGINX_PID" $NGINX_PIDS
SERIES="server_port=\"$NGINX_PORT\""
URL="http://127.0.0.1:$NGINX_PORT/users/1"

run_loadgen "$BENCH_RUN_DIR/loadgen-warmup.txt" -url "$URL" -c "$CONNS" -d "$(pick_by_mode 3 1 0.3)s" -label warmup
agent_settle "$SERIES"

# The agent's CPU use with nothing to capture (discovery, timers), subtracted for "net".
c0=$(cpu_ticks "$AGENT_PID") t0=$(now_s)
sleep "$IDLE_SECONDS"
IDLE_MS_PER_S=$(awk -v ms="$(ticks_to_ms $(($(cpu_ticks "$AGENT_PID") - c0)))" -v s="$(calc "$(now_s) - $t0")" 'BEGIN { printf "%.2f", ms / s }')
log "idle: the agent used $IDLE_MS_PER_S ms of CPU per second with no requests"

LOAD_FROM="" LOAD_TO="" any_loss=no
best_rps=0 best_step="" best_net="" best_gross=""
for step in $STEPS; do
  achieved_list="" net_list="" gross_list="" util_list="" lossless=yes
  for ((r = 1; r <= ROUNDS; r++)); do
    out=$BENCH_RUN_DIR/loadgen-$step-r$r.txt
    rate_args=()
    [ "$step" = max ] || rate_args=(-rate "$step")
    agent_settle "$SERIES"
    rec0=$RECEIVED drop0=$DROPPED disc0=$DISCARDED http0=$HTTP_COUNT
    c0=$(cpu_ticks "$AGENT_PID") t0=$(now_s)
    LOAD_FROM=${LOAD_FROM:-$t0}
    before=$(cpu_snapshot)
    run_loadgen "$out" -url "$URL" -c "$CONNS" -d "${SECONDS_PER_RUN}s" ${rate_args[@]+"${rate_args[@]}"} -label "step-$step"
    after=$(cpu_snapshot)
    c_load=$(cpu_ticks "$AGENT_PID") t_load=$(now_s)
    LOAD_TO=$t_load
    agent_settle "$SERIES"
    c1=$(cpu_ticks "$AGENT_PID") t1=$(now_s)
    completed=$(kv "$out" completed) errors=$(kv "$out" errors) achieved=$(kv "$out" achieved_rps)
    [ "$errors" = 0 ] || die "$errors request errors at step $step (see $out)"
    received=$((RECEIVED - rec0)) dropped=$((DROPPED - drop0)) discarded=$((DISCARDED - disc0))
    http=$((HTTP_COUNT - http0))
    ok=yes
    if [ "$dropped" != 0 ] || [ "$discarded" != 0 ] || [ "$received" != "$completed" ] || [ "$http" != "$completed" ]; then
      ok=no lossless=no
    fi
    cpu_ms=$(ticks_to_ms $((c1 - c0)))
    wall=$(calc "$t1 - $t0")
    gross=$(awk -v ms="$cpu_ms" -v n="$completed" 'BEGIN { printf "%.2f", ms * 1000 / n }')
    net=$(awk -v ms="$cpu_ms" -v idle="$IDLE_MS_PER_S" -v w="$wall" -v n="$completed" 'BEGIN { v = (ms - idle * w) * 1000 / n; printf "%.2f", v < 0 ? 0 : v }')
    util=$(awk -v ms="$(ticks_to_ms $((c_load - c0)))" -v s="$(calc "$t_load - $t0")" 'BEGIN { printf "%.0f", ms / 10 / s }')
    log "run step=$step round=$r achieved_rps=$achieved completed=$completed received=$received http_count=$http dropped=$dropped discarded=$discarded lossless=$ok agent_cpu_ms=$cpu_ms agent_us_per_req=$gross agent_us_per_req_net=$net agent_core_pct_under_load=$util cpu_server_pct=$(cpu_busy_pct "$before" "$after" "$(first_cpu "$SERVER_CPU")") cpu_load_pct=$(cpu_busy_pct "$before" "$after" "$(first_cpu "$LOAD_CPU")") p99_us=$(kv "$out" p99_us)"
    achieved_list="$achieved_list $achieved" net_list="$net_list $net" gross_list="$gross_list $gross" util_list="$util_list $util"
  done
  # shellcheck disable=SC2086 # space-separated numbers
  {
    m_rps=$(median $achieved_list) m_net=$(median $net_list) m_gross=$(median $gross_list) m_util=$(median $util_list)
  }
  log "step=$step rounds=$ROUNDS median_achieved_rps=$m_rps lossless=$lossless median_agent_us_per_req=$m_gross net=$m_net agent_core_pct=$m_util"
  if [ "$lossless" = yes ] && awk -v a="$m_rps" -v b="$best_rps" 'BEGIN { exit !(a > b) }'; then
    best_rps=$m_rps best_step=$step best_net=$m_net best_gross=$m_gross
  fi
  [ "$lossless" = yes ] || any_loss=yes
done

agent_counters "$SERIES"
[ -n "$best_step" ] || best_net=nan best_gross=nan
per_core=$(awk -v us="$best_net" 'BEGIN { if (us > 0) printf "%.0f", 1e6 / us; else print "nan" }')
# No step lost anything: the agent's limit was not reached, max_lossless_rps is a lower bound
# (set by the server and the load generator on this machine).
result "max_lossless_rps=$best_rps at_step=${best_step:-none} agent_limit_reached=$any_loss agent_us_per_req=$best_gross agent_us_per_req_net=$best_net" \
  "req_per_agent_core_s=$per_core idle_cpu_ms_per_s=$IDLE_MS_PER_S total_dropped=$DROPPED nginx_workers=$WORKERS agent_cpu=$AGENT_CPU" \
  "target_us_per_req=10 target=$(check_target cpu "\"$best_net\" != \"nan\" && $best_net + 0 <= 10")"

agent_stop
if [ "$PROFILE" = yes ]; then
  prof=$(find "$BENCH_RUN_DIR/profile" -name '*.cpuprofile' | head -1)
  [ -n "$prof" ] || die "node --cpu-prof wrote no profile in $BENCH_RUN_DIR/profile"
  # Only the load phase: from the first step's start to the last step's end, in seconds
  # after the agent's start (the profile starts with the process).
  from=$(calc "$LOAD_FROM - $AGENT_SPAWN_T") to=$(calc "$LOAD_TO - $AGENT_SPAWN_T")
  log "agent CPU profile of the load phase (start-up and shut-down left out; whole profile: $prof)"
  show_cmd node "$BENCH_DIR/lib/cpuprofile-top.mjs" "$prof" 25 "$from" "$to"
  node "$BENCH_DIR/lib/cpuprofile-top.mjs" "$prof" 25 "$from" "$to"
fi
