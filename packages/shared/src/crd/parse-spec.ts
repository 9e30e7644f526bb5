import { ConfigError, oneOf } from "../config/config-error.js";
import { OTLP_PROTOCOLS } from "../config/otlp.js";
import { IGNORE_MODES, UNMATCHED_MODES } from "../config/parse-routes.js";
import type { KubernetesConfig, PrometheusConfig, RoutesConfig } from "../config/types.js";
import { YamlObject } from "../config/yaml-object.js";
import { compilePattern } from "../routes/route-pattern.js";
import { parseCrdSelectorList } from "./parse-crd-selector.js";
import type {
  ExportSpec,
  Instrumentation,
  InstrumentationRef,
  InstrumentationSpec,
  MetricsFeature,
  MetricsSpec,
  OtlpExportSpec,
} from "./types.js";

export const METRICS_FEATURES: readonly MetricsFeature[] = [
  "application",
  "application_span",
  "application_service_graph",
  "application_process",
  "network",
];
export const INSTRUMENTATIONS: readonly Instrumentation[] = [
  "*",
  "http",
  "grpc",
  "sql",
  "redis",
  "kafka",
];
const KUBERNETES_ENABLE = ["true", "false", "autodetect"] as const;
const SPEC_KEYS = ["discovery", "attributes", "routes", "metrics", "export"];
const URL_ALLOWED = "an http:// or https:// URL, e.g. http://otel-collector:4318";
/** Secret keys: the characters Kubernetes allows in a Secret's data keys. */
const SECRET_KEY_RE = /^[-._a-zA-Z0-9]+$/;
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/**
 * Validates the `spec` of a BeylaInstrumentation and builds it in the shared config model.
 * Field names are camelCase (`discovery.services[0].kubernetes.podLabels`); regexes compile on
 * RE2; a resource that is not cluster-wide only ever selects in its own namespace. Throws a
 * ConfigError with source "crd", naming the resource and the field (`spec.routes.unmatched`).
 */
export function parseInstrumentationSpec(
  spec: unknown,
  where: InstrumentationRef,
): InstrumentationSpec {
  try {
    return build(spec, where);
  } catch (err) {
    if (err instanceof ConfigError) throw asCrdError(err, where);
    throw err;
  }
}

/** The name a resource goes by in messages: `BeylaInstrumentation shop/web`. */
export function instrumentationLabel(
  where: Pick<InstrumentationRef, "namespace" | "name">,
): string {
  return `BeylaInstrumentation ${where.namespace}/${where.name}`;
}

function asCrdError(err: ConfigError, where: InstrumentationRef): ConfigError {
  if (err.source === "crd") return err;
  return new ConfigError(err.field, err.value, err.allowed, {
    source: "crd",
    problem: err.problem,
    file: instrumentationLabel(where),
    cause: err.cause,
  });
}

function build(spec: unknown, where: InstrumentationRef): InstrumentationSpec {
  const root = YamlObject.from(spec, "spec");
  root.checkKeys(SPEC_KEYS, [], []);
  const scope = where.clusterWide === true ? undefined : where.namespace;
  const discovery = root.object("discovery");
  discovery.checkKeys(["services", "excludeServices"], [], []);
  const out: InstrumentationSpec = {
    services: parseCrdSelectorList(discovery, "services", scope),
    excludeServices: parseCrdSelectorList(discovery, "excludeServices", scope),
  };
  if (root.has("routes")) out.routes = parseRoutes(root.object("routes"));
  const attributes = root.object("attributes");
  attributes.checkKeys(["kubernetes"], [], []);
  if (attributes.has("kubernetes"))
    out.kubernetes = parseKubernetes(attributes.object("kubernetes"));
  if (root.has("metrics")) out.metrics = parseMetrics(root.object("metrics"));
  if (root.has("export")) out.export = parseExport(root.object("export"));
  return out;
}

function parseRoutes(section: YamlObject): RoutesConfig {
  section.checkKeys(["patterns", "ignoredPatterns", "ignoreMode", "unmatched"], [], []);
  const patterns = section.stringList("patterns") ?? [];
  patterns.forEach((p, i) => compilePattern(p, `${section.fieldPath("patterns")}[${i}]`));
  const ignoredPatterns = section.stringList("ignoredPatterns") ?? [];
  ignoredPatterns.forEach((p, i) =>
    compilePattern(p, `${section.fieldPath("ignoredPatterns")}[${i}]`),
  );
  return {
    patterns,
    ignoredPatterns,
    ignoreMode: section.enumOf("ignoreMode", IGNORE_MODES) ?? "all",
    unmatched: section.enumOf("unmatched", UNMATCHED_MODES) ?? "heuristic",
  };
}

function parseKubernetes(section: YamlObject): KubernetesConfig {
  section.checkKeys(["enable", "clusterName"], [], []);
  let enable: KubernetesConfig["enable"] = false;
  const raw = section.raw("enable");
  if (typeof raw === "boolean") enable = raw;
  else {
    const text = section.enumOf("enable", KUBERNETES_ENABLE);
    if (text !== undefined) enable = text === "autodetect" ? "autodetect" : text === "true";
  }
  const clusterName = section.string("clusterName");
  return clusterName === undefined || clusterName === "" ? { enable } : { enable, clusterName };
}

function parseMetrics(section: YamlObject): MetricsSpec {
  section.checkKeys(["features", "instrumentations", "network"], [], []);
  const features = enumList(section, "features", METRICS_FEATURES) ?? ["application"];
  const instrumentations = enumList(section, "instrumentations", INSTRUMENTATIONS) ?? ["*"];
  const network = section.object("network");
  network.checkKeys(["enabled"], [], []);
  return {
    features,
    instrumentations: instrumentations.includes("*") ? ["*"] : instrumentations,
    networkEnabled: network.bool("enabled") ?? false,
  };
}

/** A list whose items are each one of `values`, without repeats. */
function enumList<T extends string>(
  section: YamlObject,
  key: string,
  values: readonly T[],
): T[] | undefined {
  const items = section.stringList(key);
  if (items === undefined) return undefined;
  const out: T[] = [];
  items.forEach((item, i) => {
    const field = `${section.fieldPath(key)}[${i}]`;
    const hit = values.find((v) => v === item);
    if (hit === undefined) throw new ConfigError(field, item, oneOf(values));
    if (out.includes(hit)) {
      throw new ConfigError(field, item, "each value once", {
        problem: `value ${JSON.stringify(item)} is repeated`,
      });
    }
    out.push(hit);
  });
  return out;
}

function parseExport(section: YamlObject): ExportSpec {
  section.checkKeys(["otlp", "prometheus"], [], []);
  const out: ExportSpec = {};
  if (section.has("otlp")) out.otlp = parseOtlp(section.object("otlp"));
  if (section.has("prometheus")) out.prometheus = parsePrometheus(section.object("prometheus"));
  return out;
}

function parseOtlp(section: YamlObject): OtlpExportSpec {
  section.checkKeys(["endpoint", "protocol", "headersFrom"], [], []);
  const endpoint = section.string("endpoint");
  if (endpoint === undefined || !isHttpUrl(endpoint)) {
    throw new ConfigError(section.fieldPath("endpoint"), endpoint, URL_ALLOWED);
  }
  const out: OtlpExportSpec = { endpoint };
  const protocol = section.enumOf("protocol", OTLP_PROTOCOLS);
  if (protocol !== undefined) out.protocol = protocol;
  if (section.has("headersFrom")) {
    const from = section.object("headersFrom");
    from.checkKeys(["secretKeyRef"], [], []);
    const ref = from.object("secretKeyRef");
    ref.checkKeys(["name", "key"], [], []);
    const name = ref.string("name");
    if (name === undefined || !DNS_SUBDOMAIN_RE.test(name) || name.length > 253) {
      throw new ConfigError(ref.fieldPath("name"), name, "the name of a Secret in this namespace");
    }
    const key = ref.string("key") ?? "headers";
    if (!SECRET_KEY_RE.test(key) || key.length > 253) {
      throw new ConfigError(ref.fieldPath("key"), key, "a Secret data key ([-._a-zA-Z0-9]+)");
    }
    out.headersFrom = { name, key };
  }
  return out;
}

function parsePrometheus(section: YamlObject): PrometheusConfig {
  section.checkKeys(["port", "path"], [], []);
  const port = section.int("port", 1, 65535);
  if (port === undefined) {
    throw new ConfigError(section.fieldPath("port"), undefined, "an integer from 1 to 65535");
  }
  const path = section.string("path") ?? "/metrics";
  if (!path.startsWith("/")) {
    throw new ConfigError(section.fieldPath("path"), path, 'a URL path starting with "/"');
  }
  return { port, path };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}
