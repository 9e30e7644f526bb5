import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PortRanges } from "./port-ranges.js";
import { Regex } from "./regex.js";
import {
  findSelector,
  hasCriteria,
  matchesSelector,
  type K8sProcessInfo,
  type ProcessInfo,
} from "./selector.js";
import type { ServiceSelector } from "./types.js";

const ports = (s: string) => PortRanges.parse(s);
const re = (s: string) => Regex.compile(s);

const nginx: ProcessInfo = { exePath: "/usr/sbin/nginx", openPorts: [80, 443] };
const pod: K8sProcessInfo = {
  namespace: "shop",
  podName: "cart-7d9f-abcde",
  deploymentName: "cart",
  replicaSetName: "cart-7d9f",
  ownerName: "cart",
  podLabels: { app: "cart", tier: "backend" },
  podAnnotations: { "beyla.io/instrument": "true" },
};
const cart: ProcessInfo = { exePath: "/app/cart", openPorts: [8080], k8s: pod };

describe("matchesSelector", () => {
  const cases: [string, ServiceSelector, ProcessInfo, boolean][] = [
    ["matches on one open port of several", { openPorts: ports("443") }, nginx, true],
    ["matches on a port range", { openPorts: ports("1-100") }, nginx, true],
    ["fails when no port is in range", { openPorts: ports("8000-8999") }, nginx, false],
    ["matches the exe path anywhere (unanchored)", { exePath: re("nginx") }, nginx, true],
    ["matches the full exe path when anchored", { exePath: re("^/usr/sbin/nginx$") }, nginx, true],
    ["fails on another exe", { exePath: re("^/usr/bin/") }, nginx, false],
    [
      "ANDs port and path: both hold",
      { openPorts: ports("80"), exePath: re("nginx") },
      nginx,
      true,
    ],
    [
      "ANDs port and path: port fails",
      { openPorts: ports("81"), exePath: re("nginx") },
      nginx,
      false,
    ],
    [
      "ANDs port and path: path fails",
      { openPorts: ports("80"), exePath: re("java") },
      nginx,
      false,
    ],
    [
      "ignores name and namespace",
      { name: "web", namespace: "other", exePath: re("nginx") },
      nginx,
      true,
    ],
    ["never matches k8s criteria without k8s metadata", { k8sNamespace: re("shop") }, nginx, false],
    ["matches the k8s namespace", { k8sNamespace: re("^shop$") }, cart, true],
    ["fails on another namespace", { k8sNamespace: re("^prod$") }, cart, false],
    ["matches the pod name", { k8sPodName: re("^cart-") }, cart, true],
    ["matches the deployment", { k8sDeploymentName: re("^cart$") }, cart, true],
    ["matches the replicaset", { k8sReplicaSetName: re("7d9f") }, cart, true],
    [
      "fails a statefulset criterion on a deployment pod",
      { k8sStatefulSetName: re(".*") },
      cart,
      false,
    ],
    [
      "fails a daemonset criterion on a deployment pod",
      { k8sDaemonSetName: re(".*") },
      cart,
      false,
    ],
    ["matches any owner in the chain", { k8sOwnerName: re("^cart-7d9f$") }, cart, true],
    ["fails when no owner matches", { k8sOwnerName: re("^api$") }, cart, false],
    [
      "fails an owner criterion on a pod without owners",
      { k8sOwnerName: re(".*") },
      {
        ...cart,
        k8s: { ...pod, deploymentName: undefined, replicaSetName: undefined, ownerName: undefined },
      },
      false,
    ],
    [
      "matches labels by regex on the value",
      { k8sPodLabels: { app: re("^cart$"), tier: re("back") } },
      cart,
      true,
    ],
    ["fails when a label is missing", { k8sPodLabels: { team: re(".*") } }, cart, false],
    [
      "fails when a label value does not match",
      { k8sPodLabels: { app: re("^api$") } },
      cart,
      false,
    ],
    [
      "does not treat inherited properties as labels",
      { k8sPodLabels: { toString: re(".*") } },
      cart,
      false,
    ],
    [
      "matches annotations",
      { k8sPodAnnotations: { "beyla.io/instrument": re("^true$") } },
      cart,
      true,
    ],
    [
      "ANDs host and k8s criteria",
      { openPorts: ports("8080"), k8sNamespace: re("shop") },
      cart,
      true,
    ],
    [
      "ANDs host and k8s criteria: port fails",
      { openPorts: ports("9090"), k8sNamespace: re("shop") },
      cart,
      false,
    ],
  ];
  for (const [name, sel, proc, expected] of cases) {
    it(name, () => assert.equal(matchesSelector(sel, proc), expected));
  }
});

describe("findSelector", () => {
  const web: ServiceSelector = { name: "web", openPorts: ports("80") };
  const any: ServiceSelector = { name: "any", exePath: re(".") };
  it("returns the first matching selector (it names the service)", () => {
    assert.equal(findSelector({ services: [web, any], excludeServices: [] }, nginx), web);
    assert.equal(findSelector({ services: [any, web], excludeServices: [] }, nginx), any);
  });

  it("excludes what exclude_services matches, whatever services says", () => {
    const ex: ServiceSelector = { exePath: re("nginx") };
    assert.equal(findSelector({ services: [web], excludeServices: [ex] }, nginx), undefined);
    assert.equal(findSelector({ services: [any], excludeServices: [ex] }, cart), any);
  });

  it("returns undefined when nothing matches", () => {
    assert.equal(findSelector({ services: [web], excludeServices: [] }, cart), undefined);
  });
});

describe("hasCriteria", () => {
  it("says a selector with only a name selects nothing", () => {
    assert.equal(hasCriteria({ name: "x", namespace: "y" }), false);
    assert.equal(hasCriteria({ k8sPodAnnotations: {} }), true);
  });
});
