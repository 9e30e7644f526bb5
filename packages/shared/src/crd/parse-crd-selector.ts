import { ConfigError } from "../config/config-error.js";
import { PortRanges } from "../config/port-ranges.js";
import { Regex } from "../config/regex.js";
import { hasCriteria } from "../config/selector.js";
import type { ServiceSelector } from "../config/types.js";
import { YamlObject } from "../config/yaml-object.js";

/** CRD field of `kubernetes` -> selector field, for the regex criteria. */
const K8S_REGEX_FIELDS = {
  namespace: "k8sNamespace",
  podName: "k8sPodName",
  deploymentName: "k8sDeploymentName",
  replicasetName: "k8sReplicaSetName",
  statefulsetName: "k8sStatefulSetName",
  daemonsetName: "k8sDaemonSetName",
  ownerName: "k8sOwnerName",
} as const satisfies Record<string, keyof ServiceSelector>;

const K8S_MAP_FIELDS = {
  podLabels: "k8sPodLabels",
  podAnnotations: "k8sPodAnnotations",
} as const satisfies Record<string, keyof ServiceSelector>;

const ENTRY_KEYS = ["name", "namespace", "openPorts", "exePath", "kubernetes"];
const KUBERNETES_KEYS = [...Object.keys(K8S_REGEX_FIELDS), ...Object.keys(K8S_MAP_FIELDS)];

const CRITERIA_ALLOWED =
  "an entry with at least one of openPorts, exePath or a kubernetes criterion (name and namespace only label a match)";

/**
 * `discovery.services` or `discovery.excludeServices` of a BeylaInstrumentation. With `scope`
 * (the resource's namespace, for a resource that is not cluster-wide) every selector is
 * confined to that namespace: its `kubernetes.namespace` regex, when set, must match it, and is
 * replaced by an exact match on it.
 */
export function parseCrdSelectorList(
  parent: YamlObject,
  key: string,
  scope: string | undefined,
): ServiceSelector[] {
  const items = parent.list(key) ?? [];
  return items.map((item, i) => {
    const entry = YamlObject.from(item, `${parent.fieldPath(key)}[${i}]`);
    const sel = parseCrdSelector(entry);
    return scope === undefined ? sel : confine(sel, entry, scope);
  });
}

/** One entry, camelCase, the Kubernetes criteria nested under `kubernetes`. */
export function parseCrdSelector(entry: YamlObject): ServiceSelector {
  entry.checkKeys(ENTRY_KEYS, [], []);
  const sel: ServiceSelector = {};
  const name = entry.string("name");
  if (name !== undefined && name !== "") sel.name = name;
  const namespace = entry.string("namespace");
  if (namespace !== undefined && namespace !== "") sel.namespace = namespace;
  if (entry.has("openPorts")) {
    sel.openPorts = PortRanges.parse(entry.raw("openPorts"), entry.fieldPath("openPorts"));
  }
  if (entry.has("exePath")) {
    sel.exePath = Regex.compile(entry.raw("exePath"), entry.fieldPath("exePath"));
  }
  const k8s = entry.object("kubernetes");
  k8s.checkKeys(KUBERNETES_KEYS, [], []);
  for (const [crdKey, field] of Object.entries(K8S_REGEX_FIELDS)) {
    if (k8s.has(crdKey)) sel[field] = Regex.compile(k8s.raw(crdKey), k8s.fieldPath(crdKey));
  }
  for (const [crdKey, field] of Object.entries(K8S_MAP_FIELDS)) {
    if (!k8s.has(crdKey)) continue;
    const map = k8s.object(crdKey);
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

/** The selector ANDed with "the pod is in namespace `scope`". */
function confine(sel: ServiceSelector, entry: YamlObject, scope: string): ServiceSelector {
  const own = sel.k8sNamespace;
  if (own !== undefined && !own.test(scope)) {
    const k8s = entry.object("kubernetes");
    throw new ConfigError(
      k8s.fieldPath("namespace"),
      own.source,
      `a regex matching the resource's own namespace "${scope}" (only resources in the operator's namespace select in other namespaces)`,
      { problem: `value ${JSON.stringify(own.source)} does not match namespace "${scope}"` },
    );
  }
  return { ...sel, k8sNamespace: Regex.compile(`^${quoteRegex(scope)}$`) };
}

/** `s` as a regex matching exactly that text. */
function quoteRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}
