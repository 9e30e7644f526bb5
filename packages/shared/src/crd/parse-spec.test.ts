import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError } from "../config/config-error.js";
import { matchesSelector, type ProcessInfo } from "../config/selector.js";
import { parseInstrumentationSpec } from "./parse-spec.js";

const SHOP = { namespace: "shop", name: "web" };
const OPERATOR_NS = { namespace: "beyla-system", name: "all", clusterWide: true };

/** JSON form of a parsed spec: regexes and port ranges become their text. */
const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

function proc(namespace: string, labels: Record<string, string> = {}): ProcessInfo {
  return {
    exePath: "/app/server",
    openPorts: [8080],
    k8s: { namespace, podName: "web-1", podLabels: labels, podAnnotations: {} },
  };
}

describe("parseInstrumentationSpec", () => {
  it("reads every field of a full spec", () => {
    const spec = parseInstrumentationSpec(
      {
        discovery: {
          services: [
            {
              name: "cart",
              namespace: "shop-svc",
              openPorts: "8080,9000-9100",
              exePath: "/app/.*",
              kubernetes: {
                namespace: "^shop$",
                podName: "^cart-",
                deploymentName: "cart",
                replicasetName: "cart-.*",
                statefulsetName: "db",
                daemonsetName: "ds",
                ownerName: "cart",
                podLabels: { app: "cart" },
                podAnnotations: { "beyla.io/on": "true" },
              },
            },
          ],
          excludeServices: [{ exePath: "sidecar" }],
        },
        attributes: { kubernetes: { enable: "autodetect", clusterName: "prod" } },
        routes: {
          patterns: ["/users/{id}"],
          ignoredPatterns: ["/health"],
          ignoreMode: "traces",
          unmatched: "wildcard",
        },
        metrics: {
          features: ["application", "network"],
          instrumentations: ["http", "grpc"],
          network: { enabled: true },
        },
        export: {
          otlp: {
            endpoint: "http://collector:4318",
            protocol: "http/protobuf",
            headersFrom: { secretKeyRef: { name: "otlp-auth", key: "hdrs" } },
          },
          prometheus: { port: 9400, path: "/m" },
        },
      },
      SHOP,
    );
    assert.deepEqual(json(spec), {
      services: [
        {
          name: "cart",
          namespace: "shop-svc",
          openPorts: "8080,9000-9100",
          exePath: "/app/.*",
          k8sNamespace: "^shop$",
          k8sPodName: "^cart-",
          k8sDeploymentName: "cart",
          k8sReplicaSetName: "cart-.*",
          k8sStatefulSetName: "db",
          k8sDaemonSetName: "ds",
          k8sOwnerName: "cart",
          k8sPodLabels: { app: "cart" },
          k8sPodAnnotations: { "beyla.io/on": "true" },
        },
      ],
      excludeServices: [{ exePath: "sidecar", k8sNamespace: "^shop$" }],
      kubernetes: { enable: "autodetect", clusterName: "prod" },
      routes: {
        patterns: ["/users/{id}"],
        ignoredPatterns: ["/health"],
        ignoreMode: "traces",
        unmatched: "wildcard",
      },
      metrics: {
        features: ["application", "network"],
        instrumentations: ["http", "grpc"],
        networkEnabled: true,
      },
      export: {
        otlp: {
          endpoint: "http://collector:4318",
          protocol: "http/protobuf",
          headersFrom: { name: "otlp-auth", key: "hdrs" },
        },
        prometheus: { port: 9400, path: "/m" },
      },
    });
  });

  it("reads an empty spec as selecting nothing", () => {
    assert.deepEqual(json(parseInstrumentationSpec({}, SHOP)), {
      services: [],
      excludeServices: [],
    });
    assert.deepEqual(json(parseInstrumentationSpec(undefined, SHOP)), {
      services: [],
      excludeServices: [],
    });
  });

  it("applies the reference agent's defaults inside present sections", () => {
    const spec = parseInstrumentationSpec(
      {
        routes: {},
        metrics: { instrumentations: ["http", "*"] },
        attributes: { kubernetes: {} },
        export: { prometheus: { port: 9400 } },
      },
      SHOP,
    );
    assert.deepEqual(json(spec.routes), {
      patterns: [],
      ignoredPatterns: [],
      ignoreMode: "all",
      unmatched: "heuristic",
    });
    assert.deepEqual(spec.metrics, {
      features: ["application"],
      instrumentations: ["*"],
      networkEnabled: false,
    });
    assert.deepEqual(spec.kubernetes, { enable: false });
    assert.deepEqual(spec.export, { prometheus: { port: 9400, path: "/metrics" } });
  });

  it("takes a number as a port and the default secret key", () => {
    const spec = parseInstrumentationSpec(
      {
        discovery: { services: [{ openPorts: 443 }] },
        export: {
          otlp: { endpoint: "https://x:4317", headersFrom: { secretKeyRef: { name: "s" } } },
        },
      },
      OPERATOR_NS,
    );
    assert.equal(spec.services[0]?.openPorts?.toString(), "443");
    assert.deepEqual(spec.export?.otlp, {
      endpoint: "https://x:4317",
      headersFrom: { name: "s", key: "headers" },
    });
  });

  it("confines a namespaced resource's selectors to its own namespace", () => {
    const spec = parseInstrumentationSpec(
      { discovery: { services: [{ openPorts: "8080" }] } },
      SHOP,
    );
    const [sel] = spec.services;
    assert.ok(sel !== undefined);
    assert.equal(matchesSelector(sel, proc("shop")), true);
    assert.equal(matchesSelector(sel, proc("shopping")), false);
    assert.equal(matchesSelector(sel, proc("other")), false);
    assert.equal(matchesSelector(sel, { exePath: "/app/server", openPorts: [8080] }), false);
  });

  it("keeps a namespace regex that matches the own namespace, as an exact match", () => {
    const spec = parseInstrumentationSpec(
      { discovery: { services: [{ kubernetes: { namespace: "sho", podLabels: { app: "^w" } } }] } },
      SHOP,
    );
    const [sel] = spec.services;
    assert.ok(sel !== undefined);
    assert.equal(sel.k8sNamespace?.source, "^shop$");
    assert.equal(matchesSelector(sel, proc("shop", { app: "web" })), true);
    assert.equal(matchesSelector(sel, proc("shop", { app: "db" })), false);
  });

  it("lets a cluster-wide resource select in every namespace", () => {
    const spec = parseInstrumentationSpec(
      { discovery: { services: [{ kubernetes: { namespace: "^(shop|pay)$" } }] } },
      OPERATOR_NS,
    );
    const [sel] = spec.services;
    assert.ok(sel !== undefined);
    assert.equal(matchesSelector(sel, proc("pay")), true);
    assert.equal(matchesSelector(sel, proc("beyla-system")), false);
    const any = parseInstrumentationSpec(
      { discovery: { services: [{ openPorts: 8080 }] } },
      OPERATOR_NS,
    );
    assert.equal(matchesSelector(any.services[0]!, { exePath: "/x", openPorts: [8080] }), true);
  });

  const bad: [string, unknown, string][] = [
    [
      "an RE2-invalid regex in a pod label",
      { discovery: { services: [{ kubernetes: { podLabels: { app: "(web" } } }] } },
      'config: BeylaInstrumentation shop/web: field "spec.discovery.services[0].kubernetes.podLabels.app": value "(web" is not a valid RE2 regular expression',
    ],
    [
      "a backtracking-only construct",
      { discovery: { services: [{ exePath: "(a)\\1" }] } },
      'field "spec.discovery.services[0].exePath": value "(a)\\\\1" is not a valid RE2 regular expression',
    ],
    [
      "a reversed port range",
      { discovery: { excludeServices: [{ openPorts: "9000-8000" }] } },
      'field "spec.discovery.excludeServices[0].openPorts": value "9000-8000" has a reversed range "9000-8000"',
    ],
    [
      "a port out of range",
      { discovery: { services: [{ openPorts: "80,70000" }] } },
      'field "spec.discovery.services[0].openPorts": value "80,70000" has a port out of range "70000"',
    ],
    [
      "an entry that selects nothing",
      { discovery: { services: [{ name: "x" }] } },
      'field "spec.discovery.services[0]": entry selects nothing; allowed: an entry with at least one of openPorts',
    ],
    [
      "a snake_case key from the YAML",
      { discovery: { services: [{ open_ports: "80" }] } },
      'field "spec.discovery.services[0].open_ports": unknown key (did you mean "openPorts"?)',
    ],
    [
      "an unknown kubernetes criterion",
      { discovery: { services: [{ kubernetes: { podname: "x" } }] } },
      'field "spec.discovery.services[0].kubernetes.podname": unknown key (did you mean "podName"?)',
    ],
    [
      "a namespace regex that cannot match the own namespace",
      { discovery: { services: [{ kubernetes: { namespace: "^prod$" } }] } },
      'field "spec.discovery.services[0].kubernetes.namespace": value "^prod$" does not match namespace "shop"',
    ],
    [
      "an unknown ignore mode",
      { routes: { ignoreMode: "logs" } },
      'field "spec.routes.ignoreMode": value "logs" is not allowed; allowed: one of all, traces, metrics',
    ],
    [
      "a malformed route pattern",
      { routes: { patterns: ["/ok", "users/{id}"] } },
      'field "spec.routes.patterns[1]": value "users/{id}" does not start with "/"',
    ],
    [
      "an unknown kubernetes enable value",
      { attributes: { kubernetes: { enable: "yes" } } },
      'field "spec.attributes.kubernetes.enable": value "yes" is not allowed',
    ],
    [
      "an unknown metrics feature",
      { metrics: { features: ["application", "logs"] } },
      'field "spec.metrics.features[1]": value "logs" is not allowed; allowed: one of application,',
    ],
    [
      "a repeated instrumentation",
      { metrics: { instrumentations: ["http", "http"] } },
      'field "spec.metrics.instrumentations[1]": value "http" is repeated',
    ],
    [
      "a non-HTTP OTLP endpoint",
      { export: { otlp: { endpoint: "collector:4318" } } },
      'field "spec.export.otlp.endpoint": value "collector:4318" is not allowed',
    ],
    [
      "a Prometheus export without port",
      { export: { prometheus: { path: "/metrics" } } },
      'field "spec.export.prometheus.port": value (missing) is not allowed',
    ],
    ["a spec that is a list", [1], 'field "spec": value [1] (a list) is not a mapping'],
  ];
  for (const [what, spec, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => parseInstrumentationSpec(spec, SHOP),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.source, "crd");
          assert.equal(err.file, "BeylaInstrumentation shop/web");
          assert.ok(err.message.includes(message), `${err.message}\n  lacks\n${message}`);
          return true;
        },
      );
    });
  }
});
