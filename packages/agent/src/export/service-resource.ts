/**
 * The resource attributes of a service (one OTel Resource per service instance) and the
 * target_info labels derived from them.
 */
import type { ServiceIdentity } from "../request-span.js";
import {
  K8S_RESOURCE_ATTRIBUTES,
  promLabelName,
  RESOURCE,
  TELEMETRY_SDK_NAME,
  TELEMETRY_SDK_VERSION,
  UNKNOWN_SDK_LANGUAGE,
} from "./metric-names.js";

export type ResourceAttributes = Record<string, string | number>;

/**
 * The resource of a service: host.name, os.type and telemetry.sdk.* defaults, then the
 * identity's own attributes (k8s.*, or host.name / telemetry.sdk.language overriding the
 * defaults), then the fields the identity types itself, which always win: service.name,
 * service.namespace (when known), service.instance.id, process.pid (an integer),
 * process.executable.path.
 */
export function resourceAttributes(
  identity: ServiceIdentity,
  hostName: string,
): ResourceAttributes {
  const attrs: ResourceAttributes = {
    [RESOURCE.hostName]: hostName,
    [RESOURCE.osType]: "linux",
    [RESOURCE.telemetrySdkName]: TELEMETRY_SDK_NAME,
    [RESOURCE.telemetrySdkLanguage]: UNKNOWN_SDK_LANGUAGE,
    [RESOURCE.telemetrySdkVersion]: TELEMETRY_SDK_VERSION,
  };
  for (const [key, value] of Object.entries(identity.attributes)) {
    if (value !== "") attrs[key] = value;
  }
  attrs[RESOURCE.serviceName] = identity.name;
  if (identity.namespace !== "") attrs[RESOURCE.serviceNamespace] = identity.namespace;
  else delete attrs[RESOURCE.serviceNamespace];
  attrs[RESOURCE.serviceInstanceId] = identity.instanceId;
  attrs[RESOURCE.processPid] = identity.pid;
  attrs[RESOURCE.processExecutablePath] = identity.exePath;
  return attrs;
}

/** Labels of target_info, in exposition order. */
export const TARGET_INFO_LABELS: readonly string[] = Object.freeze([
  promLabelName(RESOURCE.hostName),
  promLabelName(RESOURCE.serviceName),
  promLabelName(RESOURCE.serviceNamespace),
  promLabelName(RESOURCE.serviceInstanceId),
  promLabelName(RESOURCE.processPid),
  promLabelName(RESOURCE.processExecutablePath),
  promLabelName(RESOURCE.osType),
  promLabelName(RESOURCE.telemetrySdkName),
  promLabelName(RESOURCE.telemetrySdkLanguage),
  promLabelName(RESOURCE.telemetrySdkVersion),
  ...K8S_RESOURCE_ATTRIBUTES.map(promLabelName),
]);

/**
 * target_info labels of a service: its resource attributes under Prometheus names, limited
 * to TARGET_INFO_LABELS (a fixed label set keeps target_info's cardinality in check).
 * service_namespace is always present ("" when unknown), like on the histograms.
 */
export function targetInfoLabels(
  identity: ServiceIdentity,
  hostName: string,
): Record<string, string> {
  const byLabel = new Map<string, string>();
  for (const [key, value] of Object.entries(resourceAttributes(identity, hostName))) {
    byLabel.set(promLabelName(key), String(value));
  }
  byLabel.set(promLabelName(RESOURCE.serviceNamespace), identity.namespace);
  const labels: Record<string, string> = {};
  for (const label of TARGET_INFO_LABELS) {
    const value = byLabel.get(label);
    if (value !== undefined) labels[label] = value;
  }
  return labels;
}
