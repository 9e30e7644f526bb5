import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseInstrumentationSpec, type SelectorSetResource } from "@beyla-ts/shared";
import type { ParsedResource } from "./control/selector-state.js";
import type { ProcessExport } from "./export/export-targets.js";
import type { ExportRequest } from "./export/resource-exports.js";
import { buildPolicies, decorationKey, httpMetricsOn } from "./resource-policies.js";

function parsed(name: string, spec: unknown, headers?: Record<string, string>): ParsedResource {
  const resource: SelectorSetResource = {
    namespace: "shop",
    name,
    uid: `uid-${name}`,
    generation: 1,
    clusterWide: false,
    spec,
    ...(headers ? { export: { otlp: { headers } } } : {}),
  };
  return { resource, spec: parseInstrumentationSpec(spec, { namespace: "shop", name }) };
}

const SELECT = { discovery: { services: [{ kubernetes: { podLabels: { app: "^web$" } } }] } };

/** Records what was asked; refuses port 1. */
class FakeExports {
  readonly asked: ExportRequest[] = [];
  readonly sink: ProcessExport = {
    record: () => undefined,
    processAdded: () => undefined,
    processRemoved: () => undefined,
  };
  exportFor(request: ExportRequest): Promise<ProcessExport | undefined> {
    this.asked.push(request);
    if (request.prometheus?.port === 1) {
      return Promise.reject(new Error("spec.export.prometheus.port: cannot serve port 1"));
    }
    return Promise.resolve(request.otlp || request.prometheus ? this.sink : undefined);
  }
}

describe("httpMetricsOn", () => {
  const cases: [string, Parameters<typeof httpMetricsOn>[0], boolean][] = [
    ["no metrics block", undefined, true],
    [
      "defaults",
      { features: ["application"], instrumentations: ["*"], networkEnabled: false },
      true,
    ],
    [
      "http listed",
      { features: ["application"], instrumentations: ["http"], networkEnabled: false },
      true,
    ],
    [
      "only sql",
      { features: ["application"], instrumentations: ["sql"], networkEnabled: false },
      false,
    ],
    [
      "no application feature",
      { features: ["application_span"], instrumentations: ["*"], networkEnabled: false },
      false,
    ],
  ];
  for (const [name, metrics, want] of cases)
    it(name, () => assert.equal(httpMetricsOn(metrics), want));
});

describe("buildPolicies", () => {
  it("gives each selector its resource's routes, metrics, decoration and export", async () => {
    const exports = new FakeExports();
    const spec = {
      ...SELECT,
      routes: { patterns: ["/users/{id}"] },
      attributes: { kubernetes: { enable: "false", clusterName: "team" } },
      metrics: { features: ["application_span", "application"], network: { enabled: true } },
      export: {
        otlp: {
          endpoint: "http://collector.team:4317",
          headersFrom: { secretKeyRef: { name: "s" } },
        },
        prometheus: { port: 9500 },
      },
    };
    const built = await buildPolicies(
      [parsed("web", spec, { authorization: "Bearer t" })],
      exports,
    );
    assert.deepEqual(built.rejected, []);
    const [selector, policy] = [...built.bySelector][0]!;
    assert.deepEqual(Object.keys(selector.k8sPodLabels ?? {}), ["app"]);
    assert.equal(policy.resource, "shop/web");
    assert.equal(policy.router?.route("/users/42"), "/users/{id}");
    assert.equal(policy.metrics, true);
    assert.deepEqual(policy.decoration, { kubernetes: false, clusterName: "team" });
    assert.equal(policy.sink, exports.sink);
    assert.deepEqual(exports.asked, [
      {
        otlp: {
          endpoint: "http://collector.team:4317",
          protocol: "grpc",
          headers: { authorization: "Bearer t" },
        },
        prometheus: { port: 9500, path: "/metrics" },
      },
    ]);
    assert.deepEqual(built.unsupported, [
      'shop/web: metrics.features "application_span" is not produced by this agent',
      "shop/web: metrics.network.enabled is not supported by this agent",
    ]);
  });

  it("leaves a resource without those blocks to the agent's own settings", async () => {
    const built = await buildPolicies([parsed("plain", SELECT)], new FakeExports());
    const policy = [...built.bySelector.values()][0]!;
    assert.equal(policy.router, undefined);
    assert.equal(policy.sink, undefined);
    assert.equal(policy.metrics, true);
    assert.equal(decorationKey(policy.decoration), decorationKey({ kubernetes: true }));
  });

  it("refuses a resource whose export cannot be set up, and keeps the others", async () => {
    const bad = { ...SELECT, export: { prometheus: { port: 1 } } };
    const built = await buildPolicies(
      [parsed("bad", bad), parsed("good", SELECT)],
      new FakeExports(),
    );
    assert.deepEqual(built.rejected, [
      {
        namespace: "shop",
        name: "bad",
        message: "spec.export.prometheus.port: cannot serve port 1",
      },
    ]);
    assert.deepEqual(
      [...new Set(built.bySelector.values())].map((p) => p.resource),
      ["shop/good"],
    );
  });
});
