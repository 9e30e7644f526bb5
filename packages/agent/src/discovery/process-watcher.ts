import type { ServiceSelector } from "@beyla-ts/shared";
import { matchesSelector } from "@beyla-ts/shared";
import { listeningSocketsOf } from "./proc-net.js";
import {
  listPids,
  type ProcessInfo,
  readEnv,
  readExePath,
  readNetns,
  readSocketInodes,
  readStartTicks,
} from "./process-info.js";

export interface SelectedProcess extends ProcessInfo {
  /** The discovery entry that selected it (its `name`/`namespace` name the service). */
  selector: ServiceSelector;
}

export interface ProcessWatcherOptions {
  selectors: ServiceSelector[];
  exclude: ServiceSelector[];
  pollIntervalMs: number;
  /** Never selected: the agent itself. */
  selfPid: number;
  /** At most this many processes are selected at once; more are counted, not selected. */
  maxProcesses: number;
}

export interface ProcessWatcherEvents {
  added(process: SelectedProcess): void;
  removed(process: SelectedProcess): void;
  /** A scan failed as a whole; the watcher keeps going. */
  error(error: Error): void;
}

interface KnownProcess {
  startTicks: number;
  exePath: string;
  netns: string;
  /** listening-socket generation of its netns when its fds were last checked */
  checkedGeneration: number;
}

interface NetnsSockets {
  inodes: Map<string, number>;
  generation: number;
}

/**
 * Finds the processes to instrument by polling /proc: by executable path and by listening
 * TCP port (from /proc/<pid>/net/tcp{,6} and the socket inodes among /proc/<pid>/fd). A
 * process's fds are read again only when its network namespace gained listening sockets.
 */
export class ProcessWatcher {
  private readonly known = new Map<number, KnownProcess>();
  private readonly selected = new Map<number, SelectedProcess>();
  private readonly needPorts: boolean;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private netnsSockets = new Map<string, NetnsSockets>();
  private generation = 0;
  /** Processes that matched but were not selected because maxProcesses was reached. */
  overLimit = 0;

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
    return first;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  processes(): SelectedProcess[] {
    return [...this.selected.values()];
  }

  /** One pass over /proc. Concurrent calls share the pass in progress. */
  scan(): Promise<void> {
    this.scanning ??= this.scanOnce()
      .catch((e: unknown) => this.events.error(new Error("scan /proc", { cause: e })))
      .finally(() => {
        this.scanning = undefined;
      });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const pids = await listPids();
    const alive = new Set(pids);
    this.forgetExited(alive);
    if (this.needPorts) await this.refreshListeningSockets(pids);
    for (const pid of pids) {
      if (pid === this.options.selfPid || this.selected.has(pid)) continue;
      await this.consider(pid);
    }
  }

  private forgetExited(alive: Set<number>): void {
    for (const pid of this.known.keys()) {
      if (!alive.has(pid)) this.known.delete(pid);
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
      const netns = this.known.get(pid)?.netns ?? (await readNetns(pid));
      if (netns === "" || next.has(netns)) continue;
      const inodes = await listeningSocketsOf(pid);
      const previous = this.netnsSockets.get(netns);
      const grew = !previous || [...inodes.keys()].some((i) => !previous.inodes.has(i));
      next.set(netns, { inodes, generation: grew ? ++this.generation : previous.generation });
    }
    this.netnsSockets = next;
  }

  /**
   * The process behind `pid` now. The executable is read every time: a forked child keeps
   * its parent's start time when it calls exec, so only the path tells the change.
   */
  private async identify(pid: number): Promise<KnownProcess | undefined> {
    let startTicks: number;
    try {
      startTicks = await readStartTicks(pid);
    } catch {
      return undefined; // exited
    }
    const exePath = await readExePath(pid);
    let known = this.known.get(pid);
    if (!known || known.startTicks !== startTicks || known.exePath !== exePath) {
      known = { startTicks, exePath, netns: await readNetns(pid), checkedGeneration: -1 };
      this.known.set(pid, known);
    }
    return known;
  }

  private async consider(pid: number): Promise<void> {
    const known = await this.identify(pid);
    if (!known || known.exePath === "") return;
    const sockets = this.netnsSockets.get(known.netns);
    const portsChanged = sockets !== undefined && sockets.generation !== known.checkedGeneration;
    if (known.checkedGeneration !== -1 && !portsChanged) return;
    known.checkedGeneration = sockets?.generation ?? 0;
    const openPorts = this.needPorts ? await this.openPortsOf(pid, sockets) : [];
    const candidate = { exePath: known.exePath, openPorts };
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
      openPorts,
      env: await readEnv(pid),
      selector,
    };
    this.selected.set(pid, proc);
    this.events.added(proc);
  }

  private async openPortsOf(pid: number, sockets: NetnsSockets | undefined): Promise<number[]> {
    if (!sockets || sockets.inodes.size === 0) return [];
    const ports = new Set<number>();
    for (const inode of await readSocketInodes(pid)) {
      const port = sockets.inodes.get(inode);
      if (port !== undefined) ports.add(port);
    }
    return [...ports].sort((a, b) => a - b);
  }
}
