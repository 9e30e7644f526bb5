import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { WatchEventType } from "./pod-informer.js";
import { RestKubeClient } from "./rest-kube-client.js";

// A stand-in API server over plain HTTP: the unit tests check the client's requests and its
// parsing; e2e/src/kube-metadata.test.ts runs it against a real kube-apiserver.
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe("RestKubeClient", () => {
  let server: Server;
  let handler: Handler = (_req, res) => res.end();
  const seen: { method: string; url: string; auth: string | undefined; body: string }[] = [];
  let client: RestKubeClient;

  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        seen.push({
          method: req.method ?? "",
          url: req.url ?? "",
          auth: req.headers.authorization,
          body,
        });
        handler(req, res);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    let n = 0;
    client = new RestKubeClient({
      server: `http://127.0.0.1:${port}`,
      source: "test",
      insecureSkipVerify: false,
      token: () => `token-${++n}`,
    });
  });
  after(() => server.close());

  it("lists the pods of a node from the watch cache, with a fresh token", async () => {
    seen.length = 0;
    handler = (_req, res) =>
      res.end(
        JSON.stringify({ metadata: { resourceVersion: "42", continue: "" }, items: [{ a: 1 }] }),
      );
    const page = await client.listPods("spec.nodeName=n1", undefined);
    assert.deepEqual(page, { items: [{ a: 1 }], resourceVersion: "42", continueToken: undefined });
    assert.equal(
      seen[0]!.url,
      "/api/v1/pods?fieldSelector=spec.nodeName%3Dn1&limit=500&resourceVersion=0",
    );
    assert.match(seen[0]!.auth ?? "", /^Bearer token-\d+$/);
  });

  it("reports an error answer as '<what>: HTTP <code>: <message>'", async () => {
    handler = (_req, res) => {
      res.statusCode = 403;
      res.end(JSON.stringify({ kind: "Status", message: 'nodes "n1" is forbidden' }));
    };
    await assert.rejects(client.nodeLabels("n1"), {
      message: 'get node n1: HTTP 403: nodes "n1" is forbidden',
    });
  });

  it("reads a ReplicaSet's controller and posts TokenReviews", async () => {
    seen.length = 0;
    handler = (req, res) => {
      if (req.method === "POST") {
        res.end(JSON.stringify({ status: { authenticated: true, user: { username: "sa" } } }));
        return;
      }
      const owner = { kind: "Deployment", name: "web", controller: true, apiVersion: "apps/v1" };
      res.end(JSON.stringify({ metadata: { ownerReferences: [owner] } }));
    };
    assert.deepEqual(await client.parentOf("ReplicaSet", "shop", "web-7c9"), {
      kind: "Deployment",
      name: "web",
      controller: true,
    });
    assert.equal(seen[0]!.url, "/apis/apps/v1/namespaces/shop/replicasets/web-7c9");
    const review = await client.tokenReview(["beyla-control"])("tok");
    assert.deepEqual(review, { authenticated: true, username: "sa" });
    assert.equal(seen[1]!.url, "/apis/authentication.k8s.io/v1/tokenreviews");
    assert.deepEqual(JSON.parse(seen[1]!.body).spec, {
      token: "tok",
      audiences: ["beyla-control"],
    });
  });

  it("streams watch events line by line, skips a malformed line, and ends once", async () => {
    handler = (_req, res) => {
      res.write('{"type":"ADDED","object":{"n":1}}\n{"type":"MOD');
      setTimeout(() => {
        res.write('IFIED","object":{"n":2}}\nnot json\n{"type":"BOOKMARK","object":{}}\n');
        res.end();
      }, 20);
    };
    const events: [WatchEventType, unknown][] = [];
    const ended: (Error | undefined)[] = [];
    await new Promise<void>((resolve) => {
      void client.watchPods({
        fieldSelector: "spec.nodeName=n1",
        resourceVersion: "42",
        timeoutSeconds: 300,
        onEvent: (type, object) => events.push([type, object]),
        onDone: (error) => {
          ended.push(error);
          resolve();
        },
      });
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(events, [
      ["ADDED", { n: 1 }],
      ["MODIFIED", { n: 2 }],
      ["BOOKMARK", {}],
    ]);
    assert.deepEqual(ended, [undefined]);
  });

  it("ends a watch refused by the server with its status", async () => {
    handler = (_req, res) => {
      res.statusCode = 410;
      res.end(JSON.stringify({ message: "too old resource version" }));
    };
    const error = await new Promise<Error | undefined>((resolve) => {
      void client.watchPods({
        fieldSelector: "x",
        resourceVersion: "1",
        timeoutSeconds: 1,
        onEvent: () => assert.fail("no event expected"),
        onDone: resolve,
      });
    });
    assert.equal(error?.message, "HTTP 410: too old resource version");
  });
});
