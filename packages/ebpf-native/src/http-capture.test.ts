import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BEYLA_ROLE_SERVER, type HttpEventRecord } from "./event-layout.generated.js";
import { HttpCapture } from "./http-capture.js";

// Needs: root (or CAP_BPF + CAP_PERFMON), kernel BTF, syscall tracepoints, python3.

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

describe("HttpCapture on this kernel", () => {
  const capture = new HttpCapture({ drainIntervalMs: 20 });
  const seen: Seen[] = [];
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
    capture.select(server.pid!);
    capture.start((r) => seen.push(copy(r)));
  });

  after(() => {
    capture.close();
    server.kill();
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

  it("sees nothing once the process is no longer selected", async () => {
    seen.length = 0;
    capture.unselect(server.pid!);
    execFileSync("curl", ["-s", "-o", "/dev/null", `http://127.0.0.1:${port}/hello.txt`]);
    await new Promise((r) => setTimeout(r, 200));
    capture.drain();
    assert.equal(seen.length, 0);
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
  });
});
