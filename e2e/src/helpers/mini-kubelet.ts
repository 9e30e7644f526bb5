/**
 * A kubelet for the end-to-end tests, which have a real control plane (e2e/k8s: API server,
 * controllers, scheduler) but no kubelet and no container runtime, so the Pods that the chart's
 * DaemonSet and Deployment make would stay Pending forever.
 *
 * What it does, for the Pods bound to its Node whose image it knows (IMAGES; other Pods, such
 * as the tests' workloads, are left to the tests):
 * - gives each Pod a network of its own, as a bridge CNI plugin and kube-proxy would
 *   (mini-kubelet-network.ts): a network namespace, a veth pair to a host bridge, a Pod IP from
 *   the bridge's /24 (10.244.<n>.0/24), loopback, a default route via the host; the Pod IP in
 *   status.podIP/podIPs and the downward API. Pods reach each other and the host by IP, the
 *   host (probes, tests) reaches Pod IPs. Services answer at their ClusterIPs: a kube-proxy
 *   stand-in (mini-kube-proxy.ts) in a namespace of its own splices each connection to a
 *   ready endpoint from the EndpointSlices, the `kubernetes` Service (KUBERNETES_SERVICE_HOST,
 *   10.96.0.1:443) to the API server on the host's 127.0.0.1. hostNetwork Pods stay on the
 *   host's network at 127.0.0.1, with every Service name and KUBERNETES_SERVICE_HOST there;
 * - runs the container as a host process in that namespace (nsenter): the image's entrypoint
 *   (the package's CLI) with the container's command/args; the environment the kubelet
 *   computes (env values with $(VAR), fieldRef, secretKeyRef, configMapKeyRef, envFrom, service
 *   links at the ClusterIPs, the in-cluster KUBERNETES_SERVICE_HOST/PORT), HOME an empty
 *   directory, no variable of the test's own;
 * - volumes written under its directory (ConfigMap, Secret, emptyDir, downwardAPI, projected
 *   with ServiceAccount tokens from the TokenRequest API bound to the Pod, among them the
 *   kube-api-access volume that admission adds for automountServiceAccountToken) and
 *   bind-mounted at their mountPath, read-only when the mount says so, in a mount namespace of
 *   its own (`unshare`, slave propagation as runc's rslave), as the runtime bind-mounts them;
 *   mount points missing on the host (/etc/beyla) are made, and removed at stop; hostPath
 *   volumes at their own path are the host's; a bind-mounted /etc/hosts is the cluster DNS:
 *   Service names to their ClusterIPs (headless ones to their ready endpoints);
 * - the securityContext with setpriv: user, group, fsGroup, capability bounding set,
 *   no_new_privs, read-only root filesystem; the process joins a containerd-style cgroup;
 * - the startup and readiness probes (httpGet on the Pod IP, HTTP or HTTPS without
 *   verification), then the Pod's status through the status subresource (Running, podIP,
 *   conditions, containerStatuses with a containerID), so controllers and the operator see it
 *   Ready;
 * - restarts a container that exits (restartPolicy Always, with backoff), and counts it; the
 *   Pod keeps its sandbox (namespace and IP) across restarts;
 * - on deletion: SIGTERM (SIGKILL after 5 s, not the Pod's full grace period), deletes the
 *   sandbox, then deletes the Pod with grace period 0, the kubelet's last word, so its
 *   controller replaces it;
 * - at stop, and when it fails to start, removes the namespaces, veths, bridge and proxy; a
 *   run that was killed leaves them, and the next run that claims the same network number
 *   deletes them first. No iptables rules, sysctls or host routes are made.
 *
 * Not emulated: image pulls (IMAGES maps a repository to a command); PID, IPC and UTS
 * namespaces (every container sees the host's processes and hostname); a root filesystem
 * of its own (the container sees the host's files besides its mounts); load balancing (the
 * proxy sends every connection to the oldest ready endpoint, kube-proxy picks at random),
 * UDP Services, NodePorts, session affinity, traffic policies, NAT (the endpoint sees the
 * proxy's address, as with kube-proxy's userspace mode); the Service CIDR from the host's
 * network (hostNetwork Pods reach Services only at 127.0.0.1); traffic leaving the machine
 * from a Pod; IPv6; network policies; DNS (names are resolved from the hosts file written
 * at Pod start); resource limits, seccomp/AppArmor, liveness probes, token rotation, more than
 * one container per Pod. It uses the admin token, not a node identity.
 */
import { mkdtempSync, rmdirSync, rmSync } from "node:fs";
import { get as httpGet, type IncomingMessage } from "node:http";
import { get as httpsGet } from "node:https";
import { join } from "node:path";
import { AGENT_CLI } from "./agent.js";
import type { ControlPlane } from "./helm.js";
import { prepareContainer, type PreparedContainer } from "./mini-kubelet-container.js";
import { PodNetwork, proxyRules, type Sandbox } from "./mini-kubelet-network.js";
import {
  get,
  NODE_IP,
  onlyContainer,
  podName,
  type Container,
  type EndpointSlice,
  type NodeContext,
  type Pod,
  type Probe,
  type ServiceObject,
} from "./mini-kubelet-pod.js";
import { OPERATOR_CLI } from "./operator-cluster.js";
import { start, type Child } from "./processes.js";

/** Image repository → the image's entrypoint, as a host command. */
export const IMAGES: Readonly<Record<string, readonly string[]>> = {
  "beyla-ts/agent": [process.execPath, AGENT_CLI],
  "beyla-ts/operator": [process.execPath, OPERATOR_CLI],
};

const SYNC_PERIOD_MS = 200;
/** How often kube-proxy's rules are brought up to date (kube-proxy's default minSyncPeriod). */
const PROXY_SYNC_PERIOD_MS = 1000;
/** Probes until the first success: faster than periodSeconds, only the outcome matters here. */
const FIRST_PROBE_PERIOD_MS = 250;

/** One run of a Pod's container (a restart is a new run). */
export interface ContainerRun {
  namespace: string;
  pod: string;
  uid: string;
  /** The Pod's IP: its sandbox's, or the Node's on the host's network. */
  podIP: string;
  child: Child;
  containerId: string;
}

interface RunningPod {
  pod: Pod;
  /** Undefined on the host's network. */
  sandbox: Sandbox | undefined;
  prepared: PreparedContainer;
  run: ContainerRun;
  startedAt: string;
  started: boolean;
  ready: boolean;
  failures: number;
  restarts: number;
  stopping: boolean;
  timer?: NodeJS.Timeout;
  /** lastTransitionTime of each condition, by type. */
  transitions: Map<string, string>;
}

export class MiniKubelet {
  private readonly pods = new Map<string, RunningPod>();
  private readonly history: ContainerRun[] = [];
  /** What it did, timestamped, for failure messages. */
  private readonly events: string[] = [];
  private lastEvent = "";
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> = Promise.resolve();
  private lastProxySync = 0;
  private stopped = false;

  private constructor(
    private readonly node: NodeContext,
    readonly nodeName: string,
    /** The Pods' network (bridge, sandboxes, kube-proxy). */
    readonly network: PodNetwork,
  ) {}

  /**
   * Builds the Pod network and starts syncing the Pods bound to `nodeName` (a Node object of
   * `cp`). On failure, removes what it made.
   */
  static async start(cp: ControlPlane, nodeName: string): Promise<MiniKubelet> {
    const token = cp.env["K8S_TOKEN"]!;
    const api = new URL(cp.env["K8S_API_URL"]!);
    const node: NodeContext = {
      api: (method, path, body) => deadline(cp.api(method, path, token, body), `${method} ${path}`),
      apiPort: api.port,
      // Not under /tmp: containers get an emptyDir there, over the host's.
      root: mkdtempSync("/var/lib/beyla-mini-kubelet-"),
      madeDirs: [],
    };
    // Until the kubelet exists, the network's lines wait here.
    const events: string[] = [];
    let log = (line: string): void => {
      events.push(`${new Date().toISOString()} ${line}`);
    };
    try {
      const cidrs = await get(node, "/apis/networking.k8s.io/v1/servicecidrs/kubernetes");
      const serviceCidr = ((cidrs?.["spec"] as { cidrs?: string[] } | undefined)?.cidrs ?? []).find(
        (c) => !c.includes(":"),
      );
      if (serviceCidr === undefined)
        throw new Error("no IPv4 Service CIDR (ServiceCIDR kubernetes)");
      const network = await PodNetwork.create({
        serviceCidr,
        apiServer: { host: api.hostname, port: Number(api.port) },
        dir: node.root,
        log: (line) => log(line),
      });
      const kubelet = new MiniKubelet(node, nodeName, network);
      kubelet.events.push(...events);
      log = (line) => kubelet.event(line);
      kubelet.schedule();
      return kubelet;
    } catch (e) {
      rmSync(node.root, { recursive: true, force: true });
      throw new Error(`mini-kubelet: ${(e as Error).message}\n${events.join("\n")}`, { cause: e });
    }
  }

  /** Every container run so far, oldest first. */
  runs(): readonly ContainerRun[] {
    return this.history;
  }

  /** The run now in force for the Pod of `namespace` whose name starts with `prefix`. */
  current(namespace: string, prefix: string): ContainerRun | undefined {
    return this.running(namespace, prefix)[0];
  }

  /** The runs now in force for the Pods of `namespace` whose name starts with `prefix`. */
  running(namespace: string, prefix: string): ContainerRun[] {
    return [...this.pods.values()]
      .map((p) => p.run)
      .filter((r) => r.namespace === namespace && r.pod.startsWith(prefix));
  }

  /** How many times a container that exited on its own was started again, in all. */
  restartCount(): number {
    return this.history.length - new Set(this.history.map((r) => r.uid)).size;
  }

  /** For failure messages: every run with its exit and the end of its stderr, and its events. */
  report(): string {
    const runs = this.history.map((r) => {
      const { exitCode, signalCode } = r.child.proc;
      const state =
        exitCode === null && signalCode === null ? "running" : `exit ${exitCode ?? signalCode}`;
      return `--- ${r.namespace}/${r.pod} pid ${r.child.pid} (${state}):\n${r.child.stderr().slice(-3000)}`;
    });
    return [...runs, "--- mini-kubelet:", ...this.events.slice(-40)].join("\n");
  }

  /**
   * Stops every container, then removes the Pod network (sandboxes, kube-proxy, bridge), its
   * directory and the mount points it made.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.syncing;
    await Promise.all([...this.pods.values()].map((p) => this.kill(p)));
    await this.network.stop();
    for (const dir of this.node.madeDirs.reverse()) rmdirSync(dir);
    rmSync(this.node.root, { recursive: true, force: true });
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.syncing = this.sync().catch((e: unknown) => this.error("sync", e));
      void this.syncing.then(() => {
        if (!this.stopped) this.schedule();
      });
    }, SYNC_PERIOD_MS);
  }

  private event(line: string): void {
    if (line === this.lastEvent) return; // a retry that fails the same way every 200 ms
    this.lastEvent = line;
    this.events.push(`${new Date().toISOString()} ${line}`);
  }

  private error(what: string, e: unknown): void {
    this.event(`error: ${what}: ${e instanceof Error ? e.message : String(e)}`);
  }

  /**
   * One pass over the node's Pods, then, every PROXY_SYNC_PERIOD_MS, over the Services.
   * Terminating and vanished Pods are stopped before new ones start: Pods on the host's
   * network share its ports, and a replacement needs its predecessor's.
   */
  private async sync(): Promise<void> {
    const selector = encodeURIComponent(`spec.nodeName=${this.nodeName}`);
    const answer = await this.node.api("GET", `/api/v1/pods?fieldSelector=${selector}`);
    if (answer.status !== 200) throw new Error(`list pods: ${answer.status}`);
    const all = answer.body.items as Pod[];
    const pods = all.filter((p) => entrypoint(p) !== undefined);
    const live = new Set(pods.map((p) => p.metadata.uid));
    for (const p of pods.filter((p) => p.metadata.deletionTimestamp !== undefined)) {
      await this.terminate(p);
    }
    for (const p of [...this.pods.values()].filter((p) => !live.has(p.pod.metadata.uid))) {
      await this.kill(p);
    }
    // Sandboxes of Pods that vanished before their container ever ran.
    for (const uid of this.network.uids().filter((u) => !live.has(u) && !this.pods.has(u))) {
      await this.network.release(uid);
    }
    for (const p of pods) {
      const done = ["Succeeded", "Failed"].includes(p.status?.phase ?? "");
      if (p.metadata.deletionTimestamp || done || this.pods.has(p.metadata.uid)) continue;
      await this.run(p).catch((e: unknown) => this.error(podName(p), e));
    }
    if (Date.now() - this.lastProxySync >= PROXY_SYNC_PERIOD_MS) {
      this.lastProxySync = Date.now();
      await this.syncProxy(all).catch((e: unknown) => this.error("kube-proxy", e));
    }
  }

  /** kube-proxy's part: the Services' ClusterIPs to their ready endpoints. */
  private async syncProxy(pods: readonly Pod[]): Promise<void> {
    const services = await get(this.node, "/api/v1/services");
    const slices = await get(this.node, "/apis/discovery.k8s.io/v1/endpointslices");
    const created = new Map(
      pods.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p.metadata.creationTimestamp]),
    );
    const rules = proxyRules(
      (services?.["items"] ?? []) as ServiceObject[],
      (slices?.["items"] ?? []) as EndpointSlice[],
      (namespace, pod) => created.get(`${namespace}/${pod}`),
      this.network.apiServerEndpoint,
    );
    await this.network.setRules(rules);
  }

  private async run(pod: Pod): Promise<void> {
    this.event(`prepare ${podName(pod)}`);
    let sandbox: Sandbox | undefined;
    if (pod.spec.hostNetwork !== true) {
      sandbox = await this.network.sandbox(pod.metadata.uid);
      this.event(`sandbox ${podName(pod)}: ${sandbox.ip} in ${sandbox.name}`);
    }
    // The kubelet's copy of the Pod knows its IP before the container starts (downward API).
    const ip = sandbox?.ip ?? NODE_IP;
    const withIP: Pod = { ...pod, status: { ...pod.status, podIP: ip } };
    const prepared = await prepareContainer(this.node, withIP, entrypoint(pod)!, sandbox);
    const p: RunningPod = {
      pod: withIP,
      sandbox,
      prepared,
      run: this.spawn(withIP, prepared),
      startedAt: now(),
      started: false,
      ready: false,
      failures: 0,
      restarts: 0,
      stopping: false,
      transitions: new Map(),
    };
    this.pods.set(pod.metadata.uid, p);
    this.watchExit(p);
    await this.reportStatus(p);
    this.probeLater(p, 0);
  }

  private spawn(pod: Pod, prepared: PreparedContainer): ContainerRun {
    const child = start(prepared.command, prepared.argv, { env: prepared.env, cwd: "/" });
    this.event(`started ${podName(pod)}: pid ${child.pid}`);
    const run = {
      namespace: pod.metadata.namespace,
      pod: pod.metadata.name,
      uid: pod.metadata.uid,
      podIP: pod.status?.podIP ?? NODE_IP,
      child,
      containerId: prepared.containerId,
    };
    this.history.push(run);
    return run;
  }

  /** restartPolicy Always: a container that exits on its own runs again, after a backoff. */
  private watchExit(p: RunningPod): void {
    p.run.child.proc.once("exit", (code, signal) => {
      this.event(`exited ${podName(p.pod)}: pid ${p.run.child.pid}, ${code ?? signal}`);
      if (p.stopping) return;
      p.restarts++;
      p.started = p.ready = false;
      clearTimeout(p.timer);
      this.reportStatus(p).catch((e: unknown) => this.error(podName(p.pod), e));
      const backoff = Math.min(10_000, 1000 * 2 ** (p.restarts - 1));
      p.timer = setTimeout(() => {
        if (p.stopping) return;
        p.run = this.spawn(p.pod, p.prepared);
        this.watchExit(p);
        this.probeLater(p, 0);
      }, backoff);
    });
  }

  /** Graceful deletion: stop the container, then delete the Pod for good (grace period 0). */
  private async terminate(pod: Pod): Promise<void> {
    this.event(`terminate ${podName(pod)}`);
    const p = this.pods.get(pod.metadata.uid);
    if (p) await this.kill(p);
    else await this.network.release(pod.metadata.uid);
    const path = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
    const answer = await this.node.api("DELETE", path, {
      apiVersion: "v1",
      kind: "DeleteOptions",
      gracePeriodSeconds: 0,
      preconditions: { uid: pod.metadata.uid },
    });
    this.event(`deleted ${podName(pod)}: ${answer.status}`);
  }

  private async kill(p: RunningPod): Promise<void> {
    p.stopping = true;
    clearTimeout(p.timer);
    await p.run.child.stop();
    p.prepared.cgroup.remove();
    await this.network
      .release(p.pod.metadata.uid)
      .catch((e: unknown) => this.error(`sandbox of ${podName(p.pod)}`, e));
    this.pods.delete(p.pod.metadata.uid);
    rmSync(join(this.node.root, "pods", p.pod.metadata.uid), { recursive: true, force: true });
  }

  private probeLater(p: RunningPod, ms: number): void {
    p.timer = setTimeout(() => {
      this.probe(p).catch((e: unknown) => this.error(`probe ${podName(p.pod)}`, e));
    }, ms);
  }

  /**
   * The startup probe until it passes, then the readiness probe: Ready after one success, not
   * Ready after failureThreshold failures in a row. Each change is reported in the status.
   */
  private async probe(p: RunningPod): Promise<void> {
    if (p.stopping || p.run.child.proc.exitCode !== null) return;
    const c = onlyContainer(p.pod);
    const ok = await probeOnce(p.started ? c.readinessProbe : c.startupProbe, c, p.run.podIP);
    if (p.stopping) return;
    const wasReady = p.ready;
    if (!p.started) {
      p.started = ok;
    } else if (ok) {
      p.failures = 0;
      p.ready = true;
    } else if (++p.failures >= (c.readinessProbe?.failureThreshold ?? 3)) {
      p.ready = false;
    }
    if (p.ready !== wasReady) {
      this.event(`${podName(p.pod)} ${p.ready ? "ready" : "not ready"}`);
      await this.reportStatus(p);
    }
    const period = (c.readinessProbe?.periodSeconds ?? 10) * 1000;
    this.probeLater(p, p.ready ? period : FIRST_PROBE_PERIOD_MS);
  }

  /** What the kubelet writes to the status subresource. */
  private async reportStatus(p: RunningPod): Promise<void> {
    const c = onlyContainer(p.pod);
    const running = p.run.child.proc.exitCode === null && p.run.child.proc.signalCode === null;
    const condition = (type: string, status: boolean) => {
      const value = status ? "True" : "False";
      const key = `${type}=${value}`;
      if (!p.transitions.has(key)) p.transitions.set(key, now());
      return {
        type,
        status: value,
        lastProbeTime: null,
        lastTransitionTime: p.transitions.get(key),
      };
    };
    const status = {
      phase: "Running",
      hostIP: NODE_IP,
      hostIPs: [{ ip: NODE_IP }],
      podIP: p.run.podIP,
      podIPs: [{ ip: p.run.podIP }],
      startTime: p.startedAt,
      conditions: [
        condition("PodReadyToStartContainers", true),
        condition("Initialized", true),
        condition("Ready", p.ready),
        condition("ContainersReady", p.ready),
        condition("PodScheduled", true),
      ],
      containerStatuses: [
        {
          name: c.name,
          image: c.image,
          imageID: `${c.image.split(/[:@]/)[0]}@sha256:${"0".repeat(64)}`,
          containerID: `containerd://${p.run.containerId}`,
          ready: p.ready,
          started: p.started,
          restartCount: p.restarts,
          state: running
            ? { running: { startedAt: p.startedAt } }
            : { waiting: { reason: "CrashLoopBackOff" } },
        },
      ],
    };
    const path = `/api/v1/namespaces/${p.pod.metadata.namespace}/pods/${p.pod.metadata.name}/status`;
    const answer = await this.node.api("PATCH", path, { status });
    if (answer.status !== 200 && answer.status !== 404) {
      this.error(`status of ${podName(p.pod)}`, new Error(JSON.stringify(answer.body)));
    }
  }
}

/** The command of a Pod whose one container's image this kubelet knows. */
function entrypoint(pod: Pod): readonly string[] | undefined {
  const [c] = pod.spec.containers;
  const repository = c?.image.replace(/@.*$/, "").replace(/:[^/:]*$/, "");
  return repository === undefined ? undefined : IMAGES[repository];
}

/** A call that never answers must not stop the kubelet's loop. */
function deadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in 30 s`)), 30_000);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

/** One httpGet probe on the Pod IP; no probe counts as success, as for the kubelet. */
async function probeOnce(probe: Probe | undefined, c: Container, podIP: string): Promise<boolean> {
  const check = probe?.httpGet;
  if (probe === undefined) return true;
  if (check === undefined) throw new Error(`${c.name}: only httpGet probes are emulated`);
  const port =
    typeof check.port === "number"
      ? check.port
      : c.ports?.find((p) => p.name === check.port)?.containerPort;
  if (port === undefined) return false;
  const https = (check.scheme ?? "HTTP").toUpperCase() === "HTTPS";
  const url = `${https ? "https" : "http"}://${podIP}:${port}${check.path ?? "/"}`;
  const timeout = (probe.timeoutSeconds ?? 1) * 1000;
  return new Promise((resolve) => {
    const done = (res: IncomingMessage) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400);
    };
    // The kubelet does not verify the serving certificate of an HTTPS probe.
    const req = https
      ? httpsGet(url, { rejectUnauthorized: false, timeout }, done)
      : httpGet(url, { timeout }, done);
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}
