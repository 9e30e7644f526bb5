#!/usr/bin/env bash
# Runs the whole chart on a kind cluster (kind-config.yaml: one control plane, one worker):
# creates the cluster, builds and loads the images, installs charts/beyla with a TLS Secret for
# the operator <-> agent channel, deploys the demo workload and a BeylaInstrumentation for it.
# Then: e2e/kind/check.sh (asserts the demo's requests are measured), e2e/kind/down.sh.
#
# Needs: docker (BuildKit), kind, kubectl, helm, openssl; a Linux host (or Docker Desktop VM)
# with kernel 5.17+, BTF, tracefs and bpffs mounted (scripts/mount-kernel-fs.sh).
# Environment: KIND_CLUSTER (default beyla), BEYLA_IMAGE_TAG (default dev), HELM (default helm),
#              SKIP_BUILD=1 to reuse images already built.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLUSTER=${KIND_CLUSTER:-beyla}
TAG=${BEYLA_IMAGE_TAG:-dev}
HELM=${HELM:-helm}
NS=beyla-system
CTX=kind-$CLUSTER
K=(kubectl --context "$CTX")
log() { echo "e2e/kind: $*" >&2; }

for tool in docker kind kubectl "$HELM" openssl; do
	command -v "$tool" >/dev/null || {
		log "$tool is not on PATH"
		exit 1
	}
done

# The nodes bind the host's tracefs and bpffs (kind-config.yaml): they must be mounted first.
if [[ $(uname -s) == Linux ]]; then
	if [[ ! -d /sys/kernel/tracing/events ]]; then
		log "tracefs is not mounted on /sys/kernel/tracing: run sudo bash scripts/mount-kernel-fs.sh"
		exit 1
	fi
	if ! mountpoint -q /sys/fs/bpf; then
		log "bpffs is not mounted on /sys/fs/bpf: run sudo bash scripts/mount-kernel-fs.sh"
		exit 1
	fi
fi

if kind get clusters | grep -qx "$CLUSTER"; then
	log "cluster $CLUSTER exists: reusing it"
else
	# The config's name is overridden by --name when KIND_CLUSTER is set.
	kind create cluster --name "$CLUSTER" --config "$ROOT/kind-config.yaml" --wait 120s
fi

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
	for target in agent operator; do
		log "building beyla-ts/$target:$TAG"
		DOCKER_BUILDKIT=1 docker build -f "$ROOT/deploy/images/Dockerfile" --target "$target" \
			-t "beyla-ts/$target:$TAG" "$ROOT"
	done
fi
kind load docker-image --name "$CLUSTER" "beyla-ts/agent:$TAG" "beyla-ts/operator:$TAG"

# Namespace with the Pod Security level the agent needs (hostPID, hostPath, capabilities).
"${K[@]}" create namespace "$NS" --dry-run=client -o yaml | "${K[@]}" apply -f -
"${K[@]}" label namespace "$NS" pod-security.kubernetes.io/enforce=privileged --overwrite

# TLS of the control channel: a throw-away CA, and one certificate for the operator's Service
# name that the agents also serve. Agents are reached by Pod IP, which this certificate does not
# name, so the operator skips verifying them (control.tls.insecureSkipVerify); both directions
# stay authenticated by ServiceAccount tokens (TokenReview).
if ! "${K[@]}" -n "$NS" get secret beyla-control-tls >/dev/null 2>&1; then
	tls=$(mktemp -d)
	trap 'rm -rf "$tls"' EXIT
	openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 30 \
		-keyout "$tls/ca.key" -out "$tls/ca.crt" -subj "/CN=beyla-kind-ca" 2>/dev/null
	openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-keyout "$tls/tls.key" -out "$tls/tls.csr" -subj "/CN=beyla-operator" 2>/dev/null
	printf 'subjectAltName=DNS:beyla-operator.%s.svc,DNS:beyla-operator.%s.svc.cluster.local\nextendedKeyUsage=serverAuth\n' \
		"$NS" "$NS" >"$tls/ext"
	openssl x509 -req -in "$tls/tls.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial \
		-days 30 -extfile "$tls/ext" -out "$tls/tls.crt" 2>/dev/null
	"${K[@]}" -n "$NS" create secret generic beyla-control-tls \
		--from-file=tls.crt="$tls/tls.crt" --from-file=tls.key="$tls/tls.key" --from-file=ca.crt="$tls/ca.crt"
fi

log "installing charts/beyla"
"$HELM" upgrade --install beyla "$ROOT/charts/beyla" --kube-context "$CTX" -n "$NS" \
	--set agent.image.tag="$TAG" --set operator.image.tag="$TAG" \
	--set agent.image.pullPolicy=Never --set operator.image.pullPolicy=Never \
	--set control.tls.secretName=beyla-control-tls --set control.tls.insecureSkipVerify=true \
	--set agent.config.attributes.kubernetes.cluster_name="kind-$CLUSTER" \
	--wait --timeout 5m

log "deploying the demo workload and its BeylaInstrumentation"
"${K[@]}" apply -f "$ROOT/e2e/kind/demo.yaml"
"${K[@]}" -n demo rollout status deployment/demo-http --timeout 120s
"${K[@]}" -n demo rollout status deployment/demo-load --timeout 120s
"${K[@]}" apply -f "$ROOT/charts/beyla/examples/beylainstrumentation.yaml"
"${K[@]}" get bi -A
log "done: run e2e/kind/check.sh"
