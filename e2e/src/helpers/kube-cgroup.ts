/**
 * Real cgroups named the way container runtimes name a pod's container, so a plain process
 * started in one looks, from /proc/<pid>/cgroup, like a container of that pod.
 */
import { mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { join } from "node:path";
import { start, type Child } from "./processes.js";

export interface CgroupMounts {
  /** Mount point of the cgroup v2 (unified) hierarchy, if mounted. */
  v2?: string;
  /** Mount points of cgroup v1 hierarchies, by controller ("pids", "name=systemd", ...). */
  v1: Map<string, string>;
}

/** Reads /proc/self/mountinfo: where the cgroup hierarchies are mounted (never assumed). */
export function cgroupMounts(
  mountinfo = readFileSync("/proc/self/mountinfo", "utf8"),
): CgroupMounts {
  const mounts: CgroupMounts = { v1: new Map() };
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    if (!left || !right) continue;
    const mountPoint = left.split(" ")[4];
    const [fsType, , superOptions] = right.split(" ");
    if (!mountPoint) continue;
    if (fsType === "cgroup2") mounts.v2 ??= mountPoint;
    if (fsType === "cgroup") {
      for (const opt of (superOptions ?? "").split(",")) {
        if (opt !== "rw" && opt !== "ro" && !mounts.v1.has(opt)) mounts.v1.set(opt, mountPoint);
      }
    }
  }
  return mounts;
}

export type CgroupLayout =
  /** containerd with the systemd driver on cgroup v2: kubepods.slice/.../cri-containerd-<id>.scope */
  | "v2-systemd"
  /** containerd with the cgroupfs driver on cgroup v1: /kubepods/besteffort/pod<uid>/<id> */
  | "v1-cgroupfs";

export interface ContainerCgroup {
  /** The cgroup path as /proc/<pid>/cgroup shows it. */
  path: string;
  procsFile: string;
  /** Removes the directories made (the processes in it must have exited). */
  remove(): void;
}

/**
 * Creates the cgroup of container `containerId` of pod `podUid` (BestEffort QoS). v2-systemd
 * needs a cgroup v2 mount; v1-cgroupfs uses the v1 `pids` hierarchy (no limits are set).
 * Returns undefined when this machine has no such hierarchy.
 */
export function createContainerCgroup(
  layout: CgroupLayout,
  podUid: string,
  containerId: string,
  mounts: CgroupMounts = cgroupMounts(),
): ContainerCgroup | undefined {
  let root: string | undefined;
  let parts: string[];
  if (layout === "v2-systemd") {
    root = mounts.v2;
    const pod = `kubepods-besteffort-pod${podUid.replaceAll("-", "_")}.slice`;
    parts = [
      "kubepods.slice",
      "kubepods-besteffort.slice",
      pod,
      `cri-containerd-${containerId}.scope`,
    ];
  } else {
    root = mounts.v1.get("pids");
    parts = ["kubepods", "besteffort", `pod${podUid}`, containerId];
  }
  if (root === undefined) return undefined;
  const made: string[] = [];
  let dir = root;
  for (const part of parts) {
    dir = join(dir, part);
    try {
      mkdirSync(dir);
      made.push(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
  }
  return {
    path: "/" + parts.join("/"),
    procsFile: join(dir, "cgroup.procs"),
    remove: () => {
      for (const d of made.reverse()) {
        try {
          rmdirSync(d);
        } catch {
          // still in use by a parallel test, or a process that has not exited yet
        }
      }
    },
  };
}

/**
 * Starts `cmd` inside the cgroup from its first instruction: a shell writes its own pid to
 * cgroup.procs, then execs the command (same pid).
 */
export function startInCgroup(cgroup: ContainerCgroup, cmd: string, args: string[]): Child {
  return start("/bin/sh", ["-c", 'echo $$ > "$0" && exec "$@"', cgroup.procsFile, cmd, ...args]);
}

/** The cgroup v1/v2 lines of a process, for assertions and messages. */
export function procCgroup(pid: number): string {
  return readFileSync(`/proc/${pid}/cgroup`, "utf8");
}
