import { hostname } from "node:os";
import { basename } from "node:path";
import type { ServiceIdentity } from "../request-span.js";
import type { SelectedProcess } from "../discovery/process-watcher.js";

export interface ServiceNaming {
  /** BEYLA_SERVICE_NAME / OTEL_SERVICE_NAME of the agent's own config. */
  serviceName?: string;
  serviceNamespace?: string;
}

/** Parses OTEL_RESOURCE_ATTRIBUTES ("k=v,k2=v2", values percent-encoded). */
export function parseResourceAttributes(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    try {
      out[pair.slice(0, eq).trim()] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      // a malformed escape: skip this attribute, keep the others
    }
  }
  return out;
}

/** Pod annotations that name the service (OpenTelemetry's resource annotations). */
export const SERVICE_NAME_ANNOTATION = "resource.opentelemetry.io/service.name";
export const SERVICE_NAMESPACE_ANNOTATION = "resource.opentelemetry.io/service.namespace";
export const APP_NAME_LABEL = "app.kubernetes.io/name";

/** What a BeylaInstrumentation's `attributes.kubernetes` decides for the processes it selects. */
export interface Decoration {
  /** False (`enable: "false"`): no k8s.* attributes, and no naming from the pod. */
  kubernetes: boolean;
  /** Replaces the detected k8s.cluster.name. */
  clusterName?: string;
}

/** The agent's own decoration: every process in a pod gets its pod's attributes. */
export const DEFAULT_DECORATION: Decoration = { kubernetes: true };

/**
 * The service identity of each selected process. Name: the discovery entry's `name`, then
 * the agent's configured service name, then OTEL_SERVICE_NAME (or service.name in
 * OTEL_RESOURCE_ATTRIBUTES) of the process, then, in Kubernetes, the pod annotation
 * `resource.opentelemetry.io/service.name`, the pod label `app.kubernetes.io/name` and the
 * pod's top-level owner (Deployment, StatefulSet, ...), then the executable's name.
 * Namespace: likewise, ending with the pod's Kubernetes namespace. In Kubernetes the
 * identity also carries the pod's k8s.* attributes.
 */
export class ServiceRegistry {
  private readonly byPid = new Map<number, ServiceIdentity>();
  private readonly host = hostname();

  constructor(private readonly naming: ServiceNaming) {}

  /** The identity of `proc`, replacing any earlier one of the same pid. */
  add(proc: SelectedProcess, decoration: Decoration = DEFAULT_DECORATION): ServiceIdentity {
    const resource = parseResourceAttributes(proc.env["OTEL_RESOURCE_ATTRIBUTES"]);
    const kube = decoration.kubernetes ? proc.kube : undefined;
    const k8s = kube?.info;
    const name =
      proc.selector.name ??
      this.naming.serviceName ??
      proc.env["OTEL_SERVICE_NAME"] ??
      resource["service.name"] ??
      nonEmpty(k8s?.podAnnotations[SERVICE_NAME_ANNOTATION]) ??
      nonEmpty(k8s?.podLabels[APP_NAME_LABEL]) ??
      k8s?.ownerName ??
      basename(proc.exePath);
    const namespace =
      proc.selector.namespace ??
      this.naming.serviceNamespace ??
      proc.env["OTEL_SERVICE_NAMESPACE"] ??
      resource["service.namespace"] ??
      nonEmpty(k8s?.podAnnotations[SERVICE_NAMESPACE_ANNOTATION]) ??
      k8s?.namespace ??
      "";
    const identity: ServiceIdentity = {
      name,
      namespace,
      instanceId: `${this.host}-${proc.pid}`,
      pid: proc.pid,
      exePath: proc.exePath,
      attributes: {
        "host.name": this.host,
        "process.pid": String(proc.pid),
        "process.executable.path": proc.exePath,
        "process.executable.name": basename(proc.exePath),
        ...kube?.attributes,
        ...(kube && decoration.clusterName ? { "k8s.cluster.name": decoration.clusterName } : {}),
      },
    };
    this.byPid.set(proc.pid, identity);
    return identity;
  }

  remove(pid: number): void {
    this.byPid.delete(pid);
  }

  get(pid: number): ServiceIdentity | undefined {
    return this.byPid.get(pid);
  }

  size(): number {
    return this.byPid.size;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}
