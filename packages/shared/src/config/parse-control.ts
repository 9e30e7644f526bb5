import { ConfigError } from "./config-error.js";
import type { EnvReader } from "./env-reader.js";
import type { ControlConfig } from "./types.js";

const USERNAME =
  /^system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;

/**
 * The agent's control endpoint (docs/control-protocol.md), set by the chart through
 * BEYLA_CONTROL_* variables; present only when BEYLA_CONTROL_PORT is set.
 */
export function parseControl(env: EnvReader): ControlConfig | undefined {
  const port = env.int("BEYLA_CONTROL_PORT", 0, 65535);
  if (port === undefined) return undefined;
  const operatorUsername = env.string("BEYLA_CONTROL_OPERATOR_USERNAME");
  if (operatorUsername === undefined || !USERNAME.test(operatorUsername)) {
    throw new ConfigError(
      "BEYLA_CONTROL_OPERATOR_USERNAME",
      operatorUsername,
      "the operator's ServiceAccount user name, system:serviceaccount:<namespace>:<name>",
      { source: "env" },
    );
  }
  const tlsCertFile = env.string("BEYLA_CONTROL_TLS_CERT_FILE");
  const tlsKeyFile = env.string("BEYLA_CONTROL_TLS_KEY_FILE");
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    const missing =
      tlsCertFile === undefined ? "BEYLA_CONTROL_TLS_CERT_FILE" : "BEYLA_CONTROL_TLS_KEY_FILE";
    throw new ConfigError(missing, undefined, "set together with its certificate or key file", {
      source: "env",
    });
  }
  const config: ControlConfig = {
    port,
    operatorUsername,
    audience: env.string("BEYLA_CONTROL_AUDIENCE") ?? "beyla-control",
    insecureSkipVerify: env.bool("BEYLA_CONTROL_INSECURE_SKIP_VERIFY") ?? false,
  };
  const optional = {
    tokenFile: env.string("BEYLA_CONTROL_TOKEN_FILE"),
    operatorUrl: env.string("BEYLA_CONTROL_OPERATOR_URL"),
    caFile: env.string("BEYLA_CONTROL_CA_FILE"),
    tlsCertFile,
    tlsKeyFile,
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined && value !== "")
      (config as unknown as Record<string, string>)[key] = value;
  }
  return config;
}
