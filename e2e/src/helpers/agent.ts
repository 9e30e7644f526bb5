import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, REPO_ROOT, start, waitFor, type Child } from "./processes.js";
import { parsePromText, type Sample } from "./prom-text.js";

export interface AgentHandle {
  child: Child;
  metricsPort: number;
  /** Current samples of the agent's /metrics. */
  samples(): Promise<Sample[]>;
  /** Waits until `check` holds for the samples (the agent drains on a timer). */
  waitForSamples(
    what: string,
    check: (s: Sample[]) => boolean,
    timeoutMs?: number,
  ): Promise<Sample[]>;
  stop(): Promise<void>;
}

export interface AgentOptions {
  env?: Record<string, string>;
  /** YAML text written to a temporary file and passed with --config. */
  configYaml?: string;
  /** Port of /metrics (BEYLA_PROMETHEUS_PORT); default: a free one. */
  metricsPort?: number;
}

export const AGENT_CLI = join(REPO_ROOT, "packages", "agent", "dist", "cli.js");

export function captureHooksFromTestEnv(): Record<string, string> {
  const hooks = process.env["BEYLA_EBPF_CAPTURE_HOOKS"];
  return hooks === undefined ? {} : { BEYLA_EBPF_CAPTURE_HOOKS: hooks };
}

/** Starts the real agent CLI and waits until /readyz says it is instrumenting. */
export async function startAgent(opts: AgentOptions = {}): Promise<AgentHandle> {
  const metricsPort = opts.metricsPort ?? (await freePort());
  const args = [AGENT_CLI];
  if (opts.configYaml !== undefined) {
    const dir = mkdtempSync(join(tmpdir(), "beyla-e2e-"));
    const file = join(dir, "beyla.yml");
    writeFileSync(file, opts.configYaml);
    args.push("--config", file);
  }
  const child = start(process.execPath, args, {
    env: {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      BEYLA_PROMETHEUS_PORT: String(metricsPort),
      BEYLA_LOG_LEVEL: "debug",
      // scripts/test.sh runs the capture suites a second time with the syscall hooks
      ...captureHooksFromTestEnv(),
      ...opts.env,
    },
  });
  await waitFor(
    `agent /readyz (stderr: ${child.stderr().slice(-400)})`,
    async () => {
      if (child.proc.exitCode !== null) {
        throw new Error(`agent exited ${child.proc.exitCode}: ${child.stderr()}`);
      }
      const res = await fetch(`http://127.0.0.1:${metricsPort}/readyz`);
      return res.status === 200 ? true : undefined;
    },
    20_000,
  );
  checkCaptureHooks(child.stderr(), { ...captureHooksFromTestEnv(), ...opts.env });
  return agentHandle(child, metricsPort);
}

/** When the hooks were asked for, the agent says it loaded those. */
function checkCaptureHooks(stderr: string, env: Record<string, string>): void {
  const wanted = env["BEYLA_EBPF_CAPTURE_HOOKS"];
  if (wanted === undefined || wanted === "auto") return;
  const line = stderr.split("\n").find((l) => l.includes("eBPF programs attached")) ?? "";
  if (!line.includes(`hooks="${wanted}"`)) {
    throw new Error(`agent was asked for the ${wanted} hooks but logged: ${line}`);
  }
}

/**
 * A handle on an agent process (started here or in a Pod) serving /metrics on `metricsPort`
 * of `host` (a Pod's agent: its Pod IP).
 */
export function agentHandle(child: Child, metricsPort: number, host = "127.0.0.1"): AgentHandle {
  const url = `http://${host}:${metricsPort}`;
  const samples = async () => parsePromText(await (await fetch(`${url}/metrics`)).text());
  return {
    child,
    metricsPort,
    samples,
    waitForSamples: (what, check, timeoutMs = 10_000) =>
      waitFor(
        what,
        async () => {
          const s = await samples();
          return check(s) ? s : undefined;
        },
        timeoutMs,
      ),
    stop: () => child.stop(),
  };
}

/** Waits until the agent logged that it instruments `pid`. */
export async function waitForInstrumented(agent: AgentHandle, pid: number): Promise<void> {
  await waitFor(`agent to instrument pid ${pid}`, () =>
    agent.child.stderr().includes(`msg="instrumenting process" pid=${pid} `) ? true : undefined,
  );
}

/**
 * Waits until the count of `name` with `labels` reaches `expected`, then waits a little more
 * and returns the samples, so a count that overshoots is seen too.
 */
export async function settledSamples(
  agent: AgentHandle,
  ready: (s: Sample[]) => boolean,
  what: string,
): Promise<Sample[]> {
  await agent.waitForSamples(what, ready, 15_000);
  await new Promise((r) => setTimeout(r, 400));
  return agent.samples();
}
