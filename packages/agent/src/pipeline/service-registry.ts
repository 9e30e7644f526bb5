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

/**
 * The service identity of each selected process. Name: the discovery entry's `name`, then
 * the agent's configured service name, then OTEL_SERVICE_NAME (or service.name in
 * OTEL_RESOURCE_ATTRIBUTES) of the process, then the executable's name.
 */
export class ServiceRegistry {
  private readonly byPid = new Map<number, ServiceIdentity>();
  private readonly host = hostname();

  constructor(private readonly naming: ServiceNaming) {}

  add(proc: SelectedProcess): ServiceIdentity {
    const resource = parseResourceAttributes(proc.env["OTEL_RESOURCE_ATTRIBUTES"]);
    const name =
      proc.selector.name ??
      this.naming.serviceName ??
      proc.env["OTEL_SERVICE_NAME"] ??
      resource["service.name"] ??
      basename(proc.exePath);
    const namespace =
      proc.selector.namespace ??
      this.naming.serviceNamespace ??
      proc.env["OTEL_SERVICE_NAMESPACE"] ??
      resource["service.namespace"] ??
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
