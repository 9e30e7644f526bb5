/**
 * What each BeylaInstrumentation decides for the processes it selects, beyond selecting them:
 * `spec.routes` (their routes), `spec.metrics` (whether their HTTP requests make metrics),
 * `spec.attributes.kubernetes` (their k8s decoration and cluster name) and `spec.export`
 * (where their telemetry goes).
 */
import {
  guessOtlpProtocol,
  type InstrumentationSpec,
  type MetricsSpec,
  RouteMatcher,
  type ServiceSelector,
} from "@beyla-ts/shared";
import type { ParsedResource, RejectedResource } from "./control/selector-state.js";
import type { ProcessExport } from "./export/export-targets.js";
import type { ExportRequest, ResourceExports } from "./export/resource-exports.js";
import type { ProcessPolicy } from "./pipeline/http-pipeline.js";
import type { Decoration } from "./pipeline/service-registry.js";

export interface ResourcePolicy extends ProcessPolicy {
  /** "namespace/name" of the resource, for logs. */
  resource: string;
  decoration: Decoration;
  /** Where its processes' telemetry goes; undefined: the agent's own exporters. */
  sink?: ProcessExport;
  /** What its `spec.export` asks for (kept so unused destinations can be closed). */
  exportRequest: ExportRequest;
}

export interface Policies {
  /** The policy of each selector of the accepted resources. */
  bySelector: Map<ServiceSelector, ResourcePolicy>;
  /** Resources whose export cannot be set up on this agent; they select nothing here. */
  rejected: RejectedResource[];
  /** What accepted resources ask for that this agent does not do, one line each. */
  unsupported: string[];
}

/** The metric features this agent produces; the others are reported as unsupported. */
const SUPPORTED_FEATURES = new Set(["application"]);

/** Builds every resource's policy, setting up the export destinations they name. */
export async function buildPolicies(
  resources: readonly ParsedResource[],
  exports: Pick<ResourceExports, "exportFor">,
): Promise<Policies> {
  const policies: Policies = { bySelector: new Map(), rejected: [], unsupported: [] };
  for (const { resource, spec } of resources) {
    const name = `${resource.namespace}/${resource.name}`;
    const exportRequest = exportRequestOf(spec, resource.export?.otlp?.headers ?? {});
    let sink: ProcessExport | undefined;
    try {
      sink = await exports.exportFor(exportRequest);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      policies.rejected.push({ namespace: resource.namespace, name: resource.name, message });
      continue;
    }
    const policy: ResourcePolicy = {
      resource: name,
      metrics: httpMetricsOn(spec.metrics),
      decoration: {
        kubernetes: spec.kubernetes?.enable !== false,
        ...(spec.kubernetes?.clusterName ? { clusterName: spec.kubernetes.clusterName } : {}),
      },
      exportRequest,
      ...(spec.routes ? { router: new RouteMatcher(spec.routes) } : {}),
      ...(sink ? { sink } : {}),
    };
    for (const selector of spec.services) policies.bySelector.set(selector, policy);
    policies.unsupported.push(...unsupportedOf(name, spec.metrics));
  }
  return policies;
}

/**
 * HTTP requests make metrics when `metrics.features` has "application" and
 * `metrics.instrumentations` has "http" or "*" (the defaults do).
 */
export function httpMetricsOn(metrics: MetricsSpec | undefined): boolean {
  if (!metrics) return true;
  const instrumented = metrics.instrumentations.some((i) => i === "*" || i === "http");
  return metrics.features.includes("application") && instrumented;
}

function unsupportedOf(resource: string, metrics: MetricsSpec | undefined): string[] {
  const out = (metrics?.features ?? [])
    .filter((f) => !SUPPORTED_FEATURES.has(f))
    .map((f) => `${resource}: metrics.features "${f}" is not produced by this agent`);
  if (metrics?.networkEnabled) {
    out.push(`${resource}: metrics.network.enabled is not supported by this agent`);
  }
  return out;
}

function exportRequestOf(
  spec: InstrumentationSpec,
  headers: Record<string, string>,
): ExportRequest {
  const request: ExportRequest = {};
  const otlp = spec.export?.otlp;
  if (otlp) {
    request.otlp = {
      endpoint: otlp.endpoint,
      protocol: otlp.protocol ?? guessOtlpProtocol(new URL(otlp.endpoint)),
      headers,
    };
  }
  if (spec.export?.prometheus) request.prometheus = { ...spec.export.prometheus };
  return request;
}

/** Equal for two policies that decorate a process the same way. */
export function decorationKey(decoration: Decoration | undefined): string {
  if (!decoration) return "";
  return `${decoration.kubernetes}\u0000${decoration.clusterName ?? ""}`;
}
