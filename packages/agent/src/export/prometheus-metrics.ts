/**
 * Application metrics for the Prometheus scrape endpoint: RequestSpans recorded into compact
 * histograms (compact-histogram.ts); target_info is a prom-client gauge in a registry of its own.
 *
 * Labels: http_request_method, http_response_status_code, http_route, url_scheme,
 * server_address, server_port, service_name, service_namespace, service_instance_id and,
 * when the service carries them, the k8s_* labels of DESIGN §6.
 * - http_route is always present; it is "" when the pipeline left the route unset
 *   (routes.unmatched: unset), as the reference agent does.
 * - http_response_status_code is "0" when no response was seen.
 * - service_instance_id keeps two processes of one service apart (and joins target_info).
 *
 * Each label set is one series: its label object and histogram handles are built once,
 * when the series first appears. A series not updated for ttlMs is removed; beyond
 * maxSeries live series, new ones are dropped and counted.
 */
import { hostname } from "node:os";
import { Gauge, Registry } from "prom-client";
import type { RequestSpan, ServiceIdentity, SpanKind } from "../request-span.js";
import {
  CLIENT_HISTOGRAMS,
  DURATION_BUCKETS_SECONDS,
  type HistogramName,
  K8S_RESOURCE_ATTRIBUTES,
  type KindHistograms,
  PROM_LABEL,
  promLabelName,
  SERVER_HISTOGRAMS,
  SIZE_BUCKETS_BYTES,
  TARGET_INFO,
  TARGET_INFO_HELP,
} from "./metric-names.js";
import { HistogramFamilyStore, type HistogramSeries } from "./compact-histogram.js";
import { formatLabels } from "./prom-text.js";
import { type SeriesEntry, SeriesTable, sweepIntervalMs } from "./series-table.js";
import { type ServiceSlot, ServiceSlots } from "./service-slots.js";
import { durationSeconds, normalizeMethod } from "./span-fields.js";
import { TARGET_INFO_LABELS, targetInfoLabels } from "./service-resource.js";

export interface PrometheusMetricsOptions {
  /** A series not updated for this long is removed. Default 5 minutes. */
  ttlMs?: number;
  /** Live series (label sets) beyond which new series are dropped. Default 10,000. */
  maxSeries?: number;
  /** Services (target_info entries) beyond which spans of new services are dropped. Default 1,000. */
  maxServices?: number;
  /** host.name when the service identity does not carry one. Default: os.hostname(). */
  hostName?: string;
  /** Told how many series (or spans of services over the limit) were dropped. */
  onSeriesDropped?: (count: number) => void;
  /** Clock in milliseconds; tests inject one. */
  now?: () => number;
  /** Series rendered per chunk before yielding to the event loop during a scrape. Default 250. */
  seriesPerChunk?: number;
}

const K8S_LABELS = K8S_RESOURCE_ATTRIBUTES.map((key) => ({ key, label: promLabelName(key) }));

interface ServiceLabels {
  /** The service part of every series label set, in exposition order. */
  readonly labels: Readonly<Record<string, string>>;
  /** Cache-key prefix: equal for two services exactly when their labels are equal. */
  readonly key: string;
  readonly targetInfo: Readonly<Record<string, string>>;
  readonly targetInfoKey: string;
  /**
   * This service's series by the rest of their key, so that a request finds its series
   * without building and hashing the long key (the service's labels) every time.
   */
  readonly recent: Map<string, SeriesEntry<Series>>;
}

type KindFamilies = readonly [HistogramFamilyStore, HistogramFamilyStore, HistogramFamilyStore];

const DURATION = 0;
const REQUEST_BODY_SIZE = 1;
const RESPONSE_BODY_SIZE = 2;
type HistogramIndex = typeof DURATION | typeof REQUEST_BODY_SIZE | typeof RESPONSE_BODY_SIZE;

/**
 * One label set: its duration, request size and response size histograms, each created at its
 * first observation (a client whose request sizes are unknown has no request-size series).
 */
class Series {
  readonly histograms: (HistogramSeries | undefined)[] = [undefined, undefined, undefined];

  constructor(
    private readonly families: KindFamilies,
    private readonly labels: Buffer,
    /** The `recent` map that last cached it, and its key there (deleted when it expires). */
    public recentIn: Map<string, SeriesEntry<Series>>,
    public recentKey: string,
  ) {}

  observe(index: HistogramIndex, value: number): void {
    let histogram = this.histograms[index];
    if (histogram === undefined) {
      histogram = this.families[index].add(this.labels);
      this.histograms[index] = histogram;
    }
    histogram.observe(value);
  }
}

export class PrometheusMetrics {
  readonly registry = new Registry();
  readonly #families: HistogramFamilyStore[] = [];
  readonly #byKind: Record<SpanKind, KindFamilies>;
  readonly #targetInfo: Gauge<string>;
  readonly #targetInfoRefs = new Map<string, number>();
  readonly #series: SeriesTable<Series>;
  readonly #services: ServiceSlots<ServiceLabels>;
  readonly #ttlMs: number;
  readonly #hostName: string;
  readonly #now: () => number;
  readonly #onDropped: (count: number) => void;
  readonly #seriesPerChunk: number;
  #timer: NodeJS.Timeout | undefined;
  #dropped = 0;

  constructor(options: PrometheusMetricsOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 5 * 60_000;
    this.#series = new SeriesTable({ ttlMs: this.#ttlMs, maxSeries: options.maxSeries ?? 10_000 });
    this.#services = new ServiceSlots({
      maxServices: options.maxServices ?? 1_000,
      create: (identity) => this.#serviceLabels(identity),
    });
    this.#hostName = options.hostName ?? hostname();
    this.#now = options.now ?? Date.now;
    this.#onDropped = options.onSeriesDropped ?? (() => undefined);
    this.#seriesPerChunk = options.seriesPerChunk ?? 250;
    this.#byKind = {
      server: this.#kindFamilies(SERVER_HISTOGRAMS),
      client: this.#kindFamilies(CLIENT_HISTOGRAMS),
    };
    this.#targetInfo = new Gauge({
      name: TARGET_INFO,
      help: TARGET_INFO_HELP,
      labelNames: [...TARGET_INFO_LABELS],
      registers: [this.registry],
    });
  }

  /** Series dropped so far because of maxSeries or maxServices. */
  get droppedSeries(): number {
    return this.#dropped;
  }

  /** Live series (label sets). */
  get seriesCount(): number {
    return this.#series.size;
  }

  /** Records one span. Spans marked ignore: "metrics" are skipped. */
  record(span: RequestSpan): void {
    if (span.ignore === "metrics") return;
    const now = this.#now();
    const slot = this.#services.get(span.service, now);
    if (slot === undefined) return this.#drop();
    this.#ensureTargetInfo(slot);
    const method = normalizeMethod(span.method);
    const route = span.route ?? "";
    const shortKey =
      `${span.kind}\u0000${method}\u0000${span.statusCode}` +
      `\u0000${route}\u0000${span.serverAddress}\u0000${span.serverPort}`;
    let entry = slot.state.recent.get(shortKey);
    if (entry === undefined || entry.removed) {
      entry = this.#seriesEntry(span, slot, method, route, shortKey, now);
      if (entry === undefined) return this.#drop();
      slot.state.recent.set(shortKey, entry);
      entry.value.recentIn = slot.state.recent;
      entry.value.recentKey = shortKey;
    } else {
      entry.lastSeenMs = now;
    }
    const series = entry.value;
    series.observe(DURATION, durationSeconds(span));
    if (span.requestBodySize >= 0) series.observe(REQUEST_BODY_SIZE, span.requestBodySize);
    if (span.responseBodySize >= 0) series.observe(RESPONSE_BODY_SIZE, span.responseBodySize);
  }

  /**
   * A process was instrumented: its target_info appears now, and stays (whatever the TTL)
   * until serviceStopped().
   */
  serviceStarted(identity: ServiceIdentity): void {
    const slot = this.#services.get(identity, this.#now());
    if (slot === undefined) return this.#drop();
    slot.pinned = true;
    this.#ensureTargetInfo(slot);
  }

  /**
   * Process `pid` exited: its target_info goes now; its series stay until they expire, so
   * their last values can still be scraped.
   */
  serviceStopped(pid: number): void {
    for (const slot of this.#services.removePid(pid)) this.#releaseTargetInfo(slot);
  }

  /** Starts the TTL sweep timer (unref'ed). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.sweep(), sweepIntervalMs(this.#ttlMs));
    this.#timer.unref();
  }

  /** Stops the sweep timer. Safe to call twice. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Removes the series and services not updated for ttlMs; returns the series removed. */
  sweep(nowMs: number = this.#now()): number {
    const expired = this.#series.expire(nowMs);
    for (const series of expired) {
      for (const histogram of series.histograms) histogram?.family.remove(histogram);
      if (series.recentIn.get(series.recentKey)?.value === series) {
        series.recentIn.delete(series.recentKey);
      }
    }
    for (const slot of this.#services.removeIdle(nowMs - this.#ttlMs)) {
      this.#releaseTargetInfo(slot);
    }
    return expired.length;
  }

  /** The Prometheus text, in chunks, laid out as prom-client lays out a registry. */
  async *collect(): AsyncGenerator<string | Buffer> {
    for (let i = 0; i < this.#families.length; i++) {
      if (i > 0) yield "\n\n";
      yield* this.#families[i]!.text(this.#seriesPerChunk);
    }
    yield "\n\n";
    yield await this.registry.getSingleMetricAsString(TARGET_INFO);
    yield "\n";
  }

  #drop(): void {
    this.#dropped++;
    this.#onDropped(1);
  }

  #kindFamilies(names: KindHistograms): KindFamilies {
    return [
      this.#family(names.duration, DURATION_BUCKETS_SECONDS),
      this.#family(names.requestBodySize, SIZE_BUCKETS_BYTES),
      this.#family(names.responseBodySize, SIZE_BUCKETS_BYTES),
    ];
  }

  #family(name: HistogramName, buckets: readonly number[]): HistogramFamilyStore {
    const family = new HistogramFamilyStore(name.prom, name.help, buckets);
    this.#families.push(family);
    return family;
  }

  /** The series of a label set, from the table or new; undefined when the table is full. */
  #seriesEntry(
    span: RequestSpan,
    slot: ServiceSlot<ServiceLabels>,
    method: string,
    route: string,
    shortKey: string,
    now: number,
  ): SeriesEntry<Series> | undefined {
    const key = `${slot.state.key}\u0000${shortKey}`;
    const known = this.#series.touchEntry(key, now);
    if (known) return known;
    if (this.#series.full) return undefined;
    const series = this.#newSeries(span, slot, method, route, shortKey);
    return this.#series.addEntry(key, now, series);
  }

  #newSeries(
    span: RequestSpan,
    slot: ServiceSlot<ServiceLabels>,
    method: string,
    route: string,
    shortKey: string,
  ): Series {
    const labels: Record<string, string> = {
      [PROM_LABEL.httpRequestMethod]: method,
      [PROM_LABEL.httpResponseStatusCode]: String(span.statusCode),
      [PROM_LABEL.httpRoute]: route,
      [PROM_LABEL.urlScheme]: "http",
      [PROM_LABEL.serverAddress]: span.serverAddress,
      [PROM_LABEL.serverPort]: String(span.serverPort),
      ...slot.state.labels,
    };
    const labelBytes = Buffer.from(formatLabels(labels));
    return new Series(this.#byKind[span.kind], labelBytes, slot.state.recent, shortKey);
  }

  #serviceLabels(identity: ServiceIdentity): ServiceLabels {
    const labels: Record<string, string> = {
      [PROM_LABEL.serviceName]: identity.name,
      [PROM_LABEL.serviceNamespace]: identity.namespace,
      [PROM_LABEL.serviceInstanceId]: identity.instanceId,
    };
    for (const { key, label } of K8S_LABELS) {
      const value = identity.attributes[key];
      if (value !== undefined && value !== "") labels[label] = value;
    }
    const targetInfo = targetInfoLabels(identity, this.#hostName);
    return {
      labels,
      key: JSON.stringify(Object.values(labels)) + JSON.stringify(Object.keys(labels)),
      targetInfo,
      targetInfoKey: formatLabels(targetInfo),
      recent: new Map(),
    };
  }

  #ensureTargetInfo(slot: ServiceSlot<ServiceLabels>): void {
    if (slot.refs > 0) return;
    slot.refs = 1;
    const { targetInfo, targetInfoKey } = slot.state;
    const refs = this.#targetInfoRefs.get(targetInfoKey) ?? 0;
    this.#targetInfoRefs.set(targetInfoKey, refs + 1);
    if (refs === 0) this.#targetInfo.set(targetInfo, 1);
  }

  #releaseTargetInfo(slot: ServiceSlot<ServiceLabels>): void {
    if (slot.refs === 0) return;
    slot.refs = 0;
    const { targetInfo, targetInfoKey } = slot.state;
    const refs = (this.#targetInfoRefs.get(targetInfoKey) ?? 1) - 1;
    if (refs > 0) {
      this.#targetInfoRefs.set(targetInfoKey, refs);
      return;
    }
    this.#targetInfoRefs.delete(targetInfoKey);
    this.#targetInfo.remove(targetInfo);
  }
}
