import { compilePattern } from "../routes/route-pattern.js";
import { ConfigError } from "./config-error.js";
import type { IgnoreMode, RoutesConfig, UnmatchedMode } from "./types.js";
import type { YamlObject } from "./yaml-object.js";

export const IGNORE_MODES: readonly IgnoreMode[] = ["all", "traces", "metrics"];
export const UNMATCHED_MODES: readonly UnmatchedMode[] = ["heuristic", "path", "wildcard", "unset"];
const ROUTES_KEYS = ["patterns", "ignored_patterns", "ignore_mode", "unmatched", "wildcard_char"];

/** The `routes` section; patterns are compiled here so a bad one fails at start. */
export function parseRoutes(section: YamlObject): RoutesConfig {
  section.checkKeys(ROUTES_KEYS, [], []);
  const patterns = section.stringList("patterns") ?? [];
  patterns.forEach((p, i) => compilePattern(p, `${section.fieldPath("patterns")}[${i}]`));
  const ignoredPatterns = section.stringList("ignored_patterns") ?? [];
  ignoredPatterns.forEach((p, i) =>
    compilePattern(p, `${section.fieldPath("ignored_patterns")}[${i}]`),
  );
  const wildcardChar = section.string("wildcard_char") ?? "*";
  // One character (code point), and not "/" which would change the route's shape.
  if ([...wildcardChar].length !== 1 || wildcardChar === "/") {
    throw new ConfigError(
      section.fieldPath("wildcard_char"),
      wildcardChar,
      'a single character other than "/"',
    );
  }
  return {
    patterns,
    ignoredPatterns,
    ignoreMode: section.enumOf("ignore_mode", IGNORE_MODES) ?? "all",
    unmatched: section.enumOf("unmatched", UNMATCHED_MODES) ?? "heuristic",
    wildcardChar,
  };
}
