/**
 * The Secrets behind `spec.export.otlp.headersFrom`: the operator reads the named key of a
 * Secret in the resource's namespace, parses it like OTEL_EXPORTER_OTLP_HEADERS and sends the
 * headers to the agents beside the spec (docs/control-protocol.md).
 *
 * Secrets are read with one GET by name, never listed or watched: the operator's RBAC can then
 * be limited to `get` on the very Secrets named (a Role per namespace with `resourceNames`),
 * and the operator never holds the other Secrets of the cluster in memory. The price: a
 * change to a Secret is seen at the next resync (`--resync-period`, default 60 s), when every
 * cached read is dropped (`newRound`); reads within one round are shared by all resources.
 *
 * Header values are credentials: nothing here logs them or puts them in a message.
 */
import { ConfigError, parseOtlpHeaders, type SecretKeyRef } from "@beyla-ts/shared";
import { KubeApiError, type KubeClient } from "./kube/rest.js";
import { errorText } from "./logger.js";

/** Why the headers of a resource cannot be used; becomes a condition reason. */
export type SecretProblemReason =
  | "SecretNotFound"
  | "SecretKeyNotFound"
  | "SecretForbidden"
  | "SecretUnavailable"
  | "InvalidHeaders";

export type HeadersResult =
  | { headers: Record<string, string> }
  | { problem: { reason: SecretProblemReason; message: string } };

type SecretRead =
  | { kind: "found"; data: Record<string, string> }
  | { kind: "missing" }
  | { kind: "forbidden" }
  | { kind: "failed"; error: string };

interface SecretObject {
  data?: Record<string, string>;
}

/** Where users grant the operator `get` on a Secret, for the SecretForbidden message. */
export const GRANT_HINT = "the Helm chart value operator.rbac.headersSecrets";

export class HeaderSecrets {
  readonly #client: KubeClient;
  readonly #failureTtlMs: number;
  readonly #reads = new Map<string, Promise<SecretRead>>();

  /** A failed read (not a 404 or 403) is tried again after `failureTtlMs` (default 5 s). */
  constructor(client: KubeClient, options: { failureTtlMs?: number } = {}) {
    this.#client = client;
    this.#failureTtlMs = options.failureTtlMs ?? 5000;
  }

  /** Drops every cached read: the next lookups read the Secrets again. */
  newRound(): void {
    this.#reads.clear();
  }

  /** The headers of `ref`, a Secret key in `namespace`, or why there are none. */
  async headers(namespace: string, ref: SecretKeyRef): Promise<HeadersResult> {
    const secret = `${namespace}/${ref.name}`;
    const read = await this.#read(namespace, ref.name);
    switch (read.kind) {
      case "missing":
        return problem("SecretNotFound", `Secret ${secret} (headersFrom) not found`);
      case "forbidden":
        return problem(
          "SecretForbidden",
          `the operator may not read Secret ${secret} (headersFrom): grant its ServiceAccount get on it (${GRANT_HINT})`,
        );
      case "failed":
        return problem("SecretUnavailable", `cannot read Secret ${secret}: ${read.error}`);
      case "found":
        break;
    }
    const encoded = read.data[ref.key];
    if (encoded === undefined) {
      const keys = Object.keys(read.data).sort();
      return problem(
        "SecretKeyNotFound",
        `Secret ${secret} has no key ${JSON.stringify(ref.key)} (headersFrom.secretKeyRef.key; its keys: ${keys.length === 0 ? "none" : keys.join(", ")})`,
      );
    }
    const text = Buffer.from(encoded, "base64").toString("utf8");
    try {
      // The field names the Secret key; parseOtlpHeaders never quotes the text it refuses.
      return { headers: parseOtlpHeaders(text, `Secret ${secret} key ${ref.key}`, "crd") };
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return problem("InvalidHeaders", err.message);
    }
  }

  #read(namespace: string, name: string): Promise<SecretRead> {
    const key = `${namespace}/${name}`;
    let read = this.#reads.get(key);
    if (read === undefined) {
      const fresh = this.#get(namespace, name);
      this.#reads.set(key, fresh);
      void fresh.then((r) => {
        if (r.kind !== "failed") return;
        const forget = (): void => {
          if (this.#reads.get(key) === fresh) this.#reads.delete(key);
        };
        if (this.#failureTtlMs <= 0) forget();
        else setTimeout(forget, this.#failureTtlMs).unref();
      });
      read = fresh;
    }
    return read;
  }

  async #get(namespace: string, name: string): Promise<SecretRead> {
    try {
      const secret = await this.#client.request<SecretObject>(
        "GET",
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`,
      );
      return { kind: "found", data: secret.data ?? {} };
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return { kind: "missing" };
      if (err instanceof KubeApiError && err.status === 403) return { kind: "forbidden" };
      return { kind: "failed", error: errorText(err) };
    }
  }
}

function problem(reason: SecretProblemReason, message: string): HeadersResult {
  return { problem: { reason, message } };
}
