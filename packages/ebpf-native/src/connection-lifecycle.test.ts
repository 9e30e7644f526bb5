import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect, createServer, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { BEYLA_END_BY_CLOSE, BEYLA_END_BY_LENGTH } from "./event-layout.generated.js";
import { HttpCapture } from "./http-capture.js";

// How a connection starts and ends, with both sets of hooks: responses ended by close(),
// MSG_PEEK reads, clients that reset before the answer, and new sockets that take the kernel
// address of closed ones. Needs root, python3.

/**
 * A one-request-per-connection HTTP server in Python, in one of these modes:
 *  - close: HTTP/1.0 answer without Content-Length, ended by close()
 *  - peek: peeks at the request (MSG_PEEK) before reading it, answers with Content-Length
 *  - slow: waits 20 ms before answering (the client may be gone), with Content-Length
 * It prints "ready" once listening.
 */
const SERVER = `
import socket, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port))
s.listen(128)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    if mode == "peek":
        c.recv(4096, socket.MSG_PEEK)
    data = b""
    while b"\\r\\n\\r\\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    try:
        if mode == "close":
            c.sendall(b"HTTP/1.0 200 OK\\r\\n\\r\\n0123456789")
        else:
            if mode == "slow":
                time.sleep(0.02)
            c.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\nConnection: close\\r\\n\\r\\nhello")
    except OSError:
        pass
    c.close()
`;

const REQUEST = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startServer(mode: string): Promise<{ pid: number; port: number; stop(): void }> {
  const port = await freePort();
  const child = spawn("python3", ["-c", SERVER, mode, String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`server ${mode} exited ${code}`)));
  });
  return { pid: child.pid!, port, stop: () => child.kill() };
}

function opened(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const c = connect(port, "127.0.0.1", () => resolve(c));
    c.once("error", reject);
  });
}

/** One request on a new connection, read to the server's close; resolves the client port. */
async function request(port: number): Promise<number> {
  const c = await opened(port);
  const clientPort = c.localPort!;
  c.write(REQUEST);
  c.resume();
  await new Promise((r) => c.once("close", r));
  return clientPort;
}

/** Sends a request and resets the connection at once (RST, no FIN), before any answer. */
async function requestThenReset(port: number): Promise<void> {
  const c = await opened(port);
  await new Promise<void>((r) => c.write(REQUEST, () => r()));
  c.resetAndDestroy();
  await new Promise((r) => c.once("close", r));
}

interface Got {
  pid: number;
  status: number;
  flags: number;
  remotePort: number;
  requestBytes: bigint;
  responseBytes: bigint;
}

for (const hooks of ["sockets", "syscalls"] as const) {
  describe(`connection lifecycle, ${hooks} hooks`, () => {
    const capture = new HttpCapture({ drainIntervalMs: 20, hooks });
    const got: Got[] = [];
    const stops: (() => void)[] = [];

    before(() => {
      capture.open();
      capture.start((r) =>
        got.push({
          pid: r.pid,
          status: r.status,
          flags: r.flags,
          remotePort: r.remotePort,
          requestBytes: r.requestBytes,
          responseBytes: r.responseBytes,
        }),
      );
    });

    after(() => {
      capture.close();
      stops.forEach((stop) => stop());
    });

    async function serve(mode: string): Promise<{ port: number; records: () => Got[] }> {
      const server = await startServer(mode);
      stops.push(server.stop);
      capture.select(server.pid);
      return {
        port: server.port,
        records: () => {
          capture.drain();
          return got.filter((g) => g.pid === server.pid);
        },
      };
    }

    const settle = () => new Promise((r) => setTimeout(r, 150));

    it("ends a response without Content-Length at the server's close()", async () => {
      const server = await serve("close");
      for (let i = 0; i < 5; i++) await request(server.port);
      await settle();
      assert.deepEqual(
        server.records().map((g) => [g.status, g.flags, g.requestBytes, g.responseBytes]),
        Array(5).fill([200, BEYLA_END_BY_CLOSE, BigInt(REQUEST.length), 29n]),
      );
    });

    it("counts a request read with MSG_PEEK first once, with its exact size", async () => {
      const server = await serve("peek");
      for (let i = 0; i < 7; i++) await request(server.port);
      await settle();
      assert.deepEqual(
        server.records().map((g) => [g.status, g.flags, g.requestBytes]),
        Array(7).fill([200, BEYLA_END_BY_LENGTH, BigInt(REQUEST.length)]),
      );
    });

    it("gives nothing for requests whose client reset first, and exact records after them", async () => {
      const server = await serve("slow");
      for (let i = 0; i < 40; i++) await requestThenReset(server.port);
      await new Promise((r) => setTimeout(r, 1200)); // the server answers (or fails) each
      const clientPorts: number[] = [];
      for (let i = 0; i < 300; i++) clientPorts.push(await request(server.port));
      await settle();
      // each record is this connection's own: a stale entry would carry an old client port
      assert.deepEqual(
        server.records().map((g) => [g.status, g.remotePort, g.responseBytes]),
        clientPorts.map((p) => [200, p, 62n]),
      );
    });

    it("tells 300 short connections apart as the kernel reuses their socket memory", async () => {
      const server = await serve("close");
      const clientPorts: number[] = [];
      for (let i = 0; i < 300; i++) clientPorts.push(await request(server.port));
      await settle();
      const records = server.records();
      assert.equal(records.length, 300);
      assert.deepEqual(
        records.map((g) => g.remotePort),
        clientPorts,
      );
    });
  });
}
