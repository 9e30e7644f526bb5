import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InternalMetrics } from "./internal-metrics.js";

function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("InternalMetrics", () => {
  it("counts increments and sets the process gauge", async () => {
    const m = new InternalMetrics();
    m.recordsReceived(10);
    m.recordsReceived();
    m.parseFailure(2);
    m.exportFailure("otlp_traces");
    m.exportFailure("otlp_traces", 2);
    m.seriesDropped(3);
    m.spansDropped("queue_full", 4);
    m.setInstrumentedProcesses(7);
    const text = await m.registry.metrics();
    assert.equal(value(text, "beyla_ebpf_records_received_total"), 11);
    assert.equal(value(text, "beyla_parse_failures_total"), 2);
    assert.equal(value(text, 'beyla_export_failures_total{exporter="otlp_traces"}'), 3);
    assert.equal(value(text, "beyla_series_dropped_total"), 3);
    assert.equal(value(text, 'beyla_spans_dropped_total{reason="queue_full"}'), 4);
    assert.equal(value(text, "beyla_instrumented_processes"), 7);
  });

  it("exports the event loop's delay only when asked (its 10 ms timer costs CPU when idle)", async () => {
    const quiet = await new InternalMetrics().registry.metrics();
    assert.equal(value(quiet, "beyla_event_loop_delay_max_seconds"), undefined);
    const m = new InternalMetrics({ watchEventLoop: true });
    await new Promise((r) => setTimeout(r, 30)); // the timer runs
    const stallUntil = Date.now() + 60;
    while (Date.now() < stallUntil); // a 60 ms stall of the event loop
    await new Promise((r) => setTimeout(r, 30));
    const max = value(await m.registry.metrics(), "beyla_event_loop_delay_max_seconds");
    assert.ok(max !== undefined && max >= 0.045, `max delay ${max} s after a 60 ms stall`);
  });

  it("follows running totals, including a source that restarts", async () => {
    const m = new InternalMetrics();
    m.updateTotals({ recordsReceived: 100, parseFailures: 3, instrumentedProcesses: 2 });
    m.updateTotals({ recordsReceived: 250, parseFailures: 3 });
    m.updateTotals({ recordsReceived: 20 });
    const text = await m.registry.metrics();
    assert.equal(value(text, "beyla_ebpf_records_received_total"), 270);
    assert.equal(value(text, "beyla_parse_failures_total"), 3);
    assert.equal(value(text, "beyla_instrumented_processes"), 2);
  });

  it("follows what was discarded and what discovery left out, by reason", async () => {
    const m = new InternalMetrics();
    m.updateTotals({
      discarded: { unanswered: 4 },
      discoveryDropped: { process_limit: 2, hints_full: 0 },
    });
    m.updateTotals({
      discarded: { unanswered: 6 },
      discoveryDropped: { process_limit: 5, hints_full: 1 },
    });
    const text = await m.registry.metrics();
    assert.equal(value(text, 'beyla_requests_discarded_total{reason="unanswered"}'), 6);
    assert.equal(value(text, 'beyla_discovery_dropped_total{reason="process_limit"}'), 5);
    assert.equal(value(text, 'beyla_discovery_dropped_total{reason="hints_full"}'), 1);
  });

  it("reads kernel drops from the stats source at each scrape", async () => {
    const m = new InternalMetrics();
    let drops = 5;
    let broken = false;
    m.setKernelDropsSource(() => {
      if (broken) throw new Error("map read failed");
      return drops;
    });
    assert.equal(value(await m.registry.metrics(), "beyla_ebpf_records_dropped_total"), 5);
    drops = 12;
    assert.equal(value(await m.registry.metrics(), "beyla_ebpf_records_dropped_total"), 12);
    broken = true;
    assert.equal(value(await m.registry.metrics(), "beyla_ebpf_records_dropped_total"), 12);
  });
});
