import assert from "node:assert/strict";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { AGENT, AGENT_CAPABILITIES, OPERATOR } from "./helpers/helm-chart.js";
import { CHART_DIR, controlPlaneUnavailable, outcome } from "./helpers/helm.js";
import { find, helmBinary, render, template } from "./helpers/helm-template.js";
import { REPO_ROOT } from "./helpers/processes.js";

const unavailable = await controlPlaneUnavailable();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const SCHEMA_ERROR =
  "Error: values don't meet the specifications of the schema(s) in the following chart(s):\nbeyla:\n";

describe("helm template of charts/beyla", () => {
  // Never skipped: CI builds the binaries (e2e/k8s/build.sh), so a missing one is a failure.
  it("has the binaries it needs", () => {
    assert.equal(unavailable, undefined);
  });

  let helm: string;

  before(async () => {
    helm = await helmBinary();
  });

  it("passes helm lint --strict", async () => {
    const o = await outcome(helm, ["lint", "--strict", CHART_DIR]);
    assert.equal(o.code, 0, o.stdout + o.stderr);
    assert.match(o.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  it("rejects a string port, an unknown key and a bad enum with helm's schema errors", async () => {
    const cases: [string[], string][] = [
      [
        ["--set-string", "agent.config.prometheus_export.port=9400"],
        "- at '/agent/config/prometheus_export/port': got string, want integer\n",
      ],
      [
        ["--set", "agent.config.prometheus_export.port=70000"],
        "- at '/agent/config/prometheus_export/port': maximum: got 70,000, want 65,535\n",
      ],
      [
        ["--set", "agent.privileged=true"],
        "- at '/agent': additional properties 'privileged' not allowed\n",
      ],
      [
        ["--set", "agent.config.opn_port=8080"],
        "- at '/agent/config': additional properties 'opn_port' not allowed\n",
      ],
      [
        ["--set", "agent.config.routes.unmatched=everything"],
        "- at '/agent/config/routes/unmatched': value must be one of 'heuristic', 'path', 'wildcard', 'unset'\n",
      ],
      [
        ["--set", "agent.updateStrategy.maxUnavailable=0"],
        "- at '/agent/updateStrategy/maxUnavailable': 'oneOf' failed, none matched\n" +
          "  - at '/agent/updateStrategy/maxUnavailable': minimum: got 0, want 1\n" +
          "  - at '/agent/updateStrategy/maxUnavailable': got number, want string\n",
      ],
    ];
    for (const [args, expected] of cases) {
      const o = await template(helm, args);
      assert.equal(o.code, 1, `accepted: ${args.join(" ")}`);
      assert.equal(o.stderr, `${SCHEMA_ERROR}${expected}\n`, args.join(" "));
    }
  });

  it("adds SYS_ADMIN only on request, and then drops allowPrivilegeEscalation", async () => {
    const objects = await render(helm, ["--set", "agent.sysAdmin=true"]);
    const ds: Json = find(objects, "DaemonSet", AGENT);
    const sc = ds.spec.template.spec.containers[0].securityContext;
    assert.deepEqual(sc.capabilities.add, [...AGENT_CAPABILITIES, "SYS_ADMIN"]);
    assert.equal(sc.privileged, false);
    assert.equal(sc.allowPrivilegeEscalation, undefined);
  });

  it("renders no operator object and no control channel with operator.enabled=false", async () => {
    const objects = await render(helm, ["--set", "operator.enabled=false"]);
    const operatorObjects = objects.filter((o) => o.metadata.name.startsWith(OPERATOR));
    assert.deepEqual(operatorObjects, []);
    const ds: Json = find(objects, "DaemonSet", AGENT);
    const env = ds.spec.template.spec.containers[0].env.map((e: Json) => e.name);
    assert.deepEqual(env, ["NODE_NAME", "POD_NAME", "POD_NAMESPACE", "POD_IP"]);
    const ports = ds.spec.template.spec.containers[0].ports.map((p: Json) => p.name);
    assert.deepEqual(ports, ["metrics"]);
    const volumes = ds.spec.template.spec.volumes.map((v: Json) => v.name);
    assert.equal(volumes.includes("control-token"), false);
  });

  it("renders the agents' ServiceMonitor only when the API is there or forced", async () => {
    const count = async (args: string[]): Promise<number> =>
      (await render(helm, args)).filter((o) => o.kind === "ServiceMonitor").length;
    assert.equal(await count(["--set", "serviceMonitor.enabled=true"]), 0);
    const api = ["--api-versions", "monitoring.coreos.com/v1/ServiceMonitor"];
    assert.equal(await count(["--set", "serviceMonitor.enabled=true", ...api]), 1);
    assert.equal(await count(api), 0);
    const forced = await render(helm, [
      "--set",
      "serviceMonitor.enabled=true",
      "--set",
      "serviceMonitor.force=true",
      "--set",
      "serviceMonitor.labels.release=prometheus",
    ]);
    const sm: Json = find(forced, "ServiceMonitor", AGENT);
    assert.equal(sm.metadata.labels.release, "prometheus");
    assert.deepEqual(sm.spec.endpoints, [
      { port: "metrics", path: "/metrics", interval: "30s", honorLabels: true },
    ]);
  });

  it("mounts the control TLS Secret in both Pods and switches to HTTPS with control.tls", async () => {
    const objects = await render(helm, ["--set", "control.tls.secretName=beyla-control-tls"]);
    const op: Json = find(objects, "Deployment", OPERATOR);
    const ds: Json = find(objects, "DaemonSet", AGENT);
    for (const pod of [op.spec.template.spec, ds.spec.template.spec]) {
      const tls = pod.volumes.find((v: Json) => v.name === "control-tls");
      assert.deepEqual(tls, { name: "control-tls", secret: { secretName: "beyla-control-tls" } });
      const mount = pod.containers[0].volumeMounts.find((m: Json) => m.name === "control-tls");
      assert.deepEqual(mount, { name: "control-tls", mountPath: "/etc/beyla/tls", readOnly: true });
    }
    const env = (c: Json) =>
      Object.fromEntries(c.env.filter((e: Json) => e.value).map((e: Json) => [e.name, e.value]));
    const opEnv = env(op.spec.template.spec.containers[0]);
    assert.equal(opEnv.BEYLA_OPERATOR_TLS_CERT_FILE, "/etc/beyla/tls/tls.crt");
    assert.equal(opEnv.BEYLA_OPERATOR_TLS_KEY_FILE, "/etc/beyla/tls/tls.key");
    assert.equal(opEnv.BEYLA_OPERATOR_AGENT_CA_FILE, "/etc/beyla/tls/ca.crt");
    assert.equal(op.spec.template.spec.containers[0].readinessProbe.httpGet.scheme, "HTTPS");
    const agentEnv = env(ds.spec.template.spec.containers[0]);
    assert.equal(
      agentEnv.BEYLA_CONTROL_OPERATOR_URL,
      "https://beyla-operator.beyla-system.svc:9443/v1/selectors",
    );
    assert.equal(agentEnv.BEYLA_CONTROL_CA_FILE, "/etc/beyla/tls/ca.crt");
  });

  it("follows agent.config.prometheus_export.port in the container, probes and Service", async () => {
    const objects = await render(helm, ["--set", "agent.config.prometheus_export.port=9090"]);
    const ds: Json = find(objects, "DaemonSet", AGENT);
    const c = ds.spec.template.spec.containers[0];
    assert.equal(c.ports[0].containerPort, 9090);
    assert.equal(c.readinessProbe.httpGet.port, "metrics");
    const svc: Json = find(objects, "Service", AGENT);
    assert.equal(svc.spec.ports[0].port, 9090);
  });

  it("keeps deploy/beyla.yaml and charts/beyla/crds in sync (scripts/render-deploy.sh --check)", async () => {
    const o = await outcome("bash", [join(REPO_ROOT, "scripts", "render-deploy.sh"), "--check"]);
    assert.equal(o.code, 0, o.stderr);
  });
});
