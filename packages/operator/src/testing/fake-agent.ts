/**
 * A node agent's control endpoint in miniature (plain HTTP, or HTTPS with a given certificate),
 * for unit tests of the push side.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { SelectorSet } from "@beyla-ts/shared";

export class FakeAgent {
  readonly received: { set: SelectorSet; token: string }[] = [];
  version = 0;
  hash = "";
  /** Processes reported per resource name. */
  processes: Record<string, number> = {};
  /** Answer this status instead (e.g. 500), while set. */
  failWith: number | undefined;
  #server: Server | undefined;

  async listen(tls?: { cert: Buffer; key: Buffer }): Promise<number> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        const set = JSON.parse(body) as SelectorSet;
        this.received.push({ set, token: req.headers.authorization ?? "" });
        let status = 200;
        if (this.failWith !== undefined) status = this.failWith;
        else if (
          set.version < this.version ||
          (set.version === this.version && set.hash !== this.hash)
        )
          status = 409;
        else {
          this.version = set.version;
          this.hash = set.hash;
        }
        const selected =
          status === 200
            ? set.resources.map((r) => ({
                namespace: r.namespace,
                name: r.name,
                processes: this.processes[r.name] ?? 0,
              }))
            : [];
        res.writeHead(status, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ appliedVersion: this.version, hash: this.hash, node: "n1", selected }),
        );
      });
    };
    this.#server = tls === undefined ? createServer(handler) : createHttpsServer(tls, handler);
    await new Promise<void>((r) => this.#server?.listen(0, "127.0.0.1", r));
    const addr = this.#server.address();
    return typeof addr === "object" && addr !== null ? addr.port : 0;
  }

  close(): void {
    this.#server?.close();
    this.#server?.closeAllConnections();
  }
}
