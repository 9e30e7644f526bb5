import { randomBytes } from "node:crypto";
import type { ControlPlane } from "./kube.js";

/** Pods made through the API the way a kubelet-less test needs them. */
export const START_TIME = "2025-03-04T05:06:07Z";

/** A fresh 64-hex container ID, as containerd makes them. */
export const containerId = () => randomBytes(32).toString("hex");

/** A pod made by a test, and the ID of its one container. */
export interface PodHandle {
  uid: string;
  containerId: string;
}

/** Creates a pod (JSON manifest) and returns its UID. */
export async function createPod(cp: ControlPlane, manifest: object): Promise<string> {
  await cp.apply(JSON.stringify(manifest));
  const m = (manifest as { metadata: { name: string; namespace: string } }).metadata;
  const pod = await cp.getJson<{ metadata: { uid: string } }>(["pod", m.name, "-n", m.namespace]);
  return pod.metadata.uid;
}

/** What a kubelet would report once the container runs (through the status subresource). */
export async function reportRunning(
  cp: ControlPlane,
  ns: string,
  name: string,
  container: string,
  id: string,
  podIP: string,
): Promise<void> {
  const status = {
    status: {
      phase: "Running",
      podIP,
      podIPs: [{ ip: podIP }],
      startTime: START_TIME,
      containerStatuses: [
        {
          name: container,
          containerID: `containerd://${id}`,
          image: "registry.example/e2e:1",
          imageID: "registry.example/e2e@sha256:" + "0".repeat(64),
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: START_TIME } },
        },
      ],
    },
  };
  await cp.kubectl([
    "patch",
    "pod",
    name,
    "-n",
    ns,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify(status),
  ]);
}

export function podManifest(opts: {
  ns: string;
  name: string;
  node: string;
  container: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  owner?: { apiVersion: string; kind: string; name: string; uid: string };
}): object {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: opts.name,
      namespace: opts.ns,
      labels: opts.labels ?? {},
      annotations: opts.annotations ?? {},
      ownerReferences: opts.owner
        ? [{ ...opts.owner, controller: true, blockOwnerDeletion: true }]
        : [],
    },
    spec: {
      nodeName: opts.node,
      restartPolicy: opts.owner?.kind === "Job" ? "Never" : "Always",
      containers: [{ name: opts.container, image: "registry.example/e2e:1" }],
    },
  };
}

export async function uidOf(
  cp: ControlPlane,
  kind: string,
  name: string,
  ns: string,
): Promise<string> {
  return (await cp.getJson<{ metadata: { uid: string } }>([kind, name, "-n", ns])).metadata.uid;
}
