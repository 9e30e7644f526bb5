import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BoundedCache } from "./bounded-cache.js";

describe("BoundedCache", () => {
  it("keeps entries read since the last rotation and drops the others, counting them", () => {
    const c = new BoundedCache<string, number>(4);
    c.set("a", 1);
    c.set("b", 2);
    assert.equal(c.get("a"), 1);
    c.set("c", 3); // young was full: {a, b} become old
    assert.equal(c.get("a"), 1); // read back from old, survives the next rotation
    c.set("d", 4); // {c, a} become old; b was never read again: evicted
    assert.equal(c.get("b"), undefined);
    assert.equal(c.get("a"), 1);
    assert.equal(c.get("c"), 3);
    assert.equal(c.get("d"), 4);
    assert.deepEqual(c.stats(), { hits: 5, misses: 1, evictions: 1, size: 3, capacity: 4 });
  });

  it("never holds more distinct keys than its capacity", () => {
    const c = new BoundedCache<number, number>(10);
    for (let i = 0; i < 1000; i++) {
      c.set(i, i);
      c.get(i - 3);
      assert.ok(c.stats().size <= 10, `size ${c.stats().size} after ${i}`);
    }
    const s = c.stats();
    assert.equal(s.size + s.evictions, 1000);
  });

  it("replaces a value in place", () => {
    const c = new BoundedCache<string, number>(4);
    c.set("a", 1);
    c.set("a", 2);
    assert.equal(c.get("a"), 2);
    assert.equal(c.stats().size, 1);
  });

  it("does not count as evicted a key set again as its generation goes", () => {
    const c = new BoundedCache<string, number>(2);
    c.set("a", 1);
    c.set("a", 2);
    c.set("b", 3); // {a} becomes old
    c.set("a", 4); // {b} becomes old; a leaves with its generation but is set anew
    assert.equal(c.get("a"), 4);
    assert.equal(c.get("b"), 3);
    assert.deepEqual(c.stats(), { hits: 2, misses: 0, evictions: 0, size: 2, capacity: 2 });
  });

  it("does not count as evicted a key read back as its generation goes", () => {
    const c = new BoundedCache<string, number>(2);
    c.set("a", 1);
    c.set("b", 2); // {a} becomes old
    assert.equal(c.get("a"), 1); // young is full: {b} becomes old, a moves to young
    assert.deepEqual(c.stats(), { hits: 1, misses: 0, evictions: 0, size: 2, capacity: 2 });
  });

  it("stays fast when one hot key is read among many", () => {
    const c = new BoundedCache<string, number>(200_000);
    for (let i = 0; i < 66_000; i++) c.set(`/k/${i}`, i);
    c.set("/health", 1);
    const start = process.hrtime.bigint();
    for (let i = 0; i < 100_000; i++) assert.equal(c.get("/health"), 1);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.ok(ms < 500, `100k hits took ${ms} ms`);
  });

  const bad = [1, 0, -1, 2.5, Number.NaN];
  for (const capacity of bad) {
    it(`refuses capacity ${capacity}`, () => {
      assert.throws(() => new BoundedCache(capacity), {
        name: "RangeError",
        message: `cache capacity must be an integer of at least 2, got ${capacity}`,
      });
    });
  }
});
