/**
 * What the test OTLP receiver keeps of each request: the same shape whether the request
 * came as protobuf or JSON. Integers are numbers, timestamps are bigint nanoseconds, ids
 * are lowercase hex.
 */

export type AttrValue =
  string | number | boolean | null | AttrValue[] | { [key: string]: AttrValue };
export type Attrs = Record<string, AttrValue>;

export interface ReceivedSpan {
  resource: Attrs;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Attrs;
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
}

export interface ReceivedDataPoint {
  attributes: Attrs;
  startTimeUnixNano: bigint;
  timeUnixNano: bigint;
  /** Histograms. */
  count?: number;
  sum?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
  /** Sums and gauges. */
  value?: number;
}

export interface ReceivedMetric {
  resource: Attrs;
  scope: string;
  name: string;
  description: string;
  unit: string;
  type: "histogram" | "sum" | "gauge" | "other";
  /** 1 delta, 2 cumulative, 0 when not applicable. */
  temporality: number;
  points: ReceivedDataPoint[];
}

export interface ReceivedRequest {
  path: string;
  contentType: string;
  headers: Record<string, string>;
  /** Spans or metrics decoded from this request. */
  items: number;
}

export function emptySpan(): ReceivedSpan {
  return {
    resource: {},
    scope: "",
    traceId: "",
    spanId: "",
    parentSpanId: "",
    name: "",
    kind: 0,
    startTimeUnixNano: 0n,
    endTimeUnixNano: 0n,
    attributes: {},
    status: { code: 0, message: "" },
  };
}

export function emptyPoint(): ReceivedDataPoint {
  return { attributes: {}, startTimeUnixNano: 0n, timeUnixNano: 0n };
}

export function emptyMetric(resource: Attrs, scope: string): ReceivedMetric {
  return {
    resource,
    scope,
    name: "",
    description: "",
    unit: "",
    type: "other",
    temporality: 0,
    points: [],
  };
}
