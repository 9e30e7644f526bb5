import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadAgentConfig } from "./load.js";
import { findSelector } from "./selector.js";
import type { AgentConfig } from "./types.js";

/** The config as plain JSON (PortRanges and Regex show as their source text). */
const plain = (cfg: AgentConfig): unknown => JSON.parse(JSON.stringify(cfg));

const FULL = `
open_port: 8080
executable_name: "^/app/server$"
service_name: checkout
service_namespace: shop
log_level: DEBUG
trace_printer: text
metrics_max_series: 5000
discovery:
  poll_interval: 2s
  services:
    - name: nginx
      open_ports: 80,443
    - exe_path: java
      k8s_namespace: ^shop$
  exclude_services:
    - exe_path: prometheus
routes:
  patterns: ["/users/{id}"]
  ignored_patterns: [/health]
  ignore_mode: metrics
  unmatched: path
attributes:
  kubernetes:
    enable: autodetect
    cluster_name: prod
prometheus_export:
  port: 9090
  path: /prom
  ttl: 10m
otel_metrics_export:
  endpoint: http://collector:4318
  interval: 30s
otel_traces_export:
  endpoint: http://collector:4317
internal_metrics:
  exporter: prometheus
ebpf:
  capture_hooks: syscalls
`;

describe("loadAgentConfig", () => {
  it("gives the defaults for an empty config", () => {
    assert.deepEqual(plain(loadAgentConfig({ env: {} })), {
      discovery: { services: [], excludeServices: [], pollIntervalMs: 500 },
      routes: {
        patterns: [],
        ignoredPatterns: [],
        ignoreMode: "all",
        unmatched: "heuristic",
        wildcardChar: "*",
      },
      kubernetes: { enable: false },
      logLevel: "info",
      tracePrinter: "disabled",
      metricsTtlMs: 300_000,
      maxSeries: 10_000,
      internalMetrics: false,
      captureHooks: "auto",
      warnings: [],
    });
  });

  it("reads every supported YAML key", () => {
    assert.deepEqual(plain(loadAgentConfig({ yamlText: FULL, env: {} })), {
      discovery: {
        services: [
          { openPorts: "8080", exePath: "^/app/server$", name: "checkout", namespace: "shop" },
          { name: "nginx", openPorts: "80,443" },
          { exePath: "java", k8sNamespace: "^shop$" },
        ],
        excludeServices: [{ exePath: "prometheus" }],
        pollIntervalMs: 2000,
      },
      serviceName: "checkout",
      serviceNamespace: "shop",
      routes: {
        patterns: ["/users/{id}"],
        ignoredPatterns: ["/health"],
        ignoreMode: "metrics",
        unmatched: "path",
        wildcardChar: "*",
      },
      kubernetes: { enable: "autodetect", clusterName: "prod" },
      logLevel: "debug",
      tracePrinter: "text",
      metricsTtlMs: 600_000,
      maxSeries: 5000,
      internalMetrics: true,
      captureHooks: "syscalls",
      warnings: [],
      prometheus: { port: 9090, path: "/prom" },
      otelMetrics: {
        endpoint: "http://collector:4318/v1/metrics",
        protocol: "http/protobuf",
        headers: {},
        intervalMs: 30_000,
        insecureSkipVerify: false,
      },
      otelTraces: {
        endpoint: "http://collector:4317",
        protocol: "grpc",
        headers: {},
        intervalMs: 5000,
        insecureSkipVerify: false,
      },
    });
  });

  it("lets environment variables override YAML", () => {
    const cfg = loadAgentConfig({
      yamlText: FULL,
      env: {
        BEYLA_OPEN_PORT: "9000-9100",
        BEYLA_EXECUTABLE_NAME: "node",
        BEYLA_SERVICE_NAME: "env-svc",
        BEYLA_SERVICE_NAMESPACE: "env-ns",
        BEYLA_LOG_LEVEL: "warn",
        BEYLA_TRACE_PRINTER: "json",
        BEYLA_PROMETHEUS_PORT: "9400",
        BEYLA_PROMETHEUS_PATH: "/m",
        BEYLA_DISCOVERY_POLL_INTERVAL: "100ms",
        BEYLA_INTERNAL_METRICS_EXPORTER: "disabled",
        BEYLA_EBPF_CAPTURE_HOOKS: "sockets",
        OTEL_EXPORTER_OTLP_ENDPOINT: "https://otlp.example.com/otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
        OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Basic%20dXNlcjprZXk%3D",
        OTEL_METRIC_EXPORT_INTERVAL: "1000",
      },
    });
    assert.deepEqual(JSON.parse(JSON.stringify(cfg.discovery.services[0])), {
      openPorts: "9000-9100",
      exePath: "node",
      name: "env-svc",
      namespace: "env-ns",
    });
    assert.deepEqual(
      {
        serviceName: cfg.serviceName,
        serviceNamespace: cfg.serviceNamespace,
        logLevel: cfg.logLevel,
        tracePrinter: cfg.tracePrinter,
        prometheus: cfg.prometheus,
        pollIntervalMs: cfg.discovery.pollIntervalMs,
        internalMetrics: cfg.internalMetrics,
        captureHooks: cfg.captureHooks,
        metrics: cfg.otelMetrics,
        traces: cfg.otelTraces?.endpoint,
      },
      {
        serviceName: "env-svc",
        serviceNamespace: "env-ns",
        logLevel: "warn",
        tracePrinter: "json",
        prometheus: { port: 9400, path: "/m" },
        pollIntervalMs: 100,
        internalMetrics: false,
        captureHooks: "sockets",
        metrics: {
          endpoint: "https://otlp.example.com/otlp/v1/metrics",
          protocol: "http/protobuf",
          headers: { Authorization: "Basic dXNlcjprZXk=" },
          intervalMs: 1000,
          insecureSkipVerify: false,
        },
        traces: "https://otlp.example.com/otlp/v1/traces",
      },
    );
  });

  const names: [string, string, Record<string, string>, string | undefined][] = [
    ["takes service_name from YAML", "service_name: a", {}, "a"],
    ["uses OTEL_SERVICE_NAME over YAML", "service_name: a", { OTEL_SERVICE_NAME: "b" }, "b"],
    [
      "uses BEYLA_SERVICE_NAME over OTEL_SERVICE_NAME",
      "",
      { OTEL_SERVICE_NAME: "b", BEYLA_SERVICE_NAME: "c" },
      "c",
    ],
    ["treats an empty variable as unset", "service_name: a", { BEYLA_SERVICE_NAME: "" }, "a"],
    ["treats an empty YAML name as unset", 'service_name: ""', {}, undefined],
  ];
  for (const [name, yamlText, env, expected] of names) {
    it(name, () => assert.equal(loadAgentConfig({ yamlText, env }).serviceName, expected));
  }

  it("builds the implicit selector from open_port alone, as a YAML number", () => {
    const cfg = loadAgentConfig({ yamlText: "open_port: 443", env: {} });
    assert.deepEqual(JSON.parse(JSON.stringify(cfg.discovery.services)), [{ openPorts: "443" }]);
  });

  it("builds the implicit selector from BEYLA_EXECUTABLE_NAME alone", () => {
    const cfg = loadAgentConfig({ env: { BEYLA_EXECUTABLE_NAME: "python3" } });
    assert.deepEqual(JSON.parse(JSON.stringify(cfg.discovery.services)), [{ exePath: "python3" }]);
  });

  it("ignores an empty executable_name", () => {
    const cfg = loadAgentConfig({ yamlText: 'executable_name: ""', env: {} });
    assert.deepEqual(cfg.discovery.services, []);
  });

  it("ORs the implicit selector with discovery.services and ANDs inside it", () => {
    const cfg = loadAgentConfig({
      yamlText:
        "open_port: 8080\nexecutable_name: node\ndiscovery:\n  services:\n    - name: db\n      open_ports: 5432\n",
      env: {},
    });
    const find = (exePath: string, openPorts: number[]) =>
      findSelector(cfg.discovery, { exePath, openPorts })?.name;
    assert.equal(find("/usr/bin/node", [8080]), undefined);
    assert.equal(find("/usr/bin/node", [3000]), undefined);
    assert.equal(find("/usr/bin/python", [8080]), undefined);
    assert.equal(find("/usr/lib/postgresql/bin/postgres", [5432]), "db");
    const cfg2 = loadAgentConfig({
      yamlText: "open_port: 8080\nexecutable_name: node\nservice_name: web\n",
      env: {},
    });
    assert.equal(
      findSelector(cfg2.discovery, { exePath: "/usr/bin/node", openPorts: [8080] })?.name,
      "web",
    );
  });

  it("warns about reference options it does not implement, and goes on", () => {
    const cfg = loadAgentConfig({
      yamlText:
        "log_format: json\ndiscovery:\n  skip_go_specific_tracers: true\nprometheus_export:\n  features: [application]\notel_traces_export:\n  sampler: {name: always_on}\ninternal_metrics:\n  prometheus: {port: 6060}\nebpf:\n  wakeup_len: 10\n",
      env: {},
    });
    assert.deepEqual(cfg.warnings, [
      'config: field "log_format" is an option of the reference agent that this agent does not implement; ignored',
      'config: field "prometheus_export.features" is an option of the reference agent that this agent does not implement; ignored',
      'config: field "otel_traces_export.sampler" is an option of the reference agent that this agent does not implement; ignored',
      'config: field "discovery.skip_go_specific_tracers" is an option of the reference agent that this agent does not implement; ignored',
      'config: field "internal_metrics.prometheus" is an option of the reference agent that this agent does not implement; ignored',
      'config: field "ebpf.wakeup_len" is an option of the reference agent that this agent does not implement; ignored',
      'config: field "otel_traces_export" has no endpoint (nor OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); OTLP traces export is off',
    ]);
  });

  it("expands ${VAR} and ${VAR:-default} from the environment", () => {
    const cfg = loadAgentConfig({
      yamlText: "open_port: ${APP_PORT}\nprometheus_export:\n  port: ${PROM_PORT:-9090}\n",
      env: { APP_PORT: "3000" },
    });
    assert.equal(cfg.discovery.services[0]?.openPorts?.toString(), "3000");
    assert.deepEqual(cfg.prometheus, { port: 9090, path: "/metrics" });
  });

  const bad: [string, string, Record<string, string>, string][] = [
    [
      "an unknown top-level key, with a suggestion",
      "open_ports: 80",
      {},
      'config: field "open_ports": unknown key (did you mean "open_port"?); allowed: one of open_port, executable_name, service_name, service_namespace, log_level, trace_printer, discovery, routes, attributes, prometheus_export, otel_metrics_export, otel_traces_export, internal_metrics, metrics_max_series, ebpf',
    ],
    [
      "an unknown discovery key",
      "discovery:\n  instrument: []",
      {},
      'config: field "discovery.instrument": unknown key; allowed: one of services, exclude_services, poll_interval',
    ],
    [
      "a bad open_port",
      "open_port: 0",
      {},
      'config: field "open_port": value "0" has a port out of range "0"; allowed: comma-separated ports and ranges between 1 and 65535, such as "80,443,8000-8999"',
    ],
    [
      "a bad BEYLA_OPEN_PORT",
      "",
      { BEYLA_OPEN_PORT: "80-" },
      'config: environment variable "BEYLA_OPEN_PORT": value "80-" has an invalid item "80-"; allowed: comma-separated ports and ranges between 1 and 65535, such as "80,443,8000-8999"',
    ],
    [
      "a bad executable_name",
      "executable_name: '(?P<x'",
      {},
      'config: field "executable_name": value "(?P<x" is not a valid RE2 regular expression (error parsing regexp: invalid named capture: `(?P<x`); allowed: an RE2 regular expression (https://github.com/google/re2/wiki/Syntax)',
    ],
    [
      "a bad BEYLA_EXECUTABLE_NAME",
      "",
      { BEYLA_EXECUTABLE_NAME: "a)" },
      'config: environment variable "BEYLA_EXECUTABLE_NAME": value "a)" is not a valid RE2 regular expression (error parsing regexp: unexpected ): `a)`); allowed: an RE2 regular expression (https://github.com/google/re2/wiki/Syntax)',
    ],
    [
      "a bad log level",
      "log_level: verbose",
      {},
      'config: field "log_level": value "verbose" is not allowed; allowed: one of debug, info, warn, error',
    ],
    [
      "a bad BEYLA_LOG_LEVEL",
      "",
      { BEYLA_LOG_LEVEL: "warning" },
      'config: environment variable "BEYLA_LOG_LEVEL": value "warning" is not allowed (did you mean "warn"?); allowed: one of debug, info, warn, error',
    ],
    [
      "a bad capture_hooks",
      "ebpf:\n  capture_hooks: kprobes",
      {},
      'config: field "ebpf.capture_hooks": value "kprobes" is not allowed; allowed: one of auto, sockets, syscalls',
    ],
    [
      "a bad BEYLA_EBPF_CAPTURE_HOOKS",
      "",
      { BEYLA_EBPF_CAPTURE_HOOKS: "socket" },
      'config: environment variable "BEYLA_EBPF_CAPTURE_HOOKS": value "socket" is not allowed (did you mean "sockets"?); allowed: one of auto, sockets, syscalls',
    ],
    [
      "a bad trace printer",
      "trace_printer: json_indent",
      {},
      'config: field "trace_printer": value "json_indent" is not allowed (did you mean "json"?); allowed: one of disabled, text, json',
    ],
    [
      "a bad BEYLA_TRACE_PRINTER",
      "",
      { BEYLA_TRACE_PRINTER: "txt" },
      'config: environment variable "BEYLA_TRACE_PRINTER": value "txt" is not allowed (did you mean "text"?); allowed: one of disabled, text, json',
    ],
    [
      "a bad poll interval",
      "discovery:\n  poll_interval: 5",
      {},
      'config: field "discovery.poll_interval": value 5 (a number) has the wrong type; allowed: a duration string such as "500ms" or "5m"',
    ],
    [
      "a bad BEYLA_DISCOVERY_POLL_INTERVAL",
      "",
      { BEYLA_DISCOVERY_POLL_INTERVAL: "fast" },
      'config: environment variable "BEYLA_DISCOVERY_POLL_INTERVAL": value "fast" is not allowed; allowed: a duration such as "500ms", "10s", "5m" or "1h30m" (units ns, us, ms, s, m, h)',
    ],
    [
      "a bad internal metrics exporter",
      "internal_metrics:\n  exporter: statsd",
      {},
      'config: field "internal_metrics.exporter": value "statsd" is not allowed; allowed: one of disabled, prometheus, otel',
    ],
    [
      "a bad exclude_services entry",
      "discovery:\n  exclude_services:\n    - exe_path: '*'",
      {},
      'config: field "discovery.exclude_services[0].exe_path": value "*" is not a valid RE2 regular expression (error parsing regexp: missing argument to repetition operator: `*`); allowed: an RE2 regular expression (https://github.com/google/re2/wiki/Syntax)',
    ],
    [
      "a section that is not a mapping",
      "routes: [a]",
      {},
      'config: field "routes": value ["a"] (a list) is not a mapping; allowed: a mapping of keys to values',
    ],
    [
      "a service name of the wrong type",
      "service_name: [a]",
      {},
      'config: field "service_name": value ["a"] (a list) has the wrong type; allowed: a string',
    ],
  ];
  for (const [name, yamlText, env, message] of bad) {
    it(`rejects ${name}`, () =>
      assert.throws(() => loadAgentConfig({ yamlText, env }), { name: "ConfigError", message }));
  }

  it("names the file in YAML errors but not in environment errors", () => {
    assert.throws(
      () =>
        loadAgentConfig({
          yamlText: "routes:\n  unmatched: foo\n",
          yamlPath: "/etc/beyla.yml",
          env: {},
        }),
      {
        message:
          'config: /etc/beyla.yml: field "routes.unmatched": value "foo" is not allowed; allowed: one of heuristic, path, wildcard, unset',
      },
    );
    assert.throws(
      () =>
        loadAgentConfig({
          yamlText: "",
          yamlPath: "/etc/beyla.yml",
          env: { BEYLA_LOG_LEVEL: "x" },
        }),
      {
        message:
          'config: environment variable "BEYLA_LOG_LEVEL": value "x" is not allowed; allowed: one of debug, info, warn, error',
      },
    );
  });
});
