import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { emptyHttpEvent } from "@beyla-ts/ebpf-native/dist/event-layout.generated.js";
import type { RequestSpan } from "../request-span.js";
import type { SelectedProcess } from "../discovery/process-watcher.js";
import { HttpPipeline, type Router, type SpanSink } from "./http-pipeline.js";
import { ServiceRegistry } from "./service-registry.js";

const PID = 4242;

function record(path: string): ReturnType<typeof emptyHttpEvent> {
  const r = emptyHttpEvent();
  r.pid = PID;
  r.family = 2;
  const head = new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  r.requestHead = new Uint8Array(256);
  r.requestHead.set(head);
  r.requestHeadLen = head.length;
  return r;
}

class Collect implements SpanSink {
  readonly spans: RequestSpan[] = [];
  record(span: RequestSpan): void {
    this.spans.push({ ...span });
  }
}

/** Routes "/users/<x>" to "/users/{id}"; ignores what starts with the given prefixes. */
function router(route: string, ignored: Record<string, "traces" | "metrics" | "all"> = {}): Router {
  return {
    route: () => route,
    ignored: (path) => {
      for (const [prefix, mode] of Object.entries(ignored))
        if (path.startsWith(prefix)) return mode;
      return "none";
    },
  };
}

function setup(): { pipeline: HttpPipeline; agentSink: Collect } {
  const services = new ServiceRegistry({});
  const proc: SelectedProcess = {
    pid: PID,
    exePath: "/usr/bin/node",
    startTicks: 1,
    netns: "net:[1]",
    openPorts: [8080],
    env: {},
    selector: {},
  };
  services.add(proc);
  const agentSink = new Collect();
  const pipeline = new HttpPipeline(services, router("/agent"), [agentSink]);
  return { pipeline, agentSink };
}

describe("HttpPipeline process policies", () => {
  it("uses the agent's routes and sinks for a process without a policy", () => {
    const { pipeline, agentSink } = setup();
    pipeline.handle(record("/users/1"));
    assert.equal(agentSink.spans.length, 1);
    assert.equal(agentSink.spans[0]!.route, "/agent");
    assert.equal(agentSink.spans[0]!.ignore, "none");
  });

  it("routes and sends a process's spans by its policy, and back to the agent's without", () => {
    const { pipeline, agentSink } = setup();
    const resourceSink = new Collect();
    pipeline.setPolicy(PID, { router: router("/users/{id}"), metrics: true, sink: resourceSink });
    pipeline.handle(record("/users/1"));
    assert.equal(agentSink.spans.length, 0);
    assert.deepEqual(
      resourceSink.spans.map((s) => [s.route, s.ignore]),
      [["/users/{id}", "none"]],
    );
    pipeline.setPolicy(PID, undefined);
    pipeline.handle(record("/users/2"));
    assert.equal(resourceSink.spans.length, 1);
    assert.equal(agentSink.spans.length, 1);
  });

  it("marks spans metrics-ignored when the policy turns metrics off, and drops traces-ignored ones", () => {
    const { pipeline, agentSink } = setup();
    const ignoring = router("/r", { "/t": "traces", "/m": "metrics" });
    pipeline.setPolicy(PID, { router: ignoring, metrics: false });
    for (const path of ["/a", "/m", "/t"]) pipeline.handle(record(path));
    assert.deepEqual(
      agentSink.spans.map((s) => [s.path, s.ignore]),
      [
        ["/a", "metrics"],
        ["/m", "metrics"],
      ],
    );
    assert.equal(pipeline.counts.ignored, 1);
    assert.equal(pipeline.counts.received, 3);
  });
});
