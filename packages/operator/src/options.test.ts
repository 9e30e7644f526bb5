import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULTS, parseOperatorOptions, usage } from "./options.js";

describe("parseOperatorOptions", () => {
  it("applies the defaults", () => {
    assert.deepEqual(parseOperatorOptions([], {}), DEFAULTS);
  });

  it("reads flags over environment variables over conventional variables", () => {
    const opts = parseOperatorOptions(
      ["--agent-selector", "app=agent", "--lease-duration=30s", "--agent-insecure-skip-verify"],
      {
        BEYLA_OPERATOR_AGENT_SELECTOR: "app=env",
        BEYLA_OPERATOR_AGENT_PORT: "9555",
        POD_NAMESPACE: "beyla",
        POD_NAME: "op-0",
        BEYLA_OPERATOR_IDENTITY: "op-env",
      },
    );
    assert.equal(opts.agentSelector, "app=agent");
    assert.equal(opts.agentPort, 9555);
    assert.equal(opts.leaseDurationMs, 30_000);
    assert.equal(opts.agentInsecureSkipVerify, true);
    assert.equal(opts.namespace, "beyla");
    assert.equal(opts.identity, "op-env");
    assert.equal(opts.tlsReloadMs, 60_000);
    assert.equal(
      parseOperatorOptions([], { BEYLA_OPERATOR_TLS_RELOAD_PERIOD: "5s" }).tlsReloadMs,
      5000,
    );
  });

  const bad: [string[], RegExp][] = [
    [["--agent-port", "70000"], /flag --agent-port: "70000" is not a port/],
    [["--lease-duration", "soon"], /flag --lease-duration: "soon" is not a positive duration/],
    [["--renew-deadline", "20s"], /--renew-deadline must be shorter than --lease-duration/],
    [["--tls-cert-file", "c.pem"], /--tls-cert-file and --tls-key-file go together/],
    [["--agent-selecter", "x"], /unknown flag --agent-selecter/],
    [["--token-file"], /flag --token-file needs a value/],
    [["--log-level", "trace"], /is not one of debug, info, warn, error/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(" ")}`, () =>
      assert.throws(() => parseOperatorOptions(argv, {}), message));
  }

  it("names the bad environment variable", () => {
    assert.throws(
      () => parseOperatorOptions([], { BEYLA_OPERATOR_AGENT_INSECURE_SKIP_VERIFY: "yes" }),
      /environment variable BEYLA_OPERATOR_AGENT_INSECURE_SKIP_VERIFY: "yes" is not true or false/,
    );
  });

  it("documents every flag with its variable", () => {
    assert.match(usage(), /--agent-selector\s+label selector/);
    assert.match(usage(), /env BEYLA_OPERATOR_LEASE_NAME/);
  });
});
