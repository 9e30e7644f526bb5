import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Kernel counters summed over CPUs. */
export interface KernelStats {
  events: number;
  ringbufDrops: number;
  unanswered: number;
  connectionsFull: number;
}

export interface AttachResult {
  program: string;
  section: string;
  error?: string;
  errno?: number;
}

export interface NativeHttpCapture {
  load(): void;
  attach(): AttachResult[];
  addPid(pid: number): void;
  removePid(pid: number): void;
  drain(buffer: Uint8Array): number;
  onWakeup(callback: () => void): void;
  rearm(): void;
  stats(): KernelStats;
  pidFilter(): PidFilterInfo;
  close(): void;
}

/**
 * Which ids the PID filter and the records use: the kernel's own (`initial`), or those of a
 * PID namespace (nsfs device in the kernel's encoding, inode, and its nesting level once the
 * programs have seen one of its tasks).
 */
export type PidFilterInfo =
  { mode: "initial" } | { mode: "namespace"; dev: number; ino: number; level: number | null };

/**
 * The kernel hooks that see a process's socket I/O: the sock_send_length/sock_recv_length
 * tracepoints (Linux 6.3+; only socket I/O pays), or the data system calls' tracepoints (older
 * kernels; every system call of every process pays the kernel's tracing path).
 */
export type CaptureHooks = "sockets" | "syscalls";

export interface NativeCaptureOptions {
  ringBytes: number;
  maxConnections: number;
  wakeupBytes: number;
  /** Which data hooks to load (see CaptureHooks). Absent: sockets. */
  hooks?: CaptureHooks;
  /** Absent: the initial PID namespace, ids are not translated. */
  pidNamespace?: { dev: number; ino: number };
  /** A new listener is captured provisionally (HttpCaptureOptions.provisionalOnListen). */
  provisionalOnListen?: boolean;
  /** The caller's tgid, never captured provisionally. */
  selfTgid?: number;
}

/** Each value is true, or a sentence saying why the feature is unavailable. */
export interface KernelFeatures {
  btf: true | string;
  tracefs: string;
  syscallTracepoints: true | string;
  /** sock:sock_send_length and sock:sock_recv_length (Linux 6.3+), for the socket hooks. */
  socketTracepoints: true | string;
  tracepointPrograms: true | string;
  rawTracepointPrograms: true | string;
  ringBuffer: true | string;
  bpfLoop: true | string;
  uprobes: true | string;
}

interface NativeModule {
  HttpCapture: new (options: NativeCaptureOptions) => NativeHttpCapture;
  probeFeatures(): KernelFeatures;
  maxRecordBytes: number;
}

let cached: NativeModule | undefined;

/** The compiled addon (build/beyla_native.node), loaded once. */
export function nativeModule(): NativeModule {
  if (!cached) {
    const here = dirname(fileURLToPath(import.meta.url));
    const require = createRequire(import.meta.url);
    const path =
      process.env["BEYLA_NATIVE_ADDON"] ?? join(here, "..", "build", "beyla_native.node");
    cached = require(path) as NativeModule;
  }
  return cached;
}
