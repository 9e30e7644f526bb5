/**
 * Decodes OTLP ExportTraceServiceRequest / ExportMetricsServiceRequest protobuf bodies
 * (field numbers from opentelemetry-proto: trace/v1, metrics/v1, common/v1, resource/v1).
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
import {
  bytesOf,
  doubleOf,
  fields,
  fixed64Of,
  hexOf,
  readDouble,
  readFixed64AsNumber,
  repeated64,
  sfixed64Of,
  stringOf,
  varintOf,
} from "./protobuf-wire.js";

function anyValue(buf: Uint8Array): AttrValue {
  let value: AttrValue = null;
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1:
        value = stringOf(f);
        break;
      case 2:
        value = varintOf(f) !== 0n;
        break;
      case 3:
        value = Number(BigInt.asIntN(64, varintOf(f)));
        break;
      case 4:
        value = doubleOf(f);
        break;
      case 5:
        value = [...fields(bytesOf(f))].filter((e) => e.no === 1).map((e) => anyValue(bytesOf(e)));
        break;
      case 6:
        value = keyValues([...fields(bytesOf(f))].filter((e) => e.no === 1).map(bytesOf));
        break;
      case 7:
        value = hexOf(f);
        break;
    }
  }
  return value;
}

function keyValues(list: Uint8Array[]): Attrs {
  const attrs: Attrs = {};
  for (const kv of list) {
    let key = "";
    let value: AttrValue = null;
    for (const f of fields(kv)) {
      if (f.no === 1) key = stringOf(f);
      else if (f.no === 2) value = anyValue(bytesOf(f));
    }
    attrs[key] = value;
  }
  return attrs;
}

/** Field `no` of a message, every occurrence, as bytes. */
function children(buf: Uint8Array, no: number): Uint8Array[] {
  return [...fields(buf)].filter((f) => f.no === no).map(bytesOf);
}

function resourceAttrs(resourceAndScopes: Uint8Array): Attrs {
  const resource = children(resourceAndScopes, 1)[0];
  return resource === undefined ? {} : keyValues(children(resource, 1));
}

function scopeName(scoped: Uint8Array): string {
  const scope = children(scoped, 1)[0];
  if (scope === undefined) return "";
  const name = [...fields(scope)].find((f) => f.no === 1);
  return name === undefined ? "" : stringOf(name);
}

function span(buf: Uint8Array, resource: Attrs, scope: string): ReceivedSpan {
  const s = { ...emptySpan(), resource, scope };
  const attrs: Uint8Array[] = [];
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1:
        s.traceId = hexOf(f);
        break;
      case 2:
        s.spanId = hexOf(f);
        break;
      case 4:
        s.parentSpanId = hexOf(f);
        break;
      case 5:
        s.name = stringOf(f);
        break;
      case 6:
        s.kind = Number(varintOf(f));
        break;
      case 7:
        s.startTimeUnixNano = fixed64Of(f);
        break;
      case 8:
        s.endTimeUnixNano = fixed64Of(f);
        break;
      case 9:
        attrs.push(bytesOf(f));
        break;
      case 15:
        for (const st of fields(bytesOf(f))) {
          if (st.no === 2) s.status.message = stringOf(st);
          if (st.no === 3) s.status.code = Number(varintOf(st));
        }
        break;
    }
  }
  s.attributes = keyValues(attrs);
  return s;
}

export function decodeTraceRequestProto(body: Uint8Array): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of children(body, 1)) {
    const resource = resourceAttrs(rs);
    for (const ss of children(rs, 2)) {
      const scope = scopeName(ss);
      for (const sp of children(ss, 2)) out.push(span(sp, resource, scope));
    }
  }
  return out;
}

function dataPoint(buf: Uint8Array, histogram: boolean): ReceivedDataPoint {
  const p = emptyPoint();
  const attrs: Uint8Array[] = [];
  for (const f of fields(buf)) {
    if (f.no === 2) p.startTimeUnixNano = fixed64Of(f);
    else if (f.no === 3) p.timeUnixNano = fixed64Of(f);
    else if (histogram) {
      if (f.no === 9) attrs.push(bytesOf(f));
      else if (f.no === 4) p.count = Number(fixed64Of(f));
      else if (f.no === 5) p.sum = doubleOf(f);
      else if (f.no === 6) {
        p.bucketCounts = [...(p.bucketCounts ?? []), ...repeated64(f, readFixed64AsNumber)];
      } else if (f.no === 7) {
        p.explicitBounds = [...(p.explicitBounds ?? []), ...repeated64(f, readDouble)];
      }
    } else if (f.no === 7) attrs.push(bytesOf(f));
    else if (f.no === 4) p.value = doubleOf(f);
    else if (f.no === 6) p.value = Number(sfixed64Of(f));
  }
  p.attributes = keyValues(attrs);
  return p;
}

const DATA_KINDS: Record<number, ReceivedMetric["type"]> = { 5: "gauge", 7: "sum", 9: "histogram" };

function metric(buf: Uint8Array, resource: Attrs, scope: string): ReceivedMetric {
  const m = emptyMetric(resource, scope);
  for (const f of fields(buf)) {
    if (f.no === 1) m.name = stringOf(f);
    else if (f.no === 2) m.description = stringOf(f);
    else if (f.no === 3) m.unit = stringOf(f);
    else if (DATA_KINDS[f.no] !== undefined) {
      m.type = DATA_KINDS[f.no] as ReceivedMetric["type"];
      for (const d of fields(bytesOf(f))) {
        if (d.no === 1) m.points.push(dataPoint(bytesOf(d), m.type === "histogram"));
        if (d.no === 2 && m.type !== "gauge") m.temporality = Number(varintOf(d));
      }
    }
  }
  return m;
}

export function decodeMetricsRequestProto(body: Uint8Array): ReceivedMetric[] {
  const out: ReceivedMetric[] = [];
  for (const rm of children(body, 1)) {
    const resource = resourceAttrs(rm);
    for (const sm of children(rm, 2)) {
      const scope = scopeName(sm);
      for (const mt of children(sm, 2)) out.push(metric(mt, resource, scope));
    }
  }
  return out;
}
