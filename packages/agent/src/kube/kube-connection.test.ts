import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type KubeConnection, kubeConnection, NEEDS_CLIENT_LIBRARY } from "./kube-connection.js";

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "beyla-kubeconn-"));
}

function kubeconfig(dir: string, cluster: string, user: string): string {
  const file = join(dir, "config");
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: other
  cluster: { server: "https://wrong.example" }
- name: c
  cluster:
${cluster}
users:
- name: u
  user:
${user}
contexts:
- name: ctx
  context: { cluster: c, user: u }
current-context: ctx
`,
  );
  return file;
}

function connection(file: string): KubeConnection {
  const c = kubeConnection({ kind: "file", file });
  assert.notEqual(c, NEEDS_CLIENT_LIBRARY);
  return c as KubeConnection;
}

describe("kubeConnection", () => {
  it("reads the current context's cluster and token, with an inline CA", () => {
    const dir = tempDir();
    const ca = Buffer.from("-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n");
    const file = kubeconfig(
      dir,
      `    server: https://api.example:6443/\n    certificate-authority-data: ${ca.toString("base64")}`,
      "    token: abc",
    );
    const c = connection(file);
    assert.equal(c.server, "https://api.example:6443");
    assert.equal(c.source, file);
    assert.deepEqual(c.ca, ca);
    assert.equal(c.insecureSkipVerify, false);
    assert.equal(c.token(), "abc");
    assert.equal(c.cert, undefined);
  });

  it("reads files relative to the kubeconfig, and a token file again at every call", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "ca.crt"), "CA");
    writeFileSync(join(dir, "client.crt"), "CERT");
    writeFileSync(join(dir, "client.key"), "KEY");
    writeFileSync(join(dir, "token"), "first\n");
    const file = kubeconfig(
      dir,
      "    server: https://api.example\n    certificate-authority: ca.crt\n    insecure-skip-tls-verify: true",
      "    client-certificate: client.crt\n    client-key: client.key\n    tokenFile: token",
    );
    const c = connection(file);
    assert.equal(c.ca?.toString(), "CA");
    assert.equal(c.cert?.toString(), "CERT");
    assert.equal(c.key?.toString(), "KEY");
    assert.equal(c.insecureSkipVerify, true);
    assert.equal(c.token(), "first");
    writeFileSync(join(dir, "token"), "rotated\n");
    assert.equal(c.token(), "rotated");
  });

  it("leaves exec plugins, auth providers and basic auth to the client library", () => {
    for (const user of [
      "    exec: { command: aws, apiVersion: client.authentication.k8s.io/v1 }",
      "    auth-provider: { name: oidc }",
      "    username: admin\n    password: secret",
    ]) {
      const file = kubeconfig(tempDir(), "    server: https://api.example", user);
      assert.equal(kubeConnection({ kind: "file", file }), NEEDS_CLIENT_LIBRARY, user);
    }
  });

  it("names the file of a malformed kubeconfig or one without a current cluster", () => {
    const dir = tempDir();
    const bad = join(dir, "bad");
    writeFileSync(bad, "clusters: [\n");
    assert.throws(() => kubeConnection({ kind: "file", file: bad }), {
      message: `cannot load kubeconfig ${bad}`,
    });
    const scalar = join(dir, "scalar");
    writeFileSync(scalar, "just text\n");
    assert.throws(() => kubeConnection({ kind: "file", file: scalar }), /not a YAML mapping/);
    const none = join(dir, "none");
    writeFileSync(none, "apiVersion: v1\nkind: Config\ncurrent-context: nope\n");
    assert.throws(() => kubeConnection({ kind: "file", file: none }), {
      message: `kubeconfig ${none} has no current cluster`,
    });
  });

  it("uses the service account's CA and reads its token again at every call", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "ca.crt"), "SA-CA");
    writeFileSync(join(dir, "token"), "t1");
    const c = kubeConnection({ kind: "in-cluster", server: "https://10.96.0.1:443", dir });
    assert.notEqual(c, NEEDS_CLIENT_LIBRARY);
    const conn = c as KubeConnection;
    assert.equal(conn.source, "in-cluster service account");
    assert.equal(conn.ca?.toString(), "SA-CA");
    assert.equal(conn.token(), "t1");
    writeFileSync(join(dir, "token"), "t2");
    assert.equal(conn.token(), "t2");
  });
});
