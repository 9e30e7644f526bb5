import { hostname } from "node:os";

/**
 * The name of this node's Node object: NODE_NAME (set from `spec.nodeName` by the DaemonSet's
 * downward API), else the host name lower-cased, as the kubelet registers it by default.
 */
export function resolveNodeName(nodeNameEnv: string | undefined, host = hostname()): string {
  const fromEnv = nodeNameEnv?.trim();
  if (fromEnv) return fromEnv;
  return host.trim().toLowerCase();
}
