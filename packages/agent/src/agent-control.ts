import type { ControlConfig, SelectedCount, ServiceSelector } from "@beyla-ts/shared";
import type { ControlServer } from "./control/control-server.js";
import { NoSelectorSetError, PullNotNeededError, pullOnce } from "./control/pull.js";
import type { ApplyResult, ParsedResource, RejectedResource } from "./control/selector-state.js";
import type { ProcessWatcher } from "./discovery/process-watcher.js";
import type { KubeEnvironment } from "./kube/kube-config-source.js";
import { resolveNodeName } from "./kube/node-name.js";
import type { Logger } from "./logger.js";

export interface AgentControlOptions {
  config: ControlConfig;
  kubeEnv: KubeEnvironment;
  /** The selection from the agent's own configuration, always in force. */
  staticSelectors: ServiceSelector[];
  staticExclude: ServiceSelector[];
  watcher: ProcessWatcher;
  log: Logger;
  /**
   * Before each new set goes to discovery: sets up what its resources decide beyond
   * selection (routes, metrics, decoration, export), so that processes they select get it
   * at once. Returns the resources it cannot honour here; those select nothing.
   */
  prepare?(resources: readonly ParsedResource[]): Promise<RejectedResource[]>;
  /** After each new set is in force in discovery. */
  onSelectionApplied?(): Promise<void>;
}

/**
 * The operator's side door into discovery: the control endpoint receives selector sets, and
 * each set's selectors are added to the agent's own configuration's. The answer counts, per
 * resource, the processes its selectors selected.
 */
export class AgentControl {
  private server: ControlServer | undefined;
  /** Which resource each pushed selector came from. */
  private owners = new Map<ServiceSelector, { namespace: string; name: string }>();
  private resources: { namespace: string; name: string }[] = [];
  private stopped = false;

  constructor(private readonly options: AgentControlOptions) {}

  /**
   * Listens, then pulls the set in force from the operator in the background (retried for
   * about 40 s, until a push arrives; failure is logged, not fatal).
   */
  async start(): Promise<number> {
    const { config, kubeEnv, log } = this.options;
    // Loaded on demand: fastify is heavy, and so is @kubernetes/client-node when
    // kube/open-kube-api.ts needs it.
    const { openKubeApi } = await import("./kube/open-kube-api.js");
    const { ControlServer } = await import("./control/control-server.js");
    const kube = await openKubeApi(kubeEnv);
    if (!kube) {
      throw new Error(
        "BEYLA_CONTROL_PORT is set but no Kubernetes API connection is configured: the control endpoint checks the operator's token with a TokenReview",
      );
    }
    this.server = new ControlServer({
      port: config.port,
      ...(config.tlsCertFile && config.tlsKeyFile
        ? { tls: { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile } }
        : {}),
      node: resolveNodeName(kubeEnv.nodeName),
      review: kube.tokenReview([config.audience]),
      allowedUsername: config.operatorUsername,
      apply: (_set, resources) => this.apply(resources),
      selected: () => this.selected(),
      log,
    });
    const port = await this.server.listen();
    log.info("control endpoint listening", { port });
    void this.pull(); // never rejects: its failures are logged
    return port;
  }

  private async pull(): Promise<void> {
    const { config, log } = this.options;
    if (!config.operatorUrl || !config.tokenFile || !this.server) return;
    try {
      const set = await pullOnce({
        url: config.operatorUrl,
        tokenFile: config.tokenFile,
        ...(config.caFile ? { caFile: config.caFile } : {}),
        insecureSkipVerify: config.insecureSkipVerify,
        done: () => this.stopped || this.server?.current !== undefined,
      });
      if (this.stopped) return;
      await this.server.offer(set);
      log.info("selector set pulled from the operator", { version: set.version });
    } catch (e) {
      if (e instanceof PullNotNeededError) return;
      const cause = e instanceof Error ? e.cause : undefined;
      const level = cause instanceof NoSelectorSetError ? "info" : "warn";
      log[level]("no selector set pulled at start; waiting for a push", { error: e });
    }
  }

  private async apply(all: ParsedResource[]): Promise<ApplyResult> {
    const { staticSelectors, staticExclude, watcher } = this.options;
    // Before the selection: processes the new set selects get their resource's policy at once.
    const rejected = (await this.options.prepare?.(all)) ?? [];
    const refused = new Set(rejected.map((r) => `${r.namespace}/${r.name}`));
    const resources = all.filter(
      ({ resource }) => !refused.has(`${resource.namespace}/${resource.name}`),
    );
    const owners = new Map<ServiceSelector, { namespace: string; name: string }>();
    const services = [...staticSelectors];
    const exclude = [...staticExclude];
    for (const { resource, spec } of resources) {
      const owner = { namespace: resource.namespace, name: resource.name };
      for (const selector of spec.services) {
        owners.set(selector, owner);
        services.push(selector);
      }
      exclude.push(...spec.excludeServices);
    }
    this.owners = owners;
    this.resources = resources.map(({ resource }) => ({
      namespace: resource.namespace,
      name: resource.name,
    }));
    await watcher.setSelectors(services, exclude);
    // After: processes selected before are now under the new set's selectors.
    await this.options.onSelectionApplied?.();
    return { selected: this.selected(), ...(rejected.length > 0 ? { rejected } : {}) };
  }

  private selected(): SelectedCount[] {
    const counts = new Map<string, SelectedCount>();
    for (const r of this.resources) {
      counts.set(`${r.namespace}/${r.name}`, { ...r, processes: 0 });
    }
    for (const proc of this.options.watcher.processes()) {
      const owner = this.owners.get(proc.selector);
      if (owner) counts.get(`${owner.namespace}/${owner.name}`)!.processes++;
    }
    return [...counts.values()];
  }

  async stop(): Promise<void> {
    // A pull still retrying gives up at its next attempt (not awaited: it may be sleeping).
    this.stopped = true;
    await this.server?.close();
  }
}
