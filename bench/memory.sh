#!/usr/bin/env bash
# The agent's memory: RSS idle; with 100 instrumented processes; with 10,000 active metric
# series (routes.unmatched: path, 10,000 distinct paths); the /metrics scrape time at that
# size (and the event-loop delay during it, if the agent exports it); and RSS sampled over a
# steady run to show whether it stays flat.
# Targets: <= 80 MB idle, <= 150 MB at 10,000 series, scrape <= 100 ms, memory flat.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

bench_init memory "Usage: bench/memory.sh [--smoke|--quick] [--duration SECONDS]

--smoke uses 10 processes and 1,000 series (it only proves the harness works).
Phases, all with one agent (BEYLA_OPEN_PORT=<listener range>,<node port>, routes.unmatched: path):
  idle         RSS after the agent settled with nothing to instrument
  processes    RSS with \$BENCH_MEM_PROCS (100) small HTTP servers instrumented (bench/lib/listeners.py), one request each
  series       RSS with \$BENCH_MEM_SERIES (10000) distinct paths requested once each on the Node fixture server
  scrape       /metrics at that size: curl time_total over several scrapes, size, event-loop delay
  steady       RSS sampled every few seconds for --duration seconds (full: 600, --quick: 30,
               --smoke: 2) while bench/loadgen requests the same paths at \$BENCH_MEM_RATE (1000) req/s
               and /metrics is scraped every 15 s (quick/smoke: every 5 s / 2 s)
Pinning: servers on BENCH_SERVER_CPU (0), loadgen on BENCH_LOAD_CPU (1), agent on BENCH_AGENT_CPU (1).
Ports: BENCH_PORT_BASE (20500) +2 node, +9 agent /metrics, +100.. listeners."

while [ $# -gt 0 ]; do
  bench_common_arg "$@"
  shift "$BENCH_SHIFT"
done
bench_start_run
build_loadgen

PORT_BASE=${BENCH_PORT_BASE:-20500}
NODE_PORT=$((PORT_BASE + 2)) METRICS_PORT=$((PORT_BASE + 9))
# --smoke only proves the harness works: 10 processes and 1,000 series keep it short.
NPROCS=${BENCH_MEM_PROCS:-$(pick_by_mode 100 100 10)}
NSERIES=${BENCH_MEM_SERIES:-$(pick_by_mode 10000 10000 1000)}
RATE=${BENCH_MEM_RATE:-1000}
FIRST=$((PORT_BASE + 100)) LAST=$((PORT_BASE + 100 + NPROCS - 1))
RUN_SECONDS=${BENCH_DURATION:-$(pick_by_mode 600 30 2)}
SAMPLE_EVERY=$(pick_by_mode 10 2 1)
SCRAPE_EVERY=$(pick_by_mode 15 5 2)
SETTLE=$(pick_by_mode 30 5 1)
SCRAPES=$(pick_by_mode 10 5 3)
PAUSE=$(pick_by_mode 2 2 0.5) # after a phase settles, before its RSS is read
MAX_SERIES=$((NSERIES * 2 + NPROCS + 1000))
[[ $RUN_SECONDS =~ ^[0-9]+$ ]] || die "--duration must be whole seconds here, got $RUN_SECONDS"
log "plan: idle ${SETTLE}s; $NPROCS processes on ports $FIRST-$LAST; $NSERIES distinct paths on node :$NODE_PORT; $SCRAPES timed scrapes; steady ${RUN_SECONDS}s at $RATE req/s, RSS every ${SAMPLE_EVERY}s"

CONFIG_FILE=$BENCH_RUN_DIR/beyla-memory.yml
printf 'routes:\n  unmatched: path\n' >"$CONFIG_FILE"
log "agent config $CONFIG_FILE: routes.unmatched: path; BEYLA_METRICS_MAX_SERIES=$MAX_SERIES so the $NSERIES series fit under the cardinality limit"
for ((p = FIRST; p <= LAST; p++)); do port_free "$p"; done
# internal metrics on: the event-loop delay gauge (a 10 ms timer) exists only then
agent_start "$METRICS_PORT" --config "$CONFIG_FILE" BEYLA_OPEN_PORT="$FIRST-$LAST,$NODE_PORT" BEYLA_METRICS_MAX_SERIES="$MAX_SERIES" \
  BEYLA_INTERNAL_METRICS_EXPORTER=prometheus
PROM=$BENCH_TMP/memory.prom

# wait_for_value FUNCTION WANT TIMEOUT_S: scrapes until FUNCTION (reading $PROM) prints WANT.
wait_for_value() {
  local what=$1 want=$2 timeout=$3 i got=""
  for ((i = 0; i < timeout * 5; i++)); do
    scrape "$PROM"
    got=$("$what")
    [ "$got" = "$want" ] && return 0
    sleep 0.2
  done
  die "waited ${timeout}s for $what = $want, last $got"
}
instrumented() { metric_sum "$PROM" beyla_instrumented_processes; }
listener_series() { metric_count "$PROM" http_server_request_duration_seconds_count 'http_route="/"'; }
node_series() { metric_count "$PROM" http_server_request_duration_seconds_count "server_port=\"$NODE_PORT\""; }

# ---- idle
sleep "$SETTLE"
IDLE=$(rss_mb "$AGENT_PID")
result "phase=idle rss_mb=$IDLE $(rss_breakdown "$AGENT_PID") settle_s=$SETTLE target_mb=80 target=$(check_target rss "$IDLE <= 80")"

# ---- 100 instrumented processes
spawn "$BENCH_RUN_DIR/listeners.log" "$SERVER_CPU" python3 "$BENCH_DIR/lib/listeners.py" "$FIRST" "$NPROCS"
LISTENERS_PID=$SPAWNED_PID
for ((i = 0; i < 300; i++)); do
  grep -q '^ready ' "$BENCH_RUN_DIR/listeners.log" && break
  case $(proc_state "$LISTENERS_PID") in X | Z) die "listeners.py failed: $(tail -3 "$BENCH_RUN_DIR/listeners.log")" ;; esac
  sleep 0.1
done
grep -q '^ready ' "$BENCH_RUN_DIR/listeners.log" || die "listeners.py not ready after 30s"
wait_for_value instrumented "$NPROCS" 30
show_cmd curl -s -o /dev/null "http://127.0.0.1:[$FIRST-$LAST]/"
curl -s -o /dev/null --max-time 30 "http://127.0.0.1:[$FIRST-$LAST]/" || die "a listener did not answer"
wait_for_value listener_series "$NPROCS" 15
sleep "$PAUSE"
PROCS_RSS=$(rss_mb "$AGENT_PID")
result "phase=processes processes=$NPROCS rss_mb=$PROCS_RSS $(rss_breakdown "$AGENT_PID")"

# ---- 10,000 series
start_node_server "$NODE_PORT" "$SERVER_CPU"
agent_wait_selected "$NODE_SERVER_PID"
fill_rate=5000
fill_seconds=$(awk -v n="$NSERIES" -v r="$fill_rate" 'BEGIN { printf "%.3f", n / r }')
run_loadgen "$BENCH_RUN_DIR/loadgen-fill.txt" -url "http://127.0.0.1:$NODE_PORT/s/" -distinct "$NSERIES" \
  -rate "$fill_rate" -d "${fill_seconds}s" -c 16 -label fill
[ "$(kv "$BENCH_RUN_DIR/loadgen-fill.txt" completed)" = "$NSERIES" ] || die "the fill run completed $(kv "$BENCH_RUN_DIR/loadgen-fill.txt" completed) requests, want $NSERIES"
wait_for_value node_series "$NSERIES" 30
[ "$(metric_sum "$PROM" beyla_series_dropped_total)" = 0 ] || die "the agent dropped series: raise BEYLA_METRICS_MAX_SERIES"
sleep "$PAUSE"
SERIES_RSS=$(rss_mb "$AGENT_PID")
TOTAL_SERIES=$(metric_count "$PROM" http_server_request_duration_seconds_count)
result "phase=series series=$NSERIES all_duration_series=$TOTAL_SERIES rss_mb=$SERIES_RSS $(rss_breakdown "$AGENT_PID") target_mb=150 target=$(check_target rss "$SERIES_RSS <= 150")"

# ---- scrape time at that size
# Timed scrapes go to /dev/null, as a scraper parses the text without storing it: writing
# 120 MB to a file under /tmp for each timed scrape put page-cache writes and writeback stalls
# into the figure (a static 120 MB body takes 25-31 ms to /dev/null over loopback here). After
# each timed scrape, an untimed one (into RAM, /dev/shm) gives the size, the lines and
# beyla_event_loop_delay_max_seconds: the longest event-loop delay since the previous
# scrape, i.e. over the whole timed scrape.
times="" delays="" bytes=0 lines=0
url="http://127.0.0.1:$METRICS_PORT/metrics"
shm_file=$(mktemp /dev/shm/beyla-bench-scrape.XXXXXX)
for ((i = 1; i <= SCRAPES; i++)); do
  show_cmd curl -s -o /dev/null -w '%{time_total}' "$url"
  t=$(curl -sf --max-time 20 -o /dev/null -w '%{time_total}' "$url") || die "scrape failed"
  ms=$(awk -v t="$t" 'BEGIN { printf "%.1f", t * 1000 }')
  curl -sf --max-time 20 -o "$shm_file" "$url" || die "scrape failed"
  bytes=$(wc -c <"$shm_file") lines=$(wc -l <"$shm_file")
  delay=$(awk '$1 == "beyla_event_loop_delay_max_seconds" { printf "%.1f", $2 * 1000 }' "$shm_file")
  log "scrape $i: ${ms} ms, $bytes bytes, $lines lines${delay:+, beyla_event_loop_delay_max_seconds=${delay} ms}"
  times="$times $ms"
  [ -n "$delay" ] && delays="$delays $delay"
done
rm -f "$shm_file"
# shellcheck disable=SC2086 # space-separated numbers
{
  scrape_med=$(median $times)
  scrape_max=$(printf '%s\n' $times | sort -g | tail -1)
}
if [ -n "$delays" ]; then
  # shellcheck disable=SC2086
  loop="event_loop_delay_max_ms=$(printf '%s\n' $delays | sort -g | tail -1)"
else
  loop="event_loop_delay=missing(want_gauge_beyla_event_loop_delay_max_seconds)"
  log "note: the agent exports no event-loop delay metric; see docs/benchmarks.md for the one wanted"
fi
result "phase=scrape series=$TOTAL_SERIES scrapes=$SCRAPES scrape_ms_median=$scrape_med scrape_ms_max=$scrape_max bytes=$bytes lines=$lines $loop target_ms=100 target=$(check_target scrape "$scrape_max <= 100")"

# ---- steady run: RSS over time
LOAD_OUT=$BENCH_RUN_DIR/loadgen-steady.txt
show_cmd taskset -c "$LOAD_CPU" "$LOADGEN" -url "http://127.0.0.1:$NODE_PORT/s/" -distinct "$NSERIES" -rate "$RATE" -d "${RUN_SECONDS}s" -c 8 -label steady
taskset -c "$LOAD_CPU" "$LOADGEN" -url "http://127.0.0.1:$NODE_PORT/s/" -distinct "$NSERIES" -rate "$RATE" \
  -d "${RUN_SECONDS}s" -c 8 -label steady >"$LOAD_OUT" 2>&1 &
LOAD_PID=$!
BENCH_PIDS+=("$LOAD_PID")
csv=$BENCH_RUN_DIR/rss.csv
echo "seconds,rss_mb" >"$csv"
start=$(now_s) next_scrape=0 samples=""
for ((i = 0; i * SAMPLE_EVERY <= RUN_SECONDS; i++)); do
  target_t=$((i * SAMPLE_EVERY))
  while :; do
    el=$(calc "$(now_s) - $start")
    awk -v e="$el" -v t="$target_t" 'BEGIN { exit !(e < t) }' || break
    if awk -v e="$el" -v n="$next_scrape" 'BEGIN { exit !(e >= n) }'; then
      scrape /dev/null
      next_scrape=$((next_scrape + SCRAPE_EVERY))
    fi
    sleep 0.2
  done
  rss=$(rss_mb "$AGENT_PID")
  echo "$target_t,$rss" >>"$csv"
  samples="$samples $rss"
done
for ((i = 0; i < 300; i++)); do
  case $(proc_state "$LOAD_PID") in X | Z) break ;; esac
  sleep 0.1
done
wait "$LOAD_PID" || die "the steady load failed: $(tail -3 "$LOAD_OUT")"
forget_pid "$LOAD_PID"
[ "$(kv "$LOAD_OUT" errors)" = 0 ] || die "the steady load saw errors: $(grep LOADGEN "$LOAD_OUT")"

# Flat: the mean of the last third of the samples is within 5% of the mean of the first third.
# shellcheck disable=SC2086
read -r n first last lo hi growth slope <<<"$(printf '%s\n' $samples | awk '
  { v[NR] = $1; if (NR == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 }
  END {
    k = int(NR / 3); if (k < 1) k = 1
    for (i = 1; i <= k; i++) { a += v[i]; b += v[NR - k + i] }
    a /= k; b /= k
    for (i = 1; i <= NR; i++) { sx += i; sy += v[i]; sxy += i * v[i]; sxx += i * i }
    d = NR * sxx - sx * sx; s = d > 0 ? (NR * sxy - sx * sy) / d : 0
    printf "%d %.1f %.1f %.1f %.1f %.1f %.3f\n", NR, v[1], v[NR], lo, hi, 100 * (b - a) / a, s
  }')"
slope_per_min=$(awk -v s="$slope" -v e="$SAMPLE_EVERY" 'BEGIN { printf "%.2f", s * 60 / e }')
result "phase=steady seconds=$RUN_SECONDS rate=$RATE samples=$n rss_first_mb=$first rss_last_mb=$last rss_min_mb=$lo rss_max_mb=$hi" \
  "growth_pct=$growth slope_mb_per_min=$slope_per_min csv=$csv flat=$(check_target flat "$growth <= 5 && $growth >= -5")"
