# shellcheck shell=bash
# Shared by build.sh, start.sh and stop.sh: where the binaries live and which
# versions they are. Sourcing it sets:
#   K8S_TOOLS_DIR      e2e/k8s/tools (the three pinning Go modules)
#   K8S_CACHE          ${BEYLA_K8S_CACHE:-/var/cache/beyla-k8s}
#   K8S_VERSION, ETCD_VERSION, HELM_VERSION   read from the tools' go.mod files
#   K8S_BINARIES       the binaries build.sh produces
#   k8s_versions_key   (function) prints the cache key, see below
#   k8s_bin_dir        (function) prints the bin dir for that key

K8S_E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
K8S_TOOLS_DIR=$K8S_E2E_DIR/tools
K8S_CACHE=${BEYLA_K8S_CACHE:-/var/cache/beyla-k8s}

# Bump when build.sh changes how binaries are built (flags, stamping, list):
# it changes the cache key, so stale binaries are never reused.
K8S_BUILD_REV=1

K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd helm)

# Version of module $2 as required by tools/$1/go.mod (replace lines have "=>"
# in the second field, so they never match).
k8s_modver() {
	awk -v m="$2" '$1 == m && $2 ~ /^v[0-9]/ { print $2; exit }' "$K8S_TOOLS_DIR/$1/go.mod"
}

K8S_VERSION=$(k8s_modver kube k8s.io/kubernetes)
ETCD_VERSION=$(k8s_modver etcd go.etcd.io/etcd/server/v3)
HELM_VERSION=$(k8s_modver helm helm.sh/helm/v3)
if [[ -z $K8S_VERSION || -z $ETCD_VERSION || -z $HELM_VERSION ]]; then
	echo "e2e/k8s: cannot read versions from $K8S_TOOLS_DIR/*/go.mod" >&2
	# shellcheck disable=SC2317 # exit only runs when executed, not sourced
	return 1 2>/dev/null || exit 1
fi

# <k8s>-<etcd>-<helm>-<go>-<hash>: the readable part says what is inside; the
# hash covers go.mod + go.sum of the three modules and K8S_BUILD_REV, so any
# change in the pinned dependency graph or in the build recipe gets a new dir.
k8s_versions_key() {
	local gover hash
	gover=$(go env GOVERSION 2>/dev/null || echo nogo)
	hash=$(
		cd "$K8S_TOOLS_DIR" &&
			{ echo "rev=$K8S_BUILD_REV bins=${K8S_BINARIES[*]}"; cat kube/go.mod kube/go.sum etcd/go.mod etcd/go.sum helm/go.mod helm/go.sum; } |
			sha256sum | cut -c1-10
	)
	printf 'k8s-%s_etcd-%s_helm-%s_%s_%s\n' "$K8S_VERSION" "$ETCD_VERSION" "$HELM_VERSION" "$gover" "$hash"
}

k8s_bin_dir() {
	if [[ -n ${BEYLA_K8S_BIN:-} ]]; then
		printf '%s\n' "$BEYLA_K8S_BIN"
	else
		printf '%s/%s/bin\n' "$K8S_CACHE" "$(k8s_versions_key)"
	fi
}
