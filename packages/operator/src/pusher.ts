/**
 * Pushes the current selector set to every ready agent: on every new set, when an agent
 * becomes ready, and on resync; one push at a time per agent, a bounded number at once
 * overall, failed pushes retried with backoff. Remembers each agent's last answer (what it
 * applied and selected) for status. A 409 (the agent holds a newer version, e.g. from before
 * an operator restart) is reported so the set can be re-versioned above it.
 */
import { readFile } from "node:fs/promises";
import { readApplyAnswer, requestJson, type ApplyAnswer, type SelectorSet } from "@beyla-ts/shared";
import { agentUrl, type AgentPod } from "./agents.js";
import { backoffDelay, type BackoffOptions } from "./backoff.js";
import { errorText, type Log } from "./logger.js";
import { caBundle, type CaBundle, type ReloadingFiles } from "./tls-reload.js";

export interface PusherOptions {
  /** Projected ServiceAccount token presented to agents; read before each push (it rotates). */
  tokenFile: string;
  /**
   * PEM bundle of the CA that signs the agents' serving certificates. Read again at a push
   * when `caReloadMs` passed since the last check; a bad or partial file keeps the previous
   * bundle (tls-reload.ts).
   */
  caFile?: string;
  /** Default 60 s; 0: checked before every push. */
  caReloadMs?: number;
  insecureSkipVerify?: boolean;
  /** "https" except in tests. */
  scheme?: "https" | "http";
  timeoutMs?: number;
  /** Pushes in flight at once. Default 16. */
  concurrency?: number;
  retry?: BackoffOptions;
  log: Log;
  /** An agent's answer (or failure) changed. */
  onChange: (agent: AgentPod) => void;
  /** An agent refused the set with 409: it holds `answer.appliedVersion`. */
  onConflict: (agent: AgentPod, answer: ApplyAnswer) => void;
}

/** What the operator knows of one agent. */
export interface AgentState {
  agent: AgentPod;
  /** Last answer: the set in force there. */
  answer?: ApplyAnswer;
  /** Last push failure, cleared by a success. */
  error?: string;
}

interface Entry extends AgentState {
  inFlight: boolean;
  /** Push again when the one in flight ends. */
  again: boolean;
  force: boolean;
  failures: number;
  retryTimer?: NodeJS.Timeout;
}

export class Pusher {
  readonly #o: PusherOptions;
  readonly #agents = new Map<string, Entry>();
  #target: SelectorSet | undefined;
  #running = 0;
  #waiting: (() => void)[] = [];
  #stopped = false;
  readonly #ca: ReloadingFiles<CaBundle> | undefined;
  #caCheckedAt = -Infinity;

  constructor(options: PusherOptions) {
    this.#o = options;
    if (options.caFile !== undefined) this.#ca = caBundle(options.caFile, options.log);
  }

  get target(): SelectorSet | undefined {
    return this.#target;
  }

  agents(): AgentState[] {
    return [...this.#agents.values()].map((e) => ({
      agent: e.agent,
      answer: e.answer,
      error: e.error,
    }));
  }

  /** A new set: every ready agent that does not hold it gets it. */
  setTarget(set: SelectorSet): void {
    this.#target = set;
    for (const e of this.#agents.values()) this.#kick(e, false);
  }

  /** An agent Pod appeared or changed; pushes when it is (newly) ready. */
  upsert(agent: AgentPod): void {
    const e = this.#agents.get(agent.key);
    if (e === undefined) {
      const entry: Entry = { agent, inFlight: false, again: false, force: false, failures: 0 };
      this.#agents.set(agent.key, entry);
      this.#kick(entry, true);
      this.#o.onChange(agent);
      return;
    }
    const becameReady = agent.ready && (!e.agent.ready || agent.ip !== e.agent.ip);
    e.agent = agent;
    if (becameReady) {
      // A restarted agent may have lost its set, or keep an old one: push whatever it says.
      e.failures = 0;
      this.#kick(e, true);
    }
    this.#o.onChange(agent);
  }

  remove(key: string): void {
    const e = this.#agents.get(key);
    if (e === undefined) return;
    clearTimeout(e.retryTimer);
    this.#agents.delete(key);
    this.#o.onChange(e.agent);
  }

  /** Pushes to every ready agent even when it holds the set (refreshes process counts). */
  resync(): void {
    for (const e of this.#agents.values()) this.#kick(e, true);
  }

  stop(): void {
    this.#stopped = true;
    for (const e of this.#agents.values()) clearTimeout(e.retryTimer);
  }

  #kick(e: Entry, force: boolean): void {
    const target = this.#target;
    if (this.#stopped || target === undefined || !e.agent.ready) return;
    if (!force && e.answer?.appliedVersion === target.version && e.answer.hash === target.hash) {
      return;
    }
    if (e.inFlight) {
      e.again = true;
      e.force ||= force;
      return;
    }
    clearTimeout(e.retryTimer);
    e.retryTimer = undefined;
    e.inFlight = true;
    void this.#push(e, target);
  }

  async #push(e: Entry, set: SelectorSet): Promise<void> {
    await this.#slot();
    let retry = false;
    try {
      if (this.#agents.get(e.agent.key) !== e || this.#stopped) return;
      const token = (await readFile(this.#o.tokenFile, "utf8")).trim();
      const res = await requestJson({
        method: "PUT",
        url: agentUrl(e.agent, this.#o.scheme ?? "https"),
        body: set,
        token,
        ca: this.#caBundle(),
        insecureSkipVerify: this.#o.insecureSkipVerify,
        timeoutMs: this.#o.timeoutMs ?? 10_000,
      });
      if (res.status === 200 || res.status === 409) {
        e.answer = readApplyAnswer(res.body);
        e.error = undefined;
        e.failures = 0;
        if (res.status === 409) {
          this.#o.log.info("push: agent holds a newer set", {
            agent: e.agent.key,
            pushed: set.version,
            held: e.answer.appliedVersion,
          });
          this.#o.onConflict(e.agent, e.answer);
        }
      } else {
        throw new Error(`agent answered ${res.status}: ${res.text.slice(0, 300)}`);
      }
    } catch (err) {
      e.error = `push of version ${set.version} to ${e.agent.node} failed: ${errorText(err)}`;
      e.failures++;
      retry = true;
      this.#o.log.warn("push failed", { agent: e.agent.key, attempt: e.failures, error: err });
    } finally {
      this.#release();
      e.inFlight = false;
    }
    this.#o.onChange(e.agent);
    if (this.#agents.get(e.agent.key) !== e) return;
    if (e.again) {
      e.again = false;
      const force = e.force;
      e.force = false;
      this.#kick(e, force);
    } else if (retry && !this.#stopped) {
      const delay = backoffDelay(e.failures, this.#o.retry ?? { baseMs: 500, maxMs: 30_000 });
      e.retryTimer = setTimeout(() => this.#kick(e, true), delay);
      e.retryTimer.unref();
    }
  }

  /** The CA bundle in force; throws (failing the push) while none is usable. */
  #caBundle(): Buffer | undefined {
    const ca = this.#ca;
    if (ca === undefined) return undefined;
    const now = Date.now();
    if (ca.current === undefined || now - this.#caCheckedAt >= (this.#o.caReloadMs ?? 60_000)) {
      this.#caCheckedAt = now;
      ca.poll();
    }
    const current = ca.current;
    if (current === undefined) {
      throw new Error(`no usable CA bundle in ${this.#o.caFile ?? ""}: ${ca.lastError ?? "?"}`);
    }
    return current.pem;
  }

  async #slot(): Promise<void> {
    if (this.#running < (this.#o.concurrency ?? 16)) {
      this.#running++;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) next();
    else this.#running--;
  }
}
