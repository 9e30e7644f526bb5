import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { after, before, describe, it } from "node:test";
import {
  canonicalJson,
  makeSelectorSet,
  requestJson,
  serviceAccountUsername,
  type SelectorSet,
  type SelectorSetResource,
} from "@beyla-ts/shared";
import { type ControlLogger, ControlServer } from "./control-server.js";
import { PullNotNeededError, pullOnce } from "./pull.js";
import { selfSignedPem } from "../testing/self-signed.js";

const OPERATOR = serviceAccountUsername("beyla-system", "beyla-operator");
const web: SelectorSetResource = {
  namespace: "shop",
  name: "web",
  uid: "u1",
  generation: 1,
  clusterWide: false,
  spec: { discovery: { services: [{ openPorts: "8080" }] } },
};

async function review(token: string) {
  if (token === "op") return { authenticated: true, username: OPERATOR };
  if (token === "other") return { authenticated: true, username: "system:serviceaccount:x:y" };
  return { authenticated: false };
}

function server(
  applied: SelectorSet[] = [],
  tls?: { certFile: string; keyFile: string; reloadIntervalMs?: number },
  log?: ControlLogger,
) {
  return new ControlServer({
    port: 0,
    host: "127.0.0.1",
    node: "node-a",
    review,
    allowedUsername: OPERATOR,
    tls,
    ...(log ? { log } : {}),
    apply: (set, parsed) => {
      if (set.resources.some((r) => r.name === "boom")) throw new Error("cannot attach");
      applied.push(set);
      return {
        selected: parsed.map((p) => ({
          namespace: p.resource.namespace,
          name: p.resource.name,
          processes: 1,
        })),
      };
    },
  });
}

describe("ControlServer", () => {
  const applied: SelectorSet[] = [];
  const srv = server(applied);
  let base = "";
  before(async () => {
    base = `http://127.0.0.1:${await srv.listen()}`;
  });
  after(() => srv.close());

  const call = (method: "GET" | "PUT", body?: unknown, token = "op") =>
    requestJson({ method, url: `${base}/v1/selectors`, body, token, timeoutMs: 2000 });

  it("applies a pushed set and answers what it selected", async () => {
    const set = makeSelectorSet(2, [web]);
    const res = await call("PUT", set);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      appliedVersion: 2,
      hash: set.hash,
      node: "node-a",
      selected: [{ namespace: "shop", name: "web", processes: 1 }],
    });
    assert.deepEqual(applied.at(-1), set);
    assert.deepEqual((await call("GET")).body, res.body);
  });

  it("answers 409 with the version in force to an older set", async () => {
    const res = await call("PUT", makeSelectorSet(1, []));
    assert.equal(res.status, 409);
    assert.equal((res.body as { appliedVersion: number }).appliedVersion, 2);
  });

  it("answers 400 to a set whose hash does not match", async () => {
    const res = await call("PUT", { ...makeSelectorSet(3, [web]), resources: [] });
    assert.equal(res.status, 400);
    assert.match(res.text, /does not match the resources/);
  });

  it("answers 500 and keeps the set in force when applying fails", async () => {
    const res = await call("PUT", makeSelectorSet(4, [{ ...web, name: "boom" }]));
    assert.equal(res.status, 500);
    assert.match(res.text, /cannot attach/);
    assert.equal(srv.current?.version, 2);
  });

  it("refuses callers without the operator's token", async () => {
    assert.equal((await call("GET", undefined, "nobody")).status, 401);
    assert.equal((await call("PUT", makeSelectorSet(9, []), "other")).status, 403);
    const none = await requestJson({ method: "GET", url: `${base}/v1/selectors`, timeoutMs: 2000 });
    assert.equal(none.status, 401);
    assert.equal(srv.current?.version, 2);
  });

  it("serves /healthz without a token", async () => {
    const res = await requestJson({ method: "GET", url: `${base}/healthz`, timeoutMs: 2000 });
    assert.equal(res.status, 200);
  });
});

describe("ControlServer and a newer operator", () => {
  const applied: SelectorSet[] = [];
  const infos: { msg: string; fields?: Record<string, unknown> }[] = [];
  const log: ControlLogger = { info: (msg, fields) => infos.push({ msg, fields }), warn: () => {} };
  const srv = server(applied, undefined, log);
  let base = "";
  before(async () => {
    base = `http://127.0.0.1:${await srv.listen()}`;
  });
  after(() => srv.close());

  const put = (body: unknown) =>
    requestJson({ method: "PUT", url: `${base}/v1/selectors`, body, token: "op", timeoutMs: 2000 });
  /** A set with fields this agent does not know, hashed by its sender over all of them. */
  const newer = (version: number, futureField: unknown) => {
    const resources = [{ ...web, futureField }];
    const digest = createHash("sha256").update(canonicalJson(resources)).digest("hex");
    return { version, hash: `sha256:${digest}`, resources, futureTopLevel: true };
  };

  it("applies a set with unknown fields, answers the sender's hash and logs them once", async () => {
    const sent = newer(1, { weight: 3 });
    const res = await put(sent);
    assert.equal(res.status, 200, res.text);
    assert.equal((res.body as { hash: string }).hash, sent.hash);
    assert.deepEqual(applied.at(-1), { version: 1, hash: sent.hash, resources: [web] });
    // Resync pushes of the same content (and a version bump) do not log it again.
    assert.equal((await put(sent)).status, 200);
    assert.equal((await put(newer(2, { weight: 3 }))).status, 200);
    assert.equal(applied.length, 1);
    const logged = infos.filter((i) => i.msg.includes("does not know"));
    assert.deepEqual(
      logged.map((i) => i.fields),
      [{ version: 1, ignored: ["futureTopLevel", "resources[].futureField"] }],
    );
  });

  it("answers 400 to the same set with an unknown field changed on the way", async () => {
    const tampered = newer(3, { weight: 3 });
    tampered.resources[0]!.futureField = { weight: 4 };
    const res = await put(tampered);
    assert.equal(res.status, 400);
    assert.match(res.text, /does not match the resources/);
    assert.equal(srv.current?.version, 2);
  });

  it("answers 400 naming a known field of the wrong type", async () => {
    const res = await put({ ...newer(3, 1), resources: [{ ...web, futureField: 1, uid: 7 }] });
    assert.equal(res.status, 400);
    assert.match(res.text, /resources\[0\]\.uid must be a string/);
  });
});

describe("pullOnce", () => {
  let operator: Server;
  let url = "";
  let answers: { status: number; body: unknown }[] = [];
  const seenTokens: string[] = [];
  const seenSockets = new Set<Socket>();
  const dir = mkdtempSync(join(tmpdir(), "beyla-pull-"));
  const tokenFile = join(dir, "token");
  before(async () => {
    writeFileSync(tokenFile, "agent-token\n");
    operator = createServer((req, res) => {
      seenTokens.push(req.headers.authorization ?? "");
      seenSockets.add(req.socket);
      const next = answers.shift() ?? { status: 500, body: { error: "no more answers" } };
      res.writeHead(next.status, { "content-type": "application/json" });
      res.end(JSON.stringify(next.body));
    });
    await new Promise<void>((r) => operator.listen(0, "127.0.0.1", r));
    const addr = operator.address();
    url = `http://127.0.0.1:${typeof addr === "object" && addr !== null ? addr.port : 0}/v1/selectors`;
  });
  after(() => {
    operator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("fetches the set with the agent's token, retrying a replica that is not the leader", async () => {
    const set = makeSelectorSet(7, [web]);
    answers = [
      { status: 503, body: { error: "not the leader" } },
      { status: 200, body: set },
    ];
    assert.deepEqual(await pullOnce({ url, tokenFile, retryDelayMs: 1 }), set);
    assert.deepEqual(seenTokens.slice(-2), ["Bearer agent-token", "Bearer agent-token"]);
  });

  it("connects anew for every attempt, so a Service can pick another replica", async () => {
    const set = makeSelectorSet(8, [web]);
    answers = [
      { status: 503, body: { error: "not the leader" } },
      { status: 503, body: { error: "not the leader" } },
      { status: 200, body: set },
    ];
    seenSockets.clear();
    assert.deepEqual(await pullOnce({ url, tokenFile, retryDelayMs: 1 }), set);
    assert.equal(seenSockets.size, 3);
  });

  it("stops retrying once done() says a set arrived", async () => {
    answers = [{ status: 503, body: { error: "not the leader" } }];
    const before = seenTokens.length;
    await assert.rejects(
      pullOnce({ url, tokenFile, retryDelayMs: 1, done: () => true }),
      PullNotNeededError,
    );
    assert.equal(seenTokens.length - before, 1);
    answers = [];
  });

  it("gives up on a malformed set at once", async () => {
    answers = [
      { status: 200, body: { version: 1 } },
      { status: 200, body: makeSelectorSet(1, []) },
    ];
    await assert.rejects(pullOnce({ url, tokenFile, retryDelayMs: 1 }), (err: unknown) => {
      assert.match(String((err as Error).cause), /hash must be/);
      return true;
    });
    answers = [];
  });

  it("hands a pulled set to the control server, which keeps the newer one", async () => {
    const srv = server();
    await srv.offer(makeSelectorSet(7, [web]));
    await assert.rejects(srv.offer(makeSelectorSet(6, [])), /older than version 7/);
    assert.equal(srv.current?.version, 7);
    await srv.close();
  });
});

describe("ControlServer over HTTPS", () => {
  const dir = mkdtempSync(join(tmpdir(), "beyla-tls-"));
  const certFile = join(dir, "tls.crt");
  const keyFile = join(dir, "tls.key");
  let srv: ControlServer;
  let base = "";
  before(async () => {
    selfSigned(certFile, keyFile, "agent");
    srv = server([], { certFile, keyFile });
    base = `https://127.0.0.1:${await srv.listen()}`;
  });
  after(async () => {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves with its certificate, verified against the CA bundle", async () => {
    const res = await requestJson({
      method: "PUT",
      url: `${base}/v1/selectors`,
      body: makeSelectorSet(1, [web]),
      token: "op",
      ca: readFileSync(certFile),
      timeoutMs: 2000,
    });
    assert.equal(res.status, 200);
  });

  it("fails against an unknown CA unless told to skip verification", async () => {
    const get = (insecureSkipVerify: boolean) =>
      requestJson({
        method: "GET",
        url: `${base}/v1/selectors`,
        token: "op",
        insecureSkipVerify,
        timeoutMs: 2000,
      });
    await assert.rejects(get(false), /self-signed certificate/);
    assert.equal((await get(true)).status, 200);
  });
});

/** A self-signed EC certificate for 127.0.0.1 with common name `cn`, written to the files. */
function selfSigned(certFile: string, keyFile: string, cn: string): void {
  const { cert, key } = selfSignedPem(cn);
  writeFileSync(keyFile, key);
  writeFileSync(certFile, cert);
}

/** The common name of the certificate a new TLS connection to `port` is served. */
function servedName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const subject = socket.getPeerCertificate().subject as { CN?: string } | undefined;
      socket.end();
      resolve(subject?.CN ?? "");
    });
    socket.on("error", reject);
  });
}

describe("ControlServer certificate rotation", () => {
  it("keeps retrying a certificate written before its key, and serves it once the pair matches", async () => {
    const dir = mkdtempSync(join(tmpdir(), "beyla-tls-rotate-"));
    const certFile = join(dir, "tls.crt");
    const keyFile = join(dir, "tls.key");
    selfSigned(certFile, keyFile, "first");
    const warnings: string[] = [];
    const log: ControlLogger = { info: () => {}, warn: (msg) => warnings.push(msg) };
    const srv = server([], { certFile, keyFile, reloadIntervalMs: 50 }, log);
    const port = await srv.listen();
    try {
      assert.equal(await servedName(port), "first");
      // cert-manager-like rotation, one file at a time: the certificate first
      const next = mkdtempSync(join(tmpdir(), "beyla-tls-next-"));
      selfSigned(join(next, "tls.crt"), join(next, "tls.key"), "second");
      copyFileSync(join(next, "tls.crt"), certFile);
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(warnings.length >= 1, "the mismatched pair is refused with a warning");
      assert.equal(await servedName(port), "first", "the old pair is still served");
      copyFileSync(join(next, "tls.key"), keyFile);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await servedName(port), "second");
    } finally {
      await srv.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
