import { ConfigError } from "./config-error.js";
import { PortRanges } from "./port-ranges.js";
import { Regex } from "./regex.js";
import { hasCriteria } from "./selector.js";
import type { ServiceSelector } from "./types.js";
import { YamlObject } from "./yaml-object.js";

/** YAML key -> selector field, for the regex criteria on Kubernetes metadata. */
const K8S_REGEX_KEYS = {
  k8s_namespace: "k8sNamespace",
  k8s_pod_name: "k8sPodName",
  k8s_deployment_name: "k8sDeploymentName",
  k8s_replicaset_name: "k8sReplicaSetName",
  k8s_statefulset_name: "k8sStatefulSetName",
  k8s_daemonset_name: "k8sDaemonSetName",
  k8s_owner_name: "k8sOwnerName",
} as const satisfies Record<string, keyof ServiceSelector>;

const K8S_MAP_KEYS = {
  k8s_pod_labels: "k8sPodLabels",
  k8s_pod_annotations: "k8sPodAnnotations",
} as const satisfies Record<string, keyof ServiceSelector>;

export const SELECTOR_KEYS: readonly string[] = [
  "name",
  "namespace",
  "open_ports",
  "exe_path",
  ...Object.keys(K8S_REGEX_KEYS),
  ...Object.keys(K8S_MAP_KEYS),
];

const CRITERIA_ALLOWED =
  "an entry with at least one of open_ports, exe_path or a k8s_* criterion (name and namespace only label a match)";

/** Parses the list under `discovery.services` or `discovery.exclude_services`. */
export function parseSelectorList(parent: YamlObject, key: string): ServiceSelector[] {
  const items = parent.list(key) ?? [];
  return items.map((item, i) =>
    parseSelector(YamlObject.from(item, `${parent.fieldPath(key)}[${i}]`)),
  );
}

/** One entry: all criteria are validated here (port ranges, RE2 regexes). */
export function parseSelector(entry: YamlObject): ServiceSelector {
  entry.checkKeys(SELECTOR_KEYS, [], []);
  const sel: ServiceSelector = {};
  const name = entry.string("name");
  if (name !== undefined) sel.name = name;
  const namespace = entry.string("namespace");
  if (namespace !== undefined) sel.namespace = namespace;
  if (entry.has("open_ports")) {
    sel.openPorts = PortRanges.parse(entry.raw("open_ports"), entry.fieldPath("open_ports"));
  }
  if (entry.has("exe_path")) {
    sel.exePath = Regex.compile(entry.raw("exe_path"), entry.fieldPath("exe_path"));
  }
  for (const [yamlKey, field] of Object.entries(K8S_REGEX_KEYS)) {
    if (entry.has(yamlKey))
      sel[field] = Regex.compile(entry.raw(yamlKey), entry.fieldPath(yamlKey));
  }
  for (const [yamlKey, field] of Object.entries(K8S_MAP_KEYS)) {
    if (!entry.has(yamlKey)) continue;
    const map = entry.object(yamlKey);
    const compiled: Record<string, Regex> = {};
    for (const k of map.keys()) compiled[k] = Regex.compile(map.raw(k), map.fieldPath(k));
    sel[field] = compiled;
  }
  if (!hasCriteria(sel)) {
    throw new ConfigError(entry.path, entry.keys(), CRITERIA_ALLOWED, {
      problem: "entry selects nothing",
    });
  }
  return sel;
}
