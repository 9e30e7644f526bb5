/** The agent Pods the operator pushes to, as read from the Pod informer. */
import { objectKey, type KubeObject } from "./kube/informer.js";

export interface Pod extends KubeObject {
  spec?: {
    nodeName?: string;
    containers?: { name?: string; ports?: { name?: string; containerPort?: number }[] }[];
  };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type?: string; status?: string }[];
  };
}

export interface AgentPod {
  /** namespace/name of the Pod. */
  key: string;
  /** The node it runs on (or the Pod name while unscheduled). */
  node: string;
  ip: string | undefined;
  port: number;
  /** Ready condition True, with an IP. */
  ready: boolean;
}

/** The container port named like this wins over the configured default. */
export const CONTROL_PORT_NAME = "control";

/** An agent from its Pod; undefined for a Pod that is terminating or finished. */
export function agentFromPod(pod: Pod, defaultPort: number): AgentPod | undefined {
  if (pod.metadata?.deletionTimestamp !== undefined) return undefined;
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return undefined;
  const ip = pod.status?.podIP === "" ? undefined : pod.status?.podIP;
  const readyCondition = (pod.status?.conditions ?? []).some(
    (c) => c.type === "Ready" && c.status === "True",
  );
  let port = defaultPort;
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === CONTROL_PORT_NAME && p.containerPort !== undefined) port = p.containerPort;
    }
  }
  return {
    key: objectKey(pod),
    node: pod.spec?.nodeName ?? pod.metadata?.name ?? "",
    ip,
    port,
    ready: readyCondition && ip !== undefined,
  };
}

/** The URL of an agent's control endpoint (IPv6 addresses bracketed). */
export function agentUrl(agent: AgentPod, scheme: "https" | "http"): string {
  const host = agent.ip?.includes(":") === true ? `[${agent.ip}]` : (agent.ip ?? "");
  return `${scheme}://${host}:${agent.port}/v1/selectors`;
}
