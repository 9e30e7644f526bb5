#!/usr/bin/env bash
# Runs every benchmark, one after the other, in the same mode, and collects their RESULT
# lines. A failing benchmark is reported and the others still run; the exit status is
# non-zero if any failed.
#
#   sudo bash bench/run-all.sh            # full: about 45 minutes (memory's steady run is 10)
#   sudo bash bench/run-all.sh --quick    # about 10 minutes
#   sudo bash bench/run-all.sh --profile  # also profile the agent during bench/ingest.sh
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
MODE=--full PROFILE=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke | --quick | --full) MODE=$1 ;;
    --profile) PROFILE=(--profile) ;;
    -h | --help)
      sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) echo "run-all: unknown argument '$1' (allowed: --smoke, --quick, --full, --profile)" >&2 && exit 2 ;;
  esac
  shift
done

OUT=${BENCH_OUT:-$BENCH_DIR/results/all-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
echo "run-all: mode ${MODE#--}, logs and results in $OUT"
failed=()
for name in overhead fixed-rate unselected syscall-cost ingest memory first-metric; do
  args=("$MODE")
  [ "$name" = ingest ] && args+=(${PROFILE[@]+"${PROFILE[@]}"})
  echo
  echo "run-all: bash bench/$name.sh ${args[*]}"
  if ! BENCH_OUT=$OUT/$name bash "$BENCH_DIR/$name.sh" "${args[@]}" 2>&1 | tee "$OUT/$name.txt"; then
    failed+=("$name")
  fi
done

echo
echo "== results (also in $OUT/results.txt) =="
grep -h '^RESULT ' "$OUT"/*.txt | tee "$OUT/results.txt" || true
if [ ${#failed[@]} -gt 0 ]; then
  echo "run-all: FAILED: ${failed[*]}" >&2
  exit 1
fi
