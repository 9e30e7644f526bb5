/**
 * Turns Kubernetes decoration on at agent start: finds the API connection, checks it (for
 * `enable: autodetect`), resolves node and cluster names, starts the pod informer and waits a
 * bounded time for its first list.
 */
import type { KubernetesConfig } from "@beyla-ts/shared";
import type { Logger } from "../logger.js";
import { type ClusterNameSources, cloudProbes, detectClusterName } from "./cluster-name.js";
import type { KubeEnvironment } from "./kube-config-source.js";
import { KubeMetadata } from "./kube-metadata.js";
import { openKubeApi } from "./open-kube-api.js";
import { resolveNodeName } from "./node-name.js";
import { OwnerResolver } from "./owners.js";
import { PodInformer } from "./pod-informer.js";

export interface StartKubeOptions {
  config: KubernetesConfig;
  env: KubeEnvironment;
  log: Logger;
  /** How long start waits for the first pod list (the informer keeps trying after). */
  syncTimeoutMs?: number;
  /** `autodetect`: how long the API server has to answer GET /version. */
  connectTimeoutMs?: number;
  /** Cloud metadata probes (default: GCE, EKS, Azure); [] skips them. */
  cloud?: ClusterNameSources["cloud"];
}

/** Thrown when `enable: true` but there is no API configuration at all. */
export class KubeUnavailableError extends Error {}

/**
 * The running Kubernetes metadata, or undefined when decoration is off: `enable: false`, or
 * `autodetect` without a working connection. With `enable: true` a missing configuration
 * throws; an API server that does not answer yet is only logged (the informer retries).
 */
export async function startKubeMetadata(opts: StartKubeOptions): Promise<KubeMetadata | undefined> {
  const { config, env, log } = opts;
  if (config.enable === false) return undefined;
  const required = config.enable === true;
  const why = "no KUBECONFIG, ~/.kube/config or in-cluster service account";
  let loaded;
  try {
    loaded = await openKubeApi(env);
  } catch (e) {
    if (required) throw e;
    log.warn("Kubernetes metadata off: bad kubeconfig", { error: e });
    return undefined;
  }
  if (!loaded) {
    if (required) {
      throw new KubeUnavailableError(`attributes.kubernetes.enable is true, but there is ${why}`);
    }
    log.info("Kubernetes metadata off (autodetect)", { reason: why });
    return undefined;
  }
  const client = loaded.api;
  try {
    const version = await client.serverVersion(opts.connectTimeoutMs ?? 3000);
    log.info("Kubernetes API reachable", { server: loaded.server, version, via: loaded.source });
  } catch (e) {
    if (!required) {
      log.info("Kubernetes metadata off (autodetect): API server unreachable", {
        server: loaded.server,
        error: e,
      });
      return undefined;
    }
    log.warn("Kubernetes API server unreachable; retrying in the background", {
      server: loaded.server,
      error: e,
    });
  }

  const nodeName = resolveNodeName(env.nodeName);
  const skipped: string[] = [];
  const cluster = await detectClusterName(
    {
      configured: config.clusterName,
      nodeLabels: () => client.nodeLabels(nodeName),
      kubeadmClusterConfiguration: () => client.kubeadmClusterConfiguration(),
      cloud: opts.cloud ?? cloudProbes(),
    },
    skipped,
  );
  log.info("Kubernetes cluster name", {
    node: nodeName,
    cluster: cluster?.name ?? "(unknown)",
    source: cluster?.source ?? "none",
    ...(skipped.length > 0 ? { unavailable: skipped.join(", ") } : {}),
  });

  const owners = new OwnerResolver((kind, ns, name) => client.parentOf(kind, ns, name), {
    onFailure: (object, error) =>
      log.warn("cannot read the owner of a pod's controller; using its name", { object, error }),
  });
  let facade: KubeMetadata | undefined = undefined;
  const informer = new PodInformer({
    nodeName,
    api: client,
    resolveOwners: (pod) => owners.resolve(pod),
    onChange: (pod, change) => facade?.podChanged(pod, change),
    onError: (e) => log.warn("pod informer", { node: nodeName, error: e }),
  });
  facade = new KubeMetadata({
    pods: informer,
    nodeName,
    clusterName: cluster?.name,
  });
  facade.setStopHook(() => informer.stop());
  informer.start();
  const timeoutMs = opts.syncTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    informer.synced.then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (inTime) {
    log.info("pods of this node listed", { node: nodeName, pods: informer.pods().length });
  } else {
    log.warn("pods of this node not listed yet; going on without them", {
      node: nodeName,
      waitedMs: timeoutMs,
    });
    void informer.synced.then(() => log.info("pods of this node listed", { node: nodeName }));
  }
  return facade;
}
