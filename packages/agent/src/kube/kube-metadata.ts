/**
 * Kubernetes metadata of processes: PID -> container (cgroup) -> pod (informer cache of this
 * node's pods) -> owners, as the selector criteria (K8sProcessInfo) and the k8s.* resource
 * attributes of the service.
 */
import type { K8sProcessInfo } from "@beyla-ts/shared";
import { type CgroupContainer, readContainer } from "./cgroup.js";
import type { CachedPod, PodChange } from "./pod-informer.js";

/** What Kubernetes says about one process. */
export interface KubeProcess {
  /** For discovery's k8s_* criteria. */
  info: K8sProcessInfo;
  /** k8s.* resource attributes (OTel semantic conventions); only known values. */
  attributes: Readonly<Record<string, string>>;
  /** Undefined when the pod is known (from the cgroup's pod UID) but not yet its container. */
  containerName?: string;
}

/** The two lookups discovery makes: one read of /proc per process, then cache lookups. */
export interface KubeLookup {
  containerOf(pid: number): Promise<CgroupContainer | undefined>;
  lookupContainer(container: CgroupContainer): KubeProcess | undefined;
}

/** The part of the pod informer the facade reads. */
export interface PodIndex {
  byContainerId(containerId: string): { pod: CachedPod; containerName: string } | undefined;
  byPodUid(uid: string): CachedPod | undefined;
}

export interface KubeMetadataOptions {
  pods: PodIndex;
  nodeName: string;
  clusterName?: string;
  /** Reads the container of a process; default: /proc/<pid>/cgroup. */
  readContainer?: (pid: number) => Promise<CgroupContainer | undefined>;
}

export type PodListener = (pod: CachedPod, change: PodChange) => void;

export class KubeMetadata implements KubeLookup {
  private readonly listeners: PodListener[] = [];
  private readonly read: (pid: number) => Promise<CgroupContainer | undefined>;
  private stopHook: (() => Promise<void>) | undefined;

  constructor(private readonly options: KubeMetadataOptions) {
    this.read = options.readContainer ?? ((pid) => readContainer(pid));
  }

  get nodeName(): string {
    return this.options.nodeName;
  }

  get clusterName(): string | undefined {
    return this.options.clusterName;
  }

  containerOf(pid: number): Promise<CgroupContainer | undefined> {
    return this.read(pid);
  }

  /** The Kubernetes metadata of `pid`; undefined outside containers or for an unknown pod. */
  async lookup(pid: number): Promise<KubeProcess | undefined> {
    const container = await this.read(pid);
    return container ? this.lookupContainer(container) : undefined;
  }

  /** By container ID, else (container not yet in the pod's status) by the cgroup's pod UID. */
  lookupContainer(container: CgroupContainer): KubeProcess | undefined {
    const hit = this.options.pods.byContainerId(container.containerId);
    if (hit) return this.describe(hit.pod, hit.containerName);
    const pod = container.podUid ? this.options.pods.byPodUid(container.podUid) : undefined;
    return pod ? this.describe(pod, undefined) : undefined;
  }

  /** Called for every pod added, changed or deleted on this node. */
  onPodChange(listener: PodListener): void {
    this.listeners.push(listener);
  }

  /** For the informer: fans a change out to the listeners. */
  podChanged(pod: CachedPod, change: PodChange): void {
    for (const l of this.listeners) l(pod, change);
  }

  /** Set by whoever started the informer behind this facade. */
  setStopHook(hook: () => Promise<void>): void {
    this.stopHook = hook;
  }

  async stop(): Promise<void> {
    await this.stopHook?.();
  }

  private describe(pod: CachedPod, containerName: string | undefined): KubeProcess {
    const o = pod.owners;
    const info: K8sProcessInfo = {
      namespace: pod.namespace,
      podName: pod.name,
      podLabels: pod.labels,
      podAnnotations: pod.annotations,
    };
    if (o.deploymentName !== undefined) info.deploymentName = o.deploymentName;
    if (o.replicaSetName !== undefined) info.replicaSetName = o.replicaSetName;
    if (o.statefulSetName !== undefined) info.statefulSetName = o.statefulSetName;
    if (o.daemonSetName !== undefined) info.daemonSetName = o.daemonSetName;
    if (o.ownerName !== undefined) info.ownerName = o.ownerName;
    const attributes = podAttributes(pod, {
      containerName,
      nodeName: pod.nodeName || this.options.nodeName,
      clusterName: this.options.clusterName,
    });
    return containerName === undefined ? { info, attributes } : { info, attributes, containerName };
  }
}

/** The k8s.* resource attributes of a process in `pod`. */
export function podAttributes(
  pod: CachedPod,
  where: { containerName?: string; nodeName: string; clusterName?: string },
): Record<string, string> {
  const o = pod.owners;
  const entries: [string, string | undefined][] = [
    ["k8s.namespace.name", pod.namespace],
    ["k8s.pod.name", pod.name],
    ["k8s.container.name", where.containerName],
    ["k8s.deployment.name", o.deploymentName],
    ["k8s.replicaset.name", o.replicaSetName],
    ["k8s.statefulset.name", o.statefulSetName],
    ["k8s.daemonset.name", o.daemonSetName],
    ["k8s.job.name", o.jobName],
    ["k8s.cronjob.name", o.cronJobName],
    ["k8s.owner.name", o.ownerName],
    ["k8s.node.name", where.nodeName],
    ["k8s.cluster.name", where.clusterName],
    ["k8s.pod.uid", pod.uid],
    ["k8s.pod.start_time", pod.startTime],
  ];
  const out: Record<string, string> = {};
  for (const [key, value] of entries) {
    if (value !== undefined && value !== "") out[key] = value;
  }
  return out;
}
