import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServiceSelector } from "@beyla-ts/shared";
import type { SelectedProcess } from "../discovery/process-watcher.js";
import type { KubeProcess } from "../kube/kube-metadata.js";
import { ServiceRegistry, type ServiceNaming } from "./service-registry.js";

function kube(over: Partial<KubeProcess["info"]> = {}): KubeProcess {
  return {
    info: {
      namespace: "shop",
      podName: "checkout-7d4b9c8f6-x2x9k",
      deploymentName: "checkout",
      replicaSetName: "checkout-7d4b9c8f6",
      ownerName: "checkout",
      podLabels: {},
      podAnnotations: {},
      ...over,
    },
    attributes: {
      "k8s.namespace.name": "shop",
      "k8s.pod.name": "checkout-7d4b9c8f6-x2x9k",
      "k8s.deployment.name": "checkout",
    },
  };
}

function proc(
  opts: { env?: Record<string, string>; kube?: KubeProcess; selector?: ServiceSelector } = {},
): SelectedProcess {
  const p: SelectedProcess = {
    pid: 4242,
    exePath: "/usr/bin/node",
    startTicks: 1,
    netns: "net:[1]",
    openPorts: [8080],
    env: opts.env ?? {},
    selector: opts.selector ?? {},
  };
  if (opts.kube) p.kube = opts.kube;
  return p;
}

describe("ServiceRegistry naming", () => {
  const cases: {
    name: string;
    proc: SelectedProcess;
    naming?: ServiceNaming;
    want: [string, string];
  }[] = [
    { name: "host process: executable name, no namespace", proc: proc(), want: ["node", ""] },
    {
      name: "pod: owner name, Kubernetes namespace",
      proc: proc({ kube: kube() }),
      want: ["checkout", "shop"],
    },
    {
      name: "pod label app.kubernetes.io/name over the owner",
      proc: proc({ kube: kube({ podLabels: { "app.kubernetes.io/name": "checkout-api" } }) }),
      want: ["checkout-api", "shop"],
    },
    {
      name: "pod annotation over the label, and its namespace annotation",
      proc: proc({
        kube: kube({
          podLabels: { "app.kubernetes.io/name": "checkout-api" },
          podAnnotations: {
            "resource.opentelemetry.io/service.name": "payments-checkout",
            "resource.opentelemetry.io/service.namespace": "payments",
          },
        }),
      }),
      want: ["payments-checkout", "payments"],
    },
    {
      name: "OTEL_SERVICE_NAME of the process over the pod",
      proc: proc({
        env: { OTEL_SERVICE_NAME: "from-env", OTEL_SERVICE_NAMESPACE: "ns-env" },
        kube: kube({ podAnnotations: { "resource.opentelemetry.io/service.name": "x" } }),
      }),
      want: ["from-env", "ns-env"],
    },
    {
      name: "a bare pod: executable name, Kubernetes namespace",
      proc: proc({ kube: kube({ ownerName: undefined, deploymentName: undefined }) }),
      want: ["node", "shop"],
    },
    {
      name: "the selector's name and namespace win",
      proc: proc({ kube: kube(), selector: { name: "sel", namespace: "sel-ns" } }),
      want: ["sel", "sel-ns"],
    },
    {
      name: "the agent's configured name and namespace over the pod",
      proc: proc({ kube: kube() }),
      naming: { serviceName: "cfg", serviceNamespace: "cfg-ns" },
      want: ["cfg", "cfg-ns"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const id = new ServiceRegistry(c.naming ?? {}).add(c.proc);
      assert.deepEqual([id.name, id.namespace], c.want);
    });
  }

  it("carries the pod's k8s.* attributes", () => {
    const id = new ServiceRegistry({}).add(proc({ kube: kube() }));
    assert.equal(id.attributes["k8s.namespace.name"], "shop");
    assert.equal(id.attributes["k8s.deployment.name"], "checkout");
    assert.equal(id.attributes["process.executable.name"], "node");
  });

  it("decorates by a resource's attributes.kubernetes: a cluster name, or no pod at all", () => {
    const plain = kube();
    const withName = {
      ...plain,
      attributes: { ...plain.attributes, "k8s.cluster.name": "detected" },
    };
    const renamed = new ServiceRegistry({}).add(proc({ kube: withName }), {
      kubernetes: true,
      clusterName: "team-cluster",
    });
    assert.equal(renamed.attributes["k8s.cluster.name"], "team-cluster");
    assert.equal(renamed.attributes["k8s.namespace.name"], "shop");

    const bare = new ServiceRegistry({}).add(proc({ kube: withName }), {
      kubernetes: false,
      clusterName: "team-cluster",
    });
    assert.deepEqual(
      Object.keys(bare.attributes).filter((k) => k.startsWith("k8s.")),
      [],
    );
    assert.deepEqual([bare.name, bare.namespace], ["node", ""]);

    const host = new ServiceRegistry({}).add(proc(), { kubernetes: true, clusterName: "c" });
    assert.equal(host.attributes["k8s.cluster.name"], undefined, "not in a pod: no cluster");
  });
});
