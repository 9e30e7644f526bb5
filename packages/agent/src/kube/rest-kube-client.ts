/**
 * The agent's API calls as plain REST on node:https (kube-connection.ts has why): version,
 * the pods of this node (list and watch), a ReplicaSet's or Job's controller, the node's
 * labels, the kubeadm-config ConfigMap and TokenReviews. Same behaviour as kube-client.ts.
 */
import { type ClientRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { requestJson, type TokenReviewFn, type TokenReviewResult } from "@beyla-ts/shared";
import type { KubeConnection } from "./kube-connection.js";
import type { ParentKind } from "./owners.js";
import type { PodListPage, WatchEventType, WatchRequest } from "./pod-informer.js";
import { controllerOf, type OwnerRef, ownerRefs } from "./pod-meta.js";

/** What the agent asks the API server; kube-client.ts (client-node) and this class answer. */
export interface KubeApi {
  serverVersion(timeoutMs?: number): Promise<string>;
  listPods(fieldSelector: string, continueToken: string | undefined): Promise<PodListPage>;
  watchPods(request: WatchRequest): Promise<() => void>;
  parentOf(kind: ParentKind, namespace: string, name: string): Promise<OwnerRef | null>;
  nodeLabels(nodeName: string): Promise<Record<string, string>>;
  kubeadmClusterConfiguration(): Promise<string | undefined>;
}

/** A pod list of a whole node stays far below this; a watch line (one pod) too. */
const MAX_ANSWER_BYTES = 64 << 20;
const MAX_WATCH_LINE = 8 << 20;

interface Meta {
  metadata?: {
    resourceVersion?: string;
    continue?: string;
    labels?: Record<string, string>;
    ownerReferences?: unknown;
  };
}

export class RestKubeClient implements KubeApi {
  constructor(
    private readonly connection: KubeConnection,
    private readonly timeoutMs = 10_000,
  ) {}

  async serverVersion(timeoutMs = this.timeoutMs): Promise<string> {
    const info = await this.get<{ gitVersion?: string }>("GET /version", "/version", timeoutMs);
    return info.gitVersion ?? "";
  }

  async listPods(fieldSelector: string, continueToken: string | undefined): Promise<PodListPage> {
    // resourceVersion "0": served from the API server's watch cache (see kube-client.ts)
    const query = new URLSearchParams({ fieldSelector, limit: "500" });
    if (continueToken) query.set("continue", continueToken);
    else query.set("resourceVersion", "0");
    const list = await this.get<Meta & { items?: unknown[] }>(
      "list pods",
      `/api/v1/pods?${query}`,
      this.timeoutMs * 3,
    );
    return {
      items: list.items ?? [],
      resourceVersion: list.metadata?.resourceVersion ?? "",
      continueToken: list.metadata?.continue || undefined,
    };
  }

  watchPods(request: WatchRequest): Promise<() => void> {
    const query = new URLSearchParams({
      watch: "true",
      fieldSelector: request.fieldSelector,
      allowWatchBookmarks: "true",
      timeoutSeconds: String(request.timeoutSeconds),
    });
    if (request.resourceVersion) query.set("resourceVersion", request.resourceVersion);
    const req = this.stream(`/api/v1/pods?${query}`, request);
    return Promise.resolve(() => req.destroy(new Error("watch aborted")));
  }

  async parentOf(kind: ParentKind, namespace: string, name: string): Promise<OwnerRef | null> {
    const path =
      kind === "ReplicaSet"
        ? `/apis/apps/v1/namespaces/${enc(namespace)}/replicasets/${enc(name)}`
        : `/apis/batch/v1/namespaces/${enc(namespace)}/jobs/${enc(name)}`;
    const obj = await this.get<Meta>(`get ${kind} ${namespace}/${name}`, path, this.timeoutMs);
    return controllerOf(ownerRefs(obj.metadata?.ownerReferences)) ?? null;
  }

  async nodeLabels(nodeName: string): Promise<Record<string, string>> {
    const path = `/api/v1/nodes/${enc(nodeName)}`;
    const node = await this.get<Meta>(`get node ${nodeName}`, path, this.timeoutMs);
    return node.metadata?.labels ?? {};
  }

  async kubeadmClusterConfiguration(): Promise<string | undefined> {
    const path = "/api/v1/namespaces/kube-system/configmaps/kubeadm-config";
    const what = "get configmap kube-system/kubeadm-config";
    const cm = await this.get<{ data?: Record<string, string> }>(what, path, this.timeoutMs);
    return cm.data?.["ClusterConfiguration"];
  }

  /** TokenReviews for the control endpoint; `audiences` binds accepted tokens to them. */
  tokenReview(audiences?: readonly string[]): TokenReviewFn {
    return async (token) => {
      const spec = audiences === undefined ? { token } : { token, audiences: [...audiences] };
      const review = await this.call<{
        status?: { authenticated?: boolean; user?: { username?: string }; error?: string };
      }>("create tokenreview", "POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec,
      });
      const status = review.status ?? {};
      const result: TokenReviewResult = { authenticated: status.authenticated === true };
      if (status.user?.username !== undefined) result.username = status.user.username;
      if (status.error !== undefined && status.error !== "") result.error = status.error;
      return result;
    };
  }

  private get<T>(what: string, path: string, timeoutMs: number): Promise<T> {
    return this.call<T>(what, "GET", path, undefined, timeoutMs);
  }

  /** One call; a non-2xx answer throws "<what>: HTTP <code>: <message>" (kube-client.ts's form). */
  private async call<T>(
    what: string,
    method: "GET" | "POST",
    path: string,
    body?: unknown,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    const c = this.connection;
    let answer;
    try {
      answer = await requestJson({
        method,
        url: c.server + path,
        body,
        token: c.token(),
        ...tlsOptions(c),
        insecureSkipVerify: c.insecureSkipVerify,
        timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
      });
    } catch (cause) {
      throw new Error(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, {
        cause,
      });
    }
    if (answer.status < 200 || answer.status > 299) {
      throw new Error(`${what}: ${httpError(answer.status, answer.body)}`);
    }
    return answer.body as T;
  }

  /** A watch: one JSON event per line, until the server ends it or it is destroyed. */
  private stream(path: string, request: WatchRequest): ClientRequest {
    const c = this.connection;
    const url = new URL(c.server + path);
    let done = false;
    const finish = (error?: Error): void => {
      if (done) return;
      done = true;
      request.onDone(error);
    };
    const token = c.token();
    const headers: Record<string, string> = { accept: "application/json" };
    if (token) headers["authorization"] = `Bearer ${token}`;
    const onResponse = (res: IncomingMessage): void => {
      res.setEncoding("utf8");
      if (res.statusCode !== 200) {
        let text = "";
        res.on("data", (d: string) => (text = (text + d).slice(0, 4096)));
        res.on("end", () => finish(new Error(httpError(res.statusCode ?? 0, safeJson(text)))));
        res.on("error", finish);
        return;
      }
      let pending = "";
      res.on("data", (chunk: string) => {
        pending += chunk;
        for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          const event = safeJson(line) as { type?: WatchEventType; object?: unknown } | undefined;
          if (event?.type !== undefined && !done) request.onEvent(event.type, event.object);
        }
        if (pending.length > MAX_WATCH_LINE) {
          res.destroy(new Error(`watch event longer than ${MAX_WATCH_LINE} bytes`));
        }
      });
      res.on("end", () => finish());
      res.on("error", finish);
    };
    const req =
      url.protocol === "https:"
        ? httpsRequest(
            url,
            { headers, ...tlsOptions(c), rejectUnauthorized: !c.insecureSkipVerify },
            onResponse,
          )
        : httpRequest(url, { headers }, onResponse);
    req.on("error", finish);
    req.end();
    return req;
  }
}

/** The CA and client certificate of a connection, as TLS options (absent ones left out). */
function tlsOptions(c: KubeConnection): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  return {
    ...(c.ca ? { ca: c.ca } : {}),
    ...(c.cert ? { cert: c.cert } : {}),
    ...(c.key ? { key: c.key } : {}),
  };
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function httpError(status: number, body: unknown): string {
  const message = (body as { message?: unknown } | undefined)?.message;
  return `HTTP ${status}${typeof message === "string" ? `: ${message}` : ""}`;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
