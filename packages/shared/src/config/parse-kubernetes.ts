import { ConfigError } from "./config-error.js";
import type { EnvReader } from "./env-reader.js";
import type { KubernetesConfig } from "./types.js";
import type { YamlObject } from "./yaml-object.js";

export const ATTRIBUTES_KEYS = ["kubernetes"];
export const ATTRIBUTES_IGNORED_KEYS = ["select", "instance_id", "host_id"];
const KUBERNETES_KEYS = ["enable", "cluster_name"];
const KUBERNETES_IGNORED_KEYS = [
  "kubeconfig_path",
  "informers_sync_timeout",
  "informers_resync_period",
  "disable_informers",
  "meta_restrict_local_node",
  "meta_cache_address",
  "resource_labels",
];
const ENABLE_ALLOWED = "one of true, false, autodetect";

/**
 * `attributes.kubernetes`, with BEYLA_KUBE_METADATA_ENABLE and BEYLA_KUBE_CLUSTER_NAME over
 * it. `enable` takes a YAML boolean or the strings true / false / autodetect; default false.
 */
export function parseKubernetes(
  attributes: YamlObject,
  env: EnvReader,
  warnings: string[],
): KubernetesConfig {
  attributes.checkKeys(ATTRIBUTES_KEYS, ATTRIBUTES_IGNORED_KEYS, warnings);
  const section = attributes.object("kubernetes");
  section.checkKeys(KUBERNETES_KEYS, KUBERNETES_IGNORED_KEYS, warnings);
  const fromEnv = env.enumOf("BEYLA_KUBE_METADATA_ENABLE", [
    "true",
    "false",
    "autodetect",
  ] as const);
  const enable = fromEnv !== undefined ? toEnable(fromEnv) : yamlEnable(section);
  const clusterName = env.string("BEYLA_KUBE_CLUSTER_NAME") ?? section.string("cluster_name");
  return clusterName === undefined || clusterName === "" ? { enable } : { enable, clusterName };
}

function yamlEnable(section: YamlObject): KubernetesConfig["enable"] {
  const raw = section.raw("enable");
  if (raw === undefined) return false;
  if (typeof raw === "boolean") return raw;
  const text = typeof raw === "string" ? raw.trim().toLowerCase() : undefined;
  if (text === "true" || text === "false" || text === "autodetect") return toEnable(text);
  throw new ConfigError(section.fieldPath("enable"), raw, ENABLE_ALLOWED);
}

function toEnable(v: "true" | "false" | "autodetect"): KubernetesConfig["enable"] {
  return v === "autodetect" ? "autodetect" : v === "true";
}
