import { BpfLoadError, BpfNotSupportedError, permissionHint } from "./errors.js";
import {
  BEYLA_EVENT_EXEC,
  BEYLA_EVENT_HTTP,
  BEYLA_EVENT_LISTEN,
  decodeHttpEvent,
  decodeExecEvent,
  decodeListenEvent,
  emptyExecEvent,
  emptyHttpEvent,
  emptyListenEvent,
  type HttpEventRecord,
  type ListenEventRecord,
} from "./event-layout.generated.js";
import { chooseCaptureHooks, missingForHttpCapture } from "./features.js";
import {
  type AttachResult,
  type CaptureHooks,
  type KernelStats,
  type NativeCaptureOptions,
  nativeModule,
  type NativeHttpCapture,
  type PidFilterInfo,
} from "./native-binding.js";
import {
  detectPidNamespace,
  INITIAL_PID_NAMESPACE_INO,
  kernelDevFromStatDev,
  type PidNamespace,
} from "./pid-namespace.js";

export interface HttpCaptureOptions {
  /** Ring buffer size in bytes: a power of two, at least one page. Default 4 MiB. */
  ringBytes?: number;
  /** Connections tracked at once (LRU beyond). Default 16384. */
  maxConnections?: number;
  /**
   * Bytes waiting in the ring buffer before the kernel wakes us. Default 8 KiB (about 22
   * records): the agent then works in short bursts. With 64 KiB a burst of ~180 records took
   * about a millisecond of CPU, which showed as p99 latency of a service sharing that CPU
   * (5k req/s: 678 us instead of 224); the CPU per request is the same (ingest, 6.2 us).
   */
  wakeupBytes?: number;
  /** Drain timer, so a quiet service is still seen promptly. Default 100 ms. */
  drainIntervalMs?: number;
  /** Drain buffer size in bytes. Default 1 MiB. */
  batchBytes?: number;
  /**
   * The PID namespace whose ids `select()` takes and the records carry (dev and inode as
   * stat() reports its nsfs file). Default: the namespace of this process's /proc
   * (detectPidNamespace()). Outside the initial namespace the kernel programs translate ids.
   */
  pidNamespace?: PidNamespace;
  /**
   * Capture a process from its listen() on, provisionally (the kernel adds it to the PID
   * filter), so its first requests are not lost while the agent decides; the caller must
   * select() or unselect() every process a listen event names. Default false.
   */
  provisionalOnListen?: boolean;
  /** This process's pid (in `pidNamespace`): never captured provisionally. */
  selfPid?: number;
  /**
   * The kernel hooks to load (CaptureHooks). Default "auto": the socket hooks where the kernel
   * has them (Linux 6.3+), else the syscall hooks.
   */
  hooks?: CaptureHooks | "auto";
}

export type HttpRecordHandler = (record: HttpEventRecord) => void;
/** Told when a process (selected or not) starts listening on a TCP port. */
export type ListenHandler = (event: ListenEventRecord) => void;
/** Told the pid of a process (selected or not) that called exec(). */
export type ExecHandler = (pid: number) => void;

/** What start() hands besides HTTP records. */
export interface ProcessEventHandlers {
  onListen?: ListenHandler;
  onExec?: ExecHandler;
}

type SizeOptions = Required<
  Omit<HttpCaptureOptions, "pidNamespace" | "provisionalOnListen" | "selfPid" | "hooks">
>;

const DEFAULTS: SizeOptions = {
  ringBytes: 1 << 22,
  maxConnections: 16384,
  wakeupBytes: 1 << 13,
  drainIntervalMs: 100,
  batchBytes: 1 << 20,
};

function checkOptions(o: SizeOptions): void {
  const isPow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!isPow2(o.ringBytes) || o.ringBytes < 4096) {
    throw new RangeError(`ringBytes must be a power of two >= 4096, got ${o.ringBytes}`);
  }
  if (!Number.isInteger(o.maxConnections) || o.maxConnections < 1) {
    throw new RangeError(`maxConnections must be a positive integer, got ${o.maxConnections}`);
  }
  if (o.wakeupBytes < 0 || o.wakeupBytes > o.ringBytes) {
    throw new RangeError(`wakeupBytes must be within [0, ringBytes], got ${o.wakeupBytes}`);
  }
  if (o.batchBytes < nativeModule().maxRecordBytes + 8) {
    throw new RangeError(`batchBytes is too small for one record: ${o.batchBytes}`);
  }
}

/**
 * The kernel side of HTTP/1.x capture: load and attach the syscall tracepoint programs, keep
 * the PID filter, and hand every finished request record to a callback. Records are drained
 * in batches (one N-API call each) when the kernel wakes us and on a timer.
 */
export class HttpCapture {
  private readonly options: SizeOptions;
  private readonly pidNamespace: PidNamespace | undefined;
  private readonly provisional: { on: boolean; selfPid: number | undefined };
  private readonly wantedHooks: CaptureHooks | "auto";
  private loadedHooks: CaptureHooks | undefined;
  private native: NativeHttpCapture | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly batch: Uint8Array;
  private readonly view: DataView;
  private readonly record = emptyHttpEvent();
  private readonly listenRecord = emptyListenEvent();
  private readonly execRecord = emptyExecEvent();
  private handler: HttpRecordHandler = () => {};
  private listenHandler: ListenHandler = () => {};
  private execHandler: ExecHandler = () => {};
  private malformed = 0;

  constructor(options: HttpCaptureOptions = {}) {
    const { pidNamespace, provisionalOnListen, selfPid, hooks, ...sizes } = options;
    this.provisional = { on: provisionalOnListen === true, selfPid };
    this.wantedHooks = hooks ?? "auto";
    if (!["auto", "sockets", "syscalls"].includes(this.wantedHooks)) {
      throw new RangeError(`hooks must be auto, sockets or syscalls, got ${String(hooks)}`);
    }
    this.options = { ...DEFAULTS, ...sizes };
    checkOptions(this.options);
    this.pidNamespace = pidNamespace;
    this.batch = new Uint8Array(this.options.batchBytes);
    this.view = new DataView(this.batch.buffer);
  }

  /** Loads and attaches the programs. Throws BpfNotSupportedError or BpfLoadError. */
  open(): AttachResult[] {
    const mod = nativeModule();
    const features = mod.probeFeatures();
    const missing = missingForHttpCapture(features, this.wantedHooks);
    if (missing.length > 0) {
      throw new BpfNotSupportedError(missing);
    }
    const hooks = chooseCaptureHooks(features, this.wantedHooks);
    const nativeOptions: NativeCaptureOptions = {
      ringBytes: this.options.ringBytes,
      maxConnections: this.options.maxConnections,
      wakeupBytes: this.options.wakeupBytes,
      hooks,
    };
    const detected = this.pidNamespace === undefined ? detectPidNamespace() : undefined;
    const ns = this.pidNamespace ?? detected!;
    if (this.provisional.on) {
      nativeOptions.provisionalOnListen = true;
      nativeOptions.selfTgid = this.provisional.selfPid ?? detected?.selfPid ?? process.pid;
    }
    if (ns.ino !== INITIAL_PID_NAMESPACE_INO) {
      nativeOptions.pidNamespace = {
        dev: Number(kernelDevFromStatDev(ns.dev)),
        ino: Number(ns.ino),
      };
    }
    const native = new mod.HttpCapture(nativeOptions);
    try {
      native.load();
    } catch (cause) {
      const e = cause as Error & { errno?: number; verifierLog?: string };
      throw new BpfLoadError(
        `${e.message}${permissionHint(e.errno ?? 0)}`,
        e.errno ?? 0,
        e.verifierLog ?? "",
        { cause },
      );
    }
    const results = native.attach();
    const failed = results.filter((r) => r.error !== undefined);
    if (failed.length > 0) {
      native.close();
      const first = failed[0]!;
      throw new BpfLoadError(
        `attach ${failed.map((r) => r.section).join(", ")}: ${first.error}${permissionHint(first.errno ?? 0)}`,
        first.errno ?? 0,
        "",
      );
    }
    this.native = native;
    this.loadedHooks = hooks;
    return results;
  }

  /** The hooks open() loaded; undefined before. */
  get hooks(): CaptureHooks | undefined {
    return this.loadedHooks;
  }

  select(pid: number): void {
    this.requireOpen().addPid(pid);
  }

  unselect(pid: number): void {
    this.requireOpen().removePid(pid);
  }

  /**
   * Starts delivering records to `handler`, and listen events to `onListen`: on kernel
   * wakeups and every drainIntervalMs.
   */
  start(handler: HttpRecordHandler, events: ProcessEventHandlers = {}): void {
    const native = this.requireOpen();
    this.handler = handler;
    if (events.onListen) this.listenHandler = events.onListen;
    if (events.onExec) this.execHandler = events.onExec;
    native.onWakeup(() => this.drain());
    this.timer = setInterval(() => this.drain(), this.options.drainIntervalMs);
    this.timer.unref();
  }

  /** Drains everything waiting now; returns the number of records delivered. */
  drain(): number {
    const native = this.native;
    if (!native) return 0;
    let delivered = 0;
    for (;;) {
      native.rearm();
      const bytes = native.drain(this.batch);
      delivered += this.deliver(bytes);
      if (bytes < this.batch.byteLength / 2) return delivered;
    }
  }

  private deliver(bytes: number): number {
    let offset = 0;
    let count = 0;
    while (offset + 4 <= bytes) {
      const length = this.view.getUint32(offset, true);
      const start = offset + 4;
      offset += (4 + length + 7) & ~7;
      const type = this.view.getUint8(start);
      if (type === BEYLA_EVENT_LISTEN) {
        this.deliverListen(start);
        continue;
      }
      if (type === BEYLA_EVENT_EXEC) {
        this.deliverExec(decodeExecEvent(this.view, start, this.execRecord).pid);
        continue;
      }
      if (type !== BEYLA_EVENT_HTTP) {
        this.malformed++;
        continue;
      }
      decodeHttpEvent(this.view, start, this.record);
      try {
        this.handler(this.record);
      } catch {
        // a failing consumer must not stop the drain; the pipeline counts its own failures
      }
      count++;
    }
    return count;
  }

  private deliverListen(start: number): void {
    try {
      this.listenHandler(decodeListenEvent(this.view, start, this.listenRecord));
    } catch {
      // as for HTTP records: a failing consumer must not stop the drain
    }
  }

  private deliverExec(pid: number): void {
    try {
      this.execHandler(pid);
    } catch {
      // as for HTTP records
    }
  }

  /** Kernel counters, plus records of an unknown type seen here. */
  stats(): KernelStats & { unknownRecords: number } {
    return { ...this.requireOpen().stats(), unknownRecords: this.malformed };
  }

  /** Which ids the PID filter and the records use (the PID namespace, if translated). */
  pidFilter(): PidFilterInfo {
    return this.requireOpen().pidFilter();
  }

  /** Detaches and frees everything. Safe to call twice. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.native) {
      this.drain();
      this.native.close();
    }
    this.native = undefined;
  }

  private requireOpen(): NativeHttpCapture {
    if (!this.native) throw new Error("HttpCapture is not open");
    return this.native;
  }
}
