import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadKubeConfig } from "./kube-client.js";

function kubeconfig(server: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: ${server}
    insecure-skip-tls-verify: true
users:
- name: u
  user:
    token: abc
contexts:
- name: ctx
  context: { cluster: c, user: u }
current-context: ctx
`;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "beyla-kubeconfig-"));
}

describe("loadKubeConfig", () => {
  it("takes the first existing file of KUBECONFIG", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "b"), kubeconfig("https://b.example:6443"));
    const got = loadKubeConfig({ kubeconfig: `${join(dir, "missing")}:${join(dir, "b")}` });
    assert.equal(got?.source, join(dir, "b"));
    assert.equal(got?.server, "https://b.example:6443");
  });
  it("then ~/.kube/config", () => {
    const home = tempDir();
    mkdirSync(join(home, ".kube"));
    writeFileSync(join(home, ".kube", "config"), kubeconfig("https://home.example:6443"));
    assert.equal(loadKubeConfig({ home })?.server, "https://home.example:6443");
  });
  it("then the in-cluster service account", () => {
    const sa = tempDir();
    writeFileSync(join(sa, "token"), "t");
    const got = loadKubeConfig({
      home: tempDir(),
      serviceHost: "10.96.0.1",
      servicePort: "443",
      serviceAccountDir: sa,
    });
    assert.equal(got?.source, "in-cluster service account");
    assert.equal(got?.server, "https://10.96.0.1:443");
    const v6 = loadKubeConfig({
      serviceHost: "fd00::1",
      servicePort: "443",
      serviceAccountDir: sa,
    });
    assert.equal(v6?.server, "https://[fd00::1]:443");
  });
  it("finds nothing on a plain host", () => {
    assert.equal(loadKubeConfig({ home: tempDir() }), undefined);
    assert.equal(
      loadKubeConfig({
        serviceHost: "10.96.0.1",
        servicePort: "443",
        serviceAccountDir: tempDir(),
      }),
      undefined,
      "no token, no in-cluster config",
    );
  });
  it("names the file it cannot load", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "bad"), "clusters: [\n");
    assert.throws(() => loadKubeConfig({ kubeconfig: join(dir, "bad") }), {
      message: `cannot load kubeconfig ${join(dir, "bad")}`,
    });
    writeFileSync(join(dir, "empty"), "apiVersion: v1\nkind: Config\n");
    assert.throws(
      () => loadKubeConfig({ kubeconfig: join(dir, "empty") }),
      /has no current cluster/,
    );
  });
});
