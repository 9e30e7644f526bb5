#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { BpfLoadError, BpfNotSupportedError } from "@beyla-ts/ebpf-native";
import { ConfigError, loadAgentConfig, type AgentConfig } from "@beyla-ts/shared";
import { Agent } from "./agent.js";
import { captureCapabilityHint } from "./capabilities.js";
import { KubeUnavailableError } from "./kube/start-kube.js";
import { Logger } from "./logger.js";

const USAGE = `Usage: beyla-agent [--config FILE]

Instruments the HTTP requests of selected processes with eBPF and exports RED metrics
(Prometheus scrape, OTLP) and traces (OTLP). Configuration: a YAML file compatible with the
reference agent (--config, or BEYLA_CONFIG_PATH), overridden by environment variables such as
BEYLA_OPEN_PORT, BEYLA_EXECUTABLE_NAME, BEYLA_PROMETHEUS_PORT, BEYLA_TRACE_PRINTER,
OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_HEADERS.
Kubernetes metadata (attributes.kubernetes.enable / BEYLA_KUBE_METADATA_ENABLE) uses
KUBECONFIG, ~/.kube/config or the in-cluster service account, and NODE_NAME (default: the
host name) to watch the pods of this node.

Options:
  --config FILE   YAML configuration file
  --help          show this help
Exit codes: 0 stopped by a signal, 1 capture could not start, 2 bad configuration.`;

/** Exit codes. */
const EXIT_RUNTIME = 1;
const EXIT_CONFIG = 2;

/** A bad command line or unreadable config file: reported like a config error (exit 2). */
class UsageError extends Error {}

function parseArgs(argv: string[]): { configPath?: string; help: boolean } {
  let configPath: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") help = true;
    else if (arg === "--config" || arg === "-config") configPath = argv[++i];
    else if (arg.startsWith("--config=")) configPath = arg.slice("--config=".length);
    else
      throw new UsageError(
        `unknown argument ${JSON.stringify(arg)}; allowed: --config FILE, --help`,
      );
  }
  if ((argv.includes("--config") || argv.includes("-config")) && !configPath) {
    throw new UsageError("--config needs a value: the path of a YAML file");
  }
  return { configPath, help };
}

function readConfig(argv: string[]): AgentConfig | undefined {
  const args = parseArgs(argv);
  if (args.help) {
    process.stdout.write(USAGE + "\n");
    return undefined;
  }
  const path = args.configPath ?? process.env["BEYLA_CONFIG_PATH"];
  let yamlText: string | undefined;
  if (path) {
    try {
      yamlText = readFileSync(path, "utf8");
    } catch (e) {
      throw new UsageError(
        `cannot read config file ${JSON.stringify(path)}: ${(e as Error).message}`,
      );
    }
  }
  const config = loadAgentConfig({ yamlText, yamlPath: path, env: process.env });
  // With a control endpoint the operator supplies the selection.
  if (config.discovery.services.length === 0 && !config.control) {
    throw new ConfigError(
      "discovery",
      undefined,
      "open_port / BEYLA_OPEN_PORT, executable_name / BEYLA_EXECUTABLE_NAME, or discovery.services",
      { problem: "no process selection criteria are set" },
    );
  }
  return config;
}

/** This process's /proc status (its capability sets), "" when unreadable. */
function procStatus(): string {
  try {
    return readFileSync("/proc/self/status", "utf8");
  } catch {
    return "";
  }
}

async function main(): Promise<number> {
  let config: AgentConfig | undefined;
  try {
    config = readConfig(process.argv.slice(2));
  } catch (e) {
    if (e instanceof ConfigError || e instanceof UsageError) {
      process.stderr.write(`beyla-agent: ${e.message}\n`);
      return EXIT_CONFIG;
    }
    throw e;
  }
  if (!config) return 0;
  const log = new Logger(config.logLevel);
  for (const warning of config.warnings) log.warn(warning);
  const agent = new Agent(
    config,
    log,
    {},
    {
      nodeName: process.env["NODE_NAME"],
      kubeconfig: process.env["KUBECONFIG"],
      home: process.env["HOME"],
      serviceHost: process.env["KUBERNETES_SERVICE_HOST"],
      servicePort: process.env["KUBERNETES_SERVICE_PORT"],
    },
  );
  try {
    await agent.start();
  } catch (e) {
    const capture = e instanceof BpfNotSupportedError || e instanceof BpfLoadError;
    const known = capture || e instanceof KubeUnavailableError;
    // A missing capability looks like a missing kernel feature to the probes: name it.
    if (known) log.error(e.message + (capture ? captureCapabilityHint(procStatus()) : ""));
    else log.error("agent failed to start", { error: e });
    if (e instanceof BpfLoadError && e.verifierLog) process.stderr.write(e.verifierLog + "\n");
    await agent.stop().catch(() => {});
    return EXIT_RUNTIME;
  }
  // Every timer and handle of the agent is unref'ed, and without a scrape endpoint nothing
  // else holds the event loop: this interval keeps the agent running until a signal.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  clearInterval(keepAlive);
  log.info("stopping");
  await agent.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(
      `beyla-agent: unexpected error: ${e instanceof Error ? e.stack : String(e)}\n`,
    );
    process.exit(EXIT_RUNTIME);
  },
);
