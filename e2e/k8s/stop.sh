#!/usr/bin/env bash
# Stops the control plane that start.sh started in <workdir>: SIGTERM to
# kube-scheduler, kube-controller-manager, kube-apiserver, then etcd, waiting for each to exit
# (SIGKILL after BEYLA_K8S_STOP_TIMEOUT seconds, default 20). Only pids listed
# in <workdir>/env whose command line still names <workdir> are signalled, so a
# recycled pid is never hit. Exits 0 when none of them is left running.
# Usage: stop.sh <workdir> [--clean]   (--clean also removes the state start.sh made)
set -uo pipefail

if [[ $# -lt 1 ]]; then
	echo "usage: $0 <workdir> [--clean]" >&2
	exit 2
fi
if [[ ! -d $1 ]]; then
	echo "stop.sh: no such workdir: $1" >&2
	exit 0
fi
W=$(cd "$1" && pwd)
CLEAN=${2:-}
TIMEOUT=${BEYLA_K8S_STOP_TIMEOUT:-20}
log() { echo "e2e/k8s: $*" >&2; }

ours() { # pid: alive and started by start.sh for this workdir
	[[ -n $1 ]] && kill -0 "$1" 2>/dev/null &&
		tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF "$W/"
}

stop_one() { # name pid
	local name=$1 pid=$2 deadline
	[[ -n $pid ]] || return 0
	if ! ours "$pid"; then
		log "$name (pid $pid) is not running"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null
	deadline=$((SECONDS + TIMEOUT))
	while ours "$pid"; do
		if ((SECONDS >= deadline)); then
			log "$name (pid $pid) still running after ${TIMEOUT}s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null
			sleep 0.5
			break
		fi
		sleep 0.1
	done
	if ours "$pid"; then
		log "$name (pid $pid) did not exit"
		return 1
	fi
	log "$name (pid $pid) stopped"
}

rc=0
if [[ -f $W/env ]]; then
	pid_of() { sed -n "s/^$1=\([0-9]*\)$/\1/p" "$W/env"; }
	stop_one kube-scheduler "$(pid_of SCHEDULER_PID)" || rc=1
	stop_one kube-controller-manager "$(pid_of KCM_PID)" || rc=1
	stop_one kube-apiserver "$(pid_of APISERVER_PID)" || rc=1
	stop_one etcd "$(pid_of ETCD_PID)" || rc=1
else
	log "no $W/env: nothing recorded as started"
fi

if [[ $rc -eq 0 && $CLEAN == --clean ]]; then
	rm -rf "$W/pki" "$W/etcd-data" "$W/logs" "$W/kubeconfig" "$W/kcm.kubeconfig" "$W/scheduler.kubeconfig" "$W/env" "$W/tokens.csv"
	rmdir "$W" 2>/dev/null || true
fi
exit $rc
