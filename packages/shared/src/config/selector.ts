import type { DiscoveryConfig, ServiceSelector } from "./types.js";

/** What discovery knows about a process when it decides whether to instrument it. */
export interface ProcessInfo {
  /** Full path of the executable, e.g. /usr/sbin/nginx. */
  exePath: string;
  /** Ports the process listens on. */
  openPorts: readonly number[];
  /** Absent on a plain host, or while the pod is not yet known. */
  k8s?: K8sProcessInfo;
}

export interface K8sProcessInfo {
  namespace: string;
  podName: string;
  deploymentName?: string;
  replicaSetName?: string;
  statefulSetName?: string;
  daemonSetName?: string;
  /** The top-level owner (e.g. the Deployment, or a CronJob). */
  ownerName?: string;
  podLabels: Readonly<Record<string, string>>;
  podAnnotations: Readonly<Record<string, string>>;
}

/**
 * True when the process meets every criterion the selector sets (fields are ANDed).
 * `name` and `namespace` are what a match is called and never decide a match. A selector with
 * Kubernetes criteria never matches a process without Kubernetes metadata.
 */
export function matchesSelector(sel: ServiceSelector, proc: ProcessInfo): boolean {
  if (sel.openPorts !== undefined && !sel.openPorts.includesAny(proc.openPorts)) return false;
  if (sel.exePath !== undefined && !sel.exePath.test(proc.exePath)) return false;
  if (!hasK8sCriteria(sel)) return true;
  const k8s = proc.k8s;
  if (k8s === undefined) return false;
  return (
    matchesOptional(sel.k8sNamespace, k8s.namespace) &&
    matchesOptional(sel.k8sPodName, k8s.podName) &&
    matchesOptional(sel.k8sDeploymentName, k8s.deploymentName) &&
    matchesOptional(sel.k8sReplicaSetName, k8s.replicaSetName) &&
    matchesOptional(sel.k8sStatefulSetName, k8s.statefulSetName) &&
    matchesOptional(sel.k8sDaemonSetName, k8s.daemonSetName) &&
    matchesOwner(sel, k8s) &&
    matchesMap(sel.k8sPodLabels, k8s.podLabels) &&
    matchesMap(sel.k8sPodAnnotations, k8s.podAnnotations)
  );
}

/**
 * The selector that instruments `proc`: the first of `services` that matches, unless one of
 * `excludeServices` matches. Undefined when the process is not to be instrumented.
 */
export function findSelector(
  discovery: Pick<DiscoveryConfig, "services" | "excludeServices">,
  proc: ProcessInfo,
): ServiceSelector | undefined {
  for (const ex of discovery.excludeServices) {
    if (matchesSelector(ex, proc)) return undefined;
  }
  return discovery.services.find((sel) => matchesSelector(sel, proc));
}

/** True when the selector sets at least one criterion (not just a name). */
export function hasCriteria(sel: ServiceSelector): boolean {
  return sel.openPorts !== undefined || sel.exePath !== undefined || hasK8sCriteria(sel);
}

export function hasK8sCriteria(sel: ServiceSelector): boolean {
  return (
    sel.k8sNamespace !== undefined ||
    sel.k8sPodName !== undefined ||
    sel.k8sDeploymentName !== undefined ||
    sel.k8sReplicaSetName !== undefined ||
    sel.k8sStatefulSetName !== undefined ||
    sel.k8sDaemonSetName !== undefined ||
    sel.k8sOwnerName !== undefined ||
    sel.k8sPodLabels !== undefined ||
    sel.k8sPodAnnotations !== undefined
  );
}

function matchesOptional(
  re: { test(s: string): boolean } | undefined,
  value: string | undefined,
): boolean {
  if (re === undefined) return true;
  return value !== undefined && re.test(value);
}

/** The owner criterion holds when any owner in the pod's chain matches. */
function matchesOwner(sel: ServiceSelector, k8s: K8sProcessInfo): boolean {
  const re = sel.k8sOwnerName;
  if (re === undefined) return true;
  const owners = [
    k8s.ownerName,
    k8s.deploymentName,
    k8s.replicaSetName,
    k8s.statefulSetName,
    k8s.daemonSetName,
  ];
  return owners.some((o) => o !== undefined && re.test(o));
}

/** Every listed key must exist and its value match. */
function matchesMap(
  want: Readonly<Record<string, { test(s: string): boolean }>> | undefined,
  have: Readonly<Record<string, string>>,
): boolean {
  if (want === undefined) return true;
  for (const [key, re] of Object.entries(want)) {
    const value = Object.hasOwn(have, key) ? have[key] : undefined;
    if (value === undefined || !re.test(value)) return false;
  }
  return true;
}
