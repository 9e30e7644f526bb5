/**
 * The selector set in force on this node, and the ordering rules of the control protocol
 * (docs/control-protocol.md): an older version is refused, the same version must carry the
 * same content, a newer version with unchanged content is adopted without re-applying (no
 * probe is detached and re-attached for a version bump), and applies never overlap.
 */
import {
  ConfigError,
  parseInstrumentationSpec,
  type ApplyAnswer,
  type InstrumentationSpec,
  type SelectedCount,
  type SelectorSet,
  type SelectorSetResource,
} from "@beyla-ts/shared";

/** One resource of a set, parsed with the shared schema (source "crd"). */
export interface ParsedResource {
  resource: SelectorSetResource;
  spec: InstrumentationSpec;
}

/** A resource this agent could not parse (version skew with the operator). */
export interface RejectedResource {
  namespace: string;
  name: string;
  message: string;
}

/** What the apply callback reports: per resource, how many processes it selects here. */
export interface ApplyResult {
  selected: SelectedCount[];
  /** Resources that parsed but that this agent cannot honour (e.g. an export it cannot set up). */
  rejected?: RejectedResource[];
}

/**
 * Puts a set in force (hands the selectors to discovery). Receives the resources that parsed;
 * a throw leaves the previous set in force.
 */
export type ApplyFn = (
  set: SelectorSet,
  resources: ParsedResource[],
) => ApplyResult | Promise<ApplyResult>;

/** Answer to PUT and GET /v1/selectors; `rejected` only when some resource did not parse. */
export interface ControlAnswer extends ApplyAnswer {
  rejected?: RejectedResource[];
}

/** The offered set is older than (or conflicts with) the one in force: HTTP 409. */
export class VersionConflictError extends Error {
  readonly answer: ControlAnswer;
  constructor(message: string, answer: ControlAnswer) {
    super(message);
    this.name = "VersionConflictError";
    this.answer = answer;
  }
}

export interface SelectorStateOptions {
  node: string;
  apply: ApplyFn;
  /** Fresh per-resource counts for answers between applies; default: those of the last apply. */
  selected?: () => SelectedCount[];
}

export class SelectorState {
  readonly #options: SelectorStateOptions;
  #current: SelectorSet | undefined;
  #selected: SelectedCount[] = [];
  #rejected: RejectedResource[] = [];
  /** Tail of the chain that serialises offers. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: SelectorStateOptions) {
    this.#options = options;
  }

  /** The set in force, if any. */
  get current(): SelectorSet | undefined {
    return this.#current;
  }

  /** The answer for the set in force (version 0 and an empty hash before any set). */
  answer(): ControlAnswer {
    const selected = this.#current === undefined ? [] : this.#freshSelected();
    const answer: ControlAnswer = {
      appliedVersion: this.#current?.version ?? 0,
      hash: this.#current?.hash ?? "",
      node: this.#options.node,
      selected,
    };
    if (this.#rejected.length > 0) answer.rejected = this.#rejected;
    return answer;
  }

  /**
   * Offers a set (from a push or a pull); resolves with the answer, rejects with a
   * VersionConflictError when it is older than the set in force or conflicts with it, or with
   * the apply callback's error.
   */
  offer(set: SelectorSet): Promise<ControlAnswer> {
    const run = this.#queue.then(() => this.#offerNow(set));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #offerNow(set: SelectorSet): Promise<ControlAnswer> {
    const current = this.#current;
    if (current !== undefined) {
      if (set.version < current.version) {
        throw new VersionConflictError(
          `version ${set.version} is older than version ${current.version} in force`,
          this.answer(),
        );
      }
      if (set.hash === current.hash) {
        // Same content: adopt the (possibly higher) version without re-applying.
        this.#current = { ...current, version: set.version };
        return this.answer();
      }
      if (set.version === current.version) {
        throw new VersionConflictError(
          `version ${set.version} is in force with other content (${current.hash})`,
          this.answer(),
        );
      }
    }
    const parsed: ParsedResource[] = [];
    const rejected: RejectedResource[] = [];
    for (const resource of set.resources) {
      try {
        const spec = parseInstrumentationSpec(resource.spec, {
          namespace: resource.namespace,
          name: resource.name,
          clusterWide: resource.clusterWide,
        });
        parsed.push({ resource, spec });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        rejected.push({ namespace: resource.namespace, name: resource.name, message: err.message });
      }
    }
    const result = await this.#options.apply(set, parsed);
    this.#current = set;
    this.#selected = result.selected;
    this.#rejected = [...rejected, ...(result.rejected ?? [])];
    return this.answer();
  }

  #freshSelected(): SelectedCount[] {
    const fresh = this.#options.selected;
    if (fresh === undefined) return this.#selected;
    try {
      return fresh();
    } catch {
      return this.#selected;
    }
  }
}
