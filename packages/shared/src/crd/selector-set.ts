/**
 * The operator -> agent selector set (docs/control-protocol.md): its wire types, its content
 * hash, and readers for what arrives over the network (strict on the fields they know,
 * ignoring the others).
 */
import { createHash } from "node:crypto";

/** One BeylaInstrumentation as carried in a selector set. */
export interface SelectorSetResource {
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  /** True only for resources in the operator's namespace. */
  clusterWide: boolean;
  /** The spec as stored (camelCase); agents parse it with parseInstrumentationSpec. */
  spec: unknown;
  /**
   * What the operator resolved for this spec and the agents cannot read themselves: the OTLP
   * headers of `spec.export.otlp.headersFrom` (read from the Secret). Absent when there is
   * nothing to resolve. Header values are credentials: never log them.
   */
  export?: ResolvedExport;
}

/** Export settings resolved by the operator, beside a resource's spec. */
export interface ResolvedExport {
  otlp?: {
    /** Header name -> value, from the Secret key named by `spec.export.otlp.headersFrom`. */
    headers: Record<string, string>;
  };
}

export interface SelectorSet {
  /** Monotonically increasing. */
  version: number;
  /** `sha256:<hex>` of the canonical JSON of `resources` (selectorSetHash). */
  hash: string;
  /** Sorted by namespace, then name. */
  resources: SelectorSetResource[];
}

/** What one resource selects on one node. */
export interface SelectedCount {
  namespace: string;
  name: string;
  processes: number;
}

/** A resource an agent could not apply: its spec did not parse there, or its export failed. */
export interface RejectedByAgent {
  namespace: string;
  name: string;
  message: string;
}

/** An agent's answer to PUT and GET /v1/selectors. */
export interface ApplyAnswer {
  appliedVersion: number;
  hash: string;
  node: string;
  selected: SelectedCount[];
  /** Only when some resource was not applied on that agent. */
  rejected?: RejectedByAgent[];
}

/** JSON with object keys sorted at every level, so equal content gives equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** Resources in the set's order: by namespace, then name. */
export function sortResources(resources: readonly SelectorSetResource[]): SelectorSetResource[] {
  return [...resources].sort(compareResources);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `sha256:<hex>` of the canonical JSON of the resources, in set order. */
export function selectorSetHash(resources: readonly SelectorSetResource[]): string {
  return hashOf(sortResources(resources));
}

/** `sha256:<hex>` of the canonical JSON of a list already in set order. */
function hashOf(list: readonly unknown[]): string {
  return `sha256:${createHash("sha256").update(canonicalJson(list)).digest("hex")}`;
}

/** Builds a set: sorts the resources and computes the hash. */
export function makeSelectorSet(
  version: number,
  resources: readonly SelectorSetResource[],
): SelectorSet {
  const sorted = sortResources(resources);
  return { version, hash: selectorSetHash(sorted), resources: sorted };
}

/**
 * Reads a selector set received over the network; throws an Error saying what is wrong
 * (wrong shape of a known field, or a hash that does not match the resources).
 *
 * Tolerant of additive changes (docs/control-protocol.md): the hash is checked over the
 * resources exactly as received (their raw JSON, canonicalised), so fields this reader does
 * not know count in the hash like the others; they are then left out of the typed result.
 * When `ignored` is given, the paths of those fields are added to it, once each, with `[]`
 * for any list index (`resources[].futureField`); `spec` is carried whole, never reported.
 */
export function readSelectorSet(body: unknown, ignored?: string[]): SelectorSet {
  const unknown = new Set<string>();
  const obj = record(body, "selector set");
  noteUnknown(obj, SET_KEYS, "", unknown);
  const version = obj["version"];
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) {
    throw new Error("selector set: version must be a positive integer");
  }
  const hash = obj["hash"];
  if (typeof hash !== "string" || !/^sha256:[0-9a-f]{64}$/.test(hash)) {
    throw new Error('selector set: hash must be "sha256:" and 64 hex digits');
  }
  const list = obj["resources"];
  if (!Array.isArray(list)) throw new Error("selector set: resources must be a list");
  const read = list.map((raw: unknown, i) => ({ raw, resource: readResource(raw, i, unknown) }));
  const seen = new Set<string>();
  for (const { resource: r } of read) {
    const key = `${r.namespace}/${r.name}`;
    if (seen.has(key)) throw new Error(`selector set: resource ${key} appears twice`);
    seen.add(key);
  }
  read.sort((a, b) => compareResources(a.resource, b.resource));
  const actual = hashOf(read.map((r) => r.raw));
  if (actual !== hash) {
    throw new Error(`selector set: hash ${hash} does not match the resources (${actual})`);
  }
  if (ignored !== undefined) {
    for (const path of [...unknown].sort()) if (!ignored.includes(path)) ignored.push(path);
  }
  return { version, hash, resources: read.map((r) => r.resource) };
}

const SET_KEYS = new Set(["version", "hash", "resources"]);
const RESOURCE_KEYS = new Set([
  "namespace",
  "name",
  "uid",
  "generation",
  "clusterWide",
  "spec",
  "export",
]);
const EXPORT_KEYS = new Set(["otlp"]);
const OTLP_KEYS = new Set(["headers"]);

/** Adds to `unknown` the keys of `obj` not in `known`, as paths under `prefix`. */
function noteUnknown(
  obj: Record<string, unknown>,
  known: ReadonlySet<string>,
  prefix: string,
  unknown: Set<string>,
): void {
  for (const key of Object.keys(obj)) {
    if (known.has(key)) continue;
    // A key that is not a plain name is quoted, so the path stays readable.
    unknown.add(prefix + (/^[A-Za-z_$][\w$]*$/.test(key) ? key : JSON.stringify(key)));
  }
}

function compareResources(a: SelectorSetResource, b: SelectorSetResource): number {
  return a.namespace === b.namespace ? compare(a.name, b.name) : compare(a.namespace, b.namespace);
}

function readResource(item: unknown, i: number, unknown: Set<string>): SelectorSetResource {
  const where = `selector set: resources[${i}]`;
  const obj = record(item, where);
  noteUnknown(obj, RESOURCE_KEYS, "resources[].", unknown);
  const text = (key: string): string => {
    const v = obj[key];
    if (typeof v !== "string" || v === "") throw new Error(`${where}.${key} must be a string`);
    return v;
  };
  const generation = obj["generation"];
  if (typeof generation !== "number" || !Number.isSafeInteger(generation)) {
    throw new Error(`${where}.generation must be an integer`);
  }
  if (typeof obj["clusterWide"] !== "boolean") {
    throw new Error(`${where}.clusterWide must be true or false`);
  }
  const out: SelectorSetResource = {
    namespace: text("namespace"),
    name: text("name"),
    uid: text("uid"),
    generation,
    clusterWide: obj["clusterWide"],
    spec: obj["spec"] ?? {},
  };
  if (obj["export"] !== undefined) {
    out.export = readExport(obj["export"], `${where}.export`, unknown);
  }
  return out;
}

/** Reads `export`; messages name keys, never header values. */
function readExport(value: unknown, where: string, unknown: Set<string>): ResolvedExport {
  const obj = record(value, where);
  noteUnknown(obj, EXPORT_KEYS, "resources[].export.", unknown);
  const out: ResolvedExport = {};
  if (obj["otlp"] !== undefined) {
    const otlp = record(obj["otlp"], `${where}.otlp`);
    noteUnknown(otlp, OTLP_KEYS, "resources[].export.otlp.", unknown);
    const headers = record(otlp["headers"], `${where}.otlp.headers`);
    const copy: Record<string, string> = {};
    for (const [name, v] of Object.entries(headers)) {
      if (name === "" || typeof v !== "string") {
        throw new Error(`${where}.otlp.headers: ${JSON.stringify(name)} must be a string`);
      }
      copy[name] = v;
    }
    out.otlp = { headers: copy };
  }
  return out;
}

/** Reads an agent's answer; throws an Error saying what is wrong. */
export function readApplyAnswer(body: unknown): ApplyAnswer {
  const obj = record(body, "answer");
  const version = obj["appliedVersion"];
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 0) {
    throw new Error("answer: appliedVersion must be an integer");
  }
  const hash = obj["hash"];
  const node = obj["node"];
  if (typeof hash !== "string") throw new Error("answer: hash must be a string");
  if (typeof node !== "string") throw new Error("answer: node must be a string");
  const list = obj["selected"];
  if (!Array.isArray(list)) throw new Error("answer: selected must be a list");
  const selected = list.map((item: unknown, i): SelectedCount => {
    const s = record(item, `answer: selected[${i}]`);
    const processes = s["processes"];
    if (
      typeof s["namespace"] !== "string" ||
      typeof s["name"] !== "string" ||
      typeof processes !== "number" ||
      !Number.isSafeInteger(processes) ||
      processes < 0
    ) {
      throw new Error(`answer: selected[${i}] must have namespace, name and processes`);
    }
    return { namespace: s["namespace"], name: s["name"], processes };
  });
  const answer: ApplyAnswer = { appliedVersion: version, hash, node, selected };
  if (obj["rejected"] !== undefined) answer.rejected = readRejected(obj["rejected"]);
  return answer;
}

function readRejected(list: unknown): RejectedByAgent[] {
  if (!Array.isArray(list)) throw new Error("answer: rejected must be a list");
  return list.map((item: unknown, i): RejectedByAgent => {
    const r = record(item, `answer: rejected[${i}]`);
    const { namespace, name, message } = r;
    if (typeof namespace !== "string" || typeof name !== "string" || typeof message !== "string") {
      throw new Error(`answer: rejected[${i}] must have namespace, name and message`);
    }
    return { namespace, name, message };
  });
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}
