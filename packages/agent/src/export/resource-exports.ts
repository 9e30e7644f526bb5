/**
 * The destinations BeylaInstrumentations name in `spec.export`: an OTLP receiver (endpoint,
 * protocol, headers) and a Prometheus scrape endpoint (port, path). Resources naming the same
 * destination share it. A process such a resource selects sends its telemetry there instead
 * of to the agent's own destination of that kind; the kinds it does not name stay the agent's.
 *
 * Bounded: at most MAX_DESTINATIONS of each kind; what asks for more is refused (the agent
 * reports the resource as rejected). Destinations no resource names any more are closed
 * (OTLP flushes its last data first).
 */
import { canonicalJson, type OtlpProtocol } from "@beyla-ts/shared";
import { AgentHttpServer } from "../server/http-server.js";
import type { ExporterHub } from "./exporter-hub.js";
import type { ExportTargets, ProcessExport } from "./export-targets.js";
import type { OtlpMetrics } from "./otlp-metrics.js";
import { loadOtlpSinks, type OtlpSinkClasses } from "./otlp-sinks.js";
import type { OtlpTraces } from "./otlp-traces.js";
import { PrometheusMetrics } from "./prometheus-metrics.js";

export const MAX_DESTINATIONS = 64;

export interface OtlpDestination {
  endpoint: string;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
}

export interface PrometheusEndpoint {
  port: number;
  path: string;
}

/** What one resource's `spec.export` asks for, with the headers the operator resolved. */
export interface ExportRequest {
  otlp?: OtlpDestination;
  prometheus?: PrometheusEndpoint;
}

export interface ResourceExportsOptions {
  hub: ExporterHub;
  /** The agent's own series limits, applied to each destination. */
  ttlMs: number;
  maxSeries: number;
  /** OTLP metric export interval and trace batch delay (the agent's own, else defaults). */
  metricsIntervalMs?: number;
  tracesDelayMs?: number;
  /** The agent's own scrape endpoint, when it has one. */
  agentPrometheus?: PrometheusEndpoint;
}

interface OtlpPair {
  metrics: OtlpMetrics;
  traces: OtlpTraces;
}

const FIELD = "spec.export";

export class ResourceExports {
  readonly #otlp = new Map<string, OtlpPair>();
  readonly #prometheus = new Map<string, PrometheusMetrics>();
  /** Servers on ports other than the agent's own, by port. */
  readonly #servers = new Map<number, AgentHttpServer>();
  /** The routed exports handed out, by destination keys, so equal requests get the same one. */
  readonly #routed = new Map<string, ExportTargets>();
  #otlpClasses: OtlpSinkClasses | undefined;

  constructor(private readonly options: ResourceExportsOptions) {}

  /**
   * Where a process of a resource asking `request` sends its telemetry; undefined: the
   * agent's own exporters. Creates what is new; throws, naming the field, when a destination
   * cannot be set up (a port in use, an unsupported protocol, too many destinations).
   */
  async exportFor(request: ExportRequest): Promise<ProcessExport | undefined> {
    const otlpKey = request.otlp ? canonicalJson(request.otlp) : "";
    const promKey = this.#ownsPrometheus(request.prometheus) ? promKeyOf(request.prometheus) : "";
    if (otlpKey === "" && promKey === "") return undefined;
    const key = `${otlpKey}\u0000${promKey}`;
    const known = this.#routed.get(key);
    if (known) return known;
    const otlp = request.otlp ? await this.#otlpPair(otlpKey, request.otlp) : undefined;
    const prometheus = promKey !== "" ? await this.#prometheusAt(request.prometheus!) : undefined;
    const routed = this.options.hub.targets.with({
      otlpMetrics: otlp?.metrics,
      otlpTraces: otlp?.traces,
      prometheus,
    });
    this.#routed.set(key, routed);
    return routed;
  }

  /** Closes every destination that none of `inUse` asks for. */
  async retain(inUse: readonly ExportRequest[]): Promise<void> {
    const otlpKeys = new Set(inUse.flatMap((r) => (r.otlp ? [canonicalJson(r.otlp)] : [])));
    const promKeys = new Set(inUse.flatMap((r) => (r.prometheus ? [promKeyOf(r.prometheus)] : [])));
    for (const key of this.#routed.keys()) {
      const [otlpKey = "", promKey = ""] = key.split("\u0000");
      const stale =
        (otlpKey !== "" && !otlpKeys.has(otlpKey)) || (promKey !== "" && !promKeys.has(promKey));
      if (stale) this.#routed.delete(key);
    }
    const closing: Promise<void>[] = [];
    for (const [key, pair] of this.#otlp) {
      if (otlpKeys.has(key)) continue;
      this.#otlp.delete(key);
      closing.push(closeOtlp(pair));
    }
    for (const [key, metrics] of this.#prometheus) {
      if (promKeys.has(key)) continue;
      this.#prometheus.delete(key);
      metrics.stop();
      closing.push(this.#unserve(key));
    }
    await Promise.all(closing);
  }

  /** Closes everything (agent shutdown). */
  async shutdown(): Promise<void> {
    await this.retain([]);
  }

  /** False when the resource names the agent's own scrape endpoint (nothing to route). */
  #ownsPrometheus(endpoint: PrometheusEndpoint | undefined): endpoint is PrometheusEndpoint {
    const own = this.options.agentPrometheus;
    if (!endpoint) return false;
    return !(
      own &&
      this.options.hub.server &&
      own.port === endpoint.port &&
      own.path === endpoint.path
    );
  }

  async #otlpPair(key: string, destination: OtlpDestination): Promise<OtlpPair> {
    const known = this.#otlp.get(key);
    if (known) return known;
    if (this.#otlp.size >= MAX_DESTINATIONS) {
      throw new Error(
        `${FIELD}.otlp: this agent already exports to ${MAX_DESTINATIONS} OTLP destinations`,
      );
    }
    this.#otlpClasses ??= await loadOtlpSinks();
    const { OtlpMetrics, OtlpTraces } = this.#otlpClasses;
    const { ttlMs, maxSeries, metricsIntervalMs, tracesDelayMs, hub } = this.options;
    const common = { ...destination, configField: `${FIELD}.otlp`, internal: hub.internal };
    const pair: OtlpPair = {
      metrics: new OtlpMetrics({ ...common, ttlMs, maxSeries, intervalMs: metricsIntervalMs }),
      traces: new OtlpTraces({ ...common, ttlMs, scheduledDelayMs: tracesDelayMs }),
    };
    pair.metrics.start();
    pair.traces.start();
    this.#otlp.set(key, pair);
    return pair;
  }

  async #prometheusAt(endpoint: PrometheusEndpoint): Promise<PrometheusMetrics> {
    const key = promKeyOf(endpoint);
    const known = this.#prometheus.get(key);
    if (known) return known;
    if (this.#prometheus.size >= MAX_DESTINATIONS) {
      throw new Error(
        `${FIELD}.prometheus: this agent already serves ${MAX_DESTINATIONS} scrape endpoints`,
      );
    }
    const { hub, ttlMs, maxSeries } = this.options;
    const metrics = new PrometheusMetrics({
      ttlMs,
      maxSeries,
      onSeriesDropped: (n) => hub.internal.seriesDropped(n),
    });
    await this.#serve(endpoint, metrics);
    metrics.start();
    this.#prometheus.set(key, metrics);
    return metrics;
  }

  /** Serves `metrics` at the endpoint: on the agent's own server, or on one of its own. */
  async #serve(endpoint: PrometheusEndpoint, metrics: PrometheusMetrics): Promise<void> {
    const { hub, agentPrometheus } = this.options;
    const field = `${FIELD}.prometheus`;
    if (hub.server && agentPrometheus?.port === endpoint.port) {
      hub.server.setMetricsPath(endpoint.path, [metrics]);
      return;
    }
    const running = this.#servers.get(endpoint.port);
    if (running) {
      running.setMetricsPath(endpoint.path, [metrics]);
      return;
    }
    const server = new AgentHttpServer({
      port: endpoint.port,
      metricsPath: endpoint.path,
      sources: [metrics],
      configField: field,
    });
    try {
      await server.listen();
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new Error(`${field}.port: cannot serve port ${endpoint.port}: ${reason}`, { cause });
    }
    this.#servers.set(endpoint.port, server);
  }

  /** Stops serving the endpoint of `key`; closes its server when it served nothing else. */
  async #unserve(key: string): Promise<void> {
    const { port, path } = parsePromKey(key);
    const { hub, agentPrometheus } = this.options;
    if (hub.server && agentPrometheus?.port === port) {
      hub.server.setMetricsPath(path, undefined);
      return;
    }
    const server = this.#servers.get(port);
    if (!server) return;
    const stillServed = [...this.#prometheus.keys()].some((k) => parsePromKey(k).port === port);
    if (stillServed) {
      server.setMetricsPath(path, undefined);
      return;
    }
    this.#servers.delete(port);
    await server.close();
  }
}

function promKeyOf(endpoint: PrometheusEndpoint): string {
  return `${endpoint.port} ${endpoint.path}`;
}

function parsePromKey(key: string): PrometheusEndpoint {
  const space = key.indexOf(" ");
  return { port: Number(key.slice(0, space)), path: key.slice(space + 1) };
}

async function closeOtlp(pair: OtlpPair): Promise<void> {
  pair.metrics.stop();
  pair.traces.stop();
  await pair.traces.flush();
  await Promise.all([pair.metrics.shutdown(), pair.traces.shutdown()]);
}
