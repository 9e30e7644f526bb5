/**
 * The API server's address and credentials, read without @kubernetes/client-node (about 85 MB
 * of RSS): from the in-cluster service account, or from a kubeconfig whose user has a token,
 * a token file or a client certificate. Other kubeconfig users (exec plugins, auth providers,
 * basic auth) are left to client-node (kube-client.ts).
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { parse } from "yaml";
import type { KubeConfigSource } from "./kube-config-source.js";

export interface KubeConnection {
  /** e.g. https://10.96.0.1:443, no trailing slash. */
  server: string;
  /** Which file, or "in-cluster service account". */
  source: string;
  ca?: Buffer;
  insecureSkipVerify: boolean;
  cert?: Buffer;
  key?: Buffer;
  /** The bearer token now (a projected token file is read again: it rotates). */
  token(): string | undefined;
}

/** Where the answer is "use client-node": a kubeconfig user this module does not handle. */
export const NEEDS_CLIENT_LIBRARY = "needs-client-library";

type Yaml = Record<string, unknown>;

/**
 * The connection for `source`; NEEDS_CLIENT_LIBRARY for a kubeconfig user this module does not
 * handle. Throws, naming the file, when a kubeconfig is malformed.
 */
export function kubeConnection(
  source: KubeConfigSource,
): KubeConnection | typeof NEEDS_CLIENT_LIBRARY {
  if (source.kind === "in-cluster") {
    const tokenFile = join(source.dir, "token");
    return {
      server: source.server,
      source: "in-cluster service account",
      ca: readFileSync(join(source.dir, "ca.crt")),
      insecureSkipVerify: false,
      token: () => readFileSync(tokenFile, "utf8").trim(),
    };
  }
  const { file } = source;
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, "utf8"));
  } catch (cause) {
    throw new Error(`cannot load kubeconfig ${file}`, { cause });
  }
  if (!isObject(doc)) throw new Error(`cannot load kubeconfig ${file}: not a YAML mapping`);
  const context = named(doc["contexts"], doc["current-context"], "context");
  const cluster = named(doc["clusters"], context?.["cluster"], "cluster");
  const server = typeof cluster?.["server"] === "string" ? cluster["server"] : "";
  if (!cluster || server === "") throw new Error(`kubeconfig ${file} has no current cluster`);
  const user = named(doc["users"], context?.["user"], "user") ?? {};
  const credentials = userCredentials(user, dirname(file));
  if (credentials === NEEDS_CLIENT_LIBRARY) return NEEDS_CLIENT_LIBRARY;
  const ca = pem(cluster, "certificate-authority", dirname(file));
  return {
    server: server.replace(/\/+$/, ""),
    source: file,
    ...(ca ? { ca } : {}),
    insecureSkipVerify: cluster["insecure-skip-tls-verify"] === true,
    ...credentials,
  };
}

function userCredentials(
  user: Yaml,
  base: string,
): Pick<KubeConnection, "cert" | "key" | "token"> | typeof NEEDS_CLIENT_LIBRARY {
  if (user["exec"] !== undefined || user["auth-provider"] !== undefined) {
    return NEEDS_CLIENT_LIBRARY;
  }
  if (user["username"] !== undefined || user["password"] !== undefined) {
    return NEEDS_CLIENT_LIBRARY;
  }
  const token = typeof user["token"] === "string" ? user["token"] : undefined;
  const tokenFile = typeof user["tokenFile"] === "string" ? resolve(base, user["tokenFile"]) : "";
  const cert = pem(user, "client-certificate", base);
  const key = pem(user, "client-key", base);
  return {
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    token: () => token ?? (tokenFile ? readFileSync(tokenFile, "utf8").trim() : undefined),
  };
}

/** `<field>-data` (base64) or `<field>` (a path, relative to the kubeconfig's directory). */
function pem(section: Yaml, field: string, base: string): Buffer | undefined {
  const data = section[`${field}-data`];
  if (typeof data === "string") return Buffer.from(data, "base64");
  const path = section[field];
  return typeof path === "string" ? readFileSync(resolve(base, path)) : undefined;
}

function resolve(base: string, path: string): string {
  return isAbsolute(path) ? path : join(base, path);
}

/** The `<kind>` mapping of the list entry called `name`. */
function named(list: unknown, name: unknown, kind: string): Yaml | undefined {
  if (!Array.isArray(list) || typeof name !== "string") return undefined;
  const entry: unknown = list.find((e: unknown) => isObject(e) && e["name"] === name);
  return isObject(entry) && isObject(entry[kind]) ? entry[kind] : undefined;
}

function isObject(v: unknown): v is Yaml {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
