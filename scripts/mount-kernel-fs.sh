#!/usr/bin/env bash
# tracefs (syscall tracepoints) and bpffs are not mounted on every machine.
set -euo pipefail
if [ ! -d /sys/kernel/tracing/events ] && [ ! -d /sys/kernel/debug/tracing/events ]; then
  mount -t tracefs nodev /sys/kernel/tracing
fi
if ! mountpoint -q /sys/fs/bpf; then
  mount -t bpf bpf /sys/fs/bpf || true
fi
