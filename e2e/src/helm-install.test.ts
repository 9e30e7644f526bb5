import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadAgentConfig } from "@beyla-ts/shared";
import {
  AGENT,
  AGENT_CLUSTER_RULES,
  AGENT_KUBEADM_RULES,
  AGENT_SA,
  AGENT_SECURITY_CONTEXT,
  CRD,
  HEADERS_SECRETS,
  HEADERS_SECRETS_PERMISSIONS,
  NAMESPACE,
  OPERATOR,
  OPERATOR_CLUSTER_RULES,
  OPERATOR_HEADERS_SECRETS_RULES,
  OPERATOR_NAMESPACE_RULES,
  OPERATOR_SA,
  PERMISSIONS,
  RELEASE,
  RELEASE_OBJECTS,
  refLines,
} from "./helpers/helm-chart.js";
import {
  CHART_DIR,
  ControlPlane,
  controlPlaneUnavailable,
  type K8sList,
  type K8sObject,
} from "./helpers/helm.js";
import { REPO_ROOT, waitFor } from "./helpers/processes.js";

const unavailable = await controlPlaneUnavailable();
const ns = ["-n", NAMESPACE];

/** Field access on parsed JSON, typed loosely on purpose: the assertions check the values. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

describe("helm chart charts/beyla on a real API server", () => {
  // Never skipped: CI builds the binaries (e2e/k8s/build.sh), so a missing one is a failure.
  it("has the binaries it needs", () => {
    assert.equal(unavailable, undefined);
  });

  let cp: ControlPlane;

  before(async () => {
    cp = await ControlPlane.start();
  });

  after(async () => {
    await cp?.stop();
  });

  it("refuses a string port at helm install, before creating the release", async () => {
    const o = await cp.helmOutcome([
      "install",
      RELEASE,
      CHART_DIR,
      "-n",
      NAMESPACE,
      "--create-namespace",
      "--set-string",
      "agent.config.prometheus_export.port=9400",
    ]);
    assert.equal(o.code, 1);
    assert.equal(
      o.stderr,
      "Error: INSTALLATION FAILED: values don't meet the specifications of the schema(s) in the following chart(s):\n" +
        "beyla:\n" +
        "- at '/agent/config/prometheus_export/port': got string, want integer\n\n",
    );
    assert.equal((await cp.helm(["list", "-A", "-q"])).trim(), "");
    assert.equal(await cp.exists("namespace", NAMESPACE), false);
    // Except crds/: helm installs them before it reads the values (helm v3 install order).
    assert.equal(await cp.exists("crd", CRD), true);
  });

  it("installs every object of the chart, and only those", async () => {
    const out = await cp.helm([
      "install",
      RELEASE,
      CHART_DIR,
      "-n",
      NAMESPACE,
      "--create-namespace",
    ]);
    assert.match(out, /^STATUS: deployed$/m);
    assert.match(out, /^Beyla 0\.1\.0 is installed in namespace beyla-system\.$/m);
    assert.match(out, /^WARNING: control\.tls\.secretName is empty\./m);
    // The live objects behind the release's manifest, and the CRD from crds/.
    const manifest = await cp.helm(["get", "manifest", RELEASE, "-n", NAMESPACE]);
    const live = JSON.parse(await cp.kubectl(["get", "-f", "-", "-o", "json"], manifest)) as
      K8sList | K8sObject;
    const items = "items" in live ? (live as K8sList).items : [live as K8sObject];
    const refs = items.map((o) => ({
      kind: o.kind,
      name: o.metadata.name,
      namespace: o.metadata.namespace,
    }));
    refs.push({ kind: "CustomResourceDefinition", name: CRD, namespace: undefined });
    assert.deepEqual(refLines(refs), refLines(RELEASE_OBJECTS));
    for (const o of items) {
      assert.equal(o.metadata.labels?.["app.kubernetes.io/instance"], RELEASE, o.metadata.name);
      assert.equal(o.metadata.labels?.["app.kubernetes.io/part-of"], "beyla", o.metadata.name);
    }
  });

  it("serves the BeylaInstrumentation CRD: established, namespaced, bi, status subresource", async () => {
    await cp.kubectl(["wait", "--for=condition=Established", `crd/${CRD}`, "--timeout=30s"]);
    const crd: Json = await cp.getJson(["crd", CRD]);
    assert.equal(crd.spec.group, "beyla.io");
    assert.equal(crd.spec.scope, "Namespaced");
    assert.deepEqual(crd.spec.names.shortNames, ["bi"]);
    assert.equal(crd.spec.names.kind, "BeylaInstrumentation");
    assert.deepEqual(
      crd.spec.versions.map((v: Json) => [v.name, v.served, v.storage, v.subresources]),
      [["v1alpha1", true, true, { status: {} }]],
    );
    const resources = await cp.kubectl(["api-resources", "--api-group=beyla.io", "-o", "name"]);
    assert.equal(resources.trim(), CRD);
  });

  it("runs the operator as a 2-replica Deployment with leader election", async () => {
    const d: Json = await cp.getJson(["deployment", OPERATOR, ...ns]);
    assert.equal(d.spec.replicas, 2);
    const pod = d.spec.template.spec;
    assert.equal(pod.serviceAccountName, OPERATOR);
    assert.equal(pod.hostPID, undefined);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const [c] = pod.containers;
    assert.equal(pod.containers.length, 1);
    assert.equal(c.image, "beyla-ts/operator:0.1.0");
    assert.deepEqual(c.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    const env = Object.fromEntries(
      c.env.filter((e: Json) => e.value !== undefined).map((e: Json) => [e.name, e.value]),
    );
    assert.deepEqual(env, {
      BEYLA_OPERATOR_LOG_LEVEL: "info",
      BEYLA_OPERATOR_LEASE_NAME: OPERATOR,
      BEYLA_OPERATOR_LEASE_DURATION: "15s",
      BEYLA_OPERATOR_RENEW_DEADLINE: "10s",
      BEYLA_OPERATOR_RETRY_PERIOD: "2s",
      BEYLA_OPERATOR_RESYNC_PERIOD: "60s",
      BEYLA_OPERATOR_AGENT_NAMESPACE: NAMESPACE,
      BEYLA_OPERATOR_AGENT_SELECTOR:
        "app.kubernetes.io/name=beyla,app.kubernetes.io/instance=beyla,app.kubernetes.io/component=agent",
      BEYLA_OPERATOR_AGENT_PORT: "9443",
      BEYLA_OPERATOR_AGENT_SERVICE_ACCOUNT: AGENT,
      BEYLA_OPERATOR_AUDIENCE: "beyla-control",
      BEYLA_OPERATOR_TOKEN_FILE: "/var/run/secrets/beyla/token",
      BEYLA_OPERATOR_LISTEN_PORT: "9443",
    });
    const fromFields = c.env.filter((e: Json) => e.valueFrom).map((e: Json) => e.name);
    assert.deepEqual(fromFields, ["POD_NAMESPACE", "POD_NAME"]);
    // The token it presents to the agents: projected, bound to the control audience.
    const token = pod.volumes.find((v: Json) => v.name === "control-token");
    assert.deepEqual(token.projected.sources, [
      {
        serviceAccountToken: { path: "token", audience: "beyla-control", expirationSeconds: 3600 },
      },
    ]);
    const pdb: Json = await cp.getJson(["pdb", OPERATOR, ...ns]);
    assert.equal(pdb.spec.maxUnavailable, 1);
  });

  it("runs the agent as a DaemonSet: hostPID, no privileged, exact capabilities, host mounts", async () => {
    const ds: Json = await cp.getJson(["daemonset", AGENT, ...ns]);
    assert.deepEqual(ds.spec.updateStrategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
    const pod = ds.spec.template.spec;
    assert.equal(pod.hostPID, true);
    assert.equal(pod.hostNetwork, undefined);
    assert.equal(pod.serviceAccountName, AGENT);
    assert.equal(pod.priorityClassName, AGENT);
    assert.deepEqual(pod.tolerations, [{ operator: "Exists" }]);
    assert.deepEqual(pod.securityContext, { runAsUser: 0, runAsGroup: 0, runAsNonRoot: false });
    assert.equal(pod.containers.length, 1);
    const [c] = pod.containers;
    assert.equal(c.image, "beyla-ts/agent:0.1.0");
    assert.deepEqual(c.args, ["--config", "/etc/beyla/beyla.yml"]);
    assert.deepEqual(c.securityContext, AGENT_SECURITY_CONTEXT);
    const nodeName = c.env.find((e: Json) => e.name === "NODE_NAME");
    assert.deepEqual(nodeName.valueFrom, {
      fieldRef: { apiVersion: "v1", fieldPath: "spec.nodeName" },
    });
    const values = Object.fromEntries(
      c.env.filter((e: Json) => e.value !== undefined).map((e: Json) => [e.name, e.value]),
    );
    assert.deepEqual(values, {
      BEYLA_CONTROL_PORT: "9443",
      BEYLA_CONTROL_AUDIENCE: "beyla-control",
      BEYLA_CONTROL_TOKEN_FILE: "/var/run/secrets/beyla/token",
      BEYLA_CONTROL_OPERATOR_USERNAME: OPERATOR_SA,
      BEYLA_CONTROL_OPERATOR_URL: "http://beyla-operator.beyla-system.svc:9443/v1/selectors",
    });
    const fromFields = c.env.filter((e: Json) => e.valueFrom).map((e: Json) => e.name);
    assert.deepEqual(fromFields, ["NODE_NAME", "POD_NAME", "POD_NAMESPACE", "POD_IP"]);
    assert.deepEqual(
      c.ports.map((p: Json) => [p.name, p.containerPort]),
      [
        ["metrics", 9400],
        ["control", 9443],
      ],
    );
    assert.equal(c.readinessProbe.httpGet.path, "/readyz");
    assert.equal(c.livenessProbe.httpGet.path, "/healthz");
    const mounts = Object.fromEntries(
      c.volumeMounts.map((m: Json) => [m.name, [m.mountPath, m.readOnly === true]]),
    );
    assert.deepEqual(mounts, {
      config: ["/etc/beyla", true],
      tracefs: ["/sys/kernel/tracing", true],
      cgroup: ["/sys/fs/cgroup", true],
      bpffs: ["/sys/fs/bpf", false],
      "control-token": ["/var/run/secrets/beyla", true],
      tmp: ["/tmp", false],
    });
    const hostPaths = Object.fromEntries(
      pod.volumes.filter((v: Json) => v.hostPath).map((v: Json) => [v.name, v.hostPath.path]),
    );
    assert.deepEqual(hostPaths, {
      tracefs: "/sys/kernel/tracing",
      cgroup: "/sys/fs/cgroup",
      bpffs: "/sys/fs/bpf",
    });
    const pc: Json = await cp.getJson(["priorityclass", AGENT]);
    assert.equal(pc.value, 1000000);
    assert.equal(pc.globalDefault ?? false, false);
  });

  it("gives the agent a config the agent's own loader accepts", async () => {
    const cm: Json = await cp.getJson(["configmap", AGENT, ...ns]);
    assert.deepEqual(Object.keys(cm.data), ["beyla.yml"]);
    const config = loadAgentConfig({ yamlText: cm.data["beyla.yml"], env: {} });
    assert.deepEqual(config.prometheus, { port: 9400, path: "/metrics" });
    assert.deepEqual(config.kubernetes, { enable: true });
    assert.equal(config.logLevel, "info");
    assert.deepEqual(config.warnings, []);
    assert.equal(config.discovery.services.length, 1);
    assert.deepEqual(JSON.parse(JSON.stringify(config.discovery.services[0])), {
      k8sPodLabels: { "beyla.io/instrument": "^true$" },
    });
    const ds: Json = await cp.getJson(["daemonset", AGENT, ...ns]);
    const configVolume = ds.spec.template.spec.volumes.find((v: Json) => v.name === "config");
    assert.equal(configVolume.configMap.name, AGENT);
  });

  it("grants exactly the RBAC rules each component uses", async () => {
    const rules = async (kind: string, name: string, namespace?: string): Promise<unknown> => {
      const args = namespace === undefined ? [kind, name] : [kind, name, "-n", namespace];
      return ((await cp.getJson(args)) as Json).rules;
    };
    assert.deepEqual(await rules("clusterrole", AGENT), AGENT_CLUSTER_RULES);
    assert.deepEqual(
      await rules("role", `${AGENT}-kubeadm-config`, "kube-system"),
      AGENT_KUBEADM_RULES,
    );
    assert.deepEqual(await rules("clusterrole", OPERATOR), OPERATOR_CLUSTER_RULES);
    assert.deepEqual(await rules("role", OPERATOR, NAMESPACE), OPERATOR_NAMESPACE_RULES);
    for (const [kind, name, namespace, sa] of [
      ["clusterrolebinding", AGENT, undefined, AGENT],
      ["rolebinding", `${AGENT}-kubeadm-config`, "kube-system", AGENT],
      ["clusterrolebinding", OPERATOR, undefined, OPERATOR],
      ["rolebinding", OPERATOR, NAMESPACE, OPERATOR],
    ] as const) {
      const b: Json = await cp.getJson(namespace ? [kind, name, "-n", namespace] : [kind, name]);
      assert.deepEqual(b.subjects, [{ kind: "ServiceAccount", name: sa, namespace: NAMESPACE }]);
      assert.equal(b.roleRef.name, name);
    }
    const wrong: string[] = [];
    for (const p of PERMISSIONS) {
      if ((await cp.canI(p.as, p.args)) !== p.allowed) {
        wrong.push(`${p.as} ${p.args.join(" ")}: expected ${p.allowed ? "yes" : "no"}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it("exposes a headless agent metrics Service and an operator Service", async () => {
    const agent: Json = await cp.getJson(["service", AGENT, ...ns]);
    assert.equal(agent.spec.clusterIP, "None");
    assert.deepEqual(
      agent.spec.ports.map((p: Json) => [p.name, p.port, p.targetPort]),
      [["metrics", 9400, "metrics"]],
    );
    assert.deepEqual(agent.spec.selector, {
      "app.kubernetes.io/name": "beyla",
      "app.kubernetes.io/instance": RELEASE,
      "app.kubernetes.io/component": "agent",
    });
    const operator: Json = await cp.getJson(["service", OPERATOR, ...ns]);
    assert.equal(operator.spec.type, "ClusterIP");
    assert.deepEqual(
      operator.spec.ports.map((p: Json) => [p.name, p.port, p.targetPort]),
      [["control", 9443, "control"]],
    );
  });

  it("gets its Pods created by the controllers; with no kubelet they stay Pending", async () => {
    assert.ok(
      cp.controllers,
      "e2e/k8s/start.sh must run kube-controller-manager (BEYLA_K8S_KCM=1)",
    );
    const pods = async (component: string): Promise<Json[]> =>
      (
        (await cp.getJson([
          "pods",
          ...ns,
          "-l",
          `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=${component}`,
        ])) as K8sList
      ).items;
    const agents = await waitFor(
      `one agent Pod per Node (${cp.nodes.join(", ")})`,
      async () => {
        const p = await pods("agent");
        return p.length === cp.nodes.length ? p : undefined;
      },
      30_000,
    );
    const operators = await waitFor(
      "2 operator Pods",
      async () => {
        const p = await pods("operator");
        return p.length === 2 ? p : undefined;
      },
      30_000,
    );
    for (const p of [...agents, ...operators]) assert.equal(p.status.phase, "Pending");
    // The DaemonSet controller pins each Pod to its Node by affinity.
    const pinned = agents.map(
      (p) =>
        p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
          .nodeSelectorTerms[0].matchFields[0].values[0],
    );
    assert.deepEqual(pinned.sort(), [...cp.nodes].sort());
    for (const p of agents) {
      assert.equal(p.spec.priority, 1000000);
      assert.deepEqual(p.spec.containers[0].securityContext, AGENT_SECURITY_CONTEXT);
      if (cp.scheduler) {
        await waitFor(`${p.metadata.name} bound to a Node`, async () => {
          const now: Json = await cp.getJson(["pod", p.metadata.name, ...ns]);
          return now.spec.nodeName ? true : undefined;
        });
      }
    }
    const ds: Json = await cp.getJson(["daemonset", AGENT, ...ns]);
    assert.equal(ds.status.desiredNumberScheduled, cp.nodes.length);
    assert.equal(ds.status.numberReady, 0);
    const d: Json = await cp.getJson(["deployment", OPERATOR, ...ns]);
    assert.equal(d.status.replicas, 2);
    assert.equal(d.status.readyReplicas, undefined);
  });

  it("accepts the sample BeylaInstrumentations and rejects bad ones with the CRD's rules", async () => {
    await cp.kubectl(["create", "namespace", "demo"]);
    const examples = join(CHART_DIR, "examples");
    const applied = await cp.kubectl([
      "apply",
      "-f",
      join(examples, "beylainstrumentation.yaml"),
      "-f",
      join(examples, "cluster-wide.yaml"),
    ]);
    assert.equal(
      applied,
      "beylainstrumentation.beyla.io/demo-http created\n" +
        "beylainstrumentation.beyla.io/shop-apis created\n",
    );
    const names = await cp.kubectl(["get", "bi", "-A", "-o", "name"]);
    assert.equal(
      names,
      "beylainstrumentation.beyla.io/shop-apis\nbeylainstrumentation.beyla.io/demo-http\n",
    );
    const bad = async (spec: object): Promise<string> => {
      const o = await cp.kubectlOutcome(
        ["create", "-f", "-"],
        JSON.stringify({
          apiVersion: "beyla.io/v1alpha1",
          kind: "BeylaInstrumentation",
          metadata: { name: "bad", namespace: "demo" },
          spec,
        }),
      );
      assert.equal(o.code, 1, `accepted: ${JSON.stringify(spec)}`);
      return o.stderr;
    };
    const regex = await bad({ discovery: { services: [{ exePath: "^a(b" }] } });
    assert.match(regex, /spec\.discovery\.services\[0\]\.exePath/);
    assert.match(regex, /missing closing \)/);
    assert.match(regex, /must be a valid RE2 regular expression/);
    const ports = await bad({ discovery: { services: [{ openPorts: "9000-80" }] } });
    assert.match(ports, /spec\.discovery\.services\[0\]\.openPorts/);
    assert.match(ports, /low <= high/);
    const mode = await bad({ routes: { unmatched: "everything" } });
    assert.match(mode, /spec\.routes\.unmatched: Unsupported value: "everything"/);
    const empty = await bad({ discovery: { services: [{ name: "x" }] } });
    assert.match(empty, /at least one criterion/);
  });

  it("lets the operator alone write status, shown by the printer columns", async () => {
    const bi: Json = await cp.getJson(["bi", "demo-http", "-n", "demo"]);
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const condition = (type: string) => ({
      type,
      status: "True",
      reason: "Applied",
      message: "applied by 1/1 agents",
      lastTransitionTime: now,
      observedGeneration: bi.metadata.generation,
    });
    bi.status = {
      observedGeneration: bi.metadata.generation,
      selectorSetVersion: 7,
      nodesApplied: 1,
      nodesTotal: 1,
      nodes: "1/1",
      processesSelected: 2,
      conditions: [condition("Valid"), condition("Synced"), condition("Ready")],
    };
    // PATCH /status with each ServiceAccount's own token, as the operator does it.
    const path = "/apis/beyla.io/v1alpha1/namespaces/demo/beylainstrumentations/demo-http/status";
    const agentToken = await cp.token(NAMESPACE, AGENT);
    const denied = await cp.api("PATCH", path, agentToken, { status: bi.status });
    assert.equal(denied.status, 403);
    assert.equal(
      denied.body.message,
      `beylainstrumentations.beyla.io "demo-http" is forbidden: User "${AGENT_SA}" cannot patch resource "beylainstrumentations/status" in API group "beyla.io" in the namespace "demo"`,
    );
    const operatorToken = await cp.token(NAMESPACE, OPERATOR);
    const written = await cp.api("PATCH", path, operatorToken, { status: bi.status });
    assert.equal(written.status, 200, JSON.stringify(written.body));
    assert.deepEqual(written.body.status, bi.status);
    const table = await cp.kubectl(["get", "bi", "demo-http", "-n", "demo"]);
    const [header, row] = table
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/));
    assert.deepEqual(header, ["NAME", "VALID", "READY", "NODES", "PROCESSES", "AGE"]);
    assert.deepEqual(row?.slice(0, 5), ["demo-http", "True", "True", "1/1", "2"]);
  });

  it("lets an agent authenticate the operator's control token with a TokenReview", async () => {
    // As on the control channel: the operator presents a token bound to the control audience,
    // the agent reviews it with its own token and that audience.
    const agentToken = await cp.token(NAMESPACE, AGENT);
    const review = async (token: string): Promise<Json> => {
      const answer = await cp.api(
        "POST",
        "/apis/authentication.k8s.io/v1/tokenreviews",
        agentToken,
        {
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenReview",
          spec: { token, audiences: ["beyla-control"] },
        },
      );
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      return answer.body.status;
    };
    const control = await review(await cp.token(NAMESPACE, OPERATOR, "beyla-control"));
    assert.equal(control.authenticated, true);
    assert.equal(control.user.username, OPERATOR_SA);
    assert.deepEqual(control.audiences, ["beyla-control"]);
    // A token for the API server's own audience is not a control token.
    const apiToken = await review(await cp.token(NAMESPACE, OPERATOR));
    assert.equal(apiToken.authenticated ?? false, false);
    // The operator reviews the agents' pull the same way.
    const operatorToken = await cp.token(NAMESPACE, OPERATOR);
    const pull = await cp.api(
      "POST",
      "/apis/authentication.k8s.io/v1/tokenreviews",
      operatorToken,
      {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: {
          token: await cp.token(NAMESPACE, AGENT, "beyla-control"),
          audiences: ["beyla-control"],
        },
      },
    );
    assert.equal(pull.status, 201);
    assert.equal(pull.body.status.user.username, AGENT_SA);
  });

  it("lets the operator get the headersFrom Secrets listed in operator.rbac.headersSecrets, only", async () => {
    const upgrade = (value: unknown) =>
      cp.helm([
        "upgrade",
        RELEASE,
        CHART_DIR,
        "-n",
        NAMESPACE,
        "--reuse-values",
        "--set-json",
        `operator.rbac.headersSecrets=${JSON.stringify(value)}`,
      ]);
    const name = `${OPERATOR}-headers-secrets`;
    await upgrade(HEADERS_SECRETS);
    const role: Json = await cp.getJson(["role", name, "-n", "demo"]);
    assert.deepEqual(role.rules, OPERATOR_HEADERS_SECRETS_RULES);
    const binding: Json = await cp.getJson(["rolebinding", name, "-n", "demo"]);
    assert.deepEqual(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name,
    });
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: OPERATOR, namespace: NAMESPACE },
    ]);
    const wrong: string[] = [];
    for (const p of HEADERS_SECRETS_PERMISSIONS) {
      if ((await cp.canI(p.as, p.args)) !== p.allowed) {
        wrong.push(`${p.as} ${p.args.join(" ")}: expected ${p.allowed ? "yes" : "no"}`);
      }
    }
    assert.deepEqual(wrong, []);
    // The operator's own token, making the operator's call (one GET by name, secrets.ts).
    for (const secret of ["otlp-auth", "other"]) {
      await cp.kubectl([
        "create",
        "secret",
        "generic",
        secret,
        "-n",
        "demo",
        "--from-literal=headers=Authorization=Bearer%20x",
      ]);
    }
    const token = await cp.token(NAMESPACE, OPERATOR);
    const get = await cp.api("GET", "/api/v1/namespaces/demo/secrets/otlp-auth", token);
    assert.equal(get.status, 200);
    assert.equal(
      Buffer.from(get.body.data.headers, "base64").toString(),
      "Authorization=Bearer%20x",
    );
    const other = await cp.api("GET", "/api/v1/namespaces/demo/secrets/other", token);
    assert.equal(other.status, 403);
    assert.equal(
      other.body.message,
      `secrets "other" is forbidden: User "${OPERATOR_SA}" cannot get resource "secrets" in API group "" in the namespace "demo"`,
    );
    const list = await cp.api("GET", "/api/v1/namespaces/demo/secrets", token);
    assert.equal(list.status, 403);
    // Back to the defaults: the Role goes with the value.
    await upgrade([]);
    assert.equal(await cp.exists("role", name, "demo"), false);
    assert.equal(await cp.exists("rolebinding", name, "demo"), false);
    assert.equal(await cp.canI(OPERATOR_SA, ["get", "secrets/otlp-auth", "-n", "demo"]), false);
  });

  it("removes every object but the CRD at helm uninstall", async () => {
    await cp.helm(["uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "60s"]);
    const left: string[] = [];
    for (const r of RELEASE_OBJECTS) {
      if (r.kind === "CustomResourceDefinition") continue;
      if (await cp.exists(r.kind, r.name, r.namespace)) left.push(`${r.kind} ${r.name}`);
    }
    assert.deepEqual(left, []);
    // helm never deletes what crds/ installed: the resources survive the release.
    assert.equal(await cp.exists("crd", CRD), true);
    assert.equal(await cp.exists("bi", "demo-http", "demo"), true);
    if (cp.controllers) {
      // The garbage collector deletes the Pods; a Pod bound to a Node then waits for a kubelet
      // to confirm (none here), so it may stay Terminating, never running.
      await waitFor(
        "the garbage collector to delete the release's Pods",
        async () => {
          const pods = (await cp.getJson(["pods", ...ns])) as K8sList<Json>;
          const left = pods.items.filter((p) => !p.metadata.deletionTimestamp);
          return left.length === 0 ? true : undefined;
        },
        60_000,
      );
    }
  });

  it("applies deploy/beyla.yaml, the same objects rendered for kubectl", async () => {
    const file = join(REPO_ROOT, "deploy", "beyla.yaml");
    await cp.kubectl(["apply", "--server-side", "-f", file]);
    const live = (await cp.getJson(["-f", file])) as K8sList;
    const refs = live.items
      .filter((o) => o.kind !== "Namespace")
      .map((o) => ({ kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace }));
    assert.deepEqual(refLines(refs), refLines(RELEASE_OBJECTS));
    const nsObj: Json = await cp.getJson(["namespace", NAMESPACE]);
    assert.equal(nsObj.metadata.labels["pod-security.kubernetes.io/enforce"], "privileged");
  });
});
