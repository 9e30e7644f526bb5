import { ConfigError } from "../config/config-error.js";

/**
 * One segment of a route pattern:
 * - literal: matches that exact text (case-sensitive);
 * - param: `:name` or `{name}`, matches any one segment;
 * - star: `*` before the last segment, matches any one segment;
 * - tail: `*` or `**` as the last segment, matches any number of segments, none included
 *   (the reference agent's `/user/*` matches `/user`, `/user/1` and `/user/1/basket/2`).
 */
export type PatternSegment =
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "param"; readonly name: string }
  | { readonly kind: "star" }
  | { readonly kind: "tail" };

export interface CompiledPattern {
  /** The pattern as written; it becomes the route. */
  readonly text: string;
  readonly segments: readonly PatternSegment[];
}

export const PATTERN_ALLOWED =
  'a path starting with "/" whose segments are literals, :name, {name} or *, with ** or a trailing * matching the rest, e.g. "/users/{id}/items"';

/** Parameter names: letters, digits, `_`, `-`, `.`. */
function isNameChar(c: number): boolean {
  return (
    (c >= 97 && c <= 122) ||
    (c >= 65 && c <= 90) ||
    (c >= 48 && c <= 57) ||
    c === 95 ||
    c === 45 ||
    c === 46
  );
}

function isName(s: string): boolean {
  if (s === "") return false;
  for (let i = 0; i < s.length; i++) if (!isNameChar(s.charCodeAt(i))) return false;
  return true;
}

/**
 * Compiles one `patterns` / `ignored_patterns` entry. Empty segments (`//`, a trailing `/`)
 * are ignored, as they are in paths. Throws a ConfigError naming `field` on a bad pattern.
 */
export function compilePattern(text: unknown, field: string): CompiledPattern {
  const fail = (why: string): ConfigError =>
    new ConfigError(field, text, PATTERN_ALLOWED, {
      problem: `value ${JSON.stringify(text) ?? String(text)} ${why}`,
    });
  if (typeof text !== "string") throw fail("is not a string");
  if (!text.startsWith("/")) throw fail('does not start with "/"');
  if (text.includes("?") || text.includes("#")) {
    throw fail("has a query string or fragment (routes never include them)");
  }
  const parts = text.split("/").filter((p) => p !== "");
  const segments = parts.map((part, i): PatternSegment => {
    const last = i === parts.length - 1;
    if (part === "**") {
      if (!last) throw fail('has "**" before the last segment');
      return { kind: "tail" };
    }
    if (part === "*") return last ? { kind: "tail" } : { kind: "star" };
    if (part.startsWith(":")) {
      if (!isName(part.slice(1))) throw fail(`has an invalid parameter "${part}"`);
      return { kind: "param", name: part.slice(1) };
    }
    if (part.startsWith("{") && part.endsWith("}")) {
      if (!isName(part.slice(1, -1))) throw fail(`has an invalid parameter "${part}"`);
      return { kind: "param", name: part.slice(1, -1) };
    }
    if (part.includes("*") || part.includes("{") || part.includes("}")) {
      throw fail(`has "${part}": wildcards and parameters must be whole segments`);
    }
    return { kind: "literal", text: part };
  });
  return { text, segments };
}
