import { ConfigError, oneOf } from "./config-error.js";
import { didYouMean } from "./did-you-mean.js";
import { parseDuration } from "./duration.js";
import type { Env } from "./expand-env.js";

/**
 * Typed reads of environment variables; errors name the variable. An empty value counts as
 * unset, as `FOO= beyla-agent` usually means "no value" rather than "the empty string".
 */
export class EnvReader {
  private readonly env: Env;

  constructor(env: Env) {
    this.env = env;
  }

  string(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === "" ? undefined : v;
  }

  int(name: string, min: number, max: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const t = v.trim();
    const n = /^[0-9]+$/.test(t) ? Number(t) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new ConfigError(name, v, `an integer from ${min} to ${max}`, { source: "env" });
    }
    return n;
  }

  duration(name: string, minMs: number): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const ms = parseDuration(v, name, "env");
    if (ms < minMs) {
      throw new ConfigError(name, v, `a duration of at least ${minMs}ms`, { source: "env" });
    }
    return ms;
  }

  /** "true" or "false", in any case. */
  bool(name: string): boolean | undefined {
    const v = this.enumOf(name, ["true", "false"] as const);
    return v === undefined ? undefined : v === "true";
  }

  /** Compared without regard to case: BEYLA_LOG_LEVEL=DEBUG is the documented form. */
  enumOf<T extends string>(name: string, values: readonly T[]): T | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const hit = values.find((x) => x === v.trim().toLowerCase());
    if (hit === undefined) {
      throw new ConfigError(name, v, oneOf(values), {
        source: "env",
        problem: `value ${JSON.stringify(v)} is not allowed${didYouMean(v.trim(), values)}`,
      });
    }
    return hit;
  }
}
