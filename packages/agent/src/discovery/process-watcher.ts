import type { ServiceSelector } from "@beyla-ts/shared";
import { matchesSelector } from "@beyla-ts/shared";
import type { CgroupContainer } from "../kube/cgroup.js";
import type { KubeLookup, KubeProcess } from "../kube/kube-metadata.js";
import { listeningSocketsOf } from "./proc-net.js";
import {
  listPids,
  type ProcessInfo,
  readEnv,
  readExePath,
  readNetns,
  readSocketInodes,
  readStat,
  type StatFields,
} from "./process-info.js";

export interface SelectedProcess extends ProcessInfo {
  /** The discovery entry that selected it (its `name`/`namespace` name the service). */
  selector: ServiceSelector;
  /** Its pod, when Kubernetes metadata is on and the process runs in a known pod. */
  kube?: KubeProcess;
}

export interface ProcessWatcherOptions {
  selectors: ServiceSelector[];
  exclude: ServiceSelector[];
  pollIntervalMs: number;
  /** Never selected: the agent itself. */
  selfPid: number;
  /** At most this many processes are selected at once; more are counted, not selected. */
  maxProcesses: number;
  /** Kubernetes metadata: k8s_* criteria and decoration. Absent on a plain host. */
  kube?: KubeLookup;
  /**
   * A process in a container whose pod is not known yet is left undecided this long (its pod
   * usually shows up within seconds), then decided without Kubernetes metadata.
   */
  kubePendingMs?: number;
  now?: () => number;
}

export interface ProcessWatcherEvents {
  added(process: SelectedProcess): void;
  removed(process: SelectedProcess): void;
  /** A selected process's pod became known after it was selected. */
  updated?(process: SelectedProcess): void;
  /** A process named by examine() was looked at (or its hint dropped): selected or not. */
  examined?(pid: number, selected: boolean): void;
  /** A scan failed as a whole; the watcher keeps going. */
  error(error: Error): void;
}

interface KnownProcess {
  startTicks: number;
  exePath: string;
  netns: string;
  /** listening-socket generation of its netns when its fds were last checked */
  checkedGeneration: number;
  /** Its listening ports at that time. */
  openPorts: number[];
  /** Its container (null: none; undefined: Kubernetes metadata is off). */
  container: CgroupContainer | null | undefined;
  /** Pod-cache generation when it was last matched (see kubeChanged()). */
  kubeGeneration: number;
  /** When it was first seen in a container with no known pod. */
  pendingSinceMs?: number;
}

interface NetnsSockets {
  inodes: Map<string, number>;
  generation: number;
}

const DEFAULT_KUBE_PENDING_MS = 10_000;
const YIELD_EVERY_PIDS = 256;
/** Every process is read again at least this often (see scanOnce). */
const FULL_SCAN_MS = 10_000;
/** Processes waiting to be examined on a kernel hint; more are dropped (the next scan finds them). */
const MAX_HINTS = 1024;

/** Whether two pod lookups give a process the same k8s.* attributes and container. */
function sameDecoration(a: KubeProcess | undefined, b: KubeProcess): boolean {
  if (a === undefined || a.containerName !== b.containerName) return false;
  const keys = Object.keys(b.attributes);
  if (Object.keys(a.attributes).length !== keys.length) return false;
  return keys.every((k) => a.attributes[k] === b.attributes[k]);
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Finds the processes to instrument by polling /proc: by executable path, by listening
 * TCP port (from /proc/<pid>/net/tcp{,6} and the socket inodes among /proc/<pid>/fd) and, with
 * Kubernetes metadata, by the pod of the process's container. A process's fds are read again
 * only when its network namespace gained listening sockets; a process in a container is
 * matched again when the pods of the node change (kubeChanged()).
 */
export class ProcessWatcher {
  private readonly known = new Map<number, KnownProcess>();
  private readonly selected = new Map<number, SelectedProcess>();
  private needPorts: boolean;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private netnsSockets = new Map<string, NetnsSockets>();
  private generation = 0;
  private kubeGeneration = 0;
  private rescan = false;
  private fullScanDue = true;
  private lastFullScanMs = 0;
  /** Scans and hint passes share the state above: each runs after the ones before it. */
  private busy: Promise<void> = Promise.resolve();
  private readonly hinted = new Set<number>();
  /** Ports named by listen events, until their process is considered. */
  private readonly hintedPorts = new Map<number, Set<number>>();
  private hintPass: Promise<void> | undefined;
  /** Processes that matched but were not selected because maxProcesses was reached. */
  overLimit = 0;
  /** Hints dropped because MAX_HINTS were already waiting. */
  hintsDropped = 0;

  constructor(
    private readonly options: ProcessWatcherOptions,
    private readonly events: ProcessWatcherEvents,
  ) {
    const all = [...options.selectors, ...options.exclude];
    this.needPorts = all.some((s) => s.openPorts !== undefined);
  }

  start(): Promise<void> {
    const first = this.scan();
    this.timer = setInterval(() => void this.scan(), this.options.pollIntervalMs);
    this.timer.unref();
    if (this.hinted.size > 0) this.scheduleHints(); // hints that came before start()
    return first;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  processes(): SelectedProcess[] {
    return [...this.selected.values()];
  }

  /** Whether `pid` is selected now. */
  isSelected(pid: number): boolean {
    return this.selected.has(pid);
  }

  /** One pass over /proc. Concurrent calls share the pass in progress. */
  scan(): Promise<void> {
    this.scanning ??= this.serialized(() => this.scanOnce())
      .catch((e: unknown) => this.events.error(new Error("scan /proc", { cause: e })))
      .finally(() => {
        this.scanning = undefined;
        if (this.rescan && this.timer) {
          this.rescan = false;
          void this.scan();
        }
      });
    return this.scanning;
  }

  /**
   * The kernel saw `pid` start listening on a TCP port: that process is examined now instead
   * of at the next poll, so a new server's first requests are captured. Only that process and
   * its network namespace are read.
   */
  examine(pid: number, listenPort?: number): void {
    if (pid === this.options.selfPid) return;
    if (listenPort !== undefined) this.addHintedPort(pid, listenPort);
    if (this.selected.has(pid)) {
      this.events.examined?.(pid, true);
      return;
    }
    if (this.hinted.size >= MAX_HINTS) {
      this.hintsDropped++;
      // the next scan decides for good; as in examineHinted(), only a listen hint says no
      if (listenPort !== undefined) this.events.examined?.(pid, false);
      return;
    }
    this.hinted.add(pid);
    if (this.timer) this.scheduleHints(); // else start() does
  }

  private scheduleHints(): void {
    this.hintPass ??= this.serialized(() => this.examineHinted())
      .catch((e: unknown) => this.events.error(new Error("examine process", { cause: e })))
      .finally(() => {
        this.hintPass = undefined;
        if (this.hinted.size > 0) this.scheduleHints();
      });
  }

  /** Runs `work` after every scan or hint pass started before it. */
  private serialized(work: () => Promise<void>): Promise<void> {
    const run = this.busy.then(work);
    this.busy = run.catch(() => undefined);
    return run;
  }

  /**
   * The port a listen event named: counted as open even if /proc does not show it yet (the
   * kernel reports the listen just before the socket enters the table /proc/net/tcp reads).
   */
  private addHintedPort(pid: number, port: number): void {
    if (this.hintedPorts.size >= MAX_HINTS && !this.hintedPorts.has(pid)) return;
    const ports = this.hintedPorts.get(pid) ?? new Set<number>();
    ports.add(port);
    this.hintedPorts.set(pid, ports);
  }

  private async examineHinted(): Promise<void> {
    const pids = [...this.hinted];
    this.hinted.clear();
    for (const pid of pids) {
      if (this.selected.has(pid)) {
        this.events.examined?.(pid, true);
        continue;
      }
      const listenHint = this.hintedPorts.has(pid);
      if (this.needPorts) this.refreshNetnsOf(pid);
      const known = this.known.get(pid);
      if (known) known.checkedGeneration = -1; // read its sockets again
      await this.consider(pid);
      if (this.selected.has(pid)) {
        this.events.examined?.(pid, true);
      } else if (listenHint && !this.hinted.has(pid)) {
        this.events.examined?.(pid, false);
      }
      // Otherwise no decision yet. An exec() hint alone decides nothing: the process's listen
      // event may be on its way (the kernel already captures it provisionally), and a "no"
      // here would stop that capture until the listen's own pass selects it, losing the first
      // requests. A hint that came during consider() gets its own pass, which decides.
    }
  }

  /**
   * The listening sockets of a new process's network namespace, read only when that namespace
   * is new: in a known one, sockets opened since the last read came with a listen() event from
   * the kernel (examine() reads them), and a new process only inherits sockets already read.
   * Reading /proc/net/tcp for every new pid cost a busy node most of the agent's idle CPU.
   */
  private readNetnsOnce(pid: number): void {
    const netns = readNetns(pid);
    if (netns !== "" && !this.netnsSockets.has(netns)) {
      this.netnsSockets.set(netns, this.readSocketsOf(pid, netns));
    }
  }

  /** The listening sockets of `pid`'s network namespace, read again. */
  private refreshNetnsOf(pid: number): void {
    const netns = this.known.get(pid)?.netns ?? readNetns(pid);
    if (netns !== "") this.netnsSockets.set(netns, this.readSocketsOf(pid, netns));
  }

  /** The listening sockets of `netns` (read through `pid`), a new generation if it gained any. */
  private readSocketsOf(pid: number, netns: string): NetnsSockets {
    const inodes = listeningSocketsOf(pid);
    const previous = this.netnsSockets.get(netns);
    const grew = !previous || [...inodes.keys()].some((i) => !previous.inodes.has(i));
    return { inodes, generation: grew ? ++this.generation : previous.generation };
  }

  /**
   * A new selection (the operator pushed a selector set): selected processes that no longer
   * match are released at once, every other process is matched again, and the returned
   * promise resolves after that full pass.
   */
  async setSelectors(selectors: ServiceSelector[], exclude: ServiceSelector[]): Promise<void> {
    this.options.selectors = selectors;
    this.options.exclude = exclude;
    this.needPorts = [...selectors, ...exclude].some((s) => s.openPorts !== undefined);
    for (const [pid, proc] of this.selected) {
      const candidate = { exePath: proc.exePath, openPorts: proc.openPorts, k8s: proc.kube?.info };
      const selector = selectors.find((s) => matchesSelector(s, candidate));
      if (selector && !exclude.some((s) => matchesSelector(s, candidate))) {
        proc.selector = selector;
        continue;
      }
      this.selected.delete(pid);
      this.events.removed(proc);
    }
    for (const known of this.known.values()) known.checkedGeneration = -1;
    await this.scanning;
    this.fullScanDue = true;
    await this.scan();
  }

  /**
   * The pods of the node changed: processes in containers are matched again, at once (after
   * the pass in progress, if any) rather than at the next poll.
   */
  kubeChanged(): void {
    this.kubeGeneration++;
    this.fullScanDue = true;
    if (!this.timer) return;
    if (this.scanning) this.rescan = true;
    else void this.scan();
  }

  /**
   * A full scan reads every process again (its executable, its sockets when ports are in the
   * selectors); a light one only lists /proc and looks at the processes it has not seen.
   * The kernel tells of exec() and listen() (execed(), examine()), so light scans are enough
   * between full ones, every FULL_SCAN_MS or when the pods or the selectors change. A full
   * scan of every process costs milliseconds of CPU in a burst, and that showed as latency of
   * the instrumented services at every poll.
   */
  private async scanOnce(): Promise<void> {
    const now = Date.now();
    const full = this.fullScanDue || now - this.lastFullScanMs >= FULL_SCAN_MS;
    this.fullScanDue = false;
    if (full) this.lastFullScanMs = now;
    const pids = listPids();
    const alive = new Set(pids);
    this.forgetExited(alive);
    if (full && this.needPorts) await this.refreshListeningSockets(pids);
    for (let i = 0; i < pids.length; i++) {
      const pid = pids[i]!;
      // The reads are synchronous (see process-info.ts): give the event loop (ring-buffer
      // drain, scrapes) a turn every few hundred processes on a crowded node.
      if (i > 0 && i % YIELD_EVERY_PIDS === 0) await yieldToEventLoop();
      if (pid === this.options.selfPid) continue;
      const selected = this.selected.get(pid);
      if (selected) {
        this.recheckPod(selected);
      } else if (full || this.known.get(pid)?.pendingSinceMs !== undefined) {
        await this.consider(pid); // every process, or one waiting for its pod
      } else if (!this.known.has(pid)) {
        if (this.needPorts) this.readNetnsOnce(pid);
        await this.consider(pid);
      }
    }
  }

  /**
   * The kernel saw `pid` call exec(): its executable is read again (at once, like a listen
   * hint) rather than at the next full scan. A selected process keeps its selection.
   */
  execed(pid: number): void {
    if (this.selected.has(pid)) return;
    this.known.delete(pid);
    this.examine(pid);
  }

  /**
   * The pods of the node changed: a selected process in a container gets its pod's metadata
   * again. It is decorated when its pod (or its container in the pod) shows up after it was
   * selected, and released when its pod no longer matches the selectors (a relabelled pod).
   */
  private recheckPod(proc: SelectedProcess): void {
    const known = this.known.get(proc.pid);
    const kube = this.options.kube;
    if (!kube || !known?.container) return;
    if (known.kubeGeneration === this.kubeGeneration) return;
    known.kubeGeneration = this.kubeGeneration;
    const found = kube.lookupContainer(known.container);
    // The pod gone from the cache (the process exits with it), or less known than before.
    if (!found || (proc.kube?.containerName !== undefined && found.containerName === undefined)) {
      return;
    }
    const candidate = { exePath: proc.exePath, openPorts: proc.openPorts, k8s: found.info };
    const selector = this.options.selectors.find((s) => matchesSelector(s, candidate));
    if (!selector || this.options.exclude.some((s) => matchesSelector(s, candidate))) {
      this.selected.delete(proc.pid);
      this.events.removed(proc);
      return;
    }
    proc.selector = selector;
    const before = proc.kube;
    proc.kube = found;
    if (!sameDecoration(before, found)) this.events.updated?.(proc);
  }

  private forgetExited(alive: Set<number>): void {
    for (const pid of this.known.keys()) {
      if (!alive.has(pid)) this.known.delete(pid);
    }
    for (const pid of this.hintedPorts.keys()) {
      if (!alive.has(pid)) this.hintedPorts.delete(pid);
    }
    for (const [pid, proc] of this.selected) {
      if (!alive.has(pid)) {
        this.selected.delete(pid);
        this.events.removed(proc);
      }
    }
  }

  private async refreshListeningSockets(pids: number[]): Promise<void> {
    const next = new Map<string, NetnsSockets>();
    for (const pid of pids) {
      const known = this.known.get(pid);
      if (known?.exePath === "") continue; // a kernel thread: it listens on nothing
      const netns = known?.netns ?? readNetns(pid);
      if (netns === "" || next.has(netns)) continue;
      next.set(netns, this.readSocketsOf(pid, netns));
    }
    this.netnsSockets = next;
  }

  /**
   * The process behind `pid` now. The executable is read every time: a forked child keeps
   * its parent's start time when it calls exec, so only the path tells the change.
   */
  private async identify(pid: number): Promise<KnownProcess | undefined> {
    let stat: StatFields;
    try {
      stat = readStat(pid);
    } catch {
      return undefined; // exited
    }
    const startTicks = stat.startTicks;
    let known = this.known.get(pid);
    // A kernel thread never execs: once known, only its start time is checked (pid reuse).
    if (known?.startTicks === startTicks && known.exePath === "" && stat.kernelThread) return known;
    const exePath = stat.kernelThread ? "" : readExePath(pid);
    if (!known || known.startTicks !== startTicks || known.exePath !== exePath) {
      const kube = this.options.kube;
      known = {
        startTicks,
        exePath,
        netns: readNetns(pid),
        checkedGeneration: -1,
        openPorts: [],
        container: kube ? ((await kube.containerOf(pid)) ?? null) : undefined,
        kubeGeneration: -1,
      };
      this.known.set(pid, known);
    }
    return known;
  }

  private async consider(pid: number): Promise<void> {
    if (this.selected.has(pid)) return;
    const known = await this.identify(pid);
    if (!known || known.exePath === "") return;
    const sockets = this.netnsSockets.get(known.netns);
    const portsChanged = sockets !== undefined && sockets.generation !== known.checkedGeneration;
    const first = known.checkedGeneration === -1;
    const kubeChanged = !!known.container && known.kubeGeneration !== this.kubeGeneration;
    if (!first && !portsChanged && !kubeChanged) return;
    if (first || portsChanged) {
      known.checkedGeneration = sockets?.generation ?? 0;
      known.openPorts = this.needPorts ? await this.openPortsOf(pid, sockets) : [];
    }
    const hinted = this.hintedPorts.get(pid);
    if (hinted) {
      this.hintedPorts.delete(pid);
      known.openPorts = [...new Set([...known.openPorts, ...hinted])].sort((a, b) => a - b);
    }
    known.kubeGeneration = this.kubeGeneration;
    const kube = this.kubeOf(known);
    if (kube === "pending") return;
    const candidate = { exePath: known.exePath, openPorts: known.openPorts, k8s: kube?.info };
    const selector = this.options.selectors.find((s) => matchesSelector(s, candidate));
    if (!selector || this.options.exclude.some((s) => matchesSelector(s, candidate))) return;
    if (this.selected.size >= this.options.maxProcesses) {
      this.overLimit++;
      return;
    }
    const proc: SelectedProcess = {
      pid,
      exePath: known.exePath,
      startTicks: known.startTicks,
      netns: known.netns,
      openPorts: known.openPorts,
      env: readEnv(pid),
      selector,
    };
    if (kube) proc.kube = kube;
    this.selected.set(pid, proc);
    this.events.added(proc);
  }

  /**
   * The pod of a process in a container; "pending" while the pod, or its container in the
   * pod's status, is unknown and the process was first seen less than kubePendingMs ago (the
   * kubelet reports a container's ID a moment after starting it): it is matched again at the
   * next poll or pod change. Every pod change matches it again later, too.
   */
  private kubeOf(known: KnownProcess): KubeProcess | undefined | "pending" {
    const kube = this.options.kube;
    if (!kube || !known.container) return undefined;
    const found = kube.lookupContainer(known.container);
    if (found?.containerName !== undefined) {
      known.pendingSinceMs = undefined;
      return found;
    }
    const now = (this.options.now ?? Date.now)();
    known.pendingSinceMs ??= now;
    const waitMs = this.options.kubePendingMs ?? DEFAULT_KUBE_PENDING_MS;
    if (now - known.pendingSinceMs < waitMs) {
      known.kubeGeneration = -1; // look again at the next poll
      return "pending";
    }
    known.pendingSinceMs = undefined; // decided: light scans stop looking at it
    return found; // the pod without its container, or nothing
  }

  private async openPortsOf(pid: number, sockets: NetnsSockets | undefined): Promise<number[]> {
    if (!sockets || sockets.inodes.size === 0) return [];
    const ports = new Set<number>();
    for (const inode of readSocketInodes(pid)) {
      const port = sockets.inodes.get(inode);
      if (port !== undefined) ports.add(port);
    }
    return [...ports].sort((a, b) => a - b);
  }
}
