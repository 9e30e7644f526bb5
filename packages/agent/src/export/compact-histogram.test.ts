import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Histogram, Registry } from "prom-client";
import { HistogramFamilyStore } from "./compact-histogram.js";
import { formatLabels } from "./prom-text.js";

const BOUNDS = [0, 0.005, 0.01, 0.1, 1, 10];
// bucket edges, between them, below zero, above the last bucket
const VALUES = [0, 0.005, 0.0050001, 0.01, 0.05, 0.1, 1, 9.99, 10, 10.01, 250, -1, 0.003];
const LABEL_SETS = [
  { route: "/a", code: "200" },
  { route: 'we"ird\\route\n', code: "500" },
  { route: "", code: "0" },
];

async function textOf(family: HistogramFamilyStore, seriesPerChunk: number): Promise<string> {
  let out = "";
  for await (const chunk of family.text(seriesPerChunk)) out += chunk.toString();
  return out;
}

describe("HistogramFamilyStore", () => {
  it("renders exactly what prom-client renders for the same observations", async () => {
    const registry = new Registry();
    const help = 'help with \\ and\nnewline "quoted"';
    const reference = new Histogram({
      name: "h_seconds",
      help,
      labelNames: ["route", "code"],
      buckets: BOUNDS,
      registers: [registry],
    });
    const family = new HistogramFamilyStore("h_seconds", help, BOUNDS);
    const series = LABEL_SETS.map((labels) => family.add(Buffer.from(formatLabels(labels))));
    for (let round = 0; round < 3; round++) {
      VALUES.forEach((v, i) => {
        const which = (i + round) % LABEL_SETS.length;
        reference.observe(LABEL_SETS[which]!, v);
        series[which]!.observe(v);
      });
    }
    const expected = await registry.getSingleMetricAsString("h_seconds");
    assert.equal(await textOf(family, 1000), expected);
    assert.equal(await textOf(family, 1), expected);
  });

  it("renders a family without series as its header only, like prom-client", async () => {
    const registry = new Registry();
    const labelNames = ["route"];
    new Histogram({
      name: "e_bytes",
      help: "e",
      labelNames,
      buckets: BOUNDS,
      registers: [registry],
    });
    const family = new HistogramFamilyStore("e_bytes", "e", BOUNDS);
    assert.equal(await textOf(family, 10), await registry.getSingleMetricAsString("e_bytes"));
  });

  it("forgets a removed series and refuses values that are not finite numbers", async () => {
    const family = new HistogramFamilyStore("h", "h", [1]);
    const a = family.add(Buffer.from('r="a"'));
    const b = family.add(Buffer.from('r="b"'));
    a.observe(0.5);
    b.observe(2);
    family.remove(a);
    assert.equal(family.size, 1);
    assert.equal(
      await textOf(family, 10),
      '# HELP h h\n# TYPE h histogram\nh_bucket{le="1",r="b"} 0\nh_bucket{le="+Inf",r="b"} 1\n' +
        'h_sum{r="b"} 2\nh_count{r="b"} 1',
    );
    assert.throws(() => b.observe(Number.NaN), TypeError);
    assert.throws(() => b.observe(Number.POSITIVE_INFINITY), TypeError);
    assert.equal(b.count, 1);
  });
});
