import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as shared from "./index.js";

describe("public API", () => {
  it("exports exactly the documented runtime names", () => {
    assert.deepEqual(Object.keys(shared).sort(), [
      "ATTRIBUTES",
      "BearerAuth",
      "ConfigError",
      "DURATION_BUCKETS_SECONDS",
      "INSTRUMENTATIONS",
      "METRICS",
      "METRICS_FEATURES",
      "PortRanges",
      "Regex",
      "RouteMatcher",
      "SIZE_BUCKETS_BYTES",
      "canonicalJson",
      "expandEnv",
      "findSelector",
      "guessOtlpProtocol",
      "hasK8sCriteria",
      "heuristicRoute",
      "instrumentationLabel",
      "loadAgentConfig",
      "makeSelectorSet",
      "matchesSelector",
      "parseDuration",
      "parseInstrumentationSpec",
      "parseOtlpHeaders",
      "prometheusLabelName",
      "readApplyAnswer",
      "readSelectorSet",
      "requestJson",
      "selectorSetHash",
      "serviceAccountUsername",
      "sortResources",
    ]);
  });

  it("goes from YAML and environment to selection and routes", () => {
    const cfg = shared.loadAgentConfig({
      yamlText: 'routes:\n  patterns: ["/users/{id}"]\n  ignored_patterns: [/health]\n',
      env: { BEYLA_OPEN_PORT: "8080", BEYLA_SERVICE_NAME: "shop" },
    });
    const proc = { exePath: "/usr/bin/node", openPorts: [8080] };
    assert.equal(shared.matchesSelector(cfg.discovery.services[0]!, proc), true);
    assert.equal(shared.findSelector(cfg.discovery, proc)?.name, "shop");
    const routes = new shared.RouteMatcher(cfg.routes);
    assert.equal(routes.route("/users/7?x=1"), "/users/{id}");
    assert.equal(routes.route("/orders/7"), "/orders/*");
    assert.equal(routes.ignored("/health"), "all");
  });
});
