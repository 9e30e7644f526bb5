/**
 * A stand-in node agent for the operator end-to-end test: the real control endpoint
 * (packages/agent/src/control) over HTTPS with TokenReview against the real API server, whose
 * apply callback matches each resource's parsed selectors against a fixed list of processes
 * (HARNESS_PROCESSES) and counts them. Every push, apply and pull is written as one JSON line
 * to HARNESS_EVENTS, for the test to read.
 *
 * Environment: KUBECONFIG (for TokenReview), HARNESS_PORT, HARNESS_CERT, HARNESS_KEY,
 * HARNESS_NODE, HARNESS_ALLOWED (username let in), HARNESS_AUDIENCE, HARNESS_PROCESSES (JSON
 * list of ProcessInfo), HARNESS_EVENTS (file), and for a pull at start HARNESS_PULL_URL,
 * HARNESS_TOKEN_FILE, HARNESS_CA_FILE.
 */
import { appendFileSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";
import { ControlServer, kubeTokenReview, pullOnce } from "@beyla-ts/agent/dist/control/index.js";
import { findSelector, type ProcessInfo } from "@beyla-ts/shared";

const env = process.env;

function need(name: string): string {
  const v = env[name];
  if (v === undefined || v === "") throw new Error(`${name} is required`);
  return v;
}

const eventsFile = need("HARNESS_EVENTS");
function event(e: Record<string, unknown>): void {
  appendFileSync(eventsFile, JSON.stringify({ at: Date.now(), ...e }) + "\n");
}

const processes = JSON.parse(env["HARNESS_PROCESSES"] ?? "[]") as ProcessInfo[];
const kc = new KubeConfig();
kc.loadFromDefault();

const server = new ControlServer({
  port: Number(need("HARNESS_PORT")),
  host: "127.0.0.1",
  node: need("HARNESS_NODE"),
  tls: { certFile: need("HARNESS_CERT"), keyFile: need("HARNESS_KEY") },
  review: kubeTokenReview(kc, [need("HARNESS_AUDIENCE")]),
  allowedUsername: need("HARNESS_ALLOWED"),
  apply: (set, parsed) => {
    const selected = parsed.map((p) => ({
      namespace: p.resource.namespace,
      name: p.resource.name,
      processes: processes.filter((proc) => findSelector(p.spec, proc) !== undefined).length,
    }));
    event({
      event: "apply",
      version: set.version,
      hash: set.hash,
      resources: set.resources,
      selected,
    });
    return { selected };
  },
  onPush: (set, status) => event({ event: "push", status, version: set.version, hash: set.hash }),
});

async function main(): Promise<void> {
  const port = await server.listen();
  event({ event: "listening", port });
  const pullUrl = env["HARNESS_PULL_URL"];
  if (pullUrl !== undefined && pullUrl !== "") {
    try {
      const set = await pullOnce({
        url: pullUrl,
        tokenFile: need("HARNESS_TOKEN_FILE"),
        caFile: env["HARNESS_CA_FILE"],
        attempts: 5,
        retryDelayMs: 500,
      });
      const answer = await server.offer(set);
      event({
        event: "pull",
        version: set.version,
        hash: set.hash,
        applied: answer.appliedVersion,
      });
    } catch (err) {
      const cause =
        err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
      event({
        event: "pull-failed",
        error: `${err instanceof Error ? err.message : String(err)}${cause}`,
      });
    }
  }
  process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `operator-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
