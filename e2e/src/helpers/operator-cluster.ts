/**
 * Pieces of the operator end-to-end test on a real API server: the least-privilege
 * identities of operator and agent (ServiceAccounts, RBAC, tokens issued by the API server,
 * audience-bound control tokens), a CA and serving certificates, an agent Pod registered with
 * podIP 127.0.0.1 and Ready, and the operator and stand-in agent as real processes.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ControlPlane } from "./kube.js";
import { REPO_ROOT, start, type Child } from "./processes.js";

export const OPERATOR_NS = "beyla-system";
export const AUDIENCE = "beyla-control";
export const AGENT_LABEL = "app.kubernetes.io/name=beyla-agent";
export const CRD_FILE = join(
  REPO_ROOT,
  "packages",
  "operator",
  "crd",
  "beyla.io_beylainstrumentations.yaml",
);
export const OPERATOR_CLI = join(REPO_ROOT, "packages", "operator", "dist", "cli.js");
export const AGENT_HARNESS = join(REPO_ROOT, "e2e", "dist", "helpers", "operator-agent.js");

/** The RBAC the operator needs, and nothing more (the chart should grant the same). */
export const OPERATOR_RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: beyla-operator }
rules:
  - { apiGroups: [beyla.io], resources: [beylainstrumentations], verbs: [list, watch] }
  - { apiGroups: [beyla.io], resources: [beylainstrumentations/status], verbs: [patch] }
  - { apiGroups: [authentication.k8s.io], resources: [tokenreviews], verbs: [create] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: beyla-operator }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: beyla-operator }
subjects: [{ kind: ServiceAccount, name: beyla-operator, namespace: ${OPERATOR_NS} }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: beyla-operator, namespace: ${OPERATOR_NS} }
rules:
  - { apiGroups: [""], resources: [pods], verbs: [list, watch] }
  - { apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get, create, update] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: beyla-operator, namespace: ${OPERATOR_NS} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: beyla-operator }
subjects: [{ kind: ServiceAccount, name: beyla-operator, namespace: ${OPERATOR_NS} }]
`;

/** The agent's control endpoint reviews the operator's tokens: TokenReview only. */
export const AGENT_RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: beyla-agent-token-review }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:auth-delegator }
subjects: [{ kind: ServiceAccount, name: beyla-agent, namespace: ${OPERATOR_NS} }]
`;

export interface Identities {
  /** API credentials of the operator's ServiceAccount. */
  operatorKubeconfig: string;
  /** API credentials of the agent's ServiceAccount. */
  agentKubeconfig: string;
  /** Audience-bound token the operator presents to agents. */
  operatorControlToken: string;
  /** Audience-bound token the agent presents to the operator. */
  agentControlToken: string;
}

/** Writes kubeconfigs and tokens into `dir` (not the control plane's workdir, which stop.sh cleans). */
export async function createIdentities(cp: ControlPlane, dir: string): Promise<Identities> {
  await cp.apply(`
apiVersion: v1
kind: Namespace
metadata: { name: ${OPERATOR_NS} }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: beyla-operator, namespace: ${OPERATOR_NS} }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: beyla-agent, namespace: ${OPERATOR_NS} }
`);
  await cp.apply(OPERATOR_RBAC);
  await cp.apply(AGENT_RBAC);
  const token = async (sa: string, audience?: string): Promise<string> => {
    const args = ["create", "token", sa, "-n", OPERATOR_NS, "--duration=2h"];
    if (audience !== undefined) args.push(`--audience=${audience}`);
    return (await cp.kubectl(args)).trim();
  };
  const file = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    return path;
  };
  return {
    operatorKubeconfig: file(
      "operator.kubeconfig",
      kubeconfig(cp, "beyla-operator", await token("beyla-operator")),
    ),
    agentKubeconfig: file(
      "agent-sa.kubeconfig",
      kubeconfig(cp, "beyla-agent", await token("beyla-agent")),
    ),
    operatorControlToken: file("operator-control.token", await token("beyla-operator", AUDIENCE)),
    agentControlToken: file("agent-control.token", await token("beyla-agent", AUDIENCE)),
  };
}

function kubeconfig(cp: ControlPlane, user: string, token: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: ${cp.env["K8S_API_URL"]}
    certificate-authority: ${cp.env["K8S_CA_FILE"]}
users:
- name: ${user}
  user:
    token: ${token}
contexts:
- name: e2e
  context: { cluster: e2e, user: ${user} }
current-context: e2e
`;
}

export interface Certificates {
  caFile: string;
  agentCert: string;
  agentKey: string;
  operatorCert: string;
  operatorKey: string;
}

/**
 * A CA and two serving certificates (ECDSA P-256, openssl) for `subjectAltName`, by default
 * 127.0.0.1 (e.g. "IP:127.0.0.1,DNS:beyla-operator.beyla-system.svc" for a cluster's names).
 */
export function makeCertificates(dir: string, subjectAltName = "IP:127.0.0.1"): Certificates {
  const p = (name: string): string => join(dir, name);
  const ssl = (args: string[]): void => {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
  ssl([
    "req",
    "-x509",
    "-new",
    "-nodes",
    ...ec,
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.crt"),
    "-days",
    "1",
    "-subj",
    "/CN=beyla-control-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  ]);
  for (const name of ["agent", "operator"]) {
    ssl([
      "req",
      "-new",
      "-nodes",
      ...ec,
      "-keyout",
      p(`${name}.key`),
      "-out",
      p(`${name}.csr`),
      "-subj",
      `/CN=beyla-${name}`,
    ]);
    writeFileSync(
      p(`${name}.ext`),
      `subjectAltName=${subjectAltName}\nextendedKeyUsage=serverAuth\n`,
    );
    ssl([
      "x509",
      "-req",
      "-in",
      p(`${name}.csr`),
      "-CA",
      p("ca.crt"),
      "-CAkey",
      p("ca.key"),
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      p(`${name}.ext`),
      "-out",
      p(`${name}.crt`),
    ]);
  }
  return {
    caFile: p("ca.crt"),
    agentCert: p("agent.crt"),
    agentKey: p("agent.key"),
    operatorCert: p("operator.crt"),
    operatorKey: p("operator.key"),
  };
}

/**
 * An agent Pod as the DaemonSet would make it, bound to `node`, with the control port named
 * "control", then marked Running and Ready with podIP 127.0.0.1 (no kubelet here).
 */
export async function registerAgentPod(
  cp: ControlPlane,
  name: string,
  node: string,
  port: number,
  ready = true,
): Promise<void> {
  await cp.apply(`
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${OPERATOR_NS}
  labels: { app.kubernetes.io/name: beyla-agent }
spec:
  nodeName: ${node}
  serviceAccountName: beyla-agent
  containers:
    - name: agent
      image: beyla-ts/agent:e2e
      ports: [{ name: control, containerPort: ${port} }]
`);
  await setAgentPodReady(cp, name, ready);
}

export async function setAgentPodReady(
  cp: ControlPlane,
  name: string,
  ready: boolean,
): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const status = ready ? "True" : "False";
  await cp.kubectl([
    "patch",
    "pod",
    name,
    "-n",
    OPERATOR_NS,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({
      status: {
        phase: "Running",
        podIP: "127.0.0.1",
        podIPs: [{ ip: "127.0.0.1" }],
        conditions: [{ type: "Ready", status, lastTransitionTime: now }],
      },
    }),
  ]);
}

export interface OperatorProcessOptions {
  ids: Identities;
  certs: Certificates;
  port: number;
  identity: string;
}

/** The real `beyla-operator` CLI, as the operator's ServiceAccount, with short lease timings. */
export function startOperator(o: OperatorProcessOptions): Child {
  return start(process.execPath, [
    OPERATOR_CLI,
    "--kubeconfig",
    o.ids.operatorKubeconfig,
    "--namespace",
    OPERATOR_NS,
    "--agent-selector",
    AGENT_LABEL,
    "--token-file",
    o.ids.operatorControlToken,
    "--agent-ca-file",
    o.certs.caFile,
    "--identity",
    o.identity,
    "--lease-duration",
    "6s",
    "--renew-deadline",
    "4s",
    "--retry-period",
    "1s",
    "--resync-period",
    "3s",
    "--listen-address",
    "127.0.0.1",
    "--listen-port",
    String(o.port),
    "--tls-cert-file",
    o.certs.operatorCert,
    "--tls-key-file",
    o.certs.operatorKey,
    "--audience",
    AUDIENCE,
    "--log-level",
    "debug",
  ]);
}

export interface AgentHarnessOptions {
  ids: Identities;
  certs: Certificates;
  port: number;
  node: string;
  eventsFile: string;
  processes: unknown[];
  /** Operator endpoint to pull from at start. */
  pullUrl?: string;
}

export function startAgentHarness(o: AgentHarnessOptions): Child {
  return start(process.execPath, [AGENT_HARNESS], {
    env: {
      ...process.env,
      KUBECONFIG: o.ids.agentKubeconfig,
      HARNESS_PORT: String(o.port),
      HARNESS_CERT: o.certs.agentCert,
      HARNESS_KEY: o.certs.agentKey,
      HARNESS_NODE: o.node,
      HARNESS_ALLOWED: `system:serviceaccount:${OPERATOR_NS}:beyla-operator`,
      HARNESS_AUDIENCE: AUDIENCE,
      HARNESS_PROCESSES: JSON.stringify(o.processes),
      HARNESS_EVENTS: o.eventsFile,
      HARNESS_PULL_URL: o.pullUrl ?? "",
      HARNESS_TOKEN_FILE: o.ids.agentControlToken,
      HARNESS_CA_FILE: o.certs.caFile,
    },
  });
}

export interface HarnessEvent {
  at: number;
  event: "listening" | "push" | "apply" | "pull" | "pull-failed";
  status?: number;
  version?: number;
  hash?: string;
  resources?: { namespace: string; name: string; generation: number; spec: unknown }[];
  selected?: { namespace: string; name: string; processes: number }[];
  error?: string;
}

export function readEvents(file: string): HarnessEvent[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as HarnessEvent);
}

/**
 * RBAC giving the operator `get` on the named Secrets of `namespace` (for `headersFrom`), as
 * the chart does with operator.rbac.headersSecrets.
 */
export function headersSecretsRbac(namespace: string, names: string[]): string {
  const name = "beyla-operator-headers-secrets";
  return `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: ${name}, namespace: ${namespace} }
rules: [{ apiGroups: [""], resources: [secrets], resourceNames: [${names.join(", ")}], verbs: [get] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: ${name}, namespace: ${namespace} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: ${name} }
subjects: [{ kind: ServiceAccount, name: beyla-operator, namespace: ${OPERATOR_NS} }]
`;
}
