#!/usr/bin/env bash
# Cost of the agent for processes it does NOT instrument: the agent runs and instruments a
# python http.server; nginx and the Node fixture server are saturated by wrk, unselected.
# What remains is the agent's hooks stopping at the PID filter for their socket I/O (and, with
# BENCH_CAPTURE_HOOKS=syscalls, the kernel's syscall-tracing path), plus the agent's idle work.
# Target: throughput ratio >= 0.99.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

bench_init unselected "Usage: bench/unselected.sh [--smoke|--quick] [--rounds N] [--duration SECONDS] [--servers \"nginx node\"]

Saturates nginx and the Node fixture server with wrk -t1 -c\$BENCH_WRK_CONNS (default 32)
--latency, alternating rounds without the agent and with the agent running but selecting only
a python http.server (BEYLA_OPEN_PORT=<its port>), and prints medians and ratios.
Defaults: full 5 rounds x 10 s per server and side (after a 5 s warm-up); --quick 3 x 3 s
(2 s warm-up); --smoke 1 x 1 s, Node only, no warm-up.
Pinning: servers on BENCH_SERVER_CPU (0), wrk on BENCH_LOAD_CPU (1), agent and python on
BENCH_AGENT_CPU (1). Ports: BENCH_PORT_BASE (20300) +1 nginx, +2 node, +3 python, +9 agent."

SERVERS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --servers)
      [[ ${2-} =~ ^(nginx|node)( (nginx|node))?$ ]] || die "--servers takes \"nginx node\", \"nginx\" or \"node\", got '${2-}'"
      SERVERS=$2
      shift 2
      ;;
    *)
      bench_common_arg "$@"
      shift "$BENCH_SHIFT"
      ;;
  esac
done
bench_start_run

PORT_BASE=${BENCH_PORT_BASE:-20300}
NGINX_PORT=$((PORT_BASE + 1)) NODE_PORT=$((PORT_BASE + 2)) PYTHON_PORT=$((PORT_BASE + 3))
METRICS_PORT=$((PORT_BASE + 9))
AB_ROUNDS=${BENCH_ROUNDS:-$(pick_by_mode 5 3 1)}
AB_SECONDS=${BENCH_DURATION:-$(pick_by_mode 10 3 1)}
AB_CONNS=${BENCH_WRK_CONNS:-32}
AB_PATH=/users/1
AB_CAPTURE=no
SERVERS=${SERVERS:-$(pick_by_mode "nginx node" "nginx node" node)}
WARMUP_SECONDS=$(pick_by_mode 5 2 0)
log "plan: $AB_ROUNDS rounds x (base, agent) x ($SERVERS) x ${AB_SECONDS}s of wrk -c$AB_CONNS; on the agent side the agent instruments only python http.server :$PYTHON_PORT (started and stopped every round)"

AB_SERVERS=()
for server in $SERVERS; do
  case $server in
    nginx)
      start_nginx "$NGINX_PORT" "$SERVER_CPU" 1
      AB_SERVERS+=("nginx $NGINX_PORT")
      ;;
    node)
      start_node_server "$NODE_PORT" "$SERVER_CPU"
      AB_SERVERS+=("node $NODE_PORT")
      ;;
  esac
done
start_python_server "$PYTHON_PORT" "$AGENT_CPU"

ab_warmup "$WARMUP_SECONDS"

# The agent must be working (it captures python's request) and select nothing else.
ab_agent_up() {
  local f=$BENCH_TMP/unselected.prom i
  agent_start "$METRICS_PORT" BEYLA_OPEN_PORT="$PYTHON_PORT"
  agent_wait_selected "$PYTHON_PID"
  show_cmd curl -sf -o /dev/null "http://127.0.0.1:$PYTHON_PORT/"
  curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:$PYTHON_PORT/" || die "python http.server did not answer"
  # beyla_instrumented_processes follows the agent's 1 s statistics timer
  for ((i = 0; i < 50; i++)); do
    scrape "$f"
    if [ "$(metric_sum "$f" http_server_request_duration_seconds_count "server_port=\"$PYTHON_PORT\"")" -ge 1 ] &&
      [ "$(metric_sum "$f" beyla_instrumented_processes)" -ge 1 ]; then
      break
    fi
    sleep 0.1
  done
  [ "$(metric_sum "$f" http_server_request_duration_seconds_count "server_port=\"$PYTHON_PORT\"")" -ge 1 ] ||
    die "the agent did not capture the request to python http.server within 5s"
  [ "$(metric_sum "$f" beyla_instrumented_processes)" = 1 ] ||
    die "the agent instruments $(metric_sum "$f" beyla_instrumented_processes) processes, want 1 (python)"
}

ab_wrk_benchmark
ab_report 0.99 ""
