/**
 * The cluster name for k8s.cluster.name: the configured one, then node labels set by the
 * usual installers, then kubeadm's ClusterConfiguration, then the cloud's metadata server.
 * Every step has a short timeout, so a missing source never delays the agent's start long.
 */
import { parse as parseYaml } from "yaml";

/** Node labels that carry the cluster name, in order of preference. */
export const CLUSTER_NAME_LABELS: readonly string[] = [
  "alpha.eksctl.io/cluster-name",
  "cluster.x-k8s.io/cluster-name",
  "kubernetes.azure.com/cluster",
];

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface ClusterNameSources {
  /** attributes.kubernetes.cluster_name / BEYLA_KUBE_CLUSTER_NAME. */
  configured?: string;
  /** Labels of this node's Node object. */
  nodeLabels?: () => Promise<Readonly<Record<string, string>> | undefined>;
  /** `ClusterConfiguration` of the `kubeadm-config` ConfigMap in kube-system (YAML text). */
  kubeadmClusterConfiguration?: () => Promise<string | undefined>;
  /** Cloud metadata probes, tried together; the first in this order that answers wins. */
  cloud?: readonly CloudProbe[];
  /** Limit of each API step. */
  apiTimeoutMs?: number;
  /** Limit of the cloud probes (all at once). */
  cloudTimeoutMs?: number;
}

export interface CloudProbe {
  name: string;
  probe: (signal: AbortSignal) => Promise<string | undefined>;
}

export interface ClusterName {
  name: string;
  /** Where it came from: "config", "node label <key>", "kubeadm-config", "<cloud> metadata". */
  source: string;
}

/**
 * The first cluster name a source gives; undefined when none does. Never rejects: a source
 * that fails or times out is skipped (and named in `skipped`).
 */
export async function detectClusterName(
  sources: ClusterNameSources,
  skipped: string[] = [],
): Promise<ClusterName | undefined> {
  const configured = sources.configured?.trim();
  if (configured) return { name: configured, source: "config" };
  const apiTimeoutMs = sources.apiTimeoutMs ?? 2000;
  if (sources.nodeLabels) {
    const labels = await bounded("node labels", sources.nodeLabels(), apiTimeoutMs, skipped);
    const found = labels ? clusterNameFromLabels(labels) : undefined;
    if (found) return found;
  }
  if (sources.kubeadmClusterConfiguration) {
    const text = await bounded(
      "kubeadm-config",
      sources.kubeadmClusterConfiguration(),
      apiTimeoutMs,
      skipped,
    );
    const name = text ? clusterNameFromKubeadm(text) : undefined;
    if (name) return { name, source: "kubeadm-config" };
  }
  if (sources.cloud && sources.cloud.length > 0) {
    return probeClouds(sources.cloud, sources.cloudTimeoutMs ?? 500, skipped);
  }
  return undefined;
}

export function clusterNameFromLabels(
  labels: Readonly<Record<string, string>>,
): ClusterName | undefined {
  for (const key of CLUSTER_NAME_LABELS) {
    const value = labels[key]?.trim();
    if (!value) continue;
    const name = key === "kubernetes.azure.com/cluster" ? aksClusterName(value) : value;
    return { name, source: `node label ${key}` };
  }
  return undefined;
}

/** `clusterName` of a kubeadm ClusterConfiguration document; undefined when absent or bad. */
export function clusterNameFromKubeadm(yamlText: string): string | undefined {
  try {
    const doc: unknown = parseYaml(yamlText);
    const name = (doc as { clusterName?: unknown } | null)?.clusterName;
    return typeof name === "string" && name.trim() !== "" ? name.trim() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * AKS names a node's resource group `MC_<resource group>_<cluster>_<location>`, which is
 * what the `kubernetes.azure.com/cluster` label and the instance metadata hold. The cluster
 * is the part before the location; any other value is taken as it is.
 */
export function aksClusterName(resourceGroup: string): string {
  const m = /^MC_(.+)_([^_]+)_([^_]+)$/i.exec(resourceGroup);
  return m ? m[2]! : resourceGroup;
}

async function probeClouds(
  probes: readonly CloudProbe[],
  timeoutMs: number,
  skipped: string[],
): Promise<ClusterName | undefined> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const answers = await Promise.all(
      probes.map((p) =>
        p.probe(controller.signal).then(
          (name) => name?.trim() || undefined,
          () => {
            skipped.push(`${p.name} metadata`);
            return undefined;
          },
        ),
      ),
    );
    const i = answers.findIndex((a) => a !== undefined);
    return i < 0 ? undefined : { name: answers[i]!, source: `${probes[i]!.name} metadata` };
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

function bounded<T>(
  what: string,
  promise: Promise<T>,
  timeoutMs: number,
  skipped: string[],
): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      skipped.push(`${what} (timeout)`);
      resolve(undefined);
    }, timeoutMs);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      () => {
        clearTimeout(timer);
        skipped.push(what);
        resolve(undefined);
      },
    );
  });
}

const METADATA_HOST = "http://169.254.169.254";

/** GCE / GKE: the `cluster-name` instance attribute GKE sets on its nodes. */
export function gceProbe(fetchFn: FetchLike = fetch): CloudProbe {
  return {
    name: "GCE",
    probe: async (signal) => {
      const res = await fetchFn(
        `${METADATA_HOST}/computeMetadata/v1/instance/attributes/cluster-name`,
        { headers: { "Metadata-Flavor": "Google" }, signal },
      );
      return res.ok ? await res.text() : undefined;
    },
  };
}

/**
 * EC2 / EKS (IMDSv2): the instance tag `eks:cluster-name`, else the name in a
 * `kubernetes.io/cluster/<name>` tag. Needs instance tags in metadata to be enabled.
 */
export function eksProbe(fetchFn: FetchLike = fetch): CloudProbe {
  return {
    name: "EKS",
    probe: async (signal) => {
      const tokenRes = await fetchFn(`${METADATA_HOST}/latest/api/token`, {
        method: "PUT",
        headers: { "X-aws-ec2-metadata-token-ttl-seconds": "60" },
        signal,
      });
      if (!tokenRes.ok) return undefined;
      const headers = { "X-aws-ec2-metadata-token": await tokenRes.text() };
      const tagsUrl = `${METADATA_HOST}/latest/meta-data/tags/instance`;
      const keysRes = await fetchFn(tagsUrl, { headers, signal });
      if (!keysRes.ok) return undefined;
      const keys = (await keysRes.text()).split("\n").map((k) => k.trim());
      if (keys.includes("eks:cluster-name")) {
        const res = await fetchFn(`${tagsUrl}/eks:cluster-name`, { headers, signal });
        if (res.ok) return await res.text();
      }
      const tag = keys.find((k) => k.startsWith("kubernetes.io/cluster/"));
      return tag?.slice("kubernetes.io/cluster/".length) || undefined;
    },
  };
}

/** Azure / AKS: the node resource group `MC_<group>_<cluster>_<location>`. */
export function azureProbe(fetchFn: FetchLike = fetch): CloudProbe {
  return {
    name: "Azure",
    probe: async (signal) => {
      const res = await fetchFn(
        `${METADATA_HOST}/metadata/instance/compute/resourceGroupName?api-version=2021-02-01&format=text`,
        { headers: { Metadata: "true" }, signal },
      );
      if (!res.ok) return undefined;
      const group = (await res.text()).trim();
      return /^MC_/i.test(group) ? aksClusterName(group) : undefined;
    },
  };
}

export function cloudProbes(fetchFn: FetchLike = fetch): CloudProbe[] {
  return [gceProbe(fetchFn), eksProbe(fetchFn), azureProbe(fetchFn)];
}
