/**
 * The Pod network of the mini-kubelet (mini-kubelet.ts): what a CNI plugin (bridge with
 * host-local IPAM) and kube-proxy do on a node, made with iproute2.
 *
 * - A bridge `bmk<n>` on the host, gateway 10.244.<n>.1/24. The number is claimed with a pid
 *   file in /run/beyla-mini-kubelet, so that test runs on one machine get separate bridges and
 *   ranges; a claim whose process is gone was left by a run that was killed: its namespaces
 *   and links are deleted before the number is used again. A range that a route of the machine
 *   already covers is skipped.
 * - Per Pod, a sandbox: a network namespace (`ip netns add bmk<n>-<i>`), a veth pair (eth0 in
 *   the namespace, `bmk<n>p<i>` on the bridge), the IP 10.244.<n>.<i> (host-local's order: the
 *   next one after the last given, so an IP is not handed out again at once), loopback up,
 *   the default route via the gateway and the Service CIDR via the proxy.
 * - kube-proxy: mini-kube-proxy.js in a namespace of its own on the bridge (`bmk<n>-proxy`,
 *   10.244.<n>.2) where the whole Service CIDR is local; `setRules` gives it the Services'
 *   ClusterIPs and ready endpoints. The `kubernetes` Service's endpoint is the API server on
 *   the host's 127.0.0.1, which no namespace reaches: a Unix socket, relayed here.
 *
 * No NAT, no forwarding between interfaces, no iptables and no sysctl: the host reaches the
 * Pods through the bridge's route, Pods reach each other on the bridge, and the host's own
 * addresses (not its 127.0.0.1) through the gateway. Nothing leaves the machine from a Pod.
 */
import { spawn, type ChildProcess } from "node:child_process";
import {
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Endpoint, ProxyMessage, Rule } from "./mini-kube-proxy.js";
import type { EndpointSlice, ServiceObject } from "./mini-kubelet-pod.js";

export type { Endpoint, Rule } from "./mini-kube-proxy.js";

const LOCK_DIR = "/run/beyla-mini-kubelet";
/** Bridges 0..31: 10.244.0.0/24 .. 10.244.31.0/24. */
const NETWORKS = 32;
const PROXY_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "mini-kube-proxy.js");
const FIRST_POD_HOST = 3;
const LAST_POD_HOST = 254;

/** Where a Pod's containers run: its network namespace (a path for nsenter) and IP. */
export interface Sandbox {
  ip: string;
  /** /run/netns/<name>. */
  netns: string;
  name: string;
  /** The host end of its veth pair, on the bridge. */
  veth: string;
}

export interface PodNetworkOptions {
  /** The Service CIDR (the ServiceCIDR object `kubernetes`). */
  serviceCidr: string;
  /** The API server, as the host reaches it. */
  apiServer: { host: string; port: number };
  /** A directory for the API server relay's socket. */
  dir: string;
  /** What it did, for failure messages. */
  log: (line: string) => void;
}

export class PodNetwork {
  private readonly sandboxes = new Map<string, Sandbox>();
  private lastHost = FIRST_POD_HOST - 1;
  private lastRules = "";
  private readonly answers: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private proxy: ChildProcess | undefined;
  private proxyErr = "";
  private relay: Server | undefined;
  private readonly relayed = new Set<Socket>();
  private stopped = false;

  private constructor(
    private readonly n: number,
    private readonly options: PodNetworkOptions,
  ) {}

  /** The bridge's name. */
  get bridge(): string {
    return `bmk${this.n}`;
  }

  /** The Pods' range, e.g. 10.244.0.0/24. */
  get cidr(): string {
    return `${this.prefix}.0/24`;
  }

  /** The host's address on the bridge: the Pods' default gateway. */
  get gateway(): string {
    return `${this.prefix}.1`;
  }

  /** Every IP a Pod may get. */
  podIPs(): string[] {
    const ips: string[] = [];
    for (let i = FIRST_POD_HOST; i <= LAST_POD_HOST; i++) ips.push(`${this.prefix}.${i}`);
    return ips;
  }

  /** The endpoint of the `kubernetes` Service: the relay to the API server. */
  get apiServerEndpoint(): Endpoint {
    return { path: this.relayPath };
  }

  private get prefix(): string {
    return `10.244.${this.n}`;
  }

  private get proxyIP(): string {
    return `${this.prefix}.2`;
  }

  private get relayPath(): string {
    return join(this.options.dir, "kube-apiserver.sock");
  }

  /** Claims a free network, builds the bridge and starts the proxy; undoes it all on failure. */
  static async create(options: PodNetworkOptions): Promise<PodNetwork> {
    const n = await claim(options.log);
    const network = new PodNetwork(n, options);
    try {
      await network.build();
    } catch (e) {
      await network.stop().catch(() => undefined);
      throw e;
    }
    return network;
  }

  private async build(): Promise<void> {
    const { bridge, gateway } = this;
    await ip(
      ["-batch", "-"],
      [
        `link add ${bridge} type bridge`,
        `addr add ${gateway}/24 dev ${bridge}`,
        `link set ${bridge} up`,
      ],
    );
    await this.addNamespace(`${bridge}-proxy`, `${bridge}proxy`, this.proxyIP, [
      `route add local ${this.options.serviceCidr} dev lo`,
    ]);
    this.options.log(`network ${this.cidr} on ${bridge}, proxy ${this.proxyIP}`);
    const { host, port } = this.options.apiServer;
    this.relay = createServer({ allowHalfOpen: true }, (c) => {
      const upstream = connect({ host, port, allowHalfOpen: true });
      this.relayed.add(c);
      c.once("close", () => this.relayed.delete(c));
      c.pipe(upstream);
      upstream.pipe(c);
      c.on("error", () => upstream.destroy());
      upstream.on("error", () => c.destroy());
      c.on("close", () => upstream.destroy());
      upstream.on("close", () => c.destroy());
    });
    rmSync(this.relayPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.relay!.once("error", reject);
      this.relay!.listen(this.relayPath, () => resolve());
    });
    const proxy = spawn(
      "nsenter",
      [`--net=/run/netns/${bridge}-proxy`, process.execPath, PROXY_SCRIPT],
      { stdio: ["ignore", "ignore", "pipe", "ipc"] },
    );
    this.proxy = proxy;
    proxy.stderr?.on("data", (d: Buffer) => (this.proxyErr += d.toString()));
    proxy.on("message", (m: ProxyMessage) => {
      const waiting = this.answers.shift();
      if ("error" in m) waiting?.reject(new Error(`kube-proxy: ${m.error}`));
      else waiting?.resolve();
    });
    proxy.on("error", (e) => this.options.log(`kube-proxy: ${e.message}`));
    proxy.once("exit", (code, signal) => {
      if (!this.stopped) this.options.log(`kube-proxy exited ${code ?? signal}: ${this.proxyErr}`);
      for (const w of this.answers.splice(0)) w.reject(new Error("kube-proxy exited"));
    });
    await this.setRules([]);
  }

  /** A namespace on the bridge with `ip`/24, loopback up, default route and `routes`. */
  private async addNamespace(
    name: string,
    veth: string,
    address: string,
    routes: string[],
  ): Promise<void> {
    await ip(
      ["-batch", "-"],
      [
        `netns add ${name}`,
        `link add ${veth} type veth peer name eth0 netns ${name}`,
        `link set ${veth} master ${this.bridge} up`,
      ],
    );
    await ip(
      ["-n", name, "-batch", "-"],
      [
        `addr add ${address}/24 dev eth0`,
        "link set lo up",
        "link set eth0 up",
        `route add default via ${this.gateway}`,
        ...routes,
      ],
    );
  }

  /** The Pod's sandbox, made at its first call: namespace, veth, IP, routes. */
  async sandbox(uid: string): Promise<Sandbox> {
    const known = this.sandboxes.get(uid);
    if (known) return known;
    if (this.stopped) throw new Error("the Pod network is stopped");
    const host = this.nextHost();
    const name = `${this.bridge}-${host}`;
    const s: Sandbox = {
      ip: `${this.prefix}.${host}`,
      netns: `/run/netns/${name}`,
      name,
      veth: `${this.bridge}p${host}`,
    };
    this.sandboxes.set(uid, s);
    try {
      await this.addNamespace(name, s.veth, s.ip, [
        `route add ${this.options.serviceCidr} via ${this.proxyIP}`,
      ]);
    } catch (e) {
      await this.release(uid).catch(() => undefined);
      throw e;
    }
    return s;
  }

  /** Deletes the Pod's sandbox (after its containers stopped), if it has one. */
  async release(uid: string): Promise<void> {
    const s = this.sandboxes.get(uid);
    if (s === undefined) return;
    this.sandboxes.delete(uid);
    await removeNamespace(s.name, s.veth);
  }

  /** UIDs of the Pods that have a sandbox. */
  uids(): string[] {
    return [...this.sandboxes.keys()];
  }

  /** The proxy's rules (sent when they changed); rejects when it could not apply them. */
  async setRules(rules: readonly Rule[]): Promise<void> {
    const text = JSON.stringify(rules);
    if (text === this.lastRules) return;
    const proxy = this.proxy;
    if (proxy === undefined || !proxy.connected) throw new Error("kube-proxy is not running");
    const applied = new Promise<void>((resolve, reject) => this.answers.push({ resolve, reject }));
    proxy.send(rules, (e: Error | null) => {
      if (e) this.answers.shift()?.reject(new Error(`kube-proxy: ${e.message}`));
    });
    await applied;
    this.lastRules = text;
  }

  /** Stops the proxy and the relay, deletes every sandbox, the bridge and the claim. */
  async stop(): Promise<void> {
    this.stopped = true;
    const proxy = this.proxy;
    if (proxy && proxy.exitCode === null && proxy.signalCode === null) {
      const exited = new Promise((resolve) => proxy.once("exit", resolve));
      if (proxy.connected) proxy.disconnect();
      const timer = setTimeout(() => proxy.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    // Watches through the relay would keep it open: the Pods that made them are gone.
    for (const c of this.relayed) c.destroy();
    await new Promise<void>((resolve) =>
      this.relay ? this.relay.close(() => resolve()) : resolve(),
    );
    rmSync(this.relayPath, { force: true });
    for (const uid of this.uids()) await this.release(uid);
    await removeLeftovers(this.n);
    rmSync(lockFile(this.n), { force: true });
    this.options.log(`network ${this.cidr} removed`);
  }

  /** host-local's order: the next free host number after the last one given, wrapping. */
  private nextHost(): number {
    const taken = new Set([...this.sandboxes.values()].map((s) => s.ip));
    const size = LAST_POD_HOST - FIRST_POD_HOST + 1;
    for (let k = 1; k <= size; k++) {
      const host = FIRST_POD_HOST + ((this.lastHost - FIRST_POD_HOST + k) % size);
      // A veth still there belongs to a namespace that something keeps alive.
      if (
        taken.has(`${this.prefix}.${host}`) ||
        existsSync(`/sys/class/net/${this.bridge}p${host}`)
      )
        continue;
      this.lastHost = host;
      return host;
    }
    throw new Error(`no free IP in ${this.cidr}`);
  }
}

/**
 * kube-proxy's rules: each TCP port of each Service that has a ClusterIP, to the Service's
 * ready endpoints (EndpointSlices; the `kubernetes` Service's endpoint is `apiServer`).
 * Endpoints come oldest Pod first (creation time from `created`, then by IP), and the proxy
 * does not balance: it sends every connection to the first. kube-proxy picks one at random;
 * here which replica a client reaches does not depend on chance.
 */
export function proxyRules(
  services: readonly ServiceObject[],
  slices: readonly EndpointSlice[],
  created: (namespace: string, pod: string) => string | undefined,
  apiServer: Endpoint,
): Rule[] {
  const rules: Rule[] = [];
  for (const s of services) {
    const { name, namespace } = s.metadata;
    const ip = s.spec.clusterIP;
    if (!ip || ip === "None") continue;
    for (const p of (s.spec.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP")) {
      if (namespace === "default" && name === "kubernetes") {
        rules.push({ ip, port: p.port, endpoints: [apiServer] });
        continue;
      }
      const ready = slices
        .filter(
          (sl) =>
            sl.metadata.namespace === namespace &&
            sl.metadata.labels?.["kubernetes.io/service-name"] === name &&
            sl.addressType === "IPv4",
        )
        .flatMap((sl) => {
          const port = (sl.ports ?? []).find((x) => (x.name ?? "") === (p.name ?? ""))?.port;
          if (port === undefined) return [];
          return (sl.endpoints ?? [])
            .filter((e) => e.conditions?.ready !== false && e.addresses[0] !== undefined)
            .map((e) => ({
              host: e.addresses[0]!,
              port,
              since: (e.targetRef?.name && created(namespace, e.targetRef.name)) || "~",
            }));
        })
        .sort((a, b) => a.since.localeCompare(b.since) || ipNumber(a.host) - ipNumber(b.host));
      rules.push({ ip, port: p.port, endpoints: ready.map(({ host, port }) => ({ host, port })) });
    }
  }
  return rules.sort((a, b) => `${a.ip}:${a.port}`.localeCompare(`${b.ip}:${b.port}`));
}

const lockFile = (n: number) => join(LOCK_DIR, `${n}.pid`);

/**
 * The lowest network number that no live process holds and no route of the machine covers;
 * the leftovers of a dead holder are removed first. The claim is a hard link of a file naming
 * this process: atomic, so two runs starting together never get the same number.
 */
async function claim(log: (line: string) => void): Promise<number> {
  mkdirSync(LOCK_DIR, { recursive: true });
  const mine = join(LOCK_DIR, `claim.${process.pid}`);
  writeFileSync(mine, `${process.pid}\n`);
  try {
    for (let n = 0; n < NETWORKS; n++) {
      const lock = lockFile(n);
      const owner = readOwner(lock);
      if (owner !== undefined && alive(owner)) continue;
      if (owner !== undefined) {
        log(`network ${n}: holder ${owner} is gone, removing what it left`);
        rmSync(lock, { force: true });
      }
      try {
        linkSync(mine, lock);
      } catch {
        continue; // another run took it just now
      }
      await removeLeftovers(n);
      const taken = await routeCovering(`10.244.${n}.0/24`);
      if (taken === undefined) return n;
      log(`network ${n}: 10.244.${n}.0/24 is in use on this machine (${taken}), skipped`);
      unlinkSync(lock);
    }
  } finally {
    rmSync(mine, { force: true });
  }
  throw new Error(`no free Pod network: ${LOCK_DIR}/0..${NETWORKS - 1}.pid are all held`);
}

function readOwner(lock: string): number | undefined {
  try {
    // Not a pid (a write cut short): nobody holds it.
    const pid = Number(readFileSync(lock, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Network `n`'s namespaces and links, whoever made them. */
async function removeLeftovers(n: number): Promise<void> {
  const namespaces = (await ip(["netns", "list"]))
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((name) => new RegExp(`^bmk${n}-(\\d+|proxy)$`).test(name));
  for (const name of namespaces) await ip(["netns", "del", name]);
  const links = (JSON.parse(await ip(["-j", "link", "show"])) as { ifname: string }[])
    .map((l) => l.ifname)
    .filter((name) => new RegExp(`^bmk${n}(p\\d+|proxy)?$`).test(name));
  for (const name of links) await ip(["link", "del", name]).catch(ignoreGone);
}

async function removeNamespace(name: string, veth: string): Promise<void> {
  await ip(["netns", "del", name]).catch(ignoreGone);
  // Gone with the namespace, unless something still holds the namespace.
  if (existsSync(`/sys/class/net/${veth}`)) await ip(["link", "del", veth]).catch(ignoreGone);
}

function ignoreGone(e: unknown): void {
  const text = e instanceof Error ? e.message : String(e);
  if (!/Cannot find device|No such file or directory|does not exist/.test(text)) throw e;
}

/** A route of any table that overlaps `cidr` (the default route aside), as text. */
async function routeCovering(cidr: string): Promise<string | undefined> {
  const routes = JSON.parse(await ip(["-j", "-4", "route", "show", "table", "all"])) as {
    dst: string;
    dev?: string;
  }[];
  const [base, bits] = parseCidr(cidr);
  for (const r of routes) {
    if (r.dst === "default") continue;
    const [b, m] = parseCidr(r.dst.includes("/") ? r.dst : `${r.dst}/32`);
    const common = Math.min(bits, m);
    const mask = common === 0 ? 0 : (~0 << (32 - common)) >>> 0;
    if ((base & mask) >>> 0 === (b & mask) >>> 0) return `${r.dst} dev ${r.dev ?? "?"}`;
  }
  return undefined;
}

const ipNumber = (ip: string): number => parseCidr(`${ip}/32`)[0];

function parseCidr(cidr: string): [number, number] {
  const [addr, bits] = cidr.split("/");
  const n = (addr ?? "").split(".").reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
  return [n, Number(bits)];
}

/** `ip` with `args`; `lines` go to its stdin (for -batch -). Rejects with its stderr. */
function ip(args: string[], lines?: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const input = lines === undefined ? "ignore" : "pipe";
    const proc = spawn("ip", args, { stdio: [input, "pipe", "pipe"] });
    let out = "";
    let err = "";
    proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    proc.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    proc.once("error", reject);
    proc.once("close", (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`ip ${args.join(" ")} exited ${code}: ${err.trim()}`)),
    );
    // An `ip` that fails at its first line stops reading: its exit code tells why.
    proc.stdin?.on("error", () => undefined);
    proc.stdin?.end(lines === undefined ? undefined : lines.join("\n") + "\n");
  });
}
