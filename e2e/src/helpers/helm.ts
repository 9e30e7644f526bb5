import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, run } from "./processes.js";

const K8S_DIR = join(REPO_ROOT, "e2e", "k8s");
export const CHART_DIR = join(REPO_ROOT, "charts", "beyla");

/** The outcome of a command that is allowed to fail. */
export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and reports how it ended, failure included. */
export function outcome(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: opts.env ?? process.env,
      cwd: opts.cwd ?? REPO_ROOT,
    });
    let stdout = "";
    let stderr = "";
    proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    proc.once("error", reject);
    proc.once("close", (code) => resolve({ code, stdout, stderr }));
    proc.stdin.end(opts.input ?? "");
  });
}

/** Why the control plane cannot run here, or undefined when it can. */
export async function controlPlaneUnavailable(): Promise<string | undefined> {
  const bin = (await run("bash", [join(K8S_DIR, "build.sh"), "--print-bin-dir"])).trim();
  const needed = ["kube-apiserver", "kube-controller-manager", "kubectl", "etcd", "helm"];
  if (needed.every((b) => existsSync(join(bin, b)))) return undefined;
  const go = await outcome("bash", ["-c", "command -v go"]);
  if (go.code !== 0) {
    return `no Kubernetes binaries in ${bin} and no Go toolchain to build them (e2e/k8s/build.sh)`;
  }
  return undefined;
}

/**
 * A real control plane (etcd, kube-apiserver, kube-controller-manager, and whatever else
 * e2e/k8s/start.sh runs) in a temporary workdir, with kubectl and helm bound to it.
 */
export class ControlPlane {
  private constructor(
    readonly workdir: string,
    /** KEY=value lines of <workdir>/env. */
    readonly env: Readonly<Record<string, string>>,
  ) {}

  get binDir(): string {
    return this.env["K8S_BIN_DIR"]!;
  }

  get kubeconfig(): string {
    return this.env["KUBECONFIG"]!;
  }

  /** Node objects start.sh created. */
  get nodes(): string[] {
    return (this.env["K8S_NODES"] ?? "").split(",").filter((n) => n !== "");
  }

  /** True when kube-controller-manager runs (Deployments and DaemonSets get Pods). */
  get controllers(): boolean {
    return (this.env["KCM_PID"] ?? "") !== "";
  }

  /** True when kube-scheduler runs (Pods get bound to a Node). */
  get scheduler(): boolean {
    return (this.env["SCHEDULER_PID"] ?? "") !== "";
  }

  /**
   * Builds (or finds in the cache) the binaries and starts the control plane. start.sh picks
   * free ports at random, and another cluster on the machine may take one first: one retry.
   */
  static async start(): Promise<ControlPlane> {
    await run("bash", [join(K8S_DIR, "build.sh")]);
    const workdir = mkdtempSync(join(tmpdir(), "beyla-helm-"));
    let last: Outcome | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      last = await outcome("bash", [join(K8S_DIR, "start.sh"), workdir]);
      if (last.code === 0) return new ControlPlane(workdir, readEnvFile(join(workdir, "env")));
    }
    throw new Error(`e2e/k8s/start.sh ${workdir} exited ${last?.code}: ${last?.stderr}`);
  }

  /** Stops the control plane; removes the workdir (kubectl's cache and helm's state too). */
  async stop(): Promise<void> {
    const o = await outcome("bash", [join(K8S_DIR, "stop.sh"), this.workdir]);
    if (o.code !== 0)
      throw new Error(`e2e/k8s/stop.sh ${this.workdir} exited ${o.code}: ${o.stderr}`);
    rmSync(this.workdir, { recursive: true, force: true });
  }

  /** Environment of kubectl and helm: this cluster, and helm's state inside the workdir. */
  private toolEnv(): NodeJS.ProcessEnv {
    return {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: this.workdir,
      KUBECONFIG: this.kubeconfig,
      HELM_CACHE_HOME: join(this.workdir, "helm", "cache"),
      HELM_CONFIG_HOME: join(this.workdir, "helm", "config"),
      HELM_DATA_HOME: join(this.workdir, "helm", "data"),
    };
  }

  kubectlOutcome(args: string[], input?: string): Promise<Outcome> {
    return outcome(join(this.binDir, "kubectl"), ["--request-timeout=20s", ...args], {
      env: this.toolEnv(),
      input,
    });
  }

  helmOutcome(args: string[]): Promise<Outcome> {
    return outcome(join(this.binDir, "helm"), args, { env: this.toolEnv() });
  }

  /** kubectl; rejects with its stderr on failure. */
  async kubectl(args: string[], input?: string): Promise<string> {
    const o = await this.kubectlOutcome(args, input);
    if (o.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${o.code}: ${o.stderr}`);
    return o.stdout;
  }

  /** `kubectl apply -f -` of YAML or JSON text. */
  async apply(manifest: string): Promise<void> {
    await this.kubectl(["apply", "-f", "-"], manifest);
  }

  /** `kubectl get ... -o json`, parsed. */
  async getJson<T = K8sObject>(args: string[]): Promise<T> {
    return JSON.parse(await this.kubectl(["get", ...args, "-o", "json"])) as T;
  }

  /** helm; rejects with its stderr on failure. */
  async helm(args: string[]): Promise<string> {
    const o = await this.helmOutcome(args);
    if (o.code !== 0) throw new Error(`helm ${args.join(" ")} exited ${o.code}: ${o.stderr}`);
    return o.stdout;
  }

  /** Whether an object exists: `kubectl get` succeeds, or says NotFound. */
  async exists(kind: string, name: string, namespace?: string): Promise<boolean> {
    const ns = namespace === undefined ? [] : ["-n", namespace];
    const o = await this.kubectlOutcome(["get", kind, name, ...ns, "-o", "name"]);
    if (o.code === 0) return true;
    if (o.stderr.includes("NotFound")) return false;
    throw new Error(`kubectl get ${kind} ${name} exited ${o.code}: ${o.stderr}`);
  }

  /** A token of a ServiceAccount (TokenRequest), optionally bound to an audience. */
  async token(namespace: string, name: string, audience?: string): Promise<string> {
    const aud = audience === undefined ? [] : ["--audience", audience];
    return (await this.kubectl(["create", "token", name, "-n", namespace, ...aud])).trim();
  }

  /**
   * One call to the API server with a bearer token, as a component would make it (no kubectl
   * in between: kubectl patch, for one, reads the object first).
   */
  api(method: string, path: string, token: string, body?: unknown): Promise<ApiAnswer> {
    const url = new URL(path, this.env["K8S_API_URL"]);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const contentType = method === "PATCH" ? "application/merge-patch+json" : "application/json";
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: readFileSync(this.env["K8S_CA_FILE"]!),
          headers: {
            authorization: `Bearer ${token}`,
            accept: "application/json",
            // Without a length, Node sends a DELETE's body unframed: the server reads it as the
            // start of the next request on the connection.
            ...(payload === undefined
              ? {}
              : { "content-type": contentType, "content-length": Buffer.byteLength(payload) }),
          },
          timeout: 20_000,
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (text += d));
          res.on("end", () => {
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
            } catch (cause) {
              const what = `${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`;
              reject(new Error(what, { cause }));
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /**
   * `kubectl auth can-i <args...>` as a ServiceAccount: true for "yes", false for "no".
   * `args` are the verb, the resource and flags such as `-n ns` or `--subresource=status`.
   */
  async canI(serviceAccount: string, args: string[]): Promise<boolean> {
    const o = await this.kubectlOutcome(["auth", "can-i", ...args, `--as=${serviceAccount}`]);
    const answer = o.stdout.trim();
    if (answer !== "yes" && answer !== "no") {
      throw new Error(`kubectl auth can-i ${args.join(" ")} as ${serviceAccount}: ${o.stderr}`);
    }
    return answer === "yes";
  }
}

export interface ApiAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** The parts of a Kubernetes object the tests read; everything else stays `unknown`. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
  rules?: unknown[];
  roleRef?: unknown;
  subjects?: unknown[];
  value?: number;
  [key: string]: unknown;
}

export interface K8sList<T = K8sObject> {
  items: T[];
}

function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}
