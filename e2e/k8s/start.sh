#!/usr/bin/env bash
# Starts a real Kubernetes control plane on loopback for end-to-end tests:
# etcd + kube-apiserver (+ kube-controller-manager + kube-scheduler), all built
# by build.sh. No kubelet: Pods are stored, scheduled and bound, and stay
# Pending; their status can be patched through the status subresource to look
# like running containers.
#
# Usage: start.sh <workdir>
# Writes <workdir>/kubeconfig and <workdir>/env (KEY=value lines, see the end
# of this file), logs in <workdir>/logs. Stop with stop.sh <workdir>.
#
# Environment:
#   BEYLA_K8S_CACHE   cache root used by build.sh (default /var/cache/beyla-k8s)
#   BEYLA_K8S_BIN     use binaries from this dir instead of the build cache
#   BEYLA_K8S_KCM     1 (default): run kube-controller-manager and kube-scheduler;
#                     0: only etcd + kube-apiserver (ServiceAccount admission off)
#   BEYLA_K8S_NODES   Node objects to create, space separated (default "e2e-node")
#   BEYLA_K8S_API_PORT / BEYLA_K8S_ETCD_PORT   fixed ports (default: free random ones)
#   BEYLA_K8S_TIMEOUT seconds to wait for readiness (default 120)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ $# -ne 1 ]]; then
	echo "usage: $0 <workdir>" >&2
	exit 2
fi
mkdir -p "$1"
W=$(cd "$1" && pwd)
if [[ $W =~ [[:space:]] ]]; then
	echo "start.sh: workdir must not contain whitespace: $W" >&2
	exit 2
fi

BIN=$(k8s_bin_dir)
for b in kube-apiserver kubectl etcd; do
	if [[ ! -x $BIN/$b ]]; then
		echo "start.sh: $BIN/$b is missing: run e2e/k8s/build.sh first" >&2
		exit 1
	fi
done
KCM=${BEYLA_K8S_KCM:-1}
if [[ $KCM == 1 ]]; then
	for b in kube-controller-manager kube-scheduler; do
		if [[ ! -x $BIN/$b ]]; then
			echo "start.sh: $BIN/$b is missing (BEYLA_K8S_KCM=0 to run without it)" >&2
			exit 1
		fi
	done
fi
command -v openssl >/dev/null || { echo "start.sh: openssl is missing (apt-get install openssl)" >&2; exit 1; }
TIMEOUT=${BEYLA_K8S_TIMEOUT:-120}
NODES=${BEYLA_K8S_NODES-e2e-node}

# Refuse to start over a cluster that is still running in this workdir.
if [[ -f $W/env ]]; then
	# shellcheck disable=SC1091
	old_pids=$(sed -n 's/^\(ETCD\|APISERVER\|KCM\|SCHEDULER\)_PID=\([0-9]\+\)$/\2/p' "$W/env")
	for p in $old_pids; do
		if kill -0 "$p" 2>/dev/null && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$W/"; then
			echo "start.sh: a control plane is already running in $W (pid $p): run stop.sh $W first" >&2
			exit 1
		fi
	done
fi

# Fresh state every time (only the paths this script owns).
rm -rf "$W/pki" "$W/etcd-data" "$W/logs" "$W/kubeconfig" "$W/kcm.kubeconfig" "$W/scheduler.kubeconfig" "$W/env" "$W/tokens.csv"
mkdir -p "$W/pki" "$W/etcd-data" "$W/logs"
chmod 700 "$W/pki" "$W/etcd-data"

log() { echo "e2e/k8s: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
t0=$(now)

# --- ports -------------------------------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
declare -A TAKEN=()
free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		# below the kernel's ephemeral range (32768+), where outgoing connections take ports
		p=$((20000 + RANDOM % 12000))
		[[ -z ${TAKEN[$p]:-} ]] || continue
		port_in_use "$p" && continue
		TAKEN[$p]=1
		echo "$p"
		return 0
	done
	echo "start.sh: no free port found" >&2
	return 1
}
ETCD_PORT=${BEYLA_K8S_ETCD_PORT:-$(free_port)}
TAKEN[$ETCD_PORT]=1
ETCD_PEER_PORT=$(free_port)
TAKEN[$ETCD_PEER_PORT]=1
API_PORT=${BEYLA_K8S_API_PORT:-$(free_port)}
TAKEN[$API_PORT]=1
KCM_PORT=$(free_port)
TAKEN[$KCM_PORT]=1
SCHEDULER_PORT=$(free_port)

# --- PKI ---------------------------------------------------------------------
P=$W/pki
openssl_q() { openssl "$@" 2>>"$W/logs/openssl.log"; }
# CA (ECDSA P-256: fast to generate; Go, Node and curl all accept it).
openssl_q req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-keyout "$P/ca.key" -out "$P/ca.crt" -days 3650 -subj "/CN=beyla-e2e-ca" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
# Serving cert for the API server: loopback names plus the in-cluster names
# and the first service IP, so the same cert works for clients either way.
openssl_q req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	-keyout "$P/apiserver.key" -out "$P/apiserver.csr" -subj "/CN=kube-apiserver"
cat >"$P/apiserver.ext" <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
openssl_q x509 -req -in "$P/apiserver.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
	-days 365 -extfile "$P/apiserver.ext" -out "$P/apiserver.crt"
# ServiceAccount token signing keypair (RSA: RS256 is what every verifier expects).
openssl_q genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$P/sa.key"
openssl_q pkey -in "$P/sa.key" -pubout -out "$P/sa.pub"
chmod 600 "$P"/*.key

# --- tokens ------------------------------------------------------------------
rand_token() { openssl rand -hex 24; }
ADMIN_TOKEN=$(rand_token)
KCM_TOKEN=$(rand_token)
SCHEDULER_TOKEN=$(rand_token)
# token,user,uid,"group1,group2". The two component users are the ones the
# API server's bootstrap RBAC policy already binds to their ClusterRoles.
cat >"$W/tokens.csv" <<EOF
$ADMIN_TOKEN,e2e-admin,e2e-admin,"system:masters"
$KCM_TOKEN,system:kube-controller-manager,system:kube-controller-manager
$SCHEDULER_TOKEN,system:kube-scheduler,system:kube-scheduler
EOF
chmod 600 "$W/tokens.csv"
API_URL=https://127.0.0.1:$API_PORT

write_kubeconfig() { # file user token
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: beyla-e2e
  cluster:
    server: $API_URL
    certificate-authority-data: $(base64 -w0 <"$P/ca.crt")
users:
- name: $2
  user:
    token: $3
contexts:
- name: beyla-e2e
  context:
    cluster: beyla-e2e
    user: $2
    namespace: default
current-context: beyla-e2e
EOF
	chmod 600 "$1"
}
write_kubeconfig "$W/kubeconfig" e2e-admin "$ADMIN_TOKEN"
write_kubeconfig "$W/kcm.kubeconfig" system:kube-controller-manager "$KCM_TOKEN"
write_kubeconfig "$W/scheduler.kubeconfig" system:kube-scheduler "$SCHEDULER_TOKEN"

# --- process helpers -----------------------------------------------------------
ETCD_PID='' APISERVER_PID='' KCM_PID='' SCHEDULER_PID=''
cleanup_on_error() {
	local rc=$? p
	[[ $rc -eq 0 ]] && return
	log "start failed (exit $rc); stopping what was started. Logs: $W/logs"
	for p in $SCHEDULER_PID $KCM_PID $APISERVER_PID $ETCD_PID; do kill "$p" 2>/dev/null || true; done
	sleep 1
	for p in $SCHEDULER_PID $KCM_PID $APISERVER_PID $ETCD_PID; do kill -9 "$p" 2>/dev/null || true; done
	for f in "$W"/logs/*.log; do
		[[ -s $f ]] || continue
		echo "----- tail $f" >&2
		grep -v 'createTransport failed' "$f" | tail -n 15 >&2
	done
}
trap cleanup_on_error EXIT

# Start a daemon in its own session so it outlives this script and the
# caller's process group; prints its pid.
spawn() { # name command...
	local name=$1
	shift
	setsid "$@" </dev/null >"$W/logs/$name.log" 2>&1 &
	echo $!
}

wait_until() { # description seconds pid command...
	local what=$1 secs=$2 pid=$3 deadline
	shift 3
	deadline=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$what: process $pid exited"
			return 1
		fi
		if ((SECONDS >= deadline)); then
			log "$what: not ready after ${secs}s"
			return 1
		fi
		sleep 0.2
	done
}

http_get_ok() ( # port path: plain HTTP GET on loopback, succeeds on a 200
	exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
	reply=$(timeout 5 cat <&3)
	[[ $reply == "HTTP/1."?" 200"* ]]
)

KUBECTL=("$BIN/kubectl" --kubeconfig "$W/kubeconfig" --request-timeout=10s)
healthz_ok() { # port: anonymous GET /healthz on a component's self-signed secure port
	local reply
	reply=$(printf 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' |
		timeout 5 openssl s_client -quiet -connect "127.0.0.1:$1" 2>/dev/null | head -c 64)
	[[ $reply == "HTTP/1.1 200"* ]]
}

# --- etcd ----------------------------------------------------------------------
ETCD_URL=http://127.0.0.1:$ETCD_PORT
ETCD_PID=$(spawn etcd "$BIN/etcd" \
	--name beyla-e2e \
	--data-dir "$W/etcd-data" \
	--listen-client-urls "$ETCD_URL" \
	--advertise-client-urls "$ETCD_URL" \
	--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
	--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
	--initial-cluster "beyla-e2e=http://127.0.0.1:$ETCD_PEER_PORT" \
	--initial-cluster-state new \
	--unsafe-no-fsync \
	--log-level warn)
wait_until etcd "$TIMEOUT" "$ETCD_PID" http_get_ok "$ETCD_PORT" /health
log "etcd ready on $ETCD_URL (pid $ETCD_PID) after $(since "$t0")s"

# --- kube-apiserver ------------------------------------------------------------
SERVICE_CIDR=10.96.0.0/16
# --endpoint-reconciler-type none: the reconciler would publish the advertise
# address (127.0.0.1) as the "kubernetes" Service's endpoint, which validation
# rejects for loopback addresses (an error every 10s in the log).
# The default admission plugins, less TaintNodesByCondition (it would taint the
# Nodes created below not-ready, and no kubelet ever clears that). Without
# kube-controller-manager nobody creates the "default" ServiceAccounts, so the
# ServiceAccount plugin (which rejects Pods whose SA is missing) goes too.
DISABLED_ADMISSION=TaintNodesByCondition
[[ $KCM == 1 ]] || DISABLED_ADMISSION+=,ServiceAccount
APISERVER_PID=$(spawn kube-apiserver "$BIN/kube-apiserver" \
	--etcd-servers "$ETCD_URL" \
	--bind-address 127.0.0.1 \
	--advertise-address 127.0.0.1 \
	--secure-port "$API_PORT" \
	--tls-cert-file "$P/apiserver.crt" \
	--tls-private-key-file "$P/apiserver.key" \
	--client-ca-file "$P/ca.crt" \
	--token-auth-file "$W/tokens.csv" \
	--authorization-mode RBAC \
	--service-account-issuer https://kubernetes.default.svc.cluster.local \
	--service-account-key-file "$P/sa.pub" \
	--service-account-signing-key-file "$P/sa.key" \
	--service-cluster-ip-range "$SERVICE_CIDR" \
	--allow-privileged=true \
	--disable-admission-plugins "$DISABLED_ADMISSION" \
	--endpoint-reconciler-type none \
	--profiling=false \
	--event-ttl 1h)
wait_until kube-apiserver "$TIMEOUT" "$APISERVER_PID" "${KUBECTL[@]}" get --raw /readyz
log "kube-apiserver ready on $API_URL (pid $APISERVER_PID) after $(since "$t0")s"

# --- nodes -----------------------------------------------------------------------
# No kubelet registers them, so create them: the DaemonSet controller only makes
# Pods for existing Nodes, and the scheduler only binds to Ready Nodes with room
# (allocatable pods/cpu/memory). Marked Ready once; with the node-lifecycle
# controller off nothing ever marks them NotReady or taints them.
res='{"cpu":"8","memory":"32Gi","pods":"250","ephemeral-storage":"100Gi"}'
for n in $NODES; do
	"${KUBECTL[@]}" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $n
  labels:
    kubernetes.io/hostname: $n
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
EOF
	"${KUBECTL[@]}" patch node "$n" --subresource=status --type=merge -p \
		"{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"BeylaE2E\",\"message\":\"no kubelet: e2e/k8s/start.sh\",\"lastHeartbeatTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"lastTransitionTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}],\"capacity\":$res,\"allocatable\":$res,\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"127.0.0.1\"},{\"type\":\"Hostname\",\"address\":\"$n\"}]}}" >/dev/null
done

# --- kube-controller-manager -------------------------------------------------------
if [[ $KCM == 1 ]]; then
	mkdir -p "$W/pki/kcm" "$W/pki/scheduler"
	# Off: node-lifecycle (would mark the kubelet-less Nodes NotReady and evict
	# their Pods) and pod-garbage-collector (would delete Pods bound to Node
	# names that have no Node object, which tests do on purpose).
	# --authentication-skip-lookup: no front-proxy (request-header) CA is set up,
	# and looking it up would log an error every few seconds. /healthz is
	# served to anonymous callers either way.
	KCM_PID=$(spawn kube-controller-manager "$BIN/kube-controller-manager" \
		--kubeconfig "$W/kcm.kubeconfig" \
		--authentication-kubeconfig "$W/kcm.kubeconfig" \
		--authorization-kubeconfig "$W/kcm.kubeconfig" \
		--authentication-skip-lookup \
		--bind-address 127.0.0.1 \
		--secure-port "$KCM_PORT" \
		--cert-dir "$W/pki/kcm" \
		--leader-elect=false \
		--use-service-account-credentials=true \
		--service-account-private-key-file "$P/sa.key" \
		--root-ca-file "$P/ca.crt" \
		--cluster-signing-cert-file "$P/ca.crt" \
		--cluster-signing-key-file "$P/ca.key" \
		--service-cluster-ip-range "$SERVICE_CIDR" \
		--cluster-name beyla-e2e \
		--controllers '*,-node-lifecycle-controller,-pod-garbage-collector-controller' \
		--profiling=false)
	SCHEDULER_PID=$(spawn kube-scheduler "$BIN/kube-scheduler" \
		--kubeconfig "$W/scheduler.kubeconfig" \
		--authentication-kubeconfig "$W/scheduler.kubeconfig" \
		--authorization-kubeconfig "$W/scheduler.kubeconfig" \
		--authentication-skip-lookup \
		--bind-address 127.0.0.1 \
		--secure-port "$SCHEDULER_PORT" \
		--cert-dir "$W/pki/scheduler" \
		--leader-elect=false \
		--profiling=false)
	# Ready when its serviceaccount controller has made the default namespace's SA
	# (Pods need it: the ServiceAccount admission plugin is on).
	wait_until kube-controller-manager "$TIMEOUT" "$KCM_PID" healthz_ok "$KCM_PORT"
	wait_until kube-controller-manager "$TIMEOUT" "$KCM_PID" \
		"${KUBECTL[@]}" get serviceaccount default -n default -o name
	log "kube-controller-manager running (pid $KCM_PID) after $(since "$t0")s"
	wait_until kube-scheduler "$TIMEOUT" "$SCHEDULER_PID" healthz_ok "$SCHEDULER_PORT"
	log "kube-scheduler running (pid $SCHEDULER_PID) after $(since "$t0")s"
fi

# --- env -----------------------------------------------------------------------------
cat >"$W/env.tmp" <<EOF
KUBECONFIG=$W/kubeconfig
K8S_API_URL=$API_URL
K8S_TOKEN=$ADMIN_TOKEN
K8S_CA_FILE=$P/ca.crt
K8S_NODE_NAME=${NODES%% *}
K8S_NODES=$(tr ' ' ',' <<<"$NODES")
K8S_BIN_DIR=$BIN
K8S_WORKDIR=$W
K8S_SA_ISSUER=https://kubernetes.default.svc.cluster.local
ETCD_URL=$ETCD_URL
ETCD_PID=$ETCD_PID
APISERVER_PID=$APISERVER_PID
KCM_PID=$KCM_PID
SCHEDULER_PID=$SCHEDULER_PID
EOF
chmod 600 "$W/env.tmp"
mv "$W/env.tmp" "$W/env"
trap - EXIT
log "control plane up in $(since "$t0")s; env: $W/env"
