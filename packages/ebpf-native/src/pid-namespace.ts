import { readFileSync, statSync } from "node:fs";

/** Inode of the initial PID namespace (PROC_PID_INIT_INO), the same on every kernel. */
export const INITIAL_PID_NAMESPACE_INO = 0xeffffffcn;

/** A PID namespace, as stat() reports its nsfs file (`/proc/<pid>/ns/pid`). */
export interface PidNamespace {
  /** st_dev, in the user-space encoding of glibc and Node (not the kernel's dev_t). */
  dev: bigint;
  ino: bigint;
}

/** The PID namespace whose ids the agent's /proc shows. */
export interface DetectedPidNamespace extends PidNamespace {
  /** True for the initial namespace: the kernel's ids need no translation. */
  initial: boolean;
  /** This process's pid in that namespace (the name /proc gives it). */
  selfPid: number;
  /** The nsfs file that was examined. */
  source: string;
}

/** What detection reads; the real file system unless a test says otherwise. */
export interface ProcReader {
  readFile(path: string): string;
  stat(path: string): PidNamespace;
}

const realProc: ProcReader = {
  readFile: (path) => readFileSync(path, "latin1"),
  stat: (path) => {
    const st = statSync(path, { bigint: true });
    return { dev: st.dev, ino: st.ino };
  },
};

/**
 * The kernel's dev_t (MKDEV: 12-bit major << 20 | 20-bit minor) of a user-space st_dev (glibc
 * makedev: minor bits 0-7 and 20-31, major bits 8-19 and 32-43). bpf_get_ns_current_pid_tgid()
 * compares its `dev` argument with the nsfs superblock's s_dev, in the kernel's encoding; the
 * two encodings agree only while the minor is below 256.
 */
export function kernelDevFromStatDev(dev: bigint): bigint {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  if (dev < 0n || dev >= 1n << 64n || major >= 1n << 12n || minor >= 1n << 20n) {
    throw new RangeError(`device ${dev} does not fit the kernel's dev_t (major 12, minor 20 bits)`);
  }
  return (major << 20n) | minor;
}

/** The pids in the NSpid line of /proc/<pid>/status: outermost (the /proc's namespace) first. */
export function parseNsPids(status: string): number[] {
  const line = status.split("\n").find((l) => l.startsWith("NSpid:"));
  if (!line) throw new Error("no NSpid line in status (Linux 4.1+ is needed)");
  return line
    .slice("NSpid:".length)
    .trim()
    .split(/\s+/)
    .map((s) => Number(s));
}

function parentPid(status: string): number {
  const m = /^PPid:\s+(\d+)$/m.exec(status);
  if (!m) throw new Error("no PPid line in status");
  return Number(m[1]);
}

/**
 * The PID namespace of the /proc the agent reads: its ids are the ones discovery sees, so they
 * are the ones the kernel programs must report. Normally that is this process's own namespace
 * (on the host, in a hostPID container, under `unshare --pid --fork --mount-proc`). When /proc
 * was mounted for an ancestor namespace (NSpid lists more than one pid), the namespace is the one
 * of the closest ancestor process that lives in it.
 */
export function detectPidNamespace(
  proc = "/proc",
  reader: ProcReader = realProc,
): DetectedPidNamespace {
  let status = reader.readFile(`${proc}/self/status`);
  const selfPid = parseNsPids(status)[0]!;
  let pid: number | "self" = "self";
  for (let depth = 0; parseNsPids(status).length > 1; depth++) {
    const parent = parentPid(status);
    if (parent === 0 || depth > 64) {
      throw new Error(
        `no process of the PID namespace of ${proc} among the ancestors of pid ${selfPid}`,
      );
    }
    pid = parent;
    status = reader.readFile(`${proc}/${pid}/status`);
  }
  const source = `${proc}/${pid}/ns/pid`;
  let ns: PidNamespace;
  try {
    ns = reader.stat(source);
  } catch (e) {
    throw new Error(`cannot find the PID namespace of ${proc}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return { ...ns, initial: ns.ino === INITIAL_PID_NAMESPACE_INO, selfPid, source };
}
