/** A small JSON-over-HTTP(S) client with a bearer token, a CA bundle and a deadline. */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

export interface JsonRequest {
  method: "GET" | "PUT" | "POST";
  url: string;
  body?: unknown;
  token?: string;
  /** PEM CA bundle that signs the server's certificate (https only). */
  ca?: string | Buffer;
  /** Accept any server certificate: only when explicitly configured. */
  insecureSkipVerify?: boolean;
  /** PEM client certificate and key (TLS client authentication). */
  cert?: string | Buffer;
  key?: string | Buffer;
  timeoutMs: number;
  /** Answers larger than this are refused. Default 16 MiB. */
  maxBytes?: number;
  /**
   * Open a connection of its own instead of reusing a kept-alive one, so that a Service in
   * front of several replicas picks a backend again (a retry must not reach the same one).
   */
  newConnection?: boolean;
}

export interface JsonResponse {
  status: number;
  /** Parsed JSON, or undefined when the body was empty or not JSON. */
  body: unknown;
  text: string;
}

export function requestJson(req: JsonRequest): Promise<JsonResponse> {
  const url = new URL(req.url);
  const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  const headers: Record<string, string> = { accept: "application/json" };
  if (payload !== undefined) {
    headers["content-type"] = "application/json";
    headers["content-length"] = String(payload.length);
  }
  if (req.token !== undefined) headers["authorization"] = `Bearer ${req.token}`;
  const maxBytes = req.maxBytes ?? 16 << 20;
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          res.destroy(new Error(`answer larger than ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
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
    const options = {
      method: req.method,
      headers,
      timeout: req.timeoutMs,
      ...(req.newConnection === true ? { agent: false as const } : {}),
    };
    const r =
      url.protocol === "https:"
        ? httpsRequest(
            url,
            {
              ...options,
              ca: req.ca,
              cert: req.cert,
              key: req.key,
              rejectUnauthorized: req.insecureSkipVerify !== true,
            },
            onResponse,
          )
        : httpRequest(url, options, onResponse);
    const deadline = setTimeout(() => {
      r.destroy(new Error(`no answer from ${url.origin} within ${req.timeoutMs} ms`));
    }, req.timeoutMs);
    deadline.unref();
    r.on("close", () => clearTimeout(deadline));
    r.on("timeout", () => r.destroy(new Error(`${url.origin} went silent`)));
    r.on("error", reject);
    r.end(payload);
  });
}
