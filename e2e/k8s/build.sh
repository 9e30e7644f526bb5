#!/usr/bin/env bash
# Builds the binaries of the e2e Kubernetes control plane from their Go modules:
#   kube-apiserver, kube-controller-manager,
#   kube-scheduler, kubectl                           (k8s.io/kubernetes, tools/kube)
#   etcd                                              (go.etcd.io/etcd/server/v3, tools/etcd)
#   helm                                              (helm.sh/helm/v3/cmd/helm, tools/helm)
# into ${BEYLA_K8S_CACHE:-/var/cache/beyla-k8s}/<versions-key>/bin, and keeps
# GOMODCACHE and GOCACHE under the same cache dir. Exits at once when that bin
# dir is already complete. Prints the bin dir on the last line of stdout.
#
# Environment:
#   BEYLA_K8S_CACHE   cache root (default /var/cache/beyla-k8s)
#   BEYLA_K8S_GO_P    go build -p (default 1: the machine is shared; 2 is ~faster)
#   BEYLA_K8S_NICE    nice level of the compiles (default 19)
# Usage: build.sh [--print-bin-dir]
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ${1:-} == --print-bin-dir ]]; then
	k8s_bin_dir
	exit 0
fi

command -v go >/dev/null || { echo "build.sh: go is not on PATH" >&2; exit 1; }
command -v flock >/dev/null || { echo "build.sh: flock (util-linux) is missing" >&2; exit 1; }

KEY=$(k8s_versions_key)
OUT=$K8S_CACHE/$KEY
BIN=$OUT/bin

complete() {
	[[ -f $BIN/.complete ]] || return 1
	local b
	for b in "${K8S_BINARIES[@]}"; do [[ -x $BIN/$b ]] || return 1; done
}

if complete; then
	echo "e2e/k8s: cache complete: $BIN" >&2
	echo "$BIN"
	exit 0
fi

mkdir -p "$K8S_CACHE" "$BIN"
# One build at a time per cache root (two CI jobs, or a developer and a test).
exec 9>"$K8S_CACHE/.lock"
if ! flock -n 9; then
	echo "e2e/k8s: waiting for another build.sh holding $K8S_CACHE/.lock" >&2
	flock 9
fi
if complete; then
	echo "e2e/k8s: cache completed by another build: $BIN" >&2
	echo "$BIN"
	exit 0
fi

export GOMODCACHE=$K8S_CACHE/go/mod
export GOCACHE=$K8S_CACHE/go/build
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0
# -trimpath: no local paths in binaries, and reusable cache entries whatever
# the checkout path. -mod=readonly: go.sum in tools/ is authoritative.
export GOFLAGS="-mod=readonly -buildvcs=false -trimpath"
P=${BEYLA_K8S_GO_P:-1}
NICE=${BEYLA_K8S_NICE:-19}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
TIMES=$OUT/build-times.txt
: >"$TIMES"
record() { # name seconds
	printf '%-24s %8ss\n' "$1" "$2" | tee -a "$TIMES" >&2
}

# ldflags: strip symbols/DWARF (-s -w) and stamp versions the way the upstream
# Makefiles do, so /version, `kubectl version` and `helm version` tell the truth.
k8s_minor=${K8S_VERSION#v1.}
k8s_minor=${k8s_minor%%.*}
KUBE_LDFLAGS="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	KUBE_LDFLAGS+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$k8s_minor -X $p.gitTreeState=clean"
done
helm_k8s=$(k8s_modver helm k8s.io/client-go) # v0.34.2 -> Kubernetes 1.34
helm_k8s_minor=${helm_k8s#v0.}
helm_k8s_minor=${helm_k8s_minor%%.*}
HELM_LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
	HELM_LDFLAGS+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$helm_k8s_minor"
done
ETCD_LDFLAGS="-s -w"

echo "e2e/k8s: building $KEY (go build -p $P, nice $NICE) into $BIN" >&2
total_start=$(now)

fetch() { # module-dir packages...: download just the modules these packages need
	local dir=$1 t
	shift
	t=$(now)
	# "go: downloading" lines go to a log; shown only if the download fails.
	if ! (cd "$K8S_TOOLS_DIR/$dir" && go list -deps "$@" >/dev/null 2>"$OUT/download-$dir.log"); then
		cat "$OUT/download-$dir.log" >&2
		return 1
	fi
	record "download ($dir)" "$(since "$t")"
}

build() { # module-dir binary-name package ldflags
	local dir=$1 name=$2 pkg=$3 ldflags=$4 t
	if [[ -x $BIN/$name ]]; then
		echo "e2e/k8s: $name already built" >&2
		return 0
	fi
	t=$(now)
	(cd "$K8S_TOOLS_DIR/$dir" && nice -n "$NICE" go build -p "$P" -ldflags "$ldflags" -o "$BIN/.$name.tmp" "$pkg")
	mv -f "$BIN/.$name.tmp" "$BIN/$name"
	record "$name" "$(since "$t")"
}

fetch kube k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
	k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
build kube kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$KUBE_LDFLAGS"
build kube kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$KUBE_LDFLAGS"
build kube kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler "$KUBE_LDFLAGS"
build kube kubectl k8s.io/kubernetes/cmd/kubectl "$KUBE_LDFLAGS"
fetch etcd go.etcd.io/etcd/server/v3
build etcd etcd go.etcd.io/etcd/server/v3 "$ETCD_LDFLAGS"
fetch helm helm.sh/helm/v3/cmd/helm
build helm helm helm.sh/helm/v3/cmd/helm "$HELM_LDFLAGS"

record total "$(since "$total_start")"
{
	echo "key=$KEY"
	echo "kubernetes=$K8S_VERSION etcd=$ETCD_VERSION helm=$HELM_VERSION go=$(go env GOVERSION)"
	echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ) go_build_p=$P"
} >"$BIN/.complete"
echo "e2e/k8s: done; times in $TIMES" >&2
echo "$BIN"
