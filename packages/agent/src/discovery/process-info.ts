import { readFile, readdir, readlink } from "node:fs/promises";

/** What discovery knows of one process. */
export interface ProcessInfo {
  pid: number;
  /** Full executable path; "" when unreadable (kernel threads, exited). */
  exePath: string;
  /** Start time in clock ticks since boot: with the pid, identifies the process uniquely. */
  startTicks: number;
  /** Network namespace id, e.g. "net:[4026531840]". */
  netns: string;
  /** Local TCP ports it listens on. */
  openPorts: number[];
  /** Selected environment variables (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, ...). */
  env: Record<string, string>;
}

const ENV_KEYS = ["OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_SERVICE_NAMESPACE"];

/** Numeric entries of /proc: the processes (thread group leaders) of the host. */
export async function listPids(): Promise<number[]> {
  const names = await readdir("/proc");
  const pids: number[] = [];
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) pids.push(Number(name));
  }
  return pids;
}

/** Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and parens. */
export function parseStartTicks(stat: string): number {
  const close = stat.lastIndexOf(")");
  const fields = stat.slice(close + 2).split(" ");
  return Number(fields[19] ?? 0);
}

export async function readStartTicks(pid: number): Promise<number> {
  return parseStartTicks(await readFile(`/proc/${pid}/stat`, "utf8"));
}

export async function readExePath(pid: number): Promise<string> {
  try {
    return (await readlink(`/proc/${pid}/exe`)).replace(/ \(deleted\)$/, "");
  } catch {
    return "";
  }
}

export async function readNetns(pid: number): Promise<string> {
  try {
    return await readlink(`/proc/${pid}/ns/net`);
  } catch {
    return "";
  }
}

/** Socket inodes among the open fds of `pid` ("socket:[123]" -> "123"). */
export async function readSocketInodes(pid: number): Promise<string[]> {
  let fds: string[];
  try {
    fds = await readdir(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const inodes: string[] = [];
  for (const fd of fds) {
    try {
      const target = await readlink(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith("socket:[")) inodes.push(target.slice(8, -1));
    } catch {
      // closed between readdir and readlink
    }
  }
  return inodes;
}

/** Parses the NUL-separated environ, keeping only `keys`. */
export function parseEnviron(
  raw: string,
  keys: readonly string[] = ENV_KEYS,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of raw.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq <= 0) continue;
    const key = entry.slice(0, eq);
    if (keys.includes(key)) env[key] = entry.slice(eq + 1);
  }
  return env;
}

export async function readEnv(pid: number): Promise<Record<string, string>> {
  try {
    return parseEnviron(await readFile(`/proc/${pid}/environ`, "latin1"));
  } catch {
    return {};
  }
}
