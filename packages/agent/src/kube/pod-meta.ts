/**
 * The part of a Pod the agent keeps: what decoration and selection need, nothing else (a
 * whole Pod object is tens of kilobytes; this is a few hundred bytes).
 */

export interface OwnerRef {
  kind: string;
  name: string;
  /** The managing controller (at most one per object). */
  controller: boolean;
}

/** A container of the pod that has an ID (it was created by the runtime). */
export interface PodContainer {
  /** The runtime's ID without its scheme: 64 hex characters for containerd, CRI-O, Docker. */
  id: string;
  name: string;
  kind: "container" | "init" | "ephemeral";
}

export interface PodMeta {
  uid: string;
  name: string;
  namespace: string;
  resourceVersion: string;
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  ownerReferences: readonly OwnerRef[];
  /** status.startTime, RFC 3339 ("2024-05-01T10:00:00Z"); "" before the kubelet set it. */
  startTime: string;
  podIP: string;
  nodeName: string;
  containers: readonly PodContainer[];
}

/** Annotations never kept: large and of no use for selection or decoration. */
const DROPPED_ANNOTATIONS = new Set(["kubectl.kubernetes.io/last-applied-configuration"]);

/**
 * The minimal form of a Pod, from the JSON of a watch event or the deserialized object of a
 * list call (where dates are Date objects). Undefined when it lacks a uid, name or namespace.
 */
export function toPodMeta(raw: unknown): PodMeta | undefined {
  const pod = asObject(raw);
  const metadata = asObject(pod["metadata"]);
  const spec = asObject(pod["spec"]);
  const status = asObject(pod["status"]);
  const uid = str(metadata["uid"]);
  const name = str(metadata["name"]);
  const namespace = str(metadata["namespace"]);
  if (uid === "" || name === "" || namespace === "") return undefined;
  const annotations = stringMap(metadata["annotations"]);
  for (const key of DROPPED_ANNOTATIONS) delete annotations[key];
  return {
    uid,
    name,
    namespace,
    resourceVersion: str(metadata["resourceVersion"]),
    labels: stringMap(metadata["labels"]),
    annotations,
    ownerReferences: ownerRefs(metadata["ownerReferences"]),
    startTime: timestamp(status["startTime"]),
    podIP: str(status["podIP"]),
    nodeName: str(spec["nodeName"]),
    containers: [
      ...containers(status["containerStatuses"], "container"),
      ...containers(status["initContainerStatuses"], "init"),
      ...containers(status["ephemeralContainerStatuses"], "ephemeral"),
    ],
  };
}

/** "containerd://<id>" -> "<id>"; "" when there is none yet. */
export function stripContainerScheme(containerId: string): string {
  const sep = containerId.indexOf("://");
  return sep < 0 ? containerId : containerId.slice(sep + 3);
}

/** The managing controller of an object, else its first owner. */
export function controllerOf(refs: readonly OwnerRef[]): OwnerRef | undefined {
  return refs.find((r) => r.controller) ?? refs[0];
}

function containers(raw: unknown, kind: PodContainer["kind"]): PodContainer[] {
  if (!Array.isArray(raw)) return [];
  const out: PodContainer[] = [];
  for (const item of raw) {
    const status = asObject(item);
    const id = stripContainerScheme(str(status["containerID"]));
    const name = str(status["name"]);
    if (id !== "" && name !== "") out.push({ id, name, kind });
  }
  return out;
}

export function ownerRefs(raw: unknown): OwnerRef[] {
  if (!Array.isArray(raw)) return [];
  const out: OwnerRef[] = [];
  for (const item of raw) {
    const ref = asObject(item);
    const kind = str(ref["kind"]);
    const name = str(ref["name"]);
    if (kind !== "" && name !== "")
      out.push({ kind, name, controller: ref["controller"] === true });
  }
  return out;
}

function timestamp(raw: unknown): string {
  if (raw instanceof Date) {
    return Number.isNaN(raw.getTime()) ? "" : raw.toISOString().replace(/\.000Z$/, "Z");
  }
  return str(raw);
}

function stringMap(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(asObject(raw))) {
    if (typeof v === "string") out[k] = v;
  }
  return out;
}

function asObject(raw: unknown): Record<string, unknown> {
  return typeof raw === "object" && raw !== null ? (raw as Record<string, unknown>) : {};
}

function str(raw: unknown): string {
  return typeof raw === "string" ? raw : "";
}
