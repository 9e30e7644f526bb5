#!/usr/bin/env bash
# CI smoke test of the benchmark harness: runs every benchmark in its --smoke mode (seconds,
# tiny sizes) and checks that each exits 0 and prints its RESULT lines. The figures are
# meaningless; only the harness is tested. The seven run in parallel (each has its own port
# block), each in its own session so a hung one can be stopped with all its processes.
# Needs root (the agent loads eBPF programs).
#
#   sudo bash bench/smoke.sh
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d /tmp/beyla-bench-smoke.XXXXXX)
LIMIT_S=${BENCH_SMOKE_LIMIT_S:-90} # per benchmark; a hung one fails instead of blocking CI
# benchmark and the number of RESULT lines its --smoke run prints
CHECKS=("overhead 1" "unselected 1" "fixed-rate 2" "ingest 1" "memory 5" "first-metric 3" "syscall-cost 6")
declare -A PID=() STATUS=() SECONDS_TAKEN=()

alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# Stops the benchmarks not yet reaped: SIGTERM (its trap stops its processes), then after
# 15 s SIGKILL to its session (the session id is its pid, ours while it is not reaped).
# shellcheck disable=SC2317 # called from the EXIT trap
stop_jobs() {
  local name i any running=()
  for name in "${!PID[@]}"; do [ -n "${STATUS[$name]-}" ] || running+=("$name"); done
  [ ${#running[@]} -gt 0 ] || return 0
  for name in "${running[@]}"; do kill -TERM "${PID[$name]}" 2>/dev/null || true; done
  for ((i = 0; i < 150; i++)); do
    any=0
    for name in "${running[@]}"; do alive "${PID[$name]}" && any=1; done
    [ "$any" = 0 ] && break
    sleep 0.1
  done
  for name in "${running[@]}"; do
    kill -KILL -- "-${PID[$name]}" 2>/dev/null || true
    wait "${PID[$name]}" 2>/dev/null || true
    STATUS[$name]=stopped
  done
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_jobs
  if [ "$status" = 0 ]; then rm -rf "$TMP"; else echo "smoke: logs kept in $TMP" >&2; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start=$(date +%s)
command -v go >/dev/null || { echo "smoke: go is not installed" >&2; exit 1; }
(cd "$BENCH_DIR/loadgen" && GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0 go build -o "$TMP/loadgen" .) ||
  { echo "smoke: building bench/loadgen failed" >&2; exit 1; }
export BENCH_LOADGEN=$TMP/loadgen

for check in "${CHECKS[@]}"; do
  read -r name _ <<<"$check"
  BENCH_OUT=$TMP/$name setsid bash "$BENCH_DIR/$name.sh" --smoke >"$TMP/$name.log" 2>&1 &
  PID[$name]=$!
done

deadline=$(($(date +%s) + LIMIT_S))
while [ ${#STATUS[@]} -lt ${#PID[@]} ] && [ "$(date +%s)" -lt "$deadline" ]; do
  for name in "${!PID[@]}"; do
    if [ -z "${STATUS[$name]-}" ] && ! alive "${PID[$name]}"; then
      rc=0
      wait "${PID[$name]}" || rc=$?
      STATUS[$name]=$rc SECONDS_TAKEN[$name]=$(($(date +%s) - start))
    fi
  done
  sleep 0.2
done
timed_out=()
for name in "${!PID[@]}"; do [ -n "${STATUS[$name]-}" ] || timed_out+=("$name"); done
stop_jobs
for name in ${timed_out[@]+"${timed_out[@]}"}; do STATUS[$name]="timeout(${LIMIT_S}s)"; done

failed=0
for check in "${CHECKS[@]}"; do
  read -r name want <<<"$check"
  got=$(grep -c "^RESULT $name " "$TMP/$name.log" || true)
  if [ "${STATUS[$name]}" = 0 ] && [ "$got" = "$want" ]; then
    printf 'smoke: ok    %-13s %s RESULT line(s), done after %s s\n' "$name" "$got" "${SECONDS_TAKEN[$name]}"
  else
    failed=1
    printf 'smoke: FAIL  %-13s exit %s, %s of %s RESULT line(s); last lines:\n' "$name" "${STATUS[$name]}" "$got" "$want"
    tail -5 "$TMP/$name.log" | sed 's/^/    /'
  fi
done
printf 'smoke: %s in %s s\n' "$([ "$failed" = 0 ] && echo passed || echo FAILED)" "$(($(date +%s) - start))"
exit "$failed"
