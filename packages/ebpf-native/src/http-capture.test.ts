import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  BEYLA_ROLE_SERVER,
  type HttpEventRecord,
  type ListenEventRecord,
} from "./event-layout.generated.js";
import { HttpCapture } from "./http-capture.js";

// Needs: root (or CAP_BPF + CAP_PERFMON), kernel BTF, syscall tracepoints, python3, unshare.

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, "127.0.0.1");
      c.once("connect", () => (c.destroy(), resolve(true)));
      c.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} never opened`);
}

interface Seen {
  pid: number;
  role: number;
  status: number;
  flags: number;
  localPort: number;
  requestBytes: bigint;
  responseBytes: bigint;
  requestHeaderLen: number;
  responseHeaderLen: number;
  head: string;
  durationPositive: boolean;
  local: string;
  remote: string;
}

function copy(r: HttpEventRecord): Seen {
  return {
    pid: r.pid,
    role: r.role,
    status: r.status,
    flags: r.flags,
    localPort: r.localPort,
    requestBytes: r.requestBytes,
    responseBytes: r.responseBytes,
    requestHeaderLen: r.requestHeaderLen,
    responseHeaderLen: r.responseHeaderLen,
    head: Buffer.from(r.requestHead.subarray(0, r.requestHeadLen))
      .toString("latin1")
      .split("\r\n")[0]!,
    durationPositive: r.endNs > r.startNs,
    local: r.localAddr.subarray(0, 4).join("."),
    remote: r.remoteAddr.subarray(0, 4).join("."),
  };
}

for (const hooks of ["sockets", "syscalls"] as const) {
  describe(`HttpCapture on this kernel, ${hooks} hooks`, () => {
    // A long drain interval: a listen event must arrive through the kernel's wakeup.
    const capture = new HttpCapture({ drainIntervalMs: 60_000, hooks });
    const seen: Seen[] = [];
    const listens: ListenEventRecord[] = [];
    const execs: number[] = [];
    let server: ReturnType<typeof spawn>;
    let port: number;

    before(async () => {
      const dir = mkdtempSync(join(tmpdir(), "beyla-capture-"));
      writeFileSync(join(dir, "hello.txt"), "hello world\n");
      port = await freePort();
      server = spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1"], {
        cwd: dir,
        stdio: "ignore",
      });
      await waitForPort(port);
      capture.open();
      assert.equal(capture.hooks, hooks);
      capture.select(server.pid!);
      capture.start((r) => seen.push(copy(r)), {
        onListen: (l) => listens.push({ ...l }),
        onExec: (pid) => execs.push(pid),
      });
    });

    after(() => {
      capture.close();
      server.kill();
    });

    it("reports every exec() of any process, selected or not", async () => {
      // spawn() execs sh, which then execs sleep in the same process: two exec() calls
      const child = spawn("sh", ["-c", "exec sleep 0.2"], { stdio: "ignore" });
      await new Promise((r) => child.once("exit", r));
      capture.drain();
      assert.equal(execs.filter((pid) => pid === child.pid).length, 2);
    });

    it("gives one exact record per request of a selected process", async () => {
      execFileSync("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${port}/hello.txt`]);
      execFileSync("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${port}/missing`]);
      await new Promise((r) => setTimeout(r, 200));
      capture.drain();
      assert.equal(seen.length, 2);
      const [ok, missing] = seen;
      assert.equal(ok!.pid, server.pid);
      assert.equal(ok!.role, BEYLA_ROLE_SERVER);
      assert.equal(ok!.status, 200);
      assert.equal(ok!.localPort, port);
      assert.equal(ok!.local, "127.0.0.1");
      assert.equal(ok!.remote, "127.0.0.1");
      assert.equal(ok!.head, "GET /hello.txt HTTP/1.1");
      assert.equal(ok!.requestBytes, BigInt(ok!.requestHeaderLen), "a GET has no body");
      assert.equal(ok!.responseBytes - BigInt(ok!.responseHeaderLen), 12n, "the body is 12 bytes");
      assert.equal(ok!.durationPositive, true);
      assert.equal(missing!.status, 404);
      assert.equal(missing!.head, "GET /missing HTTP/1.1");
      assert.equal(capture.stats().ringbufDrops, 0);
      assert.equal(capture.stats().events, 2);
    });

    it("reports a listen() of any process, selected or not, at once", async () => {
      const listenPort = await freePort();
      const script = `import socket,time
s=socket.socket()
s.bind(("127.0.0.1",${listenPort}))
s.listen()
time.sleep(30)`;
      const child = spawn("python3", ["-c", script], { stdio: "ignore" });
      try {
        const mine = () => listens.filter((l) => l.pid === child.pid);
        for (let i = 0; i < 100 && mine().length === 0; i++) {
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.deepEqual(mine(), [{ type: 2, family: 2, port: listenPort, pid: child.pid }]);
      } finally {
        child.kill();
      }
    });

    it("sees nothing once the process is no longer selected", async () => {
      seen.length = 0;
      capture.unselect(server.pid!);
      execFileSync("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${port}/hello.txt`]);
      await new Promise((r) => setTimeout(r, 200));
      capture.drain();
      assert.equal(seen.length, 0);
    });

    it("refuses a pid the kernel cannot have", () => {
      assert.throws(() => capture.select(4194304), /pid 4194304 is outside 1\.\.4194303/);
      assert.throws(() => capture.unselect(0), /pid 0 is outside 1\.\.4194303/);
    });

    it("is safe to close twice and refuses use after close", () => {
      const c = new HttpCapture();
      c.open();
      c.close();
      c.close();
      assert.throws(() => c.select(1), /not open/);
    });

    it("rejects bad options with the value", () => {
      assert.throws(
        () => new HttpCapture({ ringBytes: 3000 }),
        /ringBytes must be a power of two >= 4096, got 3000/,
      );
      assert.throws(
        () => new HttpCapture({ hooks: "kprobes" as "auto" }),
        /hooks must be auto, sockets or syscalls, got kprobes/,
      );
    });
  });
}

describe("HttpCapture hooks on this kernel (6.3+)", () => {
  it("chooses the socket hooks by default, with 4 programs", () => {
    const c = new HttpCapture();
    try {
      const attached = c.open().map((r) => r.section);
      assert.equal(c.hooks, "sockets");
      assert.deepEqual(attached.sort(), [
        "raw_tp/sock_recv_length",
        "raw_tp/sock_send_length",
        "tracepoint/sched/sched_process_exec",
        "tracepoint/sock/inet_sock_set_state",
      ]);
    } finally {
      c.close();
    }
  });
});

/** The pid (in our /proc) of the only child of `parent`. */
function childOf(parent: number): number {
  const children = readdirSync("/proc").filter((d) => {
    if (!/^\d+$/.test(d)) return false;
    try {
      return new RegExp(`^PPid:\\s+${parent}$`, "m").test(
        readFileSync(`/proc/${d}/status`, "utf8"),
      );
    } catch {
      return false;
    }
  });
  assert.equal(children.length, 1, `one child of ${parent}: ${children.join(",")}`);
  return Number(children[0]);
}

describe("HttpCapture with provisionalOnListen", () => {
  const capture = new HttpCapture({ provisionalOnListen: true, drainIntervalMs: 20 });
  const seen: Seen[] = [];
  const listens: ListenEventRecord[] = [];
  const children: ReturnType<typeof spawn>[] = [];

  before(() => {
    capture.open();
    capture.start((r) => seen.push(copy(r)), { onListen: (l) => listens.push({ ...l }) });
  });

  after(() => {
    capture.close();
    children.forEach((c) => c.kill());
  });

  it("captures a new listener's requests before anyone selects it, until unselected", async () => {
    const dir = mkdtempSync(join(tmpdir(), "beyla-provisional-"));
    writeFileSync(join(dir, "hello.txt"), "hello world\n");
    const port = await freePort();
    const server = spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1"], {
      cwd: dir,
      stdio: "ignore",
    });
    children.push(server);
    await waitForPort(port);
    execFileSync("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${port}/hello.txt`]);
    await new Promise((r) => setTimeout(r, 200));
    capture.drain();
    assert.equal(listens.filter((l) => l.pid === server.pid).length, 1);
    const mine = () => seen.filter((r) => r.pid === server.pid);
    // waitForPort's probe connection carried no request: exactly the one GET
    assert.deepEqual(
      mine().map((r) => [r.head, r.status]),
      [["GET /hello.txt HTTP/1.1", 200]],
    );
    capture.unselect(server.pid!);
    execFileSync("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${port}/hello.txt`]);
    await new Promise((r) => setTimeout(r, 200));
    capture.drain();
    assert.equal(mine().length, 1);
  });

  it("never captures its own process provisionally", async () => {
    const server = createHttpServer((_req, res) => res.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    // fetch, not curl: a synchronous child would block the server in this very process
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "ok");
    await new Promise((r) => setTimeout(r, 200));
    capture.drain();
    server.close();
    assert.equal(listens.filter((l) => l.pid === process.pid && l.port === port).length, 1);
    assert.equal(seen.filter((r) => r.pid === process.pid).length, 0);
  });
});

describe("HttpCapture with the ids of another PID namespace", () => {
  const seen: Seen[] = [];
  const tids = new Set<number>();
  let capture: HttpCapture;
  let inside: ReturnType<typeof spawn>;
  let outside: ReturnType<typeof spawn>;
  let insidePort: number;
  let outsidePort: number;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), "beyla-capture-ns-"));
    writeFileSync(join(dir, "hello.txt"), "hello world\n");
    insidePort = await freePort();
    outsidePort = await freePort();
    const serve = (port: number) => ["-m", "http.server", String(port), "--bind", "127.0.0.1"];
    // python is pid 1 of a new PID namespace; the other server stays in ours
    inside = spawn(
      "unshare",
      ["--pid", "--fork", "--mount-proc", "--kill-child", "python3", ...serve(insidePort)],
      { cwd: dir, stdio: "ignore" },
    );
    outside = spawn("python3", serve(outsidePort), { cwd: dir, stdio: "ignore" });
    await waitForPort(insidePort);
    await waitForPort(outsidePort);
    const hostPid = childOf(inside.pid!);
    const ns = statSync(`/proc/${hostPid}/ns/pid`, { bigint: true });
    capture = new HttpCapture({ drainIntervalMs: 20, pidNamespace: { dev: ns.dev, ino: ns.ino } });
    capture.open();
    capture.select(1); // the inside server, as its namespace calls it
    capture.select(outside.pid!); // a pid of our namespace: not a process of that one
    capture.start((r) => {
      seen.push(copy(r));
      tids.add(r.tid);
    });
  });

  after(() => {
    capture?.close();
    // unshare waits for its child, which ignores SIGTERM as the init of its namespace;
    // --kill-child passes SIGKILL on to it
    inside?.kill("SIGKILL");
    outside?.kill();
  });

  it("selects and reports processes by their pid in that namespace only", async () => {
    const filter = capture.pidFilter();
    assert.equal(filter.mode, "namespace");
    for (let i = 0; i < 3; i++) {
      execFileSync("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${insidePort}/hello.txt`]);
    }
    execFileSync("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${outsidePort}/hello.txt`]);
    execFileSync("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${outsidePort}/missing`]);
    await new Promise((r) => setTimeout(r, 200));
    capture.drain();
    assert.equal(seen.length, 3);
    for (const r of seen) {
      assert.equal(r.pid, 1);
      assert.equal(r.localPort, insidePort);
      assert.equal(r.status, 200);
      assert.equal(r.head, "GET /hello.txt HTTP/1.1");
    }
    // http.server answers each request on a new thread: thread ids of that namespace too
    assert.equal(tids.has(1), false);
    assert.equal(tids.size, 3);
    assert.equal(capture.stats().events, 3);
    assert.equal(capture.stats().unanswered, 0);
    const ns = statSync(`/proc/${childOf(inside.pid!)}/ns/pid`);
    const after = capture.pidFilter();
    assert.equal(after.mode, "namespace");
    assert.equal(after.mode === "namespace" && after.dev, ns.dev);
    assert.equal(after.mode === "namespace" && after.ino, ns.ino);
    // learnt from the server's first system call; a namespace below ours: 1 or more
    const level = after.mode === "namespace" ? after.level : null;
    assert.equal(Number.isInteger(level) && level! >= 1, true, `level ${level}`);
  });
});
