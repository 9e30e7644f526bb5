import { RE2JS } from "re2js";
import { ConfigError, type ConfigSource } from "./config-error.js";

export const REGEX_ALLOWED =
  "an RE2 regular expression (https://github.com/google/re2/wiki/Syntax)";

/**
 * A user-supplied regular expression, always compiled by RE2 (linear time, no backtracking,
 * so a pattern from a config file or a CRD cannot stall the agent). JS RegExp is never used
 * for user patterns. Matching is unanchored, like Go's MatchString in the reference agent:
 * add ^ and $ to match a whole string.
 */
export class Regex {
  readonly source: string;
  private readonly re: RE2JS;

  private constructor(source: string, re: RE2JS) {
    this.source = source;
    this.re = re;
  }

  /**
   * Compiles `source`, or throws a ConfigError naming `field` (a YAML path or, with source
   * "env", a variable name) with RE2's explanation.
   */
  static compile(source: unknown, field = "regex", origin: ConfigSource = "yaml"): Regex {
    if (typeof source !== "string") {
      throw new ConfigError(field, source, REGEX_ALLOWED, {
        source: origin,
        problem: `value ${JSON.stringify(source) ?? String(source)} is not a string`,
      });
    }
    try {
      return new Regex(source, RE2JS.compile(source));
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new ConfigError(field, source, REGEX_ALLOWED, {
        source: origin,
        problem: `value ${JSON.stringify(source)} is not a valid RE2 regular expression (${reason})`,
        cause,
      });
    }
  }

  /** True when the expression matches anywhere in `s`. */
  test(s: string): boolean {
    return this.re.test(s);
  }

  toString(): string {
    return this.source;
  }

  toJSON(): string {
    return this.source;
  }
}
