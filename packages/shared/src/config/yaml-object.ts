import { ConfigError, oneOf } from "./config-error.js";
import { didYouMean } from "./did-you-mean.js";
import { parseDuration } from "./duration.js";

/**
 * A YAML mapping being read, with the path of the field it came from, so that every error
 * names e.g. `discovery.services[1].open_ports`. `null` (an empty `key:`) reads as absent.
 */
export class YamlObject {
  readonly path: string;
  private readonly value: Readonly<Record<string, unknown>>;

  private constructor(value: Readonly<Record<string, unknown>>, path: string) {
    this.value = value;
    this.path = path;
  }

  /** Wraps a mapping; `null`/`undefined` become an empty one; anything else is an error. */
  static from(value: unknown, path: string): YamlObject {
    if (value === null || value === undefined) return new YamlObject({}, path);
    if (!isPlainObject(value)) {
      throw new ConfigError(
        path === "" ? "(document)" : path,
        value,
        "a mapping of keys to values",
        {
          problem: `value ${describe(value)} is not a mapping`,
        },
      );
    }
    return new YamlObject(value, path);
  }

  /** `parent.key`, or `key` at the top level. */
  fieldPath(key: string): string {
    return this.path === "" ? key : `${this.path}.${key}`;
  }

  keys(): string[] {
    return Object.keys(this.value);
  }

  has(key: string): boolean {
    const v = this.value[key];
    return v !== undefined && v !== null;
  }

  raw(key: string): unknown {
    const v = this.value[key];
    return v === null ? undefined : v;
  }

  /**
   * Fails on the first key that is neither in `known` nor in `ignored`; for ignored keys (the
   * reference agent's options this agent does not implement) adds a warning instead.
   */
  checkKeys(known: readonly string[], ignored: readonly string[], warnings: string[]): void {
    for (const key of this.keys()) {
      if (known.includes(key)) continue;
      if (ignored.includes(key)) {
        warnings.push(
          `config: field "${this.fieldPath(key)}" is an option of the reference agent that this agent does not implement; ignored`,
        );
        continue;
      }
      throw new ConfigError(this.fieldPath(key), this.value[key], oneOf(known), {
        problem: `unknown key${didYouMean(key, known)}`,
      });
    }
  }

  string(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== "string") throw this.typeError(key, v, "a string");
    return v;
  }

  /** A string field that also takes a YAML number or boolean and reads it as text. */
  text(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    throw this.typeError(key, v, "a string");
  }

  bool(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") throw this.typeError(key, v, "true or false");
    return v;
  }

  int(key: string, min: number, max: number): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    const allowed = `an integer from ${min} to ${max}`;
    if (typeof v !== "number" || !Number.isInteger(v)) throw this.typeError(key, v, allowed);
    if (v < min || v > max) throw new ConfigError(this.fieldPath(key), v, allowed);
    return v;
  }

  /** A duration string, in milliseconds; must be at least `minMs`. */
  duration(key: string, minMs: number): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== "string") {
      throw this.typeError(key, v, 'a duration string such as "500ms" or "5m"');
    }
    const ms = parseDuration(v, this.fieldPath(key));
    if (ms < minMs) {
      throw new ConfigError(this.fieldPath(key), v, `a duration of at least ${minMs}ms`);
    }
    return ms;
  }

  /** One of `values`, compared without regard to case (log levels come as DEBUG or debug). */
  enumOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== "string") throw this.typeError(key, v, oneOf(values));
    const hit = values.find((x) => x === v.toLowerCase());
    if (hit === undefined) {
      throw new ConfigError(this.fieldPath(key), v, oneOf(values), {
        problem: `value ${JSON.stringify(v)} is not allowed${didYouMean(v, values)}`,
      });
    }
    return hit;
  }

  stringList(key: string): string[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw this.typeError(key, v, "a list of strings");
    return v.map((item: unknown, i) => {
      if (typeof item !== "string") {
        throw new ConfigError(`${this.fieldPath(key)}[${i}]`, item, "a string", {
          problem: `value ${describe(item)} is not a string`,
        });
      }
      return item;
    });
  }

  list(key: string): unknown[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) throw this.typeError(key, v, "a list");
    return v;
  }

  object(key: string): YamlObject {
    return YamlObject.from(this.raw(key), this.fieldPath(key));
  }

  /** A mapping of string keys to string values (numbers and booleans are read as text). */
  stringMap(key: string): Record<string, string> | undefined {
    if (!this.has(key)) return undefined;
    const inner = this.object(key);
    const out: Record<string, string> = {};
    for (const k of inner.keys()) {
      const value = inner.text(k);
      if (value !== undefined) out[k] = value;
    }
    return out;
  }

  private typeError(key: string, v: unknown, allowed: string): ConfigError {
    return new ConfigError(this.fieldPath(key), v, allowed, {
      problem: `value ${describe(v)} has the wrong type`,
    });
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Map);
}

/** A value and its YAML type, e.g. `"8080" (a string)`, for type errors. */
function describe(v: unknown): string {
  const kind = Array.isArray(v)
    ? "a list"
    : v === null
      ? "null"
      : typeof v === "object"
        ? "a mapping"
        : typeof v === "string"
          ? "a string"
          : typeof v === "number"
            ? "a number"
            : typeof v === "boolean"
              ? "a boolean"
              : typeof v;
  let shown: string;
  try {
    shown = JSON.stringify(v) ?? String(v);
  } catch {
    shown = String(v);
  }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  return `${shown} (${kind})`;
}
