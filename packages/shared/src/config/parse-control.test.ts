import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadAgentConfig } from "./load.js";

const OPERATOR = "system:serviceaccount:beyla-system:beyla-operator";
const load = (env: Record<string, string>) =>
  loadAgentConfig({ env: { BEYLA_OPEN_PORT: "80", ...env } }).control;

describe("control endpoint configuration", () => {
  it("is absent without BEYLA_CONTROL_PORT", () => {
    assert.equal(load({}), undefined);
  });

  it("takes the chart's variables with defaults", () => {
    assert.deepEqual(
      load({
        BEYLA_CONTROL_PORT: "9443",
        BEYLA_CONTROL_OPERATOR_USERNAME: OPERATOR,
        BEYLA_CONTROL_TOKEN_FILE: "/var/run/secrets/beyla/token",
        BEYLA_CONTROL_OPERATOR_URL: "https://beyla-operator.beyla-system.svc:9443/v1/selectors",
      }),
      {
        port: 9443,
        operatorUsername: OPERATOR,
        audience: "beyla-control",
        insecureSkipVerify: false,
        tokenFile: "/var/run/secrets/beyla/token",
        operatorUrl: "https://beyla-operator.beyla-system.svc:9443/v1/selectors",
      },
    );
  });

  const errors: [string, Record<string, string>, RegExp][] = [
    ["a port out of range", { BEYLA_CONTROL_PORT: "70000" }, /"BEYLA_CONTROL_PORT"/],
    [
      "no operator user name",
      { BEYLA_CONTROL_PORT: "9443" },
      /"BEYLA_CONTROL_OPERATOR_USERNAME".*system:serviceaccount:<namespace>:<name>/,
    ],
    [
      "a user name that is not a ServiceAccount",
      { BEYLA_CONTROL_PORT: "9443", BEYLA_CONTROL_OPERATOR_USERNAME: "admin" },
      /"BEYLA_CONTROL_OPERATOR_USERNAME": value "admin" is not allowed/,
    ],
    [
      "a certificate without its key",
      {
        BEYLA_CONTROL_PORT: "9443",
        BEYLA_CONTROL_OPERATOR_USERNAME: OPERATOR,
        BEYLA_CONTROL_TLS_CERT_FILE: "/c",
      },
      /"BEYLA_CONTROL_TLS_KEY_FILE"/,
    ],
  ];
  for (const [name, env, message] of errors) {
    it(`refuses ${name}`, () => assert.throws(() => load(env), message));
  }
});
