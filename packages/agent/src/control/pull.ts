/**
 * The agent's pull at start: GET /v1/selectors on the operator, with the agent's
 * ServiceAccount token, so a node that starts while the operator is busy elsewhere gets its
 * selectors at once. Pushes from the operator remain the normal path.
 */
import { readFile } from "node:fs/promises";
import { readSelectorSet, type SelectorSet } from "@beyla-ts/shared";
import { requestJson } from "@beyla-ts/shared";

export interface PullOptions {
  /** e.g. https://beyla-operator.beyla-system.svc:9443/v1/selectors */
  url: string;
  /** Projected ServiceAccount token of the agent; read at every attempt (it rotates). */
  tokenFile: string;
  /** PEM bundle of the CA that signs the operator's serving certificate. */
  caFile?: string;
  insecureSkipVerify?: boolean;
  /** Per attempt. Default 5 s. */
  timeoutMs?: number;
  /** Default 8 (about 40 s with the default delays). */
  attempts?: number;
  /** First delay between attempts, doubled each time up to 8 s. Default 1 s. */
  retryDelayMs?: number;
  /** Asked before each retry: true stops (e.g. a push arrived meanwhile). */
  done?: () => boolean;
}

const MAX_RETRY_DELAY_MS = 8000;

/** The operator has no set to give yet (still syncing, or not the leader): try again later. */
export class NoSelectorSetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NoSelectorSetError";
  }
}

/**
 * Fetches the operator's current selector set (hash checked). Retries transient failures
 * (network, 5xx, 503 from a replica that is not the leader); rejects with the last error,
 * its cause kept, when every attempt failed.
 */
export async function pullOnce(options: PullOptions): Promise<SelectorSet> {
  const attempts = options.attempts ?? 8;
  let delay = options.retryDelayMs ?? 1000;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) {
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
      if (options.done?.() === true) throw new PullNotNeededError();
    }
    try {
      return await attempt(options);
    } catch (err) {
      last = err;
      if (!isTransient(err)) break;
    }
  }
  throw new Error(`pull selector set from ${options.url}`, { cause: last });
}

async function attempt(options: PullOptions): Promise<SelectorSet> {
  const token = (await readFile(options.tokenFile, "utf8")).trim();
  const ca = options.caFile === undefined ? undefined : await readFile(options.caFile);
  const res = await requestJson({
    method: "GET",
    url: options.url,
    token,
    ca,
    insecureSkipVerify: options.insecureSkipVerify,
    timeoutMs: options.timeoutMs ?? 5000,
    // Behind the operator's Service, a replica that is not the leader answers 503: each
    // attempt connects anew so that the Service can pick another replica.
    newConnection: true,
  });
  if (res.status === 200) return readSelectorSet(res.body);
  const why = typeof res.body === "object" && res.body !== null ? res.text : res.text.slice(0, 200);
  if (res.status === 503 || res.status === 404) {
    throw new NoSelectorSetError(`operator answered ${res.status}: ${why}`);
  }
  throw new HttpStatusError(res.status, `operator answered ${res.status}: ${why}`);
}

/** `done()` said the pull is no longer needed. */
export class PullNotNeededError extends Error {
  constructor() {
    super("a selector set arrived meanwhile");
    this.name = "PullNotNeededError";
  }
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpStatusError";
  }
}

function isTransient(err: unknown): boolean {
  if (err instanceof NoSelectorSetError) return true;
  if (err instanceof HttpStatusError) return err.status >= 500 || err.status === 429;
  // Malformed sets are not transient; network errors are.
  return !(err instanceof Error && err.message.startsWith("selector set:"));
}
