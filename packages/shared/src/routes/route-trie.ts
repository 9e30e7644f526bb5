import type { CompiledPattern } from "./route-pattern.js";

interface TrieNode {
  literals: Map<string, TrieNode> | undefined;
  param: TrieNode | undefined;
  star: TrieNode | undefined;
  /** Route of a pattern ending exactly here. */
  terminal: string | undefined;
  /** Route of a pattern ending here with a tail wildcard (matches the rest, or nothing). */
  tail: string | undefined;
}

function newNode(): TrieNode {
  return {
    literals: undefined,
    param: undefined,
    star: undefined,
    terminal: undefined,
    tail: undefined,
  };
}

/**
 * Patterns in a segment trie. Most specific wins, decided segment by segment from the left: a
 * literal beats a parameter, a parameter beats a one-segment `*`, and any of those beats a
 * trailing wildcard; so `/users/me` beats `/users/:id`, which beats `/users/*`. Among patterns of
 * the same shape (`/a/:id` and `/a/{x}`), the first listed wins.
 *
 * Each trie node sits at one depth and so is tried at most once per path: matching costs at
 * most one visit per node, whatever the patterns, with no exponential backtracking.
 */
export class RouteTrie {
  private readonly root: TrieNode = newNode();
  private size = 0;

  constructor(patterns: readonly CompiledPattern[] = []) {
    for (const p of patterns) this.add(p);
  }

  get patternCount(): number {
    return this.size;
  }

  add(pattern: CompiledPattern): void {
    let node = this.root;
    for (const seg of pattern.segments) {
      if (seg.kind === "tail") {
        node.tail ??= pattern.text;
        this.size++;
        return;
      }
      if (seg.kind === "literal") {
        node.literals ??= new Map();
        let next = node.literals.get(seg.text);
        if (next === undefined) {
          next = newNode();
          node.literals.set(seg.text, next);
        }
        node = next;
      } else if (seg.kind === "param") {
        node = node.param ??= newNode();
      } else {
        node = node.star ??= newNode();
      }
    }
    node.terminal ??= pattern.text;
    this.size++;
  }

  /** The route of the most specific pattern matching `path` (no query string), if any. */
  match(path: string): string | undefined {
    return matchFrom(this.root, path, 0);
  }
}

function matchFrom(node: TrieNode, path: string, from: number): string | undefined {
  let start = from;
  const n = path.length;
  while (start < n && path.charCodeAt(start) === 47) start++;
  if (start >= n) return node.terminal ?? node.tail;
  let end = path.indexOf("/", start);
  if (end < 0) end = n;
  if (node.literals !== undefined) {
    const next = node.literals.get(path.slice(start, end));
    if (next !== undefined) {
      const hit = matchFrom(next, path, end);
      if (hit !== undefined) return hit;
    }
  }
  if (node.param !== undefined) {
    const hit = matchFrom(node.param, path, end);
    if (hit !== undefined) return hit;
  }
  if (node.star !== undefined) {
    const hit = matchFrom(node.star, path, end);
    if (hit !== undefined) return hit;
  }
  return node.tail;
}
