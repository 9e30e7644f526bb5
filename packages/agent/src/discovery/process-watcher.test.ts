import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import { createServer } from "node:net";
import { PortRanges, Regex, type ServiceSelector } from "@beyla-ts/shared";
import type { CgroupContainer } from "../kube/cgroup.js";
import type { KubeLookup, KubeProcess } from "../kube/kube-metadata.js";
import { ProcessWatcher, type SelectedProcess } from "./process-watcher.js";

const children: ChildProcess[] = [];
after(() => children.forEach((c) => c.kill("SIGKILL")));

/** A real process (a `sleep`) to discover. */
function sleeper(): number {
  const c = spawn("sleep", ["30"], { stdio: "ignore" });
  children.push(c);
  return c.pid!;
}

function pod(namespace: string, name: string, labels: Record<string, string> = {}): KubeProcess {
  return {
    info: { namespace, podName: name, podLabels: labels, podAnnotations: {} },
    attributes: { "k8s.namespace.name": namespace, "k8s.pod.name": name },
    containerName: "app",
  };
}

/**
 * Fake Kubernetes side: some pids live in containers (`inContainer`), and pods are known for
 * some containers (`pods`), which the test changes as the informer would.
 */
function fakeKube(inContainer: Map<number, string>, pods: Map<string, KubeProcess>): KubeLookup {
  return {
    containerOf: async (pid) => {
      const id = inContainer.get(pid);
      return id ? ({ containerId: id } satisfies CgroupContainer) : undefined;
    },
    lookupContainer: (c) => pods.get(c.containerId),
  };
}

function watcher(
  selectors: ServiceSelector[],
  kube: KubeLookup,
  options: {
    exclude?: ServiceSelector[];
    kubePendingMs?: number;
    now?: () => number;
    examined?: (pid: number, selected: boolean) => void;
  } = {},
) {
  const added: SelectedProcess[] = [];
  const updated: SelectedProcess[] = [];
  const removed: SelectedProcess[] = [];
  const w = new ProcessWatcher(
    {
      selectors,
      exclude: options.exclude ?? [],
      pollIntervalMs: 60_000,
      selfPid: process.pid,
      maxProcesses: 100,
      kube,
      kubePendingMs: options.kubePendingMs ?? 0,
      now: options.now,
    },
    {
      added: (p) => added.push(p),
      removed: (p) => removed.push(p),
      updated: (p) => updated.push(p),
      ...(options.examined ? { examined: options.examined } : {}),
      error: (e) => assert.fail(e),
    },
  );
  return { w, added, updated, removed };
}

const re = (s: string) => Regex.compile(s);
const SLEEP = re("/sleep$");

describe("ProcessWatcher with Kubernetes metadata", () => {
  it("selects by k8s namespace and pod label, only processes of matching pods", async () => {
    const [a, b, c] = [sleeper(), sleeper(), sleeper()];
    const pods = new Map([
      ["a".repeat(64), pod("shop", "web-1", { tier: "front" })],
      ["b".repeat(64), pod("shop", "db-0", { tier: "data" })],
      ["c".repeat(64), pod("kube-system", "dns-1", { tier: "front" })],
    ]);
    const inContainer = new Map([
      [a, "a".repeat(64)],
      [b, "b".repeat(64)],
      [c, "c".repeat(64)],
    ]);
    const sel: ServiceSelector = {
      k8sNamespace: re("^shop$"),
      k8sPodLabels: { tier: re("^front$") },
    };
    const { w, added } = watcher([sel], fakeKube(inContainer, pods));
    await w.start();
    w.stop();
    assert.deepEqual(
      added.map((p) => p.pid),
      [a],
    );
    assert.equal(added[0]!.kube?.info.podName, "web-1");
    assert.equal(added[0]!.selector, sel);
  });

  it("re-checks a process whose pod shows up later", async () => {
    const pid = sleeper();
    const pods = new Map<string, KubeProcess>();
    const { w, added } = watcher(
      [{ k8sNamespace: re("^shop$") }],
      fakeKube(new Map([[pid, "d".repeat(64)]]), pods),
    );
    await w.start();
    assert.equal(added.length, 0);
    pods.set("d".repeat(64), pod("shop", "late-1"));
    w.kubeChanged();
    await w.scan();
    w.stop();
    assert.deepEqual(
      added.map((p) => [p.pid, p.kube?.info.podName]),
      [[pid, "late-1"]],
    );
  });

  it("waits kubePendingMs for the pod of a container before deciding without it", async () => {
    const pid = sleeper();
    let now = 1000;
    const pods = new Map<string, KubeProcess>();
    const { w, added } = watcher(
      [{ exePath: SLEEP }],
      fakeKube(new Map([[pid, "e".repeat(64)]]), pods),
      { kubePendingMs: 5000, now: () => now },
    );
    await w.start();
    assert.equal(added.filter((p) => p.pid === pid).length, 0, "pending: pod may still come");
    now += 4000;
    await w.scan();
    assert.equal(added.filter((p) => p.pid === pid).length, 0, "still pending after 4 s");
    pods.set("e".repeat(64), pod("shop", "web-2"));
    await w.scan();
    w.stop();
    const mine = added.filter((p) => p.pid === pid);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.kube?.info.podName, "web-2", "selected with its pod's metadata");
  });

  it("decorates a process selected before its pod was known", async () => {
    const pid = sleeper();
    const pods = new Map<string, KubeProcess>();
    const { w, added, updated } = watcher(
      [{ exePath: SLEEP }],
      fakeKube(new Map([[pid, "f".repeat(64)]]), pods),
      { kubePendingMs: 0 },
    );
    await w.start();
    const mine = added.find((p) => p.pid === pid);
    assert.equal(mine?.kube, undefined, "pending time over: selected without pod");
    pods.set("f".repeat(64), pod("shop", "web-3"));
    w.kubeChanged();
    await w.scan();
    w.stop();
    assert.deepEqual(
      updated.map((p) => [p.pid, p.kube?.info.podName]),
      [[pid, "web-3"]],
    );
  });

  it("releases a process whose pod is relabelled out of the selection, and only that", async () => {
    const [a, b] = [sleeper(), sleeper()];
    const pods = new Map([
      ["1".repeat(64), pod("shop", "web-1", { tier: "front" })],
      ["2".repeat(64), pod("shop", "web-2", { tier: "front" })],
    ]);
    const inContainer = new Map([
      [a, "1".repeat(64)],
      [b, "2".repeat(64)],
    ]);
    const { w, added, updated, removed } = watcher(
      [{ k8sPodLabels: { tier: re("^front$") } }],
      fakeKube(inContainer, pods),
    );
    await w.start();
    assert.deepEqual(added.map((p) => p.pid).sort(), [a, b].sort());
    pods.set("1".repeat(64), pod("shop", "web-1", { tier: "back" }));
    w.kubeChanged();
    await w.scan();
    w.stop();
    assert.deepEqual(
      removed.map((p) => p.pid),
      [a],
    );
    assert.deepEqual(updated, [], "a label change alone changes no k8s.* attribute of web-2");
    assert.deepEqual(
      w.processes().map((p) => p.pid),
      [b],
    );
  });

  it("waits for the container of a known pod, then takes the pod alone", async () => {
    const pid = sleeper();
    let now = 0;
    const podOnly: KubeProcess = { ...pod("shop", "web-4"), containerName: undefined };
    const pods = new Map<string, KubeProcess>([["7".repeat(64), podOnly]]);
    const { w, added, updated } = watcher(
      [{ k8sNamespace: re("^shop$") }],
      fakeKube(new Map([[pid, "7".repeat(64)]]), pods),
      { kubePendingMs: 5000, now: () => now },
    );
    await w.start();
    assert.equal(added.length, 0, "pod known by UID, container not yet: pending");
    now = 6000;
    await w.scan();
    assert.deepEqual(
      added.map((p) => [p.pid, p.kube?.info.podName, p.kube?.containerName]),
      [[pid, "web-4", undefined]],
    );
    pods.set("7".repeat(64), pod("shop", "web-4"));
    w.kubeChanged();
    await w.scan();
    w.stop();
    assert.deepEqual(
      updated.map((p) => [p.pid, p.kube?.containerName]),
      [[pid, "app"]],
    );
  });

  it("excludes by k8s criteria", async () => {
    const pid = sleeper();
    const pods = new Map([["9".repeat(64), pod("kube-system", "x")]]);
    const { w, added } = watcher(
      [{ exePath: SLEEP }],
      fakeKube(new Map([[pid, "9".repeat(64)]]), pods),
      { exclude: [{ k8sNamespace: re("^kube-") }] },
    );
    await w.start();
    w.stop();
    assert.equal(added.filter((p) => p.pid === pid).length, 0);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A real process that starts listening on `port` after `delayS` seconds. */
function lateListener(port: number, delayS: number): number {
  const script = `import socket,time
time.sleep(${delayS})
s=socket.socket()
s.bind(("127.0.0.1",${port}))
s.listen()
time.sleep(30)`;
  const c = spawn("python3", ["-c", script], { stdio: "ignore" });
  children.push(c);
  return c.pid!;
}

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  for (const t0 = Date.now(); !check();) {
    if (Date.now() - t0 > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("ProcessWatcher hints from the kernel", () => {
  it("selects a process by port as soon as it is told it listens, not at the next poll", async () => {
    const port = await freePort();
    const pid = lateListener(port, 0.3);
    const selectors = [{ openPorts: PortRanges.parse(String(port), "open_port") }];
    const { w, added } = watcher(selectors, fakeKube(new Map(), new Map()));
    await w.start(); // the one scan before the 60 s poll: not listening yet
    assert.equal(added.length, 0);
    const listening = () => {
      try {
        return readFileSync(`/proc/${pid}/net/tcp`, "utf8").includes(
          `:${hex4(port)} 00000000:0000 0A`,
        );
      } catch {
        return false;
      }
    };
    await until("the listener to listen", listening);
    w.examine(pid);
    await until("the listener to be selected", () => added.length === 1, 2000);
    w.stop();
    assert.equal(added[0]!.pid, pid);
    assert.deepEqual(added[0]!.openPorts, [port]);
  });

  it("takes the port a listen hint names even before /proc shows the socket", async () => {
    const port = await freePort();
    const selectors = [{ openPorts: PortRanges.parse(String(port), "open_port") }];
    const { w, added } = watcher(selectors, fakeKube(new Map(), new Map()));
    await w.start();
    const pid = sleeper(); // listens on nothing: only the hint names the port
    w.examine(pid, port);
    await until("the hinted process to be selected", () => added.some((p) => p.pid === pid));
    w.stop();
    assert.deepEqual(added.find((p) => p.pid === pid)?.openPorts, [port]);
  });

  it("examines hints from before start after the first scan, and says what it decided", async () => {
    const examined: [number, boolean][] = [];
    const { w, added } = watcher([{ exePath: SLEEP }], fakeKube(new Map(), new Map()), {
      examined: (pid, selected) => examined.push([pid, selected]),
    });
    const pid = sleeper();
    const otherPort = await freePort();
    const other = lateListener(otherPort, 0); // python: not selected
    const execed = lateListener(await freePort(), 0); // python too, named by an exec() hint
    w.examine(pid); // before start: waits for it
    w.examine(process.pid); // the agent itself: ignored
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(examined, []);
    await w.start();
    await until("the early hint to be examined", () => examined.length === 1);
    assert.deepEqual(examined, [[pid, true]]);
    // An exec() hint alone decides nothing when the process is not selected: its listen
    // event may follow (the kernel captures it provisionally until then).
    w.execed(execed);
    w.examine(other, otherPort);
    await until("the python listen hint to be examined", () => examined.length === 2);
    await new Promise((r) => setTimeout(r, 100));
    w.stop();
    assert.deepEqual(examined.slice(1), [[other, false]]);
    assert.equal(added.filter((p) => p.pid === pid).length, 1);
    assert.equal(
      added.some((p) => p.pid === process.pid || p.pid === other || p.pid === execed),
      false,
    );
  });
});

function hex4(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, "0");
}
