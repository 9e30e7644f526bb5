import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ENGLISH_CORPUS, WORD_CORPUS } from "./word-corpus.js";
import { looksLikeWord, wordScore } from "./word-model.js";

/** Deterministic PRNG (mulberry32), so the random-id rates below are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomIds(
  alphabet: string,
  count: number,
  minLen: number,
  maxLen: number,
  seed: number,
): string[] {
  const next = prng(seed);
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    const len = minLen + Math.floor(next() * (maxLen - minLen + 1));
    let s = "";
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(next() * alphabet.length)];
    out.push(s);
  }
  return out;
}

const corpus = new Set(`${WORD_CORPUS} ${ENGLISH_CORPUS}`.split(/\s+/).filter((w) => w !== ""));

/** Real words the model never saw: how it does on vocabulary beyond its corpus. */
const HELD_OUT =
  `warehouse subscriptions recommendations analytics invoicing onboarding wishlist favorites
bookmarks payouts disputes chargebacks marketplace listings auctions merchandise vouchers telemetry
heartbeat probes diagnostics throttle ratelimit quotas usage captions subtitles transcripts artists
albums podcasts episodes recipes ingredients nutrition restaurants menus waiters couriers vehicles
garages parking tolls charging stations tariffs carriers parcels tracking pets vets vaccines clinics
pharmacies insurance claims premiums elections candidates ballots precincts volunteers donations
campaigns sponsors venues seats sections concerts festivals exhibitions galleries paintings
sculptures sensors readings firmware alarms thresholds incidents outages september november
december afternoon midnight favicon robots sitemap wonderful adventure mysterious understanding
salaries payroll timesheets holidays vacations benefits pensions estimates contracts agreements
signatures approvals workflows staging canary rollout rollback airports airlines baggage boarding
gates terminals passengers books authors chapters publishers libraries loans returns exchanges
warranty repairs questions answers quizzes exams assignments submissions`
    .split(/\s+/)
    .filter((w) => w !== "");

describe("word model", () => {
  it("was not trained on the held-out words", () => {
    assert.deepEqual(
      HELD_OUT.filter((w) => corpus.has(w)),
      [],
    );
  });

  it("keeps at least 95% of real words it never saw", () => {
    const rejected = HELD_OUT.filter((w) => !looksLikeWord(w));
    assert.ok(
      rejected.length <= HELD_OUT.length * 0.05,
      `rejected ${rejected.length}: ${rejected.join(" ")}`,
    );
  });

  it("rejects at least 99.5% of random lower-case ids of 8 to 16 letters", () => {
    const ids = randomIds("abcdefghijklmnopqrstuvwxyz", 5000, 8, 16, 1);
    const kept = ids.filter((w) => looksLikeWord(w));
    assert.ok(kept.length <= 25, `kept ${kept.length}: ${kept.slice(0, 20).join(" ")}`);
  });

  it("rejects at least 90% of random lower-case ids of 4 to 7 letters", () => {
    const ids = randomIds("abcdefghijklmnopqrstuvwxyz", 5000, 4, 7, 2);
    const kept = ids.filter((w) => looksLikeWord(w));
    assert.ok(kept.length <= 500, `kept ${kept.length}`);
  });

  it("rejects at least 99% of random mixed-case ids of 8 to 24 letters", () => {
    const ids = randomIds("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 5000, 8, 24, 3);
    const kept = ids.filter((w) => looksLikeWord(w));
    assert.ok(kept.length <= 50, `kept ${kept.length}: ${kept.slice(0, 20).join(" ")}`);
  });

  const verdicts: [string, boolean][] = [
    ["users", true],
    ["api", true],
    ["orders", true],
    ["checkout", true],
    ["health", true],
    ["metrics", true],
    ["Users", true],
    ["API", true],
    ["xkqzvw", false],
    ["ZXCVB", false],
    ["qwrtpz", false],
    // Names: the model judges spelling, not meaning. "john" scores low ("hn" then an ending
    // "n" is rare after "h"); many names ("mary", "robert") read as words.
    ["john", false],
    ["mary", true],
    ["robert", true],
    // Up to 3 letters is too short to judge: always kept.
    ["xqz", true],
    ["v", true],
    ["", true],
  ];
  for (const [word, expected] of verdicts) {
    it(`${expected ? "keeps" : "rejects"} "${word}"`, () =>
      assert.equal(looksLikeWord(word), expected));
  }

  it("scores only a slice of a string", () => {
    assert.equal(wordScore("xxusersxx", 2, 7), wordScore("users"));
    assert.equal(looksLikeWord("xkqzvw-users", 7, 12), true);
  });

  it("gives -Infinity for characters other than letters", () => {
    assert.equal(wordScore("ab1c"), -Infinity);
  });

  it("scores an empty slice as 0", () => {
    assert.equal(wordScore("abc", 2, 2), 0);
  });
});
