import assert from "node:assert/strict";
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import { after, before, describe, it } from "node:test";
import { requestJson } from "@beyla-ts/shared";
import { OperatorServer } from "./server.js";
import { fingerprintOf, makeCa, makeLeaf, type PemPair } from "./testing/certs.js";
import { RecordingLog } from "./testing/recording-log.js";

/** The fingerprint of the certificate a new TLS connection is given. */
function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const fp = socket.getPeerX509Certificate()?.fingerprint256 ?? "";
      socket.end();
      resolve(fp);
    });
    socket.on("error", reject);
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("OperatorServer certificate rotation", () => {
  const dir = mkdtempSync(join(tmpdir(), "beyla-operator-tls-"));
  const certFile = join(dir, "tls.crt");
  const keyFile = join(dir, "tls.key");
  let ca: PemPair;
  let a: PemPair;
  let b: PemPair;
  let c: PemPair;
  const servers: OperatorServer[] = [];

  const serve = async (log: RecordingLog, reloadIntervalMs: number) => {
    const server = new OperatorServer({
      host: "127.0.0.1",
      port: 0,
      tls: { certFile, keyFile },
      reloadIntervalMs,
      review: async () => ({ authenticated: false }),
      allowedUsername: "system:serviceaccount:beyla:beyla-agent",
      current: () => ({ unavailable: "test" }),
      log,
    });
    servers.push(server);
    return { server, port: await server.listen() };
  };
  const install = (pair: PemPair) => {
    copyFileSync(pair.cert, certFile);
    copyFileSync(pair.key, keyFile);
  };

  before(() => {
    ca = makeCa(dir, "ca");
    a = makeLeaf(dir, "a", ca);
    b = makeLeaf(dir, "b", ca);
    c = makeLeaf(dir, "c", ca);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves a rotated certificate to new connections, and keeps the old one for a bad file", async () => {
    install(a);
    const log = new RecordingLog();
    const { server, port } = await serve(log, 0);
    assert.equal(await peerFingerprint(port), fingerprintOf(a.cert));
    assert.equal(server.fingerprint, fingerprintOf(a.cert));

    // The certificate is rotated first, the key a moment later: the pair does not fit yet.
    copyFileSync(b.cert, certFile);
    assert.equal(server.reloadCertificate(), false);
    assert.equal(await peerFingerprint(port), fingerprintOf(a.cert));
    assert.deepEqual(log.messages("warn"), [
      "cannot use the new serving certificate; keeping the previous one",
    ]);
    assert.match(String(log.lines.at(-1)?.fields["error"]), /the key does not fit/);
    // Polling again the same content warns no more.
    assert.equal(server.reloadCertificate(), false);
    assert.equal(log.messages("warn").length, 1);

    copyFileSync(b.key, keyFile);
    assert.equal(server.reloadCertificate(), true);
    assert.equal(await peerFingerprint(port), fingerprintOf(b.cert));
    assert.equal(server.fingerprint, fingerprintOf(b.cert));
    const reloaded = log.lines.find((l) => l.msg === "serving certificate reloaded");
    assert.equal(reloaded?.fields["fingerprint"], fingerprintOf(b.cert));
    // Still verifiable with the CA: the chain is whole.
    const healthz = await requestJson({
      method: "GET",
      url: `https://127.0.0.1:${port}/healthz`,
      ca: readFileSync(ca.cert),
      timeoutMs: 2000,
    });
    assert.equal(healthz.status, 200);

    // A partial write (half the PEM), then no file at all (mid-swap): B stays.
    const pem = readFileSync(c.cert, "utf8");
    writeFileSync(certFile, pem.slice(0, pem.length / 2));
    assert.equal(server.reloadCertificate(), false);
    assert.match(String(log.lines.at(-1)?.fields["error"]), /truncated/);
    rmSync(certFile);
    assert.equal(server.reloadCertificate(), false);
    assert.match(String(log.lines.at(-1)?.fields["error"]), /ENOENT/);
    assert.equal(await peerFingerprint(port), fingerprintOf(b.cert));
    assert.equal(log.messages("warn").length, 3);
    // Nothing about the key's content is ever logged.
    assert.doesNotMatch(log.text(), /PRIVATE KEY/);
  });

  it("checks the files on its own every reloadIntervalMs", async () => {
    install(a);
    const log = new RecordingLog();
    const { port } = await serve(log, 20);
    assert.equal(await peerFingerprint(port), fingerprintOf(a.cert));
    // As the kubelet does it: new files renamed into place.
    copyFileSync(c.key, `${keyFile}.new`);
    copyFileSync(c.cert, `${certFile}.new`);
    renameSync(`${keyFile}.new`, keyFile);
    renameSync(`${certFile}.new`, certFile);
    const want = fingerprintOf(c.cert);
    await until("the new certificate", async () =>
      (await peerFingerprint(port)) === want ? true : undefined,
    );
    assert.deepEqual(log.messages("warn"), []);
  });

  it("refuses to start on an unusable certificate, naming the files", () => {
    writeFileSync(certFile, "not a certificate");
    assert.throws(
      () =>
        new OperatorServer({
          host: "127.0.0.1",
          port: 0,
          tls: { certFile, keyFile },
          review: async () => ({ authenticated: false }),
          allowedUsername: "x",
          current: () => ({ unavailable: "test" }),
          log: new RecordingLog(),
        }),
      /cannot use .*tls\.crt \/ .*tls\.key: no PEM certificate in the file/,
    );
  });
});
