#!/usr/bin/env bash
# Sets up this machine, then runs the agent against a demo HTTP service it starts: requests
# are printed live as they are captured, and /metrics is served on port ${DEMO_METRICS_PORT}.
# Traffic runs for DEMO_SECONDS (default 30), then the metrics are shown and all stops.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO_PORT=${DEMO_PORT:-18080}
DEMO_METRICS_PORT=${DEMO_METRICS_PORT:-9400}
DEMO_SECONDS=${DEMO_SECONDS:-30}

bash scripts/setup.sh >&2

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if curl -s -o /dev/null "http://127.0.0.1:$DEMO_PORT/" 2>/dev/null; then
  echo "demo: port $DEMO_PORT is already in use; set DEMO_PORT to a free port" >&2
  exit 1
fi
node e2e/fixtures/node-server.mjs "$DEMO_PORT" >/dev/null &
pids+=($!)
BEYLA_OPEN_PORT=$DEMO_PORT BEYLA_TRACE_PRINTER=text BEYLA_PROMETHEUS_PORT=$DEMO_METRICS_PORT \
  node packages/agent/dist/cli.js &
pids+=($!)

for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$DEMO_METRICS_PORT/readyz" >/dev/null 2>&1 && break
  sleep 0.2
done
echo "demo: agent ready; metrics at http://127.0.0.1:$DEMO_METRICS_PORT/metrics" >&2
echo "demo: sending traffic to the demo service on :$DEMO_PORT for ${DEMO_SECONDS}s" >&2

end=$((SECONDS + DEMO_SECONDS))
i=0
while [ $SECONDS -lt $end ]; do
  i=$((i + 1))
  curl -s -o /dev/null "http://127.0.0.1:$DEMO_PORT/users/$i" \
    -o /dev/null "http://127.0.0.1:$DEMO_PORT/chunked" || true
  curl -s -o /dev/null --data-binary "hello $i" "http://127.0.0.1:$DEMO_PORT/echo" || true
  [ $((i % 5)) -eq 0 ] && curl -s -o /dev/null "http://127.0.0.1:$DEMO_PORT/error" || true
  sleep 0.5
done
sleep 0.5
echo "demo: request metrics now served on /metrics:" >&2
curl -s "http://127.0.0.1:$DEMO_METRICS_PORT/metrics" | grep -E '^http_server_request_duration_seconds_count|^target_info' || true
