import {
  detectPidNamespace,
  HttpCapture,
  type HttpCaptureOptions,
  type PidFilterInfo,
} from "@beyla-ts/ebpf-native";
import {
  type AgentConfig,
  hasK8sCriteria,
  RouteMatcher,
  type ServiceSelector,
} from "@beyla-ts/shared";
import { ProcessWatcher, type SelectedProcess } from "./discovery/process-watcher.js";
import { AgentControl } from "./agent-control.js";
import { createExporters } from "./agent-exporters.js";
import type { ExporterHub } from "./export/exporter-hub.js";
import type { ProcessExport } from "./export/export-targets.js";
import type { ServiceIdentity } from "./request-span.js";
import { ResourceExports } from "./export/resource-exports.js";
import type { ParsedResource, RejectedResource } from "./control/selector-state.js";
import { buildPolicies, decorationKey, type ResourcePolicy } from "./resource-policies.js";
import type { KubeEnvironment } from "./kube/kube-client.js";
import type { KubeMetadata } from "./kube/kube-metadata.js";
import { startKubeMetadata } from "./kube/start-kube.js";
import { HttpPipeline } from "./pipeline/http-pipeline.js";
import { ProvisionalHold } from "./pipeline/provisional-hold.js";
import { ServiceRegistry } from "./pipeline/service-registry.js";
import type { Logger } from "./logger.js";

/** How long a removed process's identity is kept for its records still in flight. */
const REMOVAL_GRACE_MS = 2000;
const STATS_INTERVAL_MS = 1000;
const MAX_PROCESSES = 16384;
/** Listen events kept while discovery starts; more are left to its first scan. */
const MAX_EARLY_LISTENS = 1024;

/**
 * The node agent on one host: discovery picks processes, the kernel programs capture their
 * requests, the pipeline turns records into spans, the exporters publish them.
 */
export class Agent {
  private capture: HttpCapture | undefined;
  private watcher: ProcessWatcher | undefined;
  private pipeline: HttpPipeline | undefined;
  /** What each BeylaInstrumentation decides for its processes, by the selectors it owns. */
  private policies = new Map<ServiceSelector, ResourcePolicy>();
  /** How each instrumented process is decorated and exported now. */
  private readonly applied = new Map<number, AppliedPolicy>();
  private resourceExports: ResourceExports | undefined;
  /** Records of processes captured since their listen(), until discovery decides. */
  private readonly hold = new ProvisionalHold();
  /** Listen events before discovery started. */
  private readonly earlyListens = new Map<number, number>();
  private kube: KubeMetadata | undefined;
  private control: AgentControl | undefined;
  private exporters: ExporterHub | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private ready = false;
  private readonly services: ServiceRegistry;

  constructor(
    private readonly config: AgentConfig,
    private readonly log: Logger,
    private readonly captureOptions: HttpCaptureOptions = {},
    /** NODE_NAME, KUBECONFIG, ... as cli.ts read them from the environment. */
    private readonly kubeEnv: KubeEnvironment = {},
  ) {
    this.services = new ServiceRegistry(config);
  }

  /** Starts everything; throws (with a cause) when capture cannot start. */
  async start(): Promise<void> {
    // Discovery reads /proc: the kernel programs must use the PIDs of its namespace.
    const procNamespace = detectPidNamespace();
    const capture = new HttpCapture({
      provisionalOnListen: true,
      selfPid: procNamespace.selfPid,
      hooks: this.config.captureHooks,
      ...this.captureOptions,
      pidNamespace: this.captureOptions.pidNamespace ?? procNamespace,
    });
    const attached = capture.open();
    this.capture = capture;
    this.log.info("eBPF programs attached", {
      programs: attached.length,
      hooks: capture.hooks,
      ...pidFilterFields(capture.pidFilter()),
    });

    this.exporters = await createExporters(this.config, () => this.ready);
    await this.exporters.start();

    const pipeline = new HttpPipeline(this.services, new RouteMatcher(this.config.routes), [
      this.exporters,
    ]);
    this.pipeline = pipeline;
    capture.start(
      (record) => {
        if (!this.services.get(record.pid) && this.hold.hold(record)) return;
        pipeline.handle(record);
      },
      // A process started listening: the kernel captures it provisionally, and discovery
      // looks at it now, not at its next poll.
      {
        onListen: (listen) => this.listened(listen.pid, listen.port, procNamespace.selfPid),
        // exec() changes what discovery would match: it looks at the process again
        onExec: (pid) => this.watcher?.execed(pid),
      },
    );
    this.startStats(pipeline);

    this.kube = await startKubeMetadata({
      config: this.config.kubernetes,
      env: this.kubeEnv,
      log: this.log,
    });
    this.warnUnusableK8sSelectors();
    const watcher = new ProcessWatcher(
      {
        selectors: this.config.discovery.services,
        exclude: this.config.discovery.excludeServices,
        pollIntervalMs: this.config.discovery.pollIntervalMs,
        selfPid: procNamespace.selfPid,
        maxProcesses: MAX_PROCESSES,
        kube: this.kube,
      },
      {
        added: (p) => this.instrument(p),
        removed: (p) => this.forget(p),
        updated: (p) => this.redecorate(p),
        examined: (pid, selected) => this.decided(pid, selected),
        error: (e) => this.log.warn("process discovery failed", { error: e }),
      },
    );
    this.watcher = watcher;
    for (const [pid, port] of this.earlyListens) watcher.examine(pid, port);
    this.earlyListens.clear();
    this.kube?.onPodChange(() => watcher.kubeChanged());
    await watcher.start();
    if (this.config.control) {
      this.control = new AgentControl({
        config: this.config.control,
        kubeEnv: this.kubeEnv,
        staticSelectors: this.config.discovery.services,
        staticExclude: this.config.discovery.excludeServices,
        watcher,
        log: this.log,
        prepare: (resources) => this.preparePolicies(resources),
        onSelectionApplied: () => this.refreshPolicies(),
      });
      await this.control.start();
    }
    this.ready = true;
    this.log.info("agent ready", {
      instrumented: this.services.size(),
      ...pidFilterFields(capture.pidFilter()),
    });
  }

  /**
   * A process started listening: the kernel captures it provisionally from now on, and
   * discovery looks at it at once instead of at its next poll.
   */
  private listened(pid: number, port: number, selfPid: number): void {
    if (pid === selfPid) return;
    if (!this.watcher && this.earlyListens.size >= MAX_EARLY_LISTENS) {
      this.capture?.unselect(pid); // not provisional after all: the first scan decides
      return;
    }
    this.hold.listened(pid);
    if (this.watcher) this.watcher.examine(pid, port);
    else this.earlyListens.set(pid, port);
  }

  /**
   * Discovery decided on a process captured provisionally since its listen(): its records
   * so far are replayed (selected), or dropped and its capture stopped (not selected).
   */
  private decided(pid: number, selected: boolean): void {
    const kept = this.hold.decide(pid, selected);
    if (!selected) {
      this.capture?.unselect(pid);
      return;
    }
    for (const record of kept) this.pipeline?.handle(record);
  }

  /**
   * A new selector set: builds its resources' policies (setting up the export destinations
   * they name) before discovery applies its selectors. Returns the resources refused here.
   */
  private async preparePolicies(resources: readonly ParsedResource[]): Promise<RejectedResource[]> {
    const exporters = this.exporters;
    if (!exporters) return [];
    this.resourceExports ??= new ResourceExports({
      hub: exporters,
      ttlMs: this.config.metricsTtlMs,
      maxSeries: this.config.maxSeries,
      ...(this.config.otelMetrics ? { metricsIntervalMs: this.config.otelMetrics.intervalMs } : {}),
      ...(this.config.otelTraces ? { tracesDelayMs: this.config.otelTraces.intervalMs } : {}),
      ...(this.config.prometheus ? { agentPrometheus: this.config.prometheus } : {}),
    });
    const built = await buildPolicies(resources, this.resourceExports);
    this.policies = built.bySelector;
    for (const line of built.unsupported) this.log.warn("BeylaInstrumentation: " + line);
    for (const r of built.rejected) {
      this.log.warn("BeylaInstrumentation refused on this node", { ...r });
    }
    return built.rejected;
  }

  /**
   * The set is in force in discovery: every selected process follows the policy of the
   * selector that now selects it (its identity and series start over when its decoration or
   * destination changed), and destinations no resource names any more are closed.
   */
  private async refreshPolicies(): Promise<void> {
    for (const p of this.watcher?.processes() ?? []) {
      const policy = this.policies.get(p.selector);
      const before = this.applied.get(p.pid);
      const changed =
        !before ||
        before.export !== this.exportOf(policy) ||
        before.decoration !== decorationKey(policy?.decoration);
      if (!changed) {
        this.pipeline?.setPolicy(p.pid, policy);
        continue;
      }
      const service = this.register(p, policy);
      this.log.info("process follows new resource settings", {
        pid: p.pid,
        resource: policy?.resource ?? "none",
        service: service.name,
      });
    }
    const inUse = [...new Set(this.policies.values())].map((p) => p.exportRequest);
    await this.resourceExports?.retain(inUse);
  }

  private exportOf(policy: ResourcePolicy | undefined): ProcessExport | undefined {
    return policy?.sink ?? this.exporters;
  }

  /** Gives `p` its identity and destination under `policy`, leaving the ones it had. */
  private register(p: SelectedProcess, policy: ResourcePolicy | undefined): ServiceIdentity {
    this.applied.get(p.pid)?.export?.processRemoved(p.pid);
    const service = this.services.add(p, policy?.decoration);
    this.pipeline?.setPolicy(p.pid, policy);
    const destination = this.exportOf(policy);
    destination?.processAdded(service);
    this.applied.set(p.pid, { export: destination, decoration: decorationKey(policy?.decoration) });
    return service;
  }

  private instrument(p: SelectedProcess): void {
    const service = this.register(p, this.policies.get(p.selector));
    try {
      this.capture?.select(p.pid);
    } catch (e) {
      this.log.error("cannot select process", { pid: p.pid, error: e });
      return;
    }
    this.log.info("instrumenting process", {
      pid: p.pid,
      exe: p.exePath,
      ports: p.openPorts.join(","),
      service: service.name,
      ...(p.kube ? { namespace: p.kube.info.namespace, pod: p.kube.info.podName } : {}),
    });
  }

  /** The pod of an instrumented process became known: its series start over with k8s labels. */
  private redecorate(p: SelectedProcess): void {
    const service = this.register(p, this.policies.get(p.selector));
    this.log.info("process decorated with its pod", {
      pid: p.pid,
      namespace: p.kube?.info.namespace,
      pod: p.kube?.info.podName,
      service: service.name,
    });
  }

  /** Selectors with k8s_* criteria match nothing when Kubernetes metadata is off. */
  private warnUnusableK8sSelectors(): void {
    if (this.kube) return;
    const { services, excludeServices } = this.config.discovery;
    const k8sOnly = [...services, ...excludeServices].filter(hasK8sCriteria);
    if (k8sOnly.length > 0) {
      this.log.warn(
        "discovery selectors with k8s_* criteria match nothing: Kubernetes metadata is off " +
          "(attributes.kubernetes.enable)",
        { selectors: k8sOnly.length },
      );
    }
  }

  private forget(p: SelectedProcess): void {
    this.capture?.unselect(p.pid);
    this.log.info("stopped instrumenting process", { pid: p.pid, exe: p.exePath });
    const timer = setTimeout(() => {
      // Selected again meanwhile (its pod relabelled back): it is registered anew, keep that.
      if (this.watcher?.isSelected(p.pid)) return;
      this.services.remove(p.pid);
      this.pipeline?.setPolicy(p.pid, undefined);
      this.applied.get(p.pid)?.export?.processRemoved(p.pid);
      this.applied.delete(p.pid);
    }, REMOVAL_GRACE_MS);
    timer.unref();
  }

  private startStats(pipeline: HttpPipeline): void {
    this.statsTimer = setInterval(() => {
      try {
        const kernel = this.capture?.stats();
        this.exporters?.updateInternal({
          recordsReceived: pipeline.counts.received,
          recordsDropped: kernel?.ringbufDrops,
          parseFailures: pipeline.counts.parseFailures,
          instrumentedProcesses: this.services.size(),
          discarded: {
            unanswered: kernel?.unanswered ?? 0,
            connection_table_full: kernel?.connectionsFull ?? 0,
            unknown_process: pipeline.counts.unknownProcess,
            not_selected: this.hold.rejected,
            provisional_overflow: this.hold.overflow,
            ignored: pipeline.counts.ignored,
          },
          discoveryDropped: {
            process_limit: this.watcher?.overLimit ?? 0,
            hints_full: this.watcher?.hintsDropped ?? 0,
          },
        });
      } catch (e) {
        this.log.warn("reading kernel statistics failed", { error: e });
      }
    }, STATS_INTERVAL_MS);
    this.statsTimer.unref();
  }

  /** Stops in order: discovery, timers, capture (drains what is left), exporters (flush). */
  async stop(): Promise<void> {
    this.ready = false;
    await this.control?.stop();
    if (this.capture) {
      try {
        this.log.debug("kernel statistics at stop", { ...this.capture.stats() });
      } catch {
        // already closed
      }
    }
    this.watcher?.stop();
    await this.kube?.stop();
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.capture?.close();
    await this.resourceExports?.shutdown();
    await this.exporters?.shutdown();
  }
}

/** What a process was last registered with, to tell when a new set changes it. */
interface AppliedPolicy {
  export: ProcessExport | undefined;
  decoration: string;
}

/** Log fields saying which PIDs the kernel programs use (and the namespace's level once known). */
function pidFilterFields(f: PidFilterInfo): Record<string, unknown> {
  if (f.mode === "initial") return { pid_filter: f.mode };
  return {
    pid_filter: f.mode,
    pid_namespace: f.ino,
    pid_namespace_level: f.level ?? "unknown",
  };
}
