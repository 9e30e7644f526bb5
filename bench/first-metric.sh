#!/usr/bin/env bash
# Time to first metric: from a new process's first request to its series on /metrics.
# Each iteration starts a new Node fixture server on a port the agent selects, sends it one
# request on a new connection, and polls /metrics every 10 ms until the server's series
# appears (bench/lib/first-metric.mjs). Two modes, N iterations each:
#   selected   the request is sent once the agent logged that it instruments the new pid:
#              capture -> ring buffer -> drain -> metric -> scrape
#   immediate  the request is sent as soon as the server listens: adds process discovery
#              (a /proc poll, 500 ms by default); a request sent before discovery is never
#              captured and counts as missed
#   repeat     as immediate, then a new request every 20 ms until the series appears: from a
#              new process's first request to its first metric, discovery included
# Target: <= 1 s.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

bench_init first-metric "Usage: bench/first-metric.sh [--smoke|--quick] [--rounds N]

Modes: selected (request once the agent instruments the new pid), immediate (request as soon
as it listens), repeat (immediate, then every 20 ms until the series shows).
--rounds N: iterations per mode (full 20, --quick 5, --smoke 1). Polls every 10 ms, gives up
on an iteration after 5 s (--smoke: 1 s).
Pinning: servers on BENCH_SERVER_CPU (0), the polling client on BENCH_LOAD_CPU (1), agent on
BENCH_AGENT_CPU (1). Ports: BENCH_PORT_BASE (20800) +9 agent /metrics, +10.. servers."

while [ $# -gt 0 ]; do
  bench_common_arg "$@"
  shift "$BENCH_SHIFT"
done
bench_start_run

PORT_BASE=${BENCH_PORT_BASE:-20800}
METRICS_PORT=$((PORT_BASE + 9))
N=${BENCH_ROUNDS:-$(pick_by_mode 20 5 1)}
TIMEOUT_MS=$(pick_by_mode 5000 5000 1000)
FIRST=$((PORT_BASE + 10)) LAST=$((PORT_BASE + 10 + 3 * N - 1))
for ((p = FIRST; p <= LAST; p++)); do port_free "$p"; done
log "plan: $N iterations per mode (selected, immediate, repeat), servers on ports $FIRST-$LAST, poll every 10 ms, give up after $TIMEOUT_MS ms"

agent_start "$METRICS_PORT" BEYLA_OPEN_PORT="$FIRST-$LAST"

first_port=$FIRST
for mode in selected immediate repeat; do
  out=$BENCH_RUN_DIR/first-metric-$mode.txt
  cmd=(node "$BENCH_DIR/lib/first-metric.mjs" --metrics "http://127.0.0.1:$METRICS_PORT/metrics"
    --agent-log "$AGENT_LOG" --server "$NODE_SERVER" --cpu "$SERVER_CPU" --first-port "$first_port"
    --count "$N" --mode "$mode" --poll-ms 10 --timeout-ms "$TIMEOUT_MS")
  show_cmd taskset -c "$LOAD_CPU" "${cmd[@]}"
  taskset -c "$LOAD_CPU" "${cmd[@]}" | tee "$out" || die "first-metric.mjs failed in mode $mode"
  line=$(grep '^FIRSTMETRIC ' "$out") || die "first-metric.mjs printed no summary"
  read -r mx missed <<<"$(awk '{ for (i = 2; i <= NF; i++) { split($i, p, "="); v[p[1]] = p[2] } }
    END { print v["max_ms"], v["missed"] }' <<<"$line")"
  target=$(check_target first "\"$mx\" != \"nan\" && $missed == 0 && $mx <= 1000")
  result "${line#FIRSTMETRIC } target_ms=1000 target=$target"
  first_port=$((first_port + N))
done
