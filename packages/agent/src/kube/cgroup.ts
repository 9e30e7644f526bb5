/**
 * PID -> container ID, from the cgroup a process lives in (/proc/<pid>/cgroup).
 *
 * Container runtimes name the cgroup of a container after its 64-hex ID, e.g.
 *   cgroup v2, systemd driver:  0::/kubepods.slice/kubepods-burstable.slice/
 *                               kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope
 *   cgroup v1, cgroupfs driver: 4:memory:/kubepods/burstable/pod<uid>/<id>
 *   CRI-O:                      .../crio-<id>.scope
 *   Docker:                     .../docker-<id>.scope, /docker/<id>
 *   containerd, systemd driver on cgroup v1 (kind):
 *                               /system.slice/containerd.service/kubepods-...-pod<uid>.slice:cri-containerd:<id>
 * The path is relative to the reader's cgroup namespace, so an agent in its own cgroup
 * namespace sees it behind "/../..": only the path components are looked at, never the root.
 */
import { readFile } from "node:fs/promises";

/** What the cgroup path of a process says about its container. */
export interface CgroupContainer {
  /** 64 lower-case hex characters. */
  containerId: string;
  /** Pod UID with dashes ("8d1f0a4e-..."), when the path holds a `pod<uid>` component. */
  podUid?: string;
}

/** `<runtime>-<id>.scope` (systemd driver) or a bare `<id>` component (cgroupfs driver). */
const CONTAINER_COMPONENT =
  /^(?:(?:cri-containerd|containerd|crio|docker|libpod|cri-o)-)?([0-9a-f]{64})(?:\.scope)?$/;
/** `pod<uid>` (cgroupfs) or `kubepods-<qos>-pod<uid_with_underscores>.slice` (systemd). */
const POD_COMPONENT =
  /(?:^|-)pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;

/**
 * The container of one cgroup path, e.g. "/kubepods/besteffort/pod<uid>/<id>"; components
 * are separated by "/" (and ":" in the systemd-driver-on-v1 form). The innermost
 * component naming a container wins (a container may create sub-cgroups of its own).
 */
export function parseCgroupPath(path: string): CgroupContainer | undefined {
  const parts = path.split(/[/:]/);
  for (let i = parts.length - 1; i >= 0; i--) {
    const m = CONTAINER_COMPONENT.exec(parts[i]!);
    if (!m) continue;
    const result: CgroupContainer = { containerId: m[1]! };
    for (let j = i - 1; j >= 0; j--) {
      const pod = POD_COMPONENT.exec(parts[j]!);
      if (pod) {
        result.podUid = pod[1]!.replaceAll("_", "-");
        break;
      }
    }
    return result;
  }
  return undefined;
}

/**
 * The container of a process from the text of /proc/<pid>/cgroup: one line per hierarchy,
 * "<id>:<controllers>:<path>" ("0::<path>" for cgroup v2). The first line naming a
 * container wins; in hybrid mode v1 and v2 lines may disagree and either may hold it.
 */
export function parseProcCgroup(text: string): CgroupContainer | undefined {
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = first < 0 ? -1 : line.indexOf(":", first + 1);
    if (second < 0) continue;
    const found = parseCgroupPath(line.slice(second + 1).trim());
    if (found) return found;
  }
  return undefined;
}

/**
 * Reads the container of `pid`; undefined for a process outside containers, or one that has
 * exited. `procRoot` lets tests point at a fake /proc.
 */
export async function readContainer(
  pid: number,
  procRoot = "/proc",
): Promise<CgroupContainer | undefined> {
  let text: string;
  try {
    text = await readFile(`${procRoot}/${pid}/cgroup`, "utf8");
  } catch {
    return undefined;
  }
  return parseProcCgroup(text);
}
