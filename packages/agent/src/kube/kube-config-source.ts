/**
 * Where the API connection would come from, found without loading @kubernetes/client-node:
 * that library costs about 85 MB of RSS, which an agent on a plain host (no kubeconfig, no
 * service account) must not pay. kube-client.ts loads the source this finds.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

/** What the agent's environment says about the API server; cli.ts reads it from process.env. */
export interface KubeEnvironment {
  /** NODE_NAME (downward API `spec.nodeName`). */
  nodeName?: string;
  /** KUBECONFIG: one or more paths separated by ":". */
  kubeconfig?: string;
  /** HOME, for ~/.kube/config. */
  home?: string;
  /** KUBERNETES_SERVICE_HOST / _PORT, set in every pod. */
  serviceHost?: string;
  servicePort?: string;
  /** Where the pod's service account token and CA are mounted. */
  serviceAccountDir?: string;
}

export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export type KubeConfigSource =
  { kind: "file"; file: string } | { kind: "in-cluster"; server: string; dir: string };

/**
 * kubectl's order: the first existing file of KUBECONFIG, then ~/.kube/config, then the
 * in-cluster service account. Undefined when there is none.
 */
export function findKubeConfigSource(env: KubeEnvironment): KubeConfigSource | undefined {
  const files = (env.kubeconfig ?? "").split(":").filter((f) => f !== "");
  if (env.home) files.push(join(env.home, ".kube", "config"));
  const file = files.find((f) => existsSync(f));
  if (file) return { kind: "file", file };
  const dir = env.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  if (env.serviceHost && env.servicePort && existsSync(join(dir, "token"))) {
    const host = env.serviceHost.includes(":") ? `[${env.serviceHost}]` : env.serviceHost;
    return { kind: "in-cluster", server: `https://${host}:${env.servicePort}`, dir };
  }
  return undefined;
}
