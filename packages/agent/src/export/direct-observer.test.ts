import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Histogram, Registry } from "prom-client";
import { directObserver } from "./direct-observer.js";

function histogramIn(registry: Registry): Histogram<string> {
  return new Histogram({
    name: "h_seconds",
    help: "h",
    labelNames: ["route", "code"],
    buckets: [0, 0.005, 0.01, 0.1, 1, 10],
    registers: [registry],
  });
}

describe("directObserver", () => {
  it("exposes exactly what prom-client's own observe exposes", async () => {
    const viaClient = new Registry();
    const viaDirect = new Registry();
    const client = histogramIn(viaClient);
    const direct = histogramIn(viaDirect);
    const labelSets = [
      { route: "/a", code: "200" },
      { route: "/b", code: "500" },
    ];
    const observers = labelSets.map((l) => directObserver(direct, { ...l }));
    // bucket edges, between them, below zero, above the last bucket
    const values = [0, 0.005, 0.0050001, 0.01, 0.05, 0.1, 1, 9.99, 10, 10.01, 250, -1, 0.003];
    for (let round = 0; round < 3; round++) {
      values.forEach((v, i) => {
        const which = (i + round) % labelSets.length;
        client.observe(labelSets[which]!, v);
        observers[which]!.observe(v);
      });
    }
    assert.equal(await viaDirect.metrics(), await viaClient.metrics());
  });

  it("still refuses a value that is not a finite number, like prom-client", () => {
    const h = histogramIn(new Registry());
    const o = directObserver(h, { route: "/a", code: "200" });
    o.observe(1);
    assert.throws(() => o.observe(Number.NaN), /Value is not a valid number/);
  });
});
