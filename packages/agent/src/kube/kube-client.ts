/**
 * The agent's calls to the Kubernetes API, on @kubernetes/client-node 1.x (ESM; 2.x needs
 * Node 22). Everything else in kube/ talks to the small interfaces this class implements, so
 * it can be tested with in-process fakes.
 */
import { join } from "node:path";
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  type ConfigurationOptions,
  CoreV1Api,
  KubeConfig,
  Observable,
  type RequestContext,
  type ResponseContext,
  VersionApi,
  Watch,
} from "@kubernetes/client-node";
import { findKubeConfigSource, type KubeEnvironment } from "./kube-config-source.js";
import type { ParentKind } from "./owners.js";
import type { PodApi, PodListPage, WatchEventType, WatchRequest } from "./pod-informer.js";
import { controllerOf, type OwnerRef, ownerRefs } from "./pod-meta.js";

export { type KubeEnvironment, SERVICE_ACCOUNT_DIR } from "./kube-config-source.js";

export interface LoadedKubeConfig {
  config: KubeConfig;
  /** Which file, or "in-cluster service account". */
  source: string;
  server: string;
}

/**
 * The API connection to use, in kubectl's order: the first existing file of KUBECONFIG, then
 * ~/.kube/config, then the in-cluster service account. Undefined when there is none; throws
 * (with the file in the message) when a kubeconfig file is malformed.
 */
export function loadKubeConfig(env: KubeEnvironment): LoadedKubeConfig | undefined {
  const source = findKubeConfigSource(env);
  if (source?.kind === "file") {
    const { file } = source;
    const config = new KubeConfig();
    try {
      config.loadFromFile(file);
    } catch (cause) {
      throw new Error(`cannot load kubeconfig ${file}`, { cause });
    }
    const server = config.getCurrentCluster()?.server;
    if (!server) throw new Error(`kubeconfig ${file} has no current cluster`);
    return { config, source: file, server };
  }
  if (source?.kind === "in-cluster") {
    const { server, dir } = source;
    const config = new KubeConfig();
    config.loadFromClusterAndUser(
      { name: "in-cluster", server, caFile: join(dir, "ca.crt"), skipTLSVerify: false },
      {
        name: "in-cluster",
        authProvider: { name: "tokenFile", config: { tokenFile: join(dir, "token") } },
      },
    );
    return { config, source: "in-cluster service account", server };
  }
  return undefined;
}

/** The API calls of the agent, each with a timeout (watches excepted: see PodInformer). */
export class KubeClient implements PodApi {
  private readonly core: CoreV1Api;
  private readonly apps: AppsV1Api;
  private readonly batch: BatchV1Api;
  private readonly versionApi: VersionApi;
  private readonly watcher: Watch;

  constructor(
    config: KubeConfig,
    private readonly timeoutMs = 10_000,
  ) {
    this.core = config.makeApiClient(CoreV1Api);
    this.apps = config.makeApiClient(AppsV1Api);
    this.batch = config.makeApiClient(BatchV1Api);
    this.versionApi = config.makeApiClient(VersionApi);
    this.watcher = new Watch(config);
  }

  /** The server's gitVersion; proves the connection and the credentials work. */
  async serverVersion(timeoutMs = this.timeoutMs): Promise<string> {
    return call("GET /version", async () => {
      const info = await this.versionApi.getCode({}, withTimeout(timeoutMs));
      return info.gitVersion;
    });
  }

  listPods(fieldSelector: string, continueToken: string | undefined): Promise<PodListPage> {
    return call("list pods", async () => {
      const list = await this.core.listPodForAllNamespaces(
        // resourceVersion "0": served from the API server's watch cache, not etcd (what
        // client-go's reflectors do; a node's worth of pods, so no paging in practice)
        {
          fieldSelector,
          limit: 500,
          _continue: continueToken,
          resourceVersion: continueToken ? undefined : "0",
        },
        withTimeout(this.timeoutMs * 3),
      );
      return {
        items: list.items,
        resourceVersion: list.metadata?.resourceVersion ?? "",
        continueToken: list.metadata?._continue || undefined,
      };
    });
  }

  async watchPods(request: WatchRequest): Promise<() => void> {
    const controller = await this.watcher.watch(
      "/api/v1/pods",
      {
        fieldSelector: request.fieldSelector,
        resourceVersion: request.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: request.timeoutSeconds,
      },
      (type: string, object: unknown) => request.onEvent(type as WatchEventType, object),
      (error: unknown) =>
        request.onDone(error ? new Error(describeError(error), { cause: error }) : undefined),
    );
    return () => controller.abort();
  }

  /** The controller of a ReplicaSet or Job; null when it has none. */
  parentOf(kind: ParentKind, namespace: string, name: string): Promise<OwnerRef | null> {
    return call(`get ${kind} ${namespace}/${name}`, async () => {
      const options = withTimeout(this.timeoutMs);
      const obj =
        kind === "ReplicaSet"
          ? await this.apps.readNamespacedReplicaSet({ name, namespace }, options)
          : await this.batch.readNamespacedJob({ name, namespace }, options);
      return controllerOf(ownerRefs(obj.metadata?.ownerReferences)) ?? null;
    });
  }

  nodeLabels(nodeName: string): Promise<Record<string, string>> {
    return call(`get node ${nodeName}`, async () => {
      const node = await this.core.readNode({ name: nodeName }, withTimeout(this.timeoutMs));
      return node.metadata?.labels ?? {};
    });
  }

  /** `ClusterConfiguration` of ConfigMap kube-system/kubeadm-config; undefined when absent. */
  kubeadmClusterConfiguration(): Promise<string | undefined> {
    return call("get configmap kube-system/kubeadm-config", async () => {
      const cm = await this.core.readNamespacedConfigMap(
        { name: "kubeadm-config", namespace: "kube-system" },
        withTimeout(this.timeoutMs),
      );
      return cm.data?.["ClusterConfiguration"];
    });
  }
}

/** Per-call options whose middleware aborts the request after `ms`. */
function withTimeout(ms: number): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context: RequestContext) => {
          context.setSignal(AbortSignal.timeout(ms));
          return new Observable(Promise.resolve(context));
        },
        post: (context: ResponseContext) => new Observable(Promise.resolve(context)),
      },
    ],
    middlewareMergeStrategy: "append",
  };
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    throw new Error(`${what}: ${describeError(cause)}`, { cause });
  }
}

/** A one-line description; ApiException's own message holds the whole response. */
export function describeError(e: unknown): string {
  if (e instanceof ApiException) {
    const body: unknown = typeof e.body === "string" ? safeJson(e.body) : e.body;
    const message = (body as { message?: unknown } | undefined)?.message;
    return `HTTP ${e.code}${typeof message === "string" ? `: ${message}` : ""}`;
  }
  if (e instanceof Error) {
    const status = (e as { statusCode?: unknown }).statusCode;
    return typeof status === "number" ? `HTTP ${status}: ${e.message}` : e.message;
  }
  return String(e);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
