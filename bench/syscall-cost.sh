#!/usr/bin/env bash
# The kernel-side cost of the agent's hooks for a process it does NOT select: ns per call with
# no BPF program, with the agent on its socket hooks and on its syscall hooks, with the
# cheapest possible syscall tracepoint programs (only the PID check), and with the
# raw-tracepoint alternative (one program on every syscall entry and exit).
# It explains unselected.sh: what is left there is the kernel's cost of the hooks.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

bench_init syscall-cost "Usage: bench/syscall-cost.sh [--smoke|--quick] [--rounds N]

Times getppid (no agent hook), a 1-byte write to /dev/null (a syscall hook, not a socket) and
a 1-byte write+read on a Unix socket pair (two socket hook hits) in loops of \$BENCH_SYSCALLS
(2,000,000) calls, pinned to BENCH_SERVER_CPU (0), in six setups, alternating, several rounds:
  base    no BPF program loaded by this benchmark
  agent   the agent running (on BENCH_AGENT_CPU) with its default hooks (the socket
          tracepoints on Linux 6.3+), selecting only a port nobody listens on
  agent-syscalls  the same with BEYLA_EBPF_CAPTURE_HOOKS=syscalls
  floor   bench/syscall-cost/floor.bpf.c: sys_enter_write + sys_exit_write, PID check only
  exit    bench/syscall-cost/exit.bpf.c: sys_exit_write only, PID check only
  rawtp   bench/syscall-cost/rawtp.bpf.c: raw_tracepoint sys_enter + sys_exit, PID check only
Prints the medians and each setup's added ns per call over base.
Defaults: full 7 rounds; --quick 3; --smoke 1 with 200,000 calls."

while [ $# -gt 0 ]; do
  bench_common_arg "$@"
  shift "$BENCH_SHIFT"
done
bench_start_run

ROUNDS=${BENCH_ROUNDS:-$(pick_by_mode 7 3 1)}
CALLS=${BENCH_SYSCALLS:-$(pick_by_mode 2000000 2000000 200000)}
METRICS_PORT=$((${BENCH_PORT_BASE:-20700} + 9))
SRC=$BENCH_DIR/syscall-cost
OUT=$BENCH_DIR/.build/syscall-cost
NATIVE_BUILD=$REPO_ROOT/packages/ebpf-native/build
LIBBPF_A=$NATIVE_BUILD/libbpf/lib/libbpf.a
[ -f "$LIBBPF_A" ] || die "$LIBBPF_A is missing: run 'bash scripts/setup.sh' first"

build() {
  mkdir -p "$OUT"
  local arch_inc
  arch_inc=/usr/include/$(uname -m)-linux-gnu
  show_cmd gcc -O2 -o "$OUT/syscalls" "$SRC/syscalls.c"
  gcc -O2 -o "$OUT/syscalls" "$SRC/syscalls.c" || die "cannot build syscalls.c"
  gcc -O2 -I"$NATIVE_BUILD/libbpf/include" -o "$OUT/loader" "$SRC/loader.c" "$LIBBPF_A" -lelf -lz ||
    die "cannot build loader.c"
  for prog in floor exit rawtp; do
    clang -O2 -g -target bpf -I"$arch_inc" -I"$NATIVE_BUILD/libbpf/include" \
      -c "$SRC/$prog.bpf.c" -o "$OUT/$prog.bpf.o" || die "cannot build $prog.bpf.c"
  done
}

# kv_line LINE KEY: the value of KEY=value in LINE.
kv_line() { printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }

# time_calls: one timed loop on the server CPU; prints "getppid_ns=.. write_ns=..".
time_calls() { taskset -c "$SERVER_CPU" "$OUT/syscalls" "$CALLS"; }

# with_program OBJ: time_calls while the loader keeps OBJ's programs attached.
with_program() {
  local fifo=$BENCH_TMP/loader.in out=$BENCH_TMP/loader.out line i
  rm -f "$fifo"
  mkfifo "$fifo"
  "$OUT/loader" "$1" <"$fifo" >"$out" 2>&1 &
  local pid=$!
  exec 7>"$fifo"
  for ((i = 0; i < 100; i++)); do
    grep -q attached "$out" && break
    kill -0 "$pid" 2>/dev/null || die "loader $1: $(cat "$out")"
    sleep 0.05
  done
  grep -q attached "$out" || die "loader $1 did not attach within 5s"
  line=$(time_calls)
  exec 7>&-
  wait "$pid"
  printf '%s\n' "$line"
}

# with_agent [VAR=value...]: time_calls with the agent running.
with_agent() {
  agent_start "$METRICS_PORT" BEYLA_OPEN_PORT=1 "$@"
  sleep 1
  time_calls
  agent_stop
}

build
SETUPS=(base agent agent-syscalls floor exit rawtp)
declare -A GETPPID WRITE SOCK
for ((round = 1; round <= ROUNDS; round++)); do
  order=("${SETUPS[@]}")
  ((round % 2 == 0)) && order=(rawtp exit floor agent-syscalls agent base)
  for setup in "${order[@]}"; do
    case $setup in
      base) line=$(time_calls) ;;
      agent) line=$(with_agent) ;;
      agent-syscalls) line=$(with_agent BEYLA_EBPF_CAPTURE_HOOKS=syscalls) ;;
      floor) line=$(with_program "$OUT/floor.bpf.o") ;;
      exit) line=$(with_program "$OUT/exit.bpf.o") ;;
      rawtp) line=$(with_program "$OUT/rawtp.bpf.o") ;;
    esac
    line=$(printf '%s\n' "$line" | grep '^getppid_ns=' | tail -1)
    [ -n "$line" ] || die "no timing from setup $setup"
    log "round $round $setup $line"
    GETPPID[$setup]+="$(kv_line "$line" getppid_ns) "
    WRITE[$setup]+="$(kv_line "$line" write_ns) "
    SOCK[$setup]+="$(kv_line "$line" sock_ns) "
  done
done

# shellcheck disable=SC2086 # word splitting of the number lists is intended
base_g=$(median ${GETPPID[base]}) base_w=$(median ${WRITE[base]}) base_s=$(median ${SOCK[base]})
added() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a - b }'; }
for setup in "${SETUPS[@]}"; do
  # shellcheck disable=SC2086
  g=$(median ${GETPPID[$setup]}) w=$(median ${WRITE[$setup]}) s=$(median ${SOCK[$setup]})
  result "setup=$setup rounds=$ROUNDS calls=$CALLS getppid_ns=$g write_ns=$w sock_ns=$s" \
    "getppid_added_ns=$(added "$g" "$base_g")" "write_added_ns=$(added "$w" "$base_w")" \
    "sock_added_ns=$(added "$s" "$base_s")"
done
