#!/usr/bin/env bash
# Overhead on a saturated server: nginx (one worker, keep-alive, a 17-byte static file) and
# the Node fixture server, each driven to its maximum throughput by wrk (keep-alive), with
# the agent instrumenting the server vs. no agent, alternating in the same run.
# Targets: throughput ratio >= 0.97, p99 within 5%.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

bench_init overhead "Usage: bench/overhead.sh [--smoke|--quick] [--rounds N] [--duration SECONDS] [--servers \"nginx node\"]

Saturates nginx and the Node fixture server with wrk -t1 -c\$BENCH_WRK_CONNS (default 32)
--latency, alternating rounds without and with the agent instrumenting them, and prints the
medians of throughput, p50 and p99 latency, and the ratios.
Defaults: full 5 rounds x 10 s per server and side (after a 5 s warm-up); --quick 3 x 3 s
(2 s warm-up); --smoke 1 x 1 s, nginx only, no warm-up.
Pinning: servers on BENCH_SERVER_CPU (0), wrk on BENCH_LOAD_CPU (1), agent on BENCH_AGENT_CPU (1).
Ports: BENCH_PORT_BASE (20100) +1 nginx, +2 node, +9 agent /metrics."

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

PORT_BASE=${BENCH_PORT_BASE:-20100}
NGINX_PORT=$((PORT_BASE + 1)) NODE_PORT=$((PORT_BASE + 2)) METRICS_PORT=$((PORT_BASE + 9))
AB_ROUNDS=${BENCH_ROUNDS:-$(pick_by_mode 5 3 1)}
AB_SECONDS=${BENCH_DURATION:-$(pick_by_mode 10 3 1)}
AB_CONNS=${BENCH_WRK_CONNS:-32}
AB_PATH=/users/1
AB_CAPTURE=yes
SERVERS=${SERVERS:-$(pick_by_mode "nginx node" "nginx node" nginx)}
WARMUP_SECONDS=$(pick_by_mode 5 2 0)
log "plan: $AB_ROUNDS rounds x (base, agent) x ($SERVERS) x ${AB_SECONDS}s of wrk -c$AB_CONNS; on its side the agent instruments every server benchmarked (started and stopped every round)"

AB_SERVERS=() SELECT_PORTS=() SELECT_PIDS=()
for server in $SERVERS; do
  case $server in
    nginx)
      start_nginx "$NGINX_PORT" "$SERVER_CPU" 1
      AB_SERVERS+=("nginx $NGINX_PORT") SELECT_PORTS+=("$NGINX_PORT")
      # shellcheck disable=SC2207 # pids are words
      SELECT_PIDS+=("$NGINX_PID" $(pgrep -P "$NGINX_PID" || true))
      ;;
    node)
      start_node_server "$NODE_PORT" "$SERVER_CPU"
      AB_SERVERS+=("node $NODE_PORT") SELECT_PORTS+=("$NODE_PORT") SELECT_PIDS+=("$NODE_SERVER_PID")
      ;;
  esac
done

ab_warmup "$WARMUP_SECONDS"

ab_agent_up() {
  agent_start "$METRICS_PORT" BEYLA_OPEN_PORT="$(IFS=, && echo "${SELECT_PORTS[*]}")"
  agent_wait_selected "${SELECT_PIDS[@]}"
}

ab_wrk_benchmark
ab_report 0.97 1.05
