#!/usr/bin/env bash
# Latency at fixed request rates: nginx and the Node fixture server at 1k, 5k and 10k req/s
# from an open-loop, coordinated-omission-aware load generator (bench/loadgen), with the
# agent instrumenting the servers vs. no agent, alternating in the same run.
# Targets: within noise at 1k and 5k req/s; p99 at most +5% at 10k req/s.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

bench_init fixed-rate "Usage: bench/fixed-rate.sh [--smoke|--quick] [--rounds N] [--duration SECONDS] [--rates \"1000 5000 10000\"]

Drives nginx and the Node fixture server at each rate with bench/loadgen (open loop,
\$BENCH_LOADGEN_CONNS keep-alive connections, default 16; latency measured from each request's
scheduled send time) in alternating rounds without and with the agent, and prints the medians
of p50/p99 per side, the p99 ratio, and the baseline's round-to-round spread (the noise).
Defaults: full 5 rounds x 12 s (2 s warm-up excluded) per server, rate and side;
--quick 3 x 4 s (1 s warm-up); --smoke only 1000 req/s, 1 x 1 s (0.5 s warm-up).
Pinning: servers on BENCH_SERVER_CPU (0), loadgen on BENCH_LOAD_CPU (1), agent on BENCH_AGENT_CPU (1).
Ports: BENCH_PORT_BASE (20200) +1 nginx, +2 node, +9 agent /metrics."

RATES=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rates)
      [[ ${2-} =~ ^[0-9]+( [0-9]+)*$ ]] || die "--rates needs space-separated integers, got '${2-}'"
      RATES=$2
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
RATES=${RATES:-$(pick_by_mode "1000 5000 10000" "1000 5000 10000" "1000")}

PORT_BASE=${BENCH_PORT_BASE:-20200}
NGINX_PORT=$((PORT_BASE + 1)) NODE_PORT=$((PORT_BASE + 2)) METRICS_PORT=$((PORT_BASE + 9))
ROUNDS=${BENCH_ROUNDS:-$(pick_by_mode 5 3 1)}
SECONDS_PER_RUN=${BENCH_DURATION:-$(pick_by_mode 12 4 1)}
WARMUP=$(pick_by_mode 2 1 0.5)
CONNS=${BENCH_LOADGEN_CONNS:-16}
SERVERS=("nginx $NGINX_PORT" "node $NODE_PORT")
awk -v d="$SECONDS_PER_RUN" -v w="$WARMUP" 'BEGIN { exit !(d > w) }' || die "--duration must exceed the ${WARMUP}s warm-up"
log "plan: $ROUNDS rounds x (base, agent) x (nginx, node) x rates ($RATES) x ${SECONDS_PER_RUN}s (first ${WARMUP}s not measured), $CONNS connections; agent instruments both servers on its side (started and stopped every round)"

start_nginx "$NGINX_PORT" "$SERVER_CPU" 1
start_node_server "$NODE_PORT" "$SERVER_CPU"
NGINX_PIDS=$(pgrep -d' ' -P "$NGINX_PID" || true)

PREWARM=$(pick_by_mode 5 2 0.5)
log "warm-up: ${PREWARM}s closed loop per server, not measured"
run_loadgen "$BENCH_RUN_DIR/loadgen-warmup-nginx.txt" -url "http://127.0.0.1:$NGINX_PORT/users/1" -c "$CONNS" -d "${PREWARM}s"
run_loadgen "$BENCH_RUN_DIR/loadgen-warmup-node.txt" -url "http://127.0.0.1:$NODE_PORT/users/1" -c "$CONNS" -d "${PREWARM}s"

declare -A P50=() P99=()
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then sides="base agent"; else sides="agent base"; fi
  for side in $sides; do
    if [ "$side" = agent ]; then
      agent_start "$METRICS_PORT" BEYLA_OPEN_PORT="$NGINX_PORT,$NODE_PORT"
      # shellcheck disable=SC2086 # a list of pids
      agent_wait_selected "$NGINX_PID" $NGINX_PIDS "$NODE_SERVER_PID"
      sleep "$(pick_by_mode 2 1 0)" # let the agent's start-up work finish
    fi
    for entry in "${SERVERS[@]}"; do
      read -r name port <<<"$entry"
      for rate in $RATES; do
        out=$BENCH_RUN_DIR/loadgen-r$r-$side-$name-$rate.txt
        if [ "$side" = agent ]; then
          agent_counters "server_port=\"$port\""
          base_http=$HTTP_COUNT
        fi
        run_loadgen "$out" -url "http://127.0.0.1:$port/users/1" -c "$CONNS" -rate "$rate" \
          -d "${SECONDS_PER_RUN}s" -warmup "${WARMUP}s" -label "$side-$name"
        errors=$(kv "$out" errors) unsent=$(kv "$out" unsent) achieved=$(kv "$out" achieved_rps)
        completed=$(kv "$out" completed)
        [ "$errors" = 0 ] || die "$errors request errors against $name at $rate req/s (see $out)"
        note=""
        if [ "$unsent" != 0 ] || awk -v a="$achieved" -v r="$rate" 'BEGIN { exit !(a < 0.98 * r) }'; then
          note=" note=behind-schedule(achieved=$achieved,unsent=$unsent)"
        fi
        if [ "$side" = agent ]; then
          sleep 0.3
          agent_counters "server_port=\"$port\""
          captured=$((HTTP_COUNT - base_http))
          note="$note captured=$captured"
          [ "$captured" -ge $((completed * 9 / 10)) ] ||
            die "the agent captured $captured of $completed requests to $name: it is not instrumenting it"
        fi
        p50=$(kv "$out" p50_us) p99=$(kv "$out" p99_us)
        log "run round=$r side=$side server=$name rate=$rate achieved_rps=$achieved p50_us=$p50 p90_us=$(kv "$out" p90_us) p99_us=$p99 max_us=$(kv "$out" max_us)$note"
        P50[$side/$name/$rate]="${P50[$side/$name/$rate]-} $p50"
        P99[$side/$name/$rate]="${P99[$side/$name/$rate]-} $p99"
      done
    done
    if [ "$side" = agent ]; then
      agent_stop
      log "agent stopped in ${AGENT_STOP_S}s"
    fi
  done
done

# Noise: the baseline's own round-to-round spread of p99 (max - min over median). "Within
# noise" means the medians of the two sides differ by no more than that spread.
for entry in "${SERVERS[@]}"; do
  read -r name port <<<"$entry"
  for rate in $RATES; do
    key=$name/$rate
    # shellcheck disable=SC2086 # space-separated numbers
    {
      b50=$(median ${P50[base/$key]}) a50=$(median ${P50[agent/$key]})
      b99=$(median ${P99[base/$key]}) a99=$(median ${P99[agent/$key]})
      noise=$(spread_pct ${P99[base/$key]})
    }
    diff_pct=$(awk -v a="$a99" -v b="$b99" 'BEGIN { if (b > 0) printf "%+.1f", 100 * (a - b) / b; else print "nan" }')
    if [ "$rate" -ge 10000 ]; then
      target="target=p99<=+5% p99_target=$(check_target p99 "$a99 <= 1.05 * $b99")"
    else
      target="target=p99-within-noise p99_target=$(check_target p99 "($a99 - $b99) <= $b99 * $noise / 100")"
    fi
    result "server=$name rate=$rate rounds=$ROUNDS seconds=$SECONDS_PER_RUN conns=$CONNS" \
      "base_p50_us=$b50 agent_p50_us=$a50 base_p99_us=$b99 agent_p99_us=$a99" \
      "p99_ratio=$(ratio "$a99" "$b99") p99_diff_pct=$diff_pct base_p99_spread_pct=$noise $target"
  done
done
