import { pathOf } from "./path.js";
import { looksLikeWord } from "./word-model.js";

/**
 * The reference agent's `unmatched: heuristic` route: each path segment that looks like an id
 * becomes `wildcard` ("*"). A segment is an id when
 * - it holds a character other than ASCII letters, `-` and `_` (digits included), except one
 *   digit as the second character after a letter, as in `v1`, `v2`, `h2`; or
 * - one of its words (split at `-`, `_` and that digit) is longer than 3 letters and does not
 *   look like English to the letter-pair model (`xkqzvw`, `CfMkAGbE`).
 * So `/api/v1/orders/9f8a7b6c` becomes `/api/v1/orders/*`, and `/static/app.js` becomes
 * `/static/*` (the dot makes a file name an id: file names are unbounded, like ids).
 * The query string and fragment are dropped, empty segments (`//`) collapse, a trailing slash
 * is kept as in the input, and an empty path is "/".
 */
export function heuristicRoute(target: string, wildcard = "*"): string {
  const path = pathOf(target);
  let out = "";
  let i = 0;
  const n = path.length;
  while (i < n) {
    while (i < n && path.charCodeAt(i) === 47) i++;
    if (i >= n) break;
    let end = path.indexOf("/", i);
    if (end < 0) end = n;
    out += "/";
    out += isIdSegment(path, i, end) ? wildcard : path.slice(i, end);
    i = end;
  }
  if (out === "") return "/";
  return path.charCodeAt(n - 1) === 47 ? `${out}/` : out;
}

/** True when path[start, end) should be replaced by the wildcard. */
export function isIdSegment(path: string, start: number, end: number): boolean {
  let wordStart = start;
  for (let i = start; i < end; i++) {
    const c = path.charCodeAt(i);
    if (isLetter(c)) continue;
    const digitAllowed = i === start + 1 && isDigit(c) && isLetter(path.charCodeAt(start));
    if (c !== 45 /* - */ && c !== 95 /* _ */ && !digitAllowed) return true;
    if (!looksLikeWord(path, wordStart, i)) return true;
    wordStart = i + 1;
  }
  return !looksLikeWord(path, wordStart, end);
}

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
