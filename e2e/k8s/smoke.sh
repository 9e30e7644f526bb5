#!/usr/bin/env bash
# Smoke test of the e2e control plane: build (cached), start, drive it with the
# built kubectl and helm the way the e2e tests will, stop, and check that every
# process exited. Everything it makes lives in a temporary dir (the helm chart
# too), removed at the end unless BEYLA_K8S_KEEP=1.
# Usage: smoke.sh            Prints "k8s-smoke: N passed, N failed" last.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$HERE/build.sh" >/dev/null || { echo "k8s-smoke: build.sh failed" >&2; exit 1; }
TMP=$(mktemp -d /tmp/beyla-k8s-smoke.XXXXXX)
W=$TMP/cluster
passed=0 failed=0
check() { # description command...
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		passed=$((passed + 1))
		echo "ok   $what"
	else
		failed=$((failed + 1))
		echo "FAIL $what"
		tail -n 20 <<<"$out" | sed "s/^/     /" # indent
	fi
}
finish() {
	"$HERE/stop.sh" "$W" >/dev/null 2>&1 || true
	[[ ${BEYLA_K8S_KEEP:-0} == 1 ]] || rm -rf "$TMP"
}
trap finish EXIT

if ! "$HERE/start.sh" "$W"; then
	echo "k8s-smoke: 0 passed, 1 failed"
	exit 1
fi
set -a
# shellcheck disable=SC1091
source "$W/env"
set +a
export PATH=$K8S_BIN_DIR:$PATH
export HELM_CACHE_HOME=$TMP/helm/cache HELM_CONFIG_HOME=$TMP/helm/config HELM_DATA_HOME=$TMP/helm/data
NS=smoke
NODE=$K8S_NODE_NAME

# --- manifests -------------------------------------------------------------------
cat >"$TMP/pod.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: $NS
  labels: {app.kubernetes.io/name: web}
spec:
  nodeName: $NODE
  containers: [{name: web, image: example.invalid/web:1}]
YAML
CID=$(openssl rand -hex 32)
cat >"$TMP/pod-status.json" <<JSON
{"status": {"phase": "Running", "podIP": "127.0.0.10", "podIPs": [{"ip": "127.0.0.10"}],
  "containerStatuses": [{"name": "web", "image": "example.invalid/web:1", "imageID": "",
    "ready": true, "started": true, "restartCount": 0, "containerID": "containerd://$CID",
    "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}]}}
JSON
cat >"$TMP/crd.yaml" <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.smoke.beyla.io}
spec:
  group: smoke.beyla.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              port: {type: integer, minimum: 1, maximum: 65535}
              path:
                type: string
                x-kubernetes-validations: [{rule: 'self.startsWith("/")', message: 'must start with /'}]
YAML
echo '{"apiVersion": "smoke.beyla.io/v1alpha1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"port": 8080, "path": "/api"}}' >"$TMP/w1.json"
echo '{"apiVersion": "smoke.beyla.io/v1alpha1", "kind": "Widget", "metadata": {"name": "w2"}, "spec": {"port": 70000, "path": "api"}}' >"$TMP/w2.json"
cat >"$TMP/ds.yaml" <<YAML
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: $NS}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      hostPID: true
      containers: [{name: agent, image: example.invalid/agent:1, securityContext: {privileged: true}}]
YAML
cat >"$TMP/tokenreview.sh" <<SH
tok=\$(kubectl create token default -n $NS --duration=10m) || exit 1
printf '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"%s"}}' "\$tok" |
	kubectl create -f - -o jsonpath='{.status.authenticated} {.status.user.username}' | tee /dev/stderr |
	grep -qx 'true system:serviceaccount:$NS:default'
SH
chart=$TMP/chart/demo
mkdir -p "$chart/templates"
printf 'apiVersion: v2\nname: demo\nversion: 0.1.0\nkubeVersion: ">=1.30.0-0"\n' >"$chart/Chart.yaml"
printf 'greeting: hello\n' >"$chart/values.yaml"
cat >"$chart/templates/cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cfg
data:
  greeting: {{ .Values.greeting | quote }}
YAML

# --- checks ------------------------------------------------------------------------
jp() { kubectl get "$@"; } # kubectl get ... -o jsonpath=...
check "kubectl get ns lists the built-in namespaces" \
	bash -c 'kubectl get ns -o name | grep -qx namespace/kube-system'
check "create namespace" kubectl create namespace "$NS"
check "serviceaccount controller makes the default SA" \
	kubectl wait --for=create serviceaccount/default -n "$NS" --timeout=30s
check "create a Pod bound to $NODE (no kubelet: stays Pending)" kubectl apply -f "$TMP/pod.yaml"
check "patch status (containerID, podIP) through the status subresource" \
	kubectl patch pod web-0 -n "$NS" --subresource=status --type=merge --patch-file "$TMP/pod-status.json"
check "status reads back" test "$(jp pod web-0 -n "$NS" -o jsonpath='{.status.podIP} {.status.containerStatuses[0].containerID}')" \
	= "127.0.0.10 containerd://$CID"
check "field selector spec.nodeName=$NODE finds it" \
	bash -c "kubectl get pods -A --field-selector spec.nodeName=$NODE -o name | grep -qx pod/web-0"
check "create a CRD and wait until Established" \
	bash -c "kubectl apply -f $TMP/crd.yaml && kubectl wait --for=condition=Established crd/widgets.smoke.beyla.io --timeout=30s"
check "create an object of it" kubectl apply -n "$NS" -f "$TMP/w1.json"
check "schema and CEL rules reject a bad object" bash -c "
	out=\$(kubectl apply -n $NS -f $TMP/w2.json 2>&1) && exit 1
	echo \"\$out\"; grep -q 'must start with /' <<<\"\$out\" && grep -q 'less than or equal to 65535' <<<\"\$out\""
check "DaemonSet: controller creates a Pod, scheduler binds it to $NODE" bash -c "
	kubectl apply -f $TMP/ds.yaml || exit 1
	for i in \$(seq 1 150); do
		n=\$(kubectl get pods -n $NS -l app=agent -o jsonpath='{.items[0].spec.nodeName}' 2>/dev/null)
		[ \"\$n\" = '$NODE' ] && exit 0
		sleep 0.2
	done
	kubectl get pods -n $NS -o wide; exit 1"
check "ServiceAccount token passes a TokenReview" bash "$TMP/tokenreview.sh"
check "helm version" helm version
check "helm template" bash -c "helm template demo '$chart' --set greeting=hi | grep -q 'greeting: \"hi\"'"
check "helm install --wait" helm install demo "$chart" -n "$NS" --wait --timeout 60s
check "release object exists" test "$(jp configmap demo-cfg -n "$NS" -o jsonpath='{.data.greeting}')" = hello
check "helm uninstall" helm uninstall demo -n "$NS"

pids="$ETCD_PID $APISERVER_PID ${KCM_PID:-} ${SCHEDULER_PID:-}"
check "stop.sh" "$HERE/stop.sh" "$W"
check "every process exited" bash -c "
	for p in $pids; do
		if tr '\0' ' ' </proc/\$p/cmdline 2>/dev/null | grep -q .; then echo \"pid \$p alive\"; exit 1; fi
	done"

echo "k8s-smoke: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
