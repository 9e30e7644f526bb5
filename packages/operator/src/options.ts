/**
 * Command-line flags of `beyla-operator`, each also settable by an environment variable
 * (BEYLA_OPERATOR_<FLAG>, e.g. --agent-selector and BEYLA_OPERATOR_AGENT_SELECTOR); flags win.
 * The caller passes argv and the environment; nothing here reads process.env.
 */
import { parseDuration, type Env } from "@beyla-ts/shared";
import type { Level } from "./logger.js";

export interface OperatorOptions {
  kubeconfig?: string;
  namespace?: string;
  agentNamespace?: string;
  agentSelector: string;
  agentPort: number;
  agentServiceAccount: string;
  tokenFile: string;
  agentCaFile?: string;
  agentInsecureSkipVerify: boolean;
  leaseName: string;
  identity?: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  resyncMs: number;
  watchdogMs: number;
  listenAddress: string;
  /** 0 turns the operator's endpoint off. */
  listenPort: number;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Check the serving certificate and the agent CA bundle for a rotation this often. */
  tlsReloadMs: number;
  audience: string;
  logLevel: Level;
  help: boolean;
}

type Kind = "string" | "port" | "duration" | "bool" | "level";

interface FlagSpec {
  flag: string;
  key: keyof OperatorOptions;
  kind: Kind;
  help: string;
  /** Also read from this conventional variable, below BEYLA_OPERATOR_*. */
  alsoEnv?: string;
}

const FLAGS: readonly FlagSpec[] = [
  {
    flag: "kubeconfig",
    key: "kubeconfig",
    kind: "string",
    help: "kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)",
  },
  {
    flag: "namespace",
    key: "namespace",
    kind: "string",
    alsoEnv: "POD_NAMESPACE",
    help: "the operator's namespace: its resources select cluster-wide; holds the Lease (default: the ServiceAccount's namespace)",
  },
  {
    flag: "agent-namespace",
    key: "agentNamespace",
    kind: "string",
    help: "namespace of the agent Pods (default: --namespace)",
  },
  {
    flag: "agent-selector",
    key: "agentSelector",
    kind: "string",
    help: "label selector of the agent DaemonSet's Pods (default app.kubernetes.io/name=beyla-agent)",
  },
  {
    flag: "agent-port",
    key: "agentPort",
    kind: "port",
    help: 'agents\' control port when their container has no port named "control" (default 9443)',
  },
  {
    flag: "agent-service-account",
    key: "agentServiceAccount",
    kind: "string",
    help: "the agents' ServiceAccount, the only caller allowed on GET /v1/selectors (default beyla-agent)",
  },
  {
    flag: "token-file",
    key: "tokenFile",
    kind: "string",
    help: "projected ServiceAccount token presented to agents (default /var/run/secrets/beyla/token)",
  },
  {
    flag: "agent-ca-file",
    key: "agentCaFile",
    kind: "string",
    help: "PEM CA bundle that signs the agents' serving certificates",
  },
  {
    flag: "agent-insecure-skip-verify",
    key: "agentInsecureSkipVerify",
    kind: "bool",
    help: "do not verify the agents' certificates (only when explicitly wanted)",
  },
  {
    flag: "lease-name",
    key: "leaseName",
    kind: "string",
    help: "coordination.k8s.io Lease for leader election (default beyla-operator)",
  },
  {
    flag: "identity",
    key: "identity",
    kind: "string",
    alsoEnv: "POD_NAME",
    help: "this replica's name in the Lease (default: hostname and pid)",
  },
  {
    flag: "lease-duration",
    key: "leaseDurationMs",
    kind: "duration",
    help: "how long a Lease lasts without renewal (default 15s)",
  },
  {
    flag: "renew-deadline",
    key: "renewDeadlineMs",
    kind: "duration",
    help: "the leader steps down when it could not renew for this long (default 10s)",
  },
  {
    flag: "retry-period",
    key: "retryPeriodMs",
    kind: "duration",
    help: "between Lease attempts and renewals (default 2s)",
  },
  {
    flag: "resync-period",
    key: "resyncMs",
    kind: "duration",
    help: "re-push to every agent and refresh status this often (default 60s)",
  },
  {
    flag: "watchdog",
    key: "watchdogMs",
    kind: "duration",
    help: "relist a watch that has been silent this long (default 5m)",
  },
  {
    flag: "listen-address",
    key: "listenAddress",
    kind: "string",
    help: "address of the operator's endpoint (default 0.0.0.0)",
  },
  {
    flag: "listen-port",
    key: "listenPort",
    kind: "port",
    help: "port of the operator's endpoint, GET /v1/selectors for agents; 0: off (default 9443)",
  },
  {
    flag: "tls-cert-file",
    key: "tlsCertFile",
    kind: "string",
    help: "serving certificate of the endpoint (without it: plain HTTP, for tests)",
  },
  { flag: "tls-key-file", key: "tlsKeyFile", kind: "string", help: "serving key of the endpoint" },
  {
    flag: "tls-reload-period",
    key: "tlsReloadMs",
    kind: "duration",
    help: "check the serving certificate and --agent-ca-file for a rotation this often (default 60s)",
  },
  {
    flag: "audience",
    key: "audience",
    kind: "string",
    help: "audience the agents' tokens must carry (TokenReview) (default beyla-control)",
  },
  {
    flag: "log-level",
    key: "logLevel",
    kind: "level",
    help: "debug, info, warn or error (default info)",
  },
];

export const DEFAULTS: Omit<
  OperatorOptions,
  | "kubeconfig"
  | "namespace"
  | "agentNamespace"
  | "agentCaFile"
  | "identity"
  | "tlsCertFile"
  | "tlsKeyFile"
> = {
  agentSelector: "app.kubernetes.io/name=beyla-agent",
  agentPort: 9443,
  agentServiceAccount: "beyla-agent",
  tokenFile: "/var/run/secrets/beyla/token",
  agentInsecureSkipVerify: false,
  leaseName: "beyla-operator",
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  resyncMs: 60_000,
  watchdogMs: 300_000,
  listenAddress: "0.0.0.0",
  listenPort: 9443,
  tlsReloadMs: 60_000,
  audience: "beyla-control",
  logLevel: "info",
  help: false,
};

export function envName(flag: string): string {
  return `BEYLA_OPERATOR_${flag.toUpperCase().replaceAll("-", "_")}`;
}

/** Parses flags over environment variables over defaults; throws naming the bad flag. */
export function parseOperatorOptions(argv: readonly string[], env: Env): OperatorOptions {
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const spec of FLAGS) {
    for (const name of [spec.alsoEnv, envName(spec.flag)]) {
      const v = name === undefined ? undefined : env[name];
      if (v !== undefined && v !== "")
        out[spec.key] = convert(spec, v, `environment variable ${name}`);
    }
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "-h" || arg === "--help") {
      out["help"] = true;
      continue;
    }
    if (!arg.startsWith("--")) throw new Error(`unexpected argument "${arg}" (see --help)`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = FLAGS.find((f) => f.flag === name);
    if (spec === undefined) throw new Error(`unknown flag --${name} (see --help)`);
    let value: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    if (value === undefined) {
      if (spec.kind === "bool") value = "true";
      else {
        value = argv[++i];
        if (value === undefined) throw new Error(`flag --${name} needs a value`);
      }
    }
    out[spec.key] = convert(spec, value, `flag --${name}`);
  }
  const opts = out as unknown as OperatorOptions;
  if ((opts.tlsCertFile === undefined) !== (opts.tlsKeyFile === undefined)) {
    throw new Error("flags --tls-cert-file and --tls-key-file go together");
  }
  if (opts.renewDeadlineMs >= opts.leaseDurationMs) {
    throw new Error("flag --renew-deadline must be shorter than --lease-duration");
  }
  if (opts.retryPeriodMs >= opts.renewDeadlineMs) {
    throw new Error("flag --retry-period must be shorter than --renew-deadline");
  }
  return opts;
}

function convert(spec: FlagSpec, value: string, where: string): unknown {
  switch (spec.kind) {
    case "string":
      return value;
    case "port": {
      const n = Number(value);
      if (!/^\d+$/.test(value) || n > 65535)
        throw new Error(`${where}: "${value}" is not a port (0-65535)`);
      return n;
    }
    case "duration":
      try {
        const ms = parseDuration(value, where);
        if (ms <= 0) throw new Error("zero");
        return ms;
      } catch {
        throw new Error(`${where}: "${value}" is not a positive duration such as 500ms, 15s or 5m`);
      }
    case "bool":
      if (value === "true" || value === "1") return true;
      if (value === "false" || value === "0") return false;
      throw new Error(`${where}: "${value}" is not true or false`);
    case "level":
      if (["debug", "info", "warn", "error"].includes(value)) return value;
      throw new Error(`${where}: "${value}" is not one of debug, info, warn, error`);
  }
}

export function usage(): string {
  const lines = FLAGS.map(
    (f) =>
      `  --${f.flag.padEnd(28)} ${f.help}\n  ${"".padEnd(30)} env ${envName(f.flag)}${f.alsoEnv === undefined ? "" : ` or ${f.alsoEnv}`}`,
  );
  return `usage: beyla-operator [flags]\n\nWatches BeylaInstrumentation resources and pushes the compiled selector set to the Beyla agents.\n\n${lines.join("\n")}\n`;
}
