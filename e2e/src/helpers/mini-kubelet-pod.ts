/**
 * The parts of a Pod that the mini-kubelet (mini-kubelet.ts) reads, and its few reads of the
 * API: the downward API's values, ConfigMap and Secret data.
 */
import type { ApiAnswer } from "./helm.js";

/**
 * The Node's address (its InternalIP, as e2e/k8s/start.sh registers it): every Pod's hostIP,
 * and the Pod IP of the Pods on the host's network (hostNetwork, and the tests' own workloads).
 */
export const NODE_IP = "127.0.0.1";

export interface Pod {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    deletionTimestamp?: string;
  };
  spec: {
    nodeName?: string;
    hostNetwork?: boolean;
    serviceAccountName?: string;
    enableServiceLinks?: boolean;
    securityContext?: SecurityContext & { fsGroup?: number; supplementalGroups?: number[] };
    initContainers?: Container[];
    containers: Container[];
    volumes?: Volume[];
  };
  /** podIP: the kubelet sets it on its copy of the Pod once the sandbox has one. */
  status?: { phase?: string; podIP?: string };
}

export interface ServiceObject {
  metadata: { name: string; namespace: string };
  spec: { clusterIP?: string; ports?: ServicePort[] };
}

export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
}

/** discovery.k8s.io/v1 EndpointSlice, the parts kube-proxy and cluster DNS read. */
export interface EndpointSlice {
  metadata: { namespace: string; labels?: Record<string, string> };
  addressType: string;
  ports?: { name?: string; port?: number; protocol?: string }[] | null;
  endpoints?:
    | {
        addresses: string[];
        conditions?: { ready?: boolean };
        targetRef?: { kind?: string; name?: string; namespace?: string };
      }[]
    | null;
}

export interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: {
    prefix?: string;
    configMapRef?: { name: string; optional?: boolean };
    secretRef?: { name: string; optional?: boolean };
  }[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
  securityContext?: SecurityContext;
  startupProbe?: Probe;
  readinessProbe?: Probe;
}

export interface Probe {
  httpGet?: { path?: string; port: number | string; scheme?: string };
  periodSeconds?: number;
  failureThreshold?: number;
  timeoutSeconds?: number;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: KeyRef; configMapKeyRef?: KeyRef };
}

export interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface DownwardFile {
  path: string;
  fieldRef?: { fieldPath: string };
  mode?: number;
}

export interface ObjectSource {
  name: string;
  items?: KeyToPath[];
  optional?: boolean;
}

export interface ProjectedSource {
  serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string };
  configMap?: ObjectSource;
  secret?: ObjectSource;
  downwardAPI?: { items: DownwardFile[] };
}

export interface Volume {
  name: string;
  hostPath?: { path: string };
  emptyDir?: object;
  configMap?: ObjectSource & { defaultMode?: number };
  secret?: { secretName: string; items?: KeyToPath[]; optional?: boolean; defaultMode?: number };
  projected?: { sources: ProjectedSource[]; defaultMode?: number };
  downwardAPI?: { items: DownwardFile[]; defaultMode?: number };
}

/** One call to the API server (as the kubelet makes them, with its own credentials). */
export type Api = (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;

/** What the kubelet of one node knows. */
export interface NodeContext {
  api: Api;
  /**
   * The API server's port on 127.0.0.1: KUBERNETES_SERVICE_PORT of the Pods on the host's
   * network (the others get the `kubernetes` Service's ClusterIP and port).
   */
  apiPort: string;
  /** The kubelet's directory, like /var/lib/kubelet: pods/<uid>/{volumes,etc-hosts,home}. */
  root: string;
  /** Mount points it had to create on the host, in creation order (removed at stop). */
  madeDirs: string[];
}

/** The one container of the Pods the mini-kubelet runs (more are not emulated). */
export function onlyContainer(pod: Pod): Container {
  const [c, ...more] = pod.spec.containers;
  if (c === undefined || more.length > 0 || (pod.spec.initContainers ?? []).length > 0) {
    throw new Error(`${podName(pod)}: the mini-kubelet runs Pods of exactly one container`);
  }
  return c;
}

export const podName = (pod: Pod): string => `${pod.metadata.namespace}/${pod.metadata.name}`;

/** The downward API (env `fieldRef` and downwardAPI volume files). */
export function fieldValue(pod: Pod, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return pod.metadata[m[1] as "labels" | "annotations"]?.[m[2]!] ?? "";
  const values: Record<string, string | undefined> = {
    "metadata.name": pod.metadata.name,
    "metadata.namespace": pod.metadata.namespace,
    "metadata.uid": pod.metadata.uid,
    "spec.nodeName": pod.spec.nodeName,
    "spec.serviceAccountName": pod.spec.serviceAccountName,
    // The kubelet knows the Pod's IP from the sandbox before its containers start.
    "status.podIP": pod.status?.podIP,
    "status.podIPs": pod.status?.podIP,
    "status.hostIP": NODE_IP,
    "status.hostIPs": NODE_IP,
  };
  if (!(path in values)) throw new Error(`${podName(pod)}: fieldRef ${path} not emulated`);
  return values[path] ?? "";
}

/** A ConfigMap's or Secret's data, decoded; undefined when it is missing and optional. */
export async function objectData(
  node: NodeContext,
  pod: Pod,
  kind: "configmaps" | "secrets",
  ref: { name: string; optional?: boolean },
): Promise<Map<string, Buffer> | undefined> {
  const obj = await get(node, `/api/v1/namespaces/${pod.metadata.namespace}/${kind}/${ref.name}`);
  if (obj === undefined) {
    if (ref.optional === true) return undefined;
    throw new Error(`${podName(pod)}: ${kind} ${ref.name} not found`);
  }
  const data = new Map<string, Buffer>();
  const text = (obj["data"] ?? {}) as Record<string, string>;
  const binary = (obj["binaryData"] ?? {}) as Record<string, string>;
  for (const [k, v] of Object.entries(text)) {
    data.set(k, Buffer.from(v, kind === "secrets" ? "base64" : "utf8"));
  }
  for (const [k, v] of Object.entries(binary)) data.set(k, Buffer.from(v, "base64"));
  return data;
}

/** GET of an object or list; undefined on 404. */
export async function get(
  node: NodeContext,
  path: string,
): Promise<Record<string, unknown> | undefined> {
  const answer = await node.api("GET", path);
  if (answer.status === 404) return undefined;
  if (answer.status !== 200)
    throw new Error(`GET ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as Record<string, unknown>;
}
