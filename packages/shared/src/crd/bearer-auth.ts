/**
 * Bearer-token authentication of control-protocol calls: a review function (a Kubernetes
 * TokenReview in a cluster) says whose token it is, and only one username is let in. Results
 * are cached briefly, keyed by a hash of the token (never the token itself), so a burst of
 * calls costs one review.
 */
import { createHash } from "node:crypto";

export interface TokenReviewResult {
  authenticated: boolean;
  /** e.g. system:serviceaccount:beyla-system:beyla-operator */
  username?: string;
  /** The API server's reason when not authenticated. */
  error?: string;
}

/** Asks who a token belongs to; rejects when the authority cannot say. */
export type TokenReviewFn = (token: string) => Promise<TokenReviewResult>;

/** `system:serviceaccount:<namespace>:<name>`, the username of a ServiceAccount's tokens. */
export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

export type AuthVerdict =
  { ok: true; username: string } | { ok: false; status: 401 | 403 | 503; reason: string };

export interface BearerAuthOptions {
  review: TokenReviewFn;
  /** The only username let in, e.g. serviceAccountUsername("beyla-system", "beyla-operator"). */
  allowedUsername: string;
  /** How long a review is trusted. Default 30 s; a refusal is kept at most 5 s. */
  ttlMs?: number;
  /** Bound of the cache. Default 256 tokens. */
  maxEntries?: number;
  now?: () => number;
}

interface CacheEntry {
  expires: number;
  result: Promise<TokenReviewResult>;
}

const DENIED_TTL_MS = 5_000;

/** Checks `Authorization: Bearer` headers against one ServiceAccount, with a bounded cache. */
export class BearerAuth {
  readonly #options: BearerAuthOptions;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #now: () => number;

  constructor(options: BearerAuthOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Number of cached reviews (for tests and metrics). */
  get cached(): number {
    return this.#cache.size;
  }

  async check(authorization: string | undefined): Promise<AuthVerdict> {
    const match = /^Bearer +(\S+)\s*$/i.exec(authorization ?? "");
    if (match === null) return { ok: false, status: 401, reason: "a bearer token is required" };
    let result: TokenReviewResult;
    try {
      result = await this.#review(match[1] ?? "");
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : String(cause);
      return { ok: false, status: 503, reason: `token review failed: ${why}` };
    }
    if (!result.authenticated || result.username === undefined) {
      return { ok: false, status: 401, reason: "the token is not valid" };
    }
    if (result.username !== this.#options.allowedUsername) {
      return {
        ok: false,
        status: 403,
        reason: `${result.username} is not ${this.#options.allowedUsername}`,
      };
    }
    return { ok: true, username: result.username };
  }

  #review(token: string): Promise<TokenReviewResult> {
    const key = createHash("sha256").update(token).digest("hex");
    const now = this.#now();
    const hit = this.#cache.get(key);
    if (hit !== undefined && hit.expires > now) return hit.result;
    this.#cache.delete(key);
    const ttl = this.#options.ttlMs ?? 30_000;
    const result = this.#options.review(token);
    const entry: CacheEntry = { expires: now + ttl, result };
    this.#cache.set(key, entry);
    this.#evict(now);
    result.then(
      (r) => {
        if (!r.authenticated) entry.expires = Math.min(entry.expires, now + DENIED_TTL_MS);
      },
      // The API server could not answer: do not remember that.
      () => {
        if (this.#cache.get(key) === entry) this.#cache.delete(key);
      },
    );
    return result;
  }

  #evict(now: number): void {
    const max = this.#options.maxEntries ?? 256;
    if (this.#cache.size <= max) return;
    for (const [k, e] of this.#cache) {
      if (e.expires <= now) this.#cache.delete(k);
    }
    // Still too many: drop the oldest (Map keeps insertion order).
    for (const k of this.#cache.keys()) {
      if (this.#cache.size <= max) break;
      this.#cache.delete(k);
    }
  }
}
