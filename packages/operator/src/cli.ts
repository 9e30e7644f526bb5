#!/usr/bin/env node
/**
 * beyla-operator: watches BeylaInstrumentation resources and pushes the compiled selector set
 * to the Beyla agents. Flags and BEYLA_OPERATOR_* variables: see --help.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeRest } from "./kube/rest.js";
import { tokenReview } from "./kube/token-review.js";
import { Logger } from "./logger.js";
import { Operator } from "./operator.js";
import { parseOperatorOptions, usage, type OperatorOptions } from "./options.js";

const SA_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

async function main(): Promise<number> {
  let opts: OperatorOptions;
  try {
    opts = parseOperatorOptions(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`beyla-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(usage());
    return 0;
  }
  const log = new Logger(opts.logLevel);
  const namespace = opts.namespace ?? readNamespace();
  if (namespace === undefined) {
    log.error("no namespace: set --namespace (or POD_NAMESPACE) outside a cluster");
    return 2;
  }
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig !== undefined) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    log.error("cannot load the kubeconfig", { error: err });
    return 2;
  }
  const client = new KubeRest(kc);
  const operator = new Operator(
    {
      namespace,
      agentNamespace: opts.agentNamespace ?? namespace,
      agentSelector: opts.agentSelector,
      agentPort: opts.agentPort,
      agentServiceAccount: opts.agentServiceAccount,
      tokenFile: opts.tokenFile,
      agentCaFile: opts.agentCaFile,
      agentInsecureSkipVerify: opts.agentInsecureSkipVerify,
      leaseName: opts.leaseName,
      identity: opts.identity ?? `${hostname()}-${process.pid}`,
      leaseDurationMs: opts.leaseDurationMs,
      renewDeadlineMs: opts.renewDeadlineMs,
      retryPeriodMs: opts.retryPeriodMs,
      resyncMs: opts.resyncMs,
      watchdogMs: opts.watchdogMs,
      tlsReloadMs: opts.tlsReloadMs,
      listen:
        opts.listenPort === 0
          ? undefined
          : {
              host: opts.listenAddress,
              port: opts.listenPort,
              tls:
                opts.tlsCertFile !== undefined && opts.tlsKeyFile !== undefined
                  ? { certFile: opts.tlsCertFile, keyFile: opts.tlsKeyFile }
                  : undefined,
            },
    },
    { client, review: tokenReview(client, [opts.audience]), log },
  );
  if (opts.agentInsecureSkipVerify)
    log.warn("agent certificates are not verified (--agent-insecure-skip-verify)");
  if (opts.listenPort !== 0 && opts.tlsCertFile === undefined) {
    log.warn("the operator's endpoint serves plain HTTP (no --tls-cert-file)");
  }
  let port: number | undefined;
  try {
    port = await operator.start();
  } catch (err) {
    log.error("cannot start", { error: err });
    return 1;
  }
  log.info("beyla-operator started", { namespace, port: port ?? 0, lease: opts.leaseName });
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string): void => {
      log.info("shutting down", { signal });
      void operator.stop().then(() => resolve(0));
    };
    process.once("SIGTERM", () => shutdown("SIGTERM"));
    process.once("SIGINT", () => shutdown("SIGINT"));
    void operator.lost.then(() => resolve(1));
  });
}

function readNamespace(): string | undefined {
  try {
    return readFileSync(SA_NAMESPACE_FILE, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `beyla-operator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
