/**
 * The few API server calls the operator makes, as plain REST over the credentials of a
 * KubeConfig (kubeconfig file or in-cluster ServiceAccount, token rotation included), plus
 * watches through @kubernetes/client-node's Watch.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { Watch, type KubeConfig } from "@kubernetes/client-node";

/** An API server answer other than 2xx, with the Status it carried. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.name = "KubeApiError";
    this.status = status;
    this.reason = reason;
  }
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface WatchHandle {
  abort(): void;
}

/** What the operator needs from the API server; a fake implements it in unit tests. */
export interface KubeClient {
  /** GET/POST/PUT/PATCH/DELETE a path; resolves with the parsed answer. */
  request<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T>;
  /** Starts a watch; `done` is called once, with the error if there was one. */
  watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (type: WatchEventType, object: unknown) => void,
    done: (err?: unknown) => void,
  ): Promise<WatchHandle>;
}

const REQUEST_TIMEOUT_MS = 15_000;

export class KubeRest implements KubeClient {
  readonly #kc: KubeConfig;
  readonly #watch: Watch;

  constructor(kc: KubeConfig) {
    this.#kc = kc;
    this.#watch = new Watch(kc);
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<T> {
    const cluster = this.#kc.getCurrentCluster();
    if (cluster === null) throw new Error("kubeconfig has no current cluster");
    const url = new URL(cluster.server.replace(/\/+$/, "") + path);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const opts: RequestOptions & { headers: Record<string, string> } = {
      method,
      headers: { accept: "application/json" },
      timeout: REQUEST_TIMEOUT_MS,
    };
    if (payload !== undefined) {
      opts.headers["content-type"] = contentType;
      opts.headers["content-length"] = String(payload.length);
    }
    await this.#kc.applyToHTTPSOptions(opts);
    const res = await send(url, opts, payload);
    if (res.status >= 200 && res.status < 300) return res.body as T;
    const status = (res.body ?? {}) as { reason?: string; message?: string };
    throw new KubeApiError(
      res.status,
      status.reason ?? "",
      `${method} ${path}: ${res.status} ${status.message ?? res.text.slice(0, 300)}`,
    );
  }

  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (type: WatchEventType, object: unknown) => void,
    done: (err?: unknown) => void,
  ): Promise<WatchHandle> {
    const controller = await this.#watch.watch(
      path,
      query,
      (type: string, object: unknown) => onEvent(type as WatchEventType, object),
      (err: unknown) => done(err ?? undefined),
    );
    return { abort: () => controller.abort() };
  }
}

function send(
  url: URL,
  opts: RequestOptions,
  payload: Buffer | undefined,
): Promise<{ status: number; body: unknown; text: string }> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown;
        try {
          body = text === "" ? undefined : JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body, text });
      });
    };
    const req =
      url.protocol === "https:"
        ? httpsRequest(url, opts, onResponse)
        : httpRequest(url, opts, onResponse);
    req.on("timeout", () => req.destroy(new Error(`${url.pathname}: no answer in time`)));
    req.on("error", reject);
    req.end(payload);
  });
}
