/**
 * The mini-kubelet's volumes (mini-kubelet.ts): written under its directory the way the
 * kubelet lays them out, then bind-mounted at their mountPath by the container's start script.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import {
  fieldValue,
  objectData,
  podName,
  type Container,
  type DownwardFile,
  type NodeContext,
  type ObjectSource,
  type Pod,
  type ProjectedSource,
  type Volume,
} from "./mini-kubelet-pod.js";

/** Where a volume's files are: under the kubelet's directory, or the host's own path. */
export interface VolumeSource {
  path: string;
  hostPath: boolean;
}

interface FileToWrite {
  path: string;
  data: Buffer;
  mode: number;
  /** The file's owner; default root. */
  uid?: number;
}

/** Writes a volume the way the kubelet lays it out; hostPath volumes are the host's path. */
export async function materializeVolume(
  node: NodeContext,
  pod: Pod,
  v: Volume,
  dir: string,
): Promise<VolumeSource> {
  if (v.hostPath) {
    if (!existsSync(v.hostPath.path)) throw new Error(`hostPath ${v.hostPath.path} does not exist`);
    return { path: v.hostPath.path, hostPath: true };
  }
  mkdirSync(dir, { recursive: true });
  if (v.emptyDir) {
    chmodSync(dir, 0o777);
    return { path: dir, hostPath: false };
  }
  writeVolume(dir, await volumeFiles(node, pod, v), pod.spec.securityContext?.fsGroup);
  return { path: dir, hostPath: false };
}

async function volumeFiles(node: NodeContext, pod: Pod, v: Volume): Promise<FileToWrite[]> {
  const { configMap, secret, projected, downwardAPI } = v;
  if (configMap) return objectFiles(node, pod, "configmaps", configMap, configMap.defaultMode);
  if (secret) {
    const ref = { ...secret, name: secret.secretName };
    return objectFiles(node, pod, "secrets", ref, secret.defaultMode);
  }
  if (projected) return projectedFiles(node, pod, projected);
  if (downwardAPI) return downwardFiles(pod, downwardAPI.items, downwardAPI.defaultMode);
  throw new Error(`${podName(pod)}: volume ${v.name}: type not emulated`);
}

/**
 * Files with their modes; with an fsGroup, as the kubelet's SetVolumeOwnership leaves a
 * read-only volume: group fsGroup, group-readable, directories setgid.
 */
function writeVolume(
  dir: string,
  files: readonly FileToWrite[],
  fsGroup: number | undefined,
): void {
  for (const f of files) {
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.data);
    chmodSync(path, fsGroup === undefined ? f.mode : f.mode | 0o440);
    chownSync(path, f.uid ?? 0, fsGroup ?? 0);
  }
  if (fsGroup !== undefined) {
    chownSync(dir, 0, fsGroup);
    chmodSync(dir, 0o2755);
  }
}

async function objectFiles(
  node: NodeContext,
  pod: Pod,
  kind: "configmaps" | "secrets",
  ref: ObjectSource,
  defaultMode = 0o644,
): Promise<FileToWrite[]> {
  const data = await objectData(node, pod, kind, ref);
  if (data === undefined) return [];
  const items = ref.items ?? [...data.keys()].map((key) => ({ key, path: key, mode: undefined }));
  return items.flatMap((i) => {
    const value = data.get(i.key);
    if (value === undefined && ref.optional !== true) {
      throw new Error(`${podName(pod)}: key ${i.key} of ${kind} ${ref.name} not found`);
    }
    return value === undefined ? [] : [{ path: i.path, data: value, mode: i.mode ?? defaultMode }];
  });
}

/**
 * A projected volume; its token comes from the TokenRequest API, bound to the Pod, with the
 * audience and lifetime the source names, as the kubelet asks for it (and, like the kubelet
 * when the Pod sets a user or fsGroup, mode 0600 owned by that user). No rotation: the tests
 * are shorter than the token's life.
 */
async function projectedFiles(
  node: NodeContext,
  pod: Pod,
  v: NonNullable<Volume["projected"]>,
): Promise<FileToWrite[]> {
  const defaultMode = v.defaultMode ?? 0o644;
  const fsUser = commonRunAsUser(pod);
  const owned = fsUser !== undefined || pod.spec.securityContext?.fsGroup !== undefined;
  const files: FileToWrite[] = [];
  for (const s of v.sources) {
    if (s.serviceAccountToken) {
      const token = await requestToken(node, pod, s.serviceAccountToken);
      const mode = owned ? 0o600 : defaultMode;
      files.push({ path: s.serviceAccountToken.path, data: Buffer.from(token), mode, uid: fsUser });
    } else if (s.configMap) {
      files.push(...(await objectFiles(node, pod, "configmaps", s.configMap, defaultMode)));
    } else if (s.secret) {
      files.push(...(await objectFiles(node, pod, "secrets", s.secret, defaultMode)));
    } else if (s.downwardAPI) {
      files.push(...downwardFiles(pod, s.downwardAPI.items, defaultMode));
    } else {
      throw new Error(`${podName(pod)}: projected source not emulated: ${JSON.stringify(s)}`);
    }
  }
  return files;
}

/** The user every container runs as, when they agree (the kubelet's FsUserFrom). */
function commonRunAsUser(pod: Pod): number | undefined {
  const users = new Set(
    pod.spec.containers.map(
      (c) => c.securityContext?.runAsUser ?? pod.spec.securityContext?.runAsUser,
    ),
  );
  const [only] = users;
  return users.size === 1 ? only : undefined;
}

function downwardFiles(
  pod: Pod,
  items: readonly DownwardFile[],
  defaultMode = 0o644,
): FileToWrite[] {
  return items.map((i) => {
    if (!i.fieldRef) throw new Error(`${podName(pod)}: downwardAPI ${i.path}: not emulated`);
    const data = Buffer.from(fieldValue(pod, i.fieldRef.fieldPath));
    return { path: i.path, data, mode: i.mode ?? defaultMode };
  });
}

async function requestToken(
  node: NodeContext,
  pod: Pod,
  source: NonNullable<ProjectedSource["serviceAccountToken"]>,
): Promise<string> {
  const sa = pod.spec.serviceAccountName ?? "default";
  const path = `/api/v1/namespaces/${pod.metadata.namespace}/serviceaccounts/${sa}/token`;
  const answer = await node.api("POST", path, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: {
      // none: the API server's own audience
      audiences: source.audience ? [source.audience] : [],
      expirationSeconds: source.expirationSeconds ?? 3600,
      boundObjectRef: {
        apiVersion: "v1",
        kind: "Pod",
        name: pod.metadata.name,
        uid: pod.metadata.uid,
      },
    },
  });
  if (answer.status !== 201) {
    throw new Error(`TokenRequest for ${sa}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return answer.body.status.token as string;
}

export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

/**
 * The container's bind mounts, parents first, and their mount points: inside the parent
 * volume when nested (runc creates them there too), else on the host, created when missing and
 * remembered for removal. A hostPath volume mounted at its own path is the host's: no mount.
 */
export function planMounts(
  node: NodeContext,
  pod: Pod,
  c: Container,
  sources: ReadonlyMap<string, VolumeSource>,
  hosts: string,
): Mount[] {
  const mounts: Mount[] = [];
  for (const m of c.volumeMounts ?? []) {
    if (m.subPath) throw new Error(`${podName(pod)}: subPath not emulated`);
    const source = sources.get(m.name);
    if (source === undefined) throw new Error(`${podName(pod)}: no volume ${m.name}`);
    if (source.hostPath && source.path === m.mountPath) continue;
    mounts.push({ source: source.path, target: m.mountPath, readOnly: m.readOnly === true });
  }
  mounts.sort((a, b) => a.target.split("/").length - b.target.split("/").length);
  for (const [i, m] of mounts.entries()) {
    const parent = mounts.slice(0, i).find((p) => m.target.startsWith(`${p.target}/`));
    if (parent) {
      mkdirSync(join(parent.source, relative(parent.target, m.target)), { recursive: true });
    } else {
      makeHostDir(m.target, node.madeDirs);
    }
  }
  // The kubelet's etc-hosts file for the Pod, as it bind-mounts it.
  mounts.push({ source: hosts, target: "/etc/hosts", readOnly: false });
  return mounts;
}

function makeHostDir(path: string, made: string[]): void {
  if (existsSync(path)) return;
  makeHostDir(dirname(path), made);
  mkdirSync(path);
  made.push(path);
}
