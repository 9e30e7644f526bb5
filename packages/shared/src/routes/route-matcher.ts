import type { IgnoreMode, RoutesConfig } from "../config/types.js";
import { heuristicRoute } from "./heuristic.js";
import { BoundedCache, type CacheStats } from "./bounded-cache.js";
import { pathOf } from "./path.js";
import { compilePattern } from "./route-pattern.js";
import { RouteTrie } from "./route-trie.js";

export type IgnoreVerdict = "none" | IgnoreMode;

export interface RouteMatcherOptions {
  /** Paths remembered with their route and verdict; default 4096. */
  cacheSize?: number;
}

interface Entry {
  route: string | undefined;
  ignored: IgnoreVerdict;
}

/**
 * Turns request paths into low-cardinality routes (`http.route`) and says which requests the
 * `ignored_patterns` drop. Patterns are compiled once; per request the work is a trie walk, or
 * the heuristic, and results are remembered in a bounded cache (approximate LRU) keyed by the path without its
 * query string. Repeated paths (health checks, a hot endpoint) then cost one map lookup.
 */
export class RouteMatcher {
  private readonly routes: RouteTrie;
  private readonly ignoredTrie: RouteTrie;
  private readonly cfg: RoutesConfig;
  private readonly cache: BoundedCache<string, Entry>;

  /** Throws a ConfigError (field `routes.patterns[i]`) on a bad pattern. */
  constructor(cfg: RoutesConfig, options: RouteMatcherOptions = {}) {
    this.cfg = cfg;
    this.routes = new RouteTrie(
      cfg.patterns.map((p, i) => compilePattern(p, `routes.patterns[${i}]`)),
    );
    this.ignoredTrie = new RouteTrie(
      cfg.ignoredPatterns.map((p, i) => compilePattern(p, `routes.ignored_patterns[${i}]`)),
    );
    this.cache = new BoundedCache(options.cacheSize ?? 4096);
  }

  /** The route for a request target; undefined only with `unmatched: unset`. */
  route(target: string): string | undefined {
    return this.lookup(target).route;
  }

  /** Which signals to drop for this request: "none", or the configured ignore mode. */
  ignored(target: string): IgnoreVerdict {
    if (this.ignoredTrie.patternCount === 0) return "none";
    return this.lookup(target).ignored;
  }

  cacheStats(): CacheStats {
    return this.cache.stats();
  }

  private lookup(target: string): Entry {
    const path = pathOf(target);
    const cached = this.cache.get(path);
    if (cached !== undefined) return cached;
    const entry: Entry = {
      route: this.routes.match(path) ?? this.unmatched(path),
      ignored: this.ignoredTrie.match(path) === undefined ? "none" : this.cfg.ignoreMode,
    };
    this.cache.set(path, entry);
    return entry;
  }

  private unmatched(path: string): string | undefined {
    switch (this.cfg.unmatched) {
      case "heuristic":
        return heuristicRoute(path, this.cfg.wildcardChar);
      case "path":
        return path === "" ? "/" : path;
      case "wildcard":
        return "/**";
      case "unset":
        return undefined;
    }
  }
}
