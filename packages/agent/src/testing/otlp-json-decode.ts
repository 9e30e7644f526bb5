/**
 * Decodes OTLP/JSON request bodies (camelCase keys; 64-bit integers as strings or numbers;
 * ids as hex) into the same shapes as the protobuf decoder.
 */
import {
  type AttrValue,
  type Attrs,
  emptyMetric,
  emptyPoint,
  emptySpan,
  type ReceivedDataPoint,
  type ReceivedMetric,
  type ReceivedSpan,
} from "./otlp-types.js";

type Json = Record<string, unknown>;

function obj(v: unknown): Json {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : {};
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function num(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v !== "") return Number(v);
  return 0;
}

function big(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(Math.trunc(v));
  if (typeof v === "string" && v !== "") return BigInt(v);
  return 0n;
}

function anyValue(v: unknown): AttrValue {
  const o = obj(v);
  if ("stringValue" in o) return str(o.stringValue);
  if ("boolValue" in o) return o.boolValue === true;
  if ("intValue" in o) return num(o.intValue);
  if ("doubleValue" in o) return num(o.doubleValue);
  if ("arrayValue" in o) return arr(obj(o.arrayValue).values).map(anyValue);
  if ("kvlistValue" in o) return attrs(obj(o.kvlistValue).values);
  if ("bytesValue" in o) return Buffer.from(str(o.bytesValue), "base64").toString("hex");
  return null;
}

function attrs(list: unknown): Attrs {
  const out: Attrs = {};
  for (const kv of arr(list)) out[str(obj(kv).key)] = anyValue(obj(kv).value);
  return out;
}

function span(v: unknown, resource: Attrs, scope: string): ReceivedSpan {
  const o = obj(v);
  const status = obj(o.status);
  return {
    ...emptySpan(),
    resource,
    scope,
    traceId: str(o.traceId).toLowerCase(),
    spanId: str(o.spanId).toLowerCase(),
    parentSpanId: str(o.parentSpanId).toLowerCase(),
    name: str(o.name),
    kind: num(o.kind),
    startTimeUnixNano: big(o.startTimeUnixNano),
    endTimeUnixNano: big(o.endTimeUnixNano),
    attributes: attrs(o.attributes),
    status: { code: num(status.code), message: str(status.message) },
  };
}

export function decodeTraceRequestJson(body: unknown): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of arr(obj(body).resourceSpans)) {
    const resource = attrs(obj(obj(rs).resource).attributes);
    for (const ss of arr(obj(rs).scopeSpans)) {
      const scope = str(obj(obj(ss).scope).name);
      for (const sp of arr(obj(ss).spans)) out.push(span(sp, resource, scope));
    }
  }
  return out;
}

function dataPoint(v: unknown, histogram: boolean): ReceivedDataPoint {
  const o = obj(v);
  const p: ReceivedDataPoint = {
    ...emptyPoint(),
    attributes: attrs(o.attributes),
    startTimeUnixNano: big(o.startTimeUnixNano),
    timeUnixNano: big(o.timeUnixNano),
  };
  if (histogram) {
    p.count = num(o.count);
    if (o.sum !== undefined) p.sum = num(o.sum);
    p.bucketCounts = arr(o.bucketCounts).map(num);
    p.explicitBounds = arr(o.explicitBounds).map(num);
  } else if ("asDouble" in o) p.value = num(o.asDouble);
  else if ("asInt" in o) p.value = num(o.asInt);
  return p;
}

function metric(v: unknown, resource: Attrs, scope: string): ReceivedMetric {
  const o = obj(v);
  const m: ReceivedMetric = {
    ...emptyMetric(resource, scope),
    name: str(o.name),
    description: str(o.description),
    unit: str(o.unit),
  };
  for (const type of ["histogram", "sum", "gauge"] as const) {
    if (o[type] === undefined) continue;
    const data = obj(o[type]);
    m.type = type;
    m.temporality = num(data.aggregationTemporality);
    m.points = arr(data.dataPoints).map((p) => dataPoint(p, type === "histogram"));
  }
  return m;
}

export function decodeMetricsRequestJson(body: unknown): ReceivedMetric[] {
  const out: ReceivedMetric[] = [];
  for (const rm of arr(obj(body).resourceMetrics)) {
    const resource = attrs(obj(obj(rm).resource).attributes);
    for (const sm of arr(obj(rm).scopeMetrics)) {
      const scope = str(obj(obj(sm).scope).name);
      for (const mt of arr(obj(sm).metrics)) out.push(metric(mt, resource, scope));
    }
  }
  return out;
}
