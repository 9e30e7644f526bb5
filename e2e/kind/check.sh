#!/usr/bin/env bash
# Checks the kind deployment of e2e/kind/up.sh end to end: the BeylaInstrumentation is Ready,
# and the agent on the demo Pod's node exports http_server_request_duration_seconds for the
# demo-http Deployment, with its Kubernetes labels. Exit 0 when it does.
set -euo pipefail

CLUSTER=${KIND_CLUSTER:-beyla}
NS=beyla-system
K=(kubectl --context "kind-$CLUSTER")
PORT=${LOCAL_PORT:-19400}
log() { echo "e2e/kind: $*" >&2; }

"${K[@]}" -n demo wait --for=condition=Ready bi/demo-http --timeout 180s
"${K[@]}" get bi -n demo demo-http

node=$("${K[@]}" -n demo get pods -l app.kubernetes.io/name=demo-http -o jsonpath='{.items[0].spec.nodeName}')
agent=$("${K[@]}" -n "$NS" get pods -l app.kubernetes.io/component=agent \
	--field-selector "spec.nodeName=$node" -o jsonpath='{.items[0].metadata.name}')
log "demo-http runs on $node; its agent is $agent"

"${K[@]}" -n "$NS" port-forward "pod/$agent" "$PORT:9400" >/dev/null 2>&1 &
pf=$!
trap 'kill $pf 2>/dev/null || true' EXIT

series=""
for _ in $(seq 1 60); do
	metrics=$(curl -sf "http://127.0.0.1:$PORT/metrics" || true)
	series=$(grep '^http_server_request_duration_seconds_count{' <<<"$metrics" |
		grep 'k8s_deployment_name="demo-http"' | grep 'k8s_namespace_name="demo"' || true)
	[[ -n $series ]] && break
	sleep 2
done
if [[ -z $series ]]; then
	log "FAIL: no http_server_request_duration_seconds_count for demo-http on $agent"
	"${K[@]}" -n "$NS" logs "$agent" --tail 50 >&2 || true
	exit 1
fi
echo "$series"
log "OK: demo-http requests are measured by $agent"
