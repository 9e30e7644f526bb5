/**
 * Debug printer (BEYLA_TRACE_PRINTER / trace_printer): one line per captured request.
 *
 * text:  2026-11-23 10:00:00.123 (1.2ms) GET 200 /users/123 [127.0.0.1:41234]->[127.0.0.1:8080] svc=[nginx] pid=1234 kind=server
 *        (client->server direction: for server spans the peer is on the left, for client
 *        spans on the right; times are UTC)
 * json:  one JSON object per line; json_indent: the same, indented; counter: the number of
 *        requests, printed at shutdown.
 */
import type { RequestSpan } from "../request-span.js";
import { durationNanos } from "./span-fields.js";

export type TracePrinterMode = "disabled" | "text" | "json" | "json_indent" | "counter";

const MODES: readonly TracePrinterMode[] = ["disabled", "text", "json", "json_indent", "counter"];

/** Parses a configured mode; throws naming the field and the allowed values. */
export function parseTracePrinterMode(value: string, field = "trace_printer"): TracePrinterMode {
  const mode = MODES.find((m) => m === value);
  if (mode === undefined) {
    throw new Error(
      `${field}: "${value}" is not a valid trace printer; allowed: ${MODES.join(", ")}`,
    );
  }
  return mode;
}

export interface TracePrinterOptions {
  mode: TracePrinterMode;
  /** Where lines go (each ends with "\n"). Default: process.stdout. */
  write?: (text: string) => void;
}

function fixed(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const frac = value % unit;
  if (frac === 0n) return `${whole}`;
  const digits = unit.toString().length - 1;
  const decimals = frac.toString().padStart(digits, "0").replace(/0+$/, "");
  return `${whole}.${decimals}`;
}

/** A duration the way Go prints one: 850ns, 25µs, 1.2ms, 3.5s, 1m2.5s. */
export function formatDuration(ns: bigint): string {
  if (ns < 1_000n) return `${ns}ns`;
  if (ns < 1_000_000n) return `${fixed(ns, 1_000n)}µs`;
  if (ns < 1_000_000_000n) return `${fixed(ns, 1_000_000n)}ms`;
  const minute = 60_000_000_000n;
  if (ns < minute) return `${fixed(ns, 1_000_000_000n)}s`;
  const hours = ns / (60n * minute);
  const minutes = (ns % (60n * minute)) / minute;
  const seconds = fixed(ns % minute, 1_000_000_000n);
  return `${hours > 0n ? `${hours}h` : ""}${minutes}m${seconds}s`;
}

/** "2026-11-23 10:00:00.123", UTC. */
export function formatTimestamp(unixNano: bigint): string {
  const iso = new Date(Number(unixNano / 1_000_000n)).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

function endpoint(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

export function formatTextLine(span: RequestSpan): string {
  const peer = endpoint(span.peerAddress, span.peerPort);
  const local = endpoint(span.localAddress, span.localPort);
  const [from, to] = span.kind === "server" ? [peer, local] : [local, peer];
  const svc =
    span.service.namespace === ""
      ? span.service.name
      : `${span.service.namespace}/${span.service.name}`;
  return (
    `${formatTimestamp(span.startUnixNano)} (${formatDuration(durationNanos(span))}) ` +
    `${span.method} ${span.statusCode} ${span.path} [${from}]->[${to}] ` +
    `svc=[${svc}] pid=${span.service.pid} kind=${span.kind}`
  );
}

/** The span as a plain JSON object (bigint times as decimal strings). */
export function spanJson(span: RequestSpan): Record<string, unknown> {
  const ns = durationNanos(span);
  return {
    time: new Date(Number(span.startUnixNano / 1_000_000n)).toISOString(),
    kind: span.kind,
    method: span.method,
    path: span.path,
    route: span.route ?? null,
    status: span.statusCode,
    startUnixNano: span.startUnixNano.toString(),
    endUnixNano: span.endUnixNano.toString(),
    duration: formatDuration(ns),
    durationUSec: Number(ns / 1_000n),
    localAddress: span.localAddress,
    localPort: span.localPort,
    peerAddress: span.peerAddress,
    peerPort: span.peerPort,
    serverAddress: span.serverAddress,
    serverPort: span.serverPort,
    host: span.host,
    requestBodySize: span.requestBodySize,
    responseBodySize: span.responseBodySize,
    ignore: span.ignore,
    service: {
      name: span.service.name,
      namespace: span.service.namespace,
      instanceId: span.service.instanceId,
      pid: span.service.pid,
      exePath: span.service.exePath,
    },
  };
}

export class TracePrinter {
  readonly #mode: TracePrinterMode;
  readonly #write: (text: string) => void;
  #count = 0;
  #closed = false;

  constructor(options: TracePrinterOptions) {
    this.#mode = options.mode;
    this.#write = options.write ?? ((text) => void process.stdout.write(text));
  }

  get enabled(): boolean {
    return this.#mode !== "disabled";
  }

  /** Prints one span. Printing ignores the span's ignore flag: it is a debugging aid. */
  record(span: RequestSpan): void {
    switch (this.#mode) {
      case "disabled":
        return;
      case "counter":
        this.#count++;
        return;
      case "text":
        return this.#write(`${formatTextLine(span)}\n`);
      case "json":
        return this.#write(`${JSON.stringify(spanJson(span))}\n`);
      case "json_indent":
        return this.#write(`${JSON.stringify(spanJson(span), null, 1)}\n`);
    }
  }

  /** In counter mode, prints how many requests were seen. Safe to call twice. */
  shutdown(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#mode === "counter") this.#write(`Processed ${this.#count} requests\n`);
  }
}
