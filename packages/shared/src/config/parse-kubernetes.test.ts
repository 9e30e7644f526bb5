import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EnvReader } from "./env-reader.js";
import { parseKubernetes } from "./parse-kubernetes.js";
import { YamlObject } from "./yaml-object.js";

const k8s = (
  yaml: Record<string, unknown>,
  env: Record<string, string> = {},
  warnings: string[] = [],
) => parseKubernetes(YamlObject.from(yaml, "attributes"), new EnvReader(env), warnings);

describe("parseKubernetes", () => {
  const cases: [string, Record<string, unknown>, Record<string, string>, unknown][] = [
    ["is off by default", {}, {}, { enable: false }],
    ["reads a YAML boolean", { kubernetes: { enable: true } }, {}, { enable: true }],
    [
      "reads the string autodetect",
      { kubernetes: { enable: "autodetect" } },
      {},
      { enable: "autodetect" },
    ],
    ["reads the strings true and false", { kubernetes: { enable: "TRUE" } }, {}, { enable: true }],
    [
      "reads the cluster name",
      { kubernetes: { enable: false, cluster_name: "prod" } },
      {},
      { enable: false, clusterName: "prod" },
    ],
    ["drops an empty cluster name", { kubernetes: { cluster_name: "" } }, {}, { enable: false }],
    [
      "lets the environment override both",
      { kubernetes: { enable: true, cluster_name: "a" } },
      { BEYLA_KUBE_METADATA_ENABLE: "autodetect", BEYLA_KUBE_CLUSTER_NAME: "b" },
      { enable: "autodetect", clusterName: "b" },
    ],
    [
      "reads false from the environment",
      { kubernetes: { enable: true } },
      { BEYLA_KUBE_METADATA_ENABLE: "false" },
      { enable: false },
    ],
  ];
  for (const [name, yaml, env, expected] of cases) {
    it(name, () => assert.deepEqual(k8s(yaml, env), expected));
  }

  it("warns about reference options it does not implement", () => {
    const warnings: string[] = [];
    k8s({ select: {}, kubernetes: { informers_sync_timeout: "30s" } }, {}, warnings);
    assert.deepEqual(warnings, [
      'config: field "attributes.select" is an option of the reference agent that this agent does not implement; ignored',
      'config: field "attributes.kubernetes.informers_sync_timeout" is an option of the reference agent that this agent does not implement; ignored',
    ]);
  });

  const bad: [string, Record<string, unknown>, Record<string, string>, string][] = [
    [
      "an unknown enable value",
      { kubernetes: { enable: "maybe" } },
      {},
      'config: field "attributes.kubernetes.enable": value "maybe" is not allowed; allowed: one of true, false, autodetect',
    ],
    [
      "a number for enable",
      { kubernetes: { enable: 1 } },
      {},
      'config: field "attributes.kubernetes.enable": value 1 is not allowed; allowed: one of true, false, autodetect',
    ],
    [
      "an unknown variable value",
      {},
      { BEYLA_KUBE_METADATA_ENABLE: "auto" },
      'config: environment variable "BEYLA_KUBE_METADATA_ENABLE": value "auto" is not allowed; allowed: one of true, false, autodetect',
    ],
    [
      "an unknown key",
      { kubernetes: { cluster: "x" } },
      {},
      'config: field "attributes.kubernetes.cluster": unknown key; allowed: one of enable, cluster_name',
    ],
  ];
  for (const [name, yaml, env, message] of bad) {
    it(`rejects ${name}`, () =>
      assert.throws(() => k8s(yaml, env), { name: "ConfigError", message }));
  }
});
