import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSelector, parseSelectorList } from "./parse-selector.js";
import { YamlObject } from "./yaml-object.js";

const list = (items: unknown) =>
  parseSelectorList(YamlObject.from({ services: items }, "discovery"), "services");

describe("parseSelectorList", () => {
  it("reads every field of an entry", () => {
    const [sel] = list([
      {
        name: "cart",
        namespace: "shop",
        open_ports: "8080,9000-9100",
        exe_path: "/app/.*",
        k8s_namespace: "^shop$",
        k8s_pod_name: "^cart-",
        k8s_deployment_name: "cart",
        k8s_replicaset_name: "cart-.*",
        k8s_statefulset_name: "db",
        k8s_daemonset_name: "agent",
        k8s_owner_name: "cart",
        k8s_pod_labels: { app: "cart" },
        k8s_pod_annotations: { "beyla.io/on": "true" },
      },
    ]);
    assert.deepEqual(JSON.parse(JSON.stringify(sel)), {
      name: "cart",
      namespace: "shop",
      openPorts: "8080,9000-9100",
      exePath: "/app/.*",
      k8sNamespace: "^shop$",
      k8sPodName: "^cart-",
      k8sDeploymentName: "cart",
      k8sReplicaSetName: "cart-.*",
      k8sStatefulSetName: "db",
      k8sDaemonSetName: "agent",
      k8sOwnerName: "cart",
      k8sPodLabels: { app: "cart" },
      k8sPodAnnotations: { "beyla.io/on": "true" },
    });
  });

  it("takes a YAML number as a port", () => {
    const [sel] = list([{ open_ports: 443 }]);
    assert.equal(sel?.openPorts?.toString(), "443");
  });

  it("reads a missing list as empty", () => {
    assert.deepEqual(parseSelectorList(YamlObject.from({}, "discovery"), "services"), []);
  });

  const bad: [string, unknown, string][] = [
    [
      "a list that is a mapping",
      { open_ports: 80 },
      'config: field "discovery.services": value {"open_ports":80} (a mapping) has the wrong type; allowed: a list',
    ],
    [
      "an entry that is a string",
      ["nginx"],
      'config: field "discovery.services[0]": value "nginx" (a string) is not a mapping; allowed: a mapping of keys to values',
    ],
    [
      "a bad port range in the second entry",
      [{ open_ports: 80 }, { open_ports: "9000-8000" }],
      'config: field "discovery.services[1].open_ports": value "9000-8000" has a reversed range "9000-8000"; allowed: comma-separated ports and ranges between 1 and 65535, such as "80,443,8000-8999"',
    ],
    [
      "a regex RE2 cannot compile",
      [{ exe_path: "(?=x)" }],
      'config: field "discovery.services[0].exe_path": value "(?=x)" is not a valid RE2 regular expression (error parsing regexp: invalid or unsupported Perl syntax: `(?=`); allowed: an RE2 regular expression (https://github.com/google/re2/wiki/Syntax)',
    ],
    [
      "a bad k8s regex",
      [{ k8s_namespace: "[" }],
      'config: field "discovery.services[0].k8s_namespace": value "[" is not a valid RE2 regular expression (error parsing regexp: missing closing ]: `[`); allowed: an RE2 regular expression (https://github.com/google/re2/wiki/Syntax)',
    ],
    [
      "a bad label regex",
      [{ k8s_pod_labels: { app: "(" } }],
      'config: field "discovery.services[0].k8s_pod_labels.app": value "(" is not a valid RE2 regular expression (error parsing regexp: missing closing ): `(`); allowed: an RE2 regular expression (https://github.com/google/re2/wiki/Syntax)',
    ],
    [
      "labels that are a list",
      [{ k8s_pod_labels: ["app"] }],
      'config: field "discovery.services[0].k8s_pod_labels": value ["app"] (a list) is not a mapping; allowed: a mapping of keys to values',
    ],
    [
      "an unknown key, with a suggestion",
      [{ open_port: 80 }],
      'config: field "discovery.services[0].open_port": unknown key (did you mean "open_ports"?); allowed: one of name, namespace, open_ports, exe_path, k8s_namespace, k8s_pod_name, k8s_deployment_name, k8s_replicaset_name, k8s_statefulset_name, k8s_daemonset_name, k8s_owner_name, k8s_pod_labels, k8s_pod_annotations',
    ],
    [
      "a name of the wrong type",
      [{ name: 5, open_ports: 80 }],
      'config: field "discovery.services[0].name": value 5 (a number) has the wrong type; allowed: a string',
    ],
    [
      "an entry that selects nothing",
      [{ name: "web" }],
      'config: field "discovery.services[0]": entry selects nothing; allowed: an entry with at least one of open_ports, exe_path or a k8s_* criterion (name and namespace only label a match)',
    ],
    [
      "an empty entry",
      [{}],
      'config: field "discovery.services[0]": entry selects nothing; allowed: an entry with at least one of open_ports, exe_path or a k8s_* criterion (name and namespace only label a match)',
    ],
  ];
  for (const [name, items, message] of bad) {
    it(`rejects ${name}`, () => assert.throws(() => list(items), { name: "ConfigError", message }));
  }

  it("parses one entry on its own", () => {
    const sel = parseSelector(YamlObject.from({ exe_path: "java" }, "x"));
    assert.equal(sel.exePath?.source, "java");
  });
});
