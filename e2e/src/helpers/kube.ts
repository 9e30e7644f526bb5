/**
 * A real Kubernetes control plane for end-to-end tests (e2e/k8s/start.sh: etcd and
 * kube-apiserver built from their Go modules), driven with the real kubectl.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, run } from "./processes.js";

const K8S_DIR = join(REPO_ROOT, "e2e", "k8s");

export interface ControlPlane {
  workdir: string;
  /** KEY=value lines of <workdir>/env (K8S_API_URL, K8S_CA_FILE, K8S_BIN_DIR, ...). */
  env: Record<string, string>;
  /** Admin kubeconfig (system:masters). */
  kubeconfig: string;
  /** Runs kubectl as admin; `input` goes to its stdin (for `-f -`). */
  kubectl(args: string[], input?: string): Promise<string>;
  /** `kubectl apply -f -` of YAML or JSON text. */
  apply(manifest: string): Promise<void>;
  /** `kubectl get ... -o json`, parsed. */
  getJson<T = Record<string, unknown>>(args: string[]): Promise<T>;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Run kube-controller-manager and kube-scheduler too (default false: objects stay as made). */
  controllers?: boolean;
}

/**
 * Builds the binaries when missing (cached; instant when built) and starts the control
 * plane in a fresh temporary workdir. No Node objects are made: tests create their own.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  await run("bash", [join(K8S_DIR, "build.sh")], { env: process.env });
  const workdir = mkdtempSync(join(tmpdir(), "beyla-e2e-kube-"));
  await run("bash", [join(K8S_DIR, "start.sh"), workdir], {
    env: { ...process.env, BEYLA_K8S_KCM: opts.controllers ? "1" : "0", BEYLA_K8S_NODES: "" },
  });
  const env = parseEnvFile(readFileSync(join(workdir, "env"), "utf8"));
  const kubeconfig = env["KUBECONFIG"]!;
  const kubectlBin = join(env["K8S_BIN_DIR"]!, "kubectl");
  const kubectl = (args: string[], input?: string) =>
    runWithInput(kubectlBin, ["--kubeconfig", kubeconfig, "--request-timeout=20s", ...args], input);
  return {
    workdir,
    env,
    kubeconfig,
    kubectl,
    apply: async (manifest) => {
      await kubectl(["apply", "-f", "-"], manifest);
    },
    getJson: async <T>(args: string[]) =>
      JSON.parse(await kubectl(["get", ...args, "-o", "json"])) as T,
    stop: async () => {
      await run("bash", [join(K8S_DIR, "stop.sh"), workdir, "--clean"]);
      rmSync(workdir, { recursive: true, force: true });
    },
  };
}

export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/**
 * The least-privilege identity of the node agent: a ServiceAccount whose roles allow only
 * what the agent calls (pods list/watch, replicasets/jobs/nodes get, the kubeadm-config
 * ConfigMap), and a kubeconfig with a token issued for it by the API server (TokenRequest).
 */
export async function agentKubeconfig(cp: ControlPlane, namespace = "beyla"): Promise<string> {
  await cp.apply(`
apiVersion: v1
kind: Namespace
metadata: { name: ${namespace} }
---
apiVersion: v1
kind: ServiceAccount
metadata: { name: beyla-agent, namespace: ${namespace} }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: beyla-agent-e2e }
rules:
  - { apiGroups: [""], resources: [pods], verbs: [list, watch] }
  - { apiGroups: [""], resources: [nodes], verbs: [get] }
  - { apiGroups: [apps], resources: [replicasets], verbs: [get] }
  - { apiGroups: [batch], resources: [jobs], verbs: [get] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: beyla-agent-e2e }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: beyla-agent-e2e }
subjects: [{ kind: ServiceAccount, name: beyla-agent, namespace: ${namespace} }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: beyla-agent-kubeadm-config, namespace: kube-system }
rules:
  - { apiGroups: [""], resources: [configmaps], resourceNames: [kubeadm-config], verbs: [get] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: beyla-agent-kubeadm-config, namespace: kube-system }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: beyla-agent-kubeadm-config }
subjects: [{ kind: ServiceAccount, name: beyla-agent, namespace: ${namespace} }]
`);
  const token = (
    await cp.kubectl(["create", "token", "beyla-agent", "-n", namespace, "--duration=2h"])
  ).trim();
  const file = join(cp.workdir, "agent.kubeconfig");
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: ${cp.env["K8S_API_URL"]}
    certificate-authority: ${cp.env["K8S_CA_FILE"]}
users:
- name: beyla-agent
  user:
    token: ${token}
contexts:
- name: e2e
  context: { cluster: e2e, user: beyla-agent }
current-context: e2e
`,
    { mode: 0o600 },
  );
  return file;
}

/** Runs a command to completion with `input` on its stdin; rejects on a non-zero exit. */
function runWithInput(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (err += d.toString()));
    proc.once("error", reject);
    proc.once("exit", (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`kubectl ${args.slice(3).join(" ")} exited ${code}: ${err}${out}`)),
    );
    proc.stdin.end(input ?? "");
  });
}
