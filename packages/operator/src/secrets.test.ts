import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KubeApiError } from "./kube/rest.js";
import { HeaderSecrets } from "./secrets.js";
import { FakeKube } from "./testing/fake-kube.js";

const SECRETS = "/api/v1/namespaces/shop/secrets";
const b64 = (text: string) => Buffer.from(text).toString("base64");

function secret(name: string, data: Record<string, string>) {
  return {
    metadata: { name, namespace: "shop" },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

describe("HeaderSecrets", () => {
  it("reads the key with one GET by name, shared until the next round", async () => {
    const kube = new FakeKube();
    kube.put(SECRETS, secret("otlp", { headers: "Authorization=Bearer%20s3cret, X-Org=7" }));
    const secrets = new HeaderSecrets(kube);
    const ref = { name: "otlp", key: "headers" };
    assert.deepEqual(await secrets.headers("shop", ref), {
      headers: { Authorization: "Bearer s3cret", "X-Org": "7" },
    });
    await secrets.headers("shop", ref);
    const gets = () => kube.calls.filter((c) => c.path === `${SECRETS}/otlp`);
    assert.deepEqual(
      kube.calls.map((c) => `${c.method} ${c.path}`),
      ["GET /api/v1/namespaces/shop/secrets/otlp"],
    );
    kube.put(SECRETS, secret("otlp", { headers: "Authorization=Bearer%20rotated" }));
    assert.deepEqual(await secrets.headers("shop", ref), {
      headers: { Authorization: "Bearer s3cret", "X-Org": "7" },
    });
    secrets.newRound();
    assert.deepEqual(await secrets.headers("shop", ref), {
      headers: { Authorization: "Bearer rotated" },
    });
    assert.equal(gets().length, 2);
  });

  it("says what is wrong with a missing Secret or key, and never quotes the text", async () => {
    const kube = new FakeKube();
    kube.put(SECRETS, secret("otlp", { token: "x", other: "y" }));
    kube.put(SECRETS, secret("garbled", { headers: "Bearer s3cret-no-equals-sign" }));
    const secrets = new HeaderSecrets(kube);
    assert.deepEqual(await secrets.headers("shop", { name: "nope", key: "headers" }), {
      problem: { reason: "SecretNotFound", message: "Secret shop/nope (headersFrom) not found" },
    });
    assert.deepEqual(await secrets.headers("shop", { name: "otlp", key: "headers" }), {
      problem: {
        reason: "SecretKeyNotFound",
        message:
          'Secret shop/otlp has no key "headers" (headersFrom.secretKeyRef.key; its keys: other, token)',
      },
    });
    const garbled = await secrets.headers("shop", { name: "garbled", key: "headers" });
    assert.ok("problem" in garbled);
    assert.equal(garbled.problem.reason, "InvalidHeaders");
    assert.equal(
      garbled.problem.message,
      'config: field "Secret shop/garbled key headers": item 1 is not a key=value pair; allowed: comma-separated key=value pairs, values URL-encoded, e.g. "Authorization=Basic%20abc,X-Org=1"',
    );
    assert.doesNotMatch(garbled.problem.message, /s3cret/);
  });

  it("tells a refused read (RBAC) from an API failure", async () => {
    const kube = new FakeKube();
    kube.failures.push(
      {
        match: (c) => c.path.endsWith("/secrets/locked"),
        error: new KubeApiError(403, "Forbidden", 'secrets "locked" is forbidden'),
        times: 1,
      },
      {
        match: (c) => c.path.endsWith("/secrets/flaky"),
        error: new KubeApiError(500, "InternalError", "etcd timed out"),
        times: 1,
      },
    );
    kube.put(SECRETS, secret("flaky", { headers: "X-Org=7" }));
    const secrets = new HeaderSecrets(kube, { failureTtlMs: 0 });
    assert.deepEqual(await secrets.headers("shop", { name: "locked", key: "headers" }), {
      problem: {
        reason: "SecretForbidden",
        message:
          "the operator may not read Secret shop/locked (headersFrom): grant its ServiceAccount get on it (the Helm chart value operator.rbac.headersSecrets)",
      },
    });
    assert.deepEqual(await secrets.headers("shop", { name: "flaky", key: "headers" }), {
      problem: {
        reason: "SecretUnavailable",
        message: "cannot read Secret shop/flaky: etcd timed out",
      },
    });
    // A failure is not kept for the round (unlike a 404 or 403): the next lookup reads again.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(await secrets.headers("shop", { name: "flaky", key: "headers" }), {
      headers: { "X-Org": "7" },
    });
  });
});
