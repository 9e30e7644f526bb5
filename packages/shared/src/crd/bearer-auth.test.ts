import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BearerAuth, serviceAccountUsername, type TokenReviewResult } from "./bearer-auth.js";

const OPERATOR = serviceAccountUsername("beyla-system", "beyla-operator");

function fakeReview(users: Record<string, string>): {
  review: (token: string) => Promise<TokenReviewResult>;
  calls: string[];
} {
  const calls: string[] = [];
  return {
    calls,
    review: async (token) => {
      calls.push(token);
      if (token === "down") throw new Error("connection refused");
      const username = users[token];
      return username === undefined ? { authenticated: false } : { authenticated: true, username };
    },
  };
}

describe("BearerAuth", () => {
  it("names the ServiceAccount username", () => {
    assert.equal(OPERATOR, "system:serviceaccount:beyla-system:beyla-operator");
  });

  const cases: [string, string | undefined, { ok: boolean; status?: number }][] = [
    ["accepts the operator's token", "Bearer op", { ok: true }],
    ["accepts a lower-case scheme", "bearer op", { ok: true }],
    ["refuses a missing header", undefined, { ok: false, status: 401 }],
    ["refuses basic auth", "Basic b3A=", { ok: false, status: 401 }],
    ["refuses an invalid token", "Bearer nobody", { ok: false, status: 401 }],
    ["refuses another ServiceAccount", "Bearer agent", { ok: false, status: 403 }],
    ["says 503 when the API server is away", "Bearer down", { ok: false, status: 503 }],
  ];
  for (const [what, header, want] of cases) {
    it(what, async () => {
      const { review } = fakeReview({
        op: OPERATOR,
        agent: serviceAccountUsername("beyla-system", "beyla-agent"),
      });
      const auth = new BearerAuth({ review, allowedUsername: OPERATOR });
      const verdict = await auth.check(header);
      assert.equal(verdict.ok, want.ok);
      if (!verdict.ok) assert.equal(verdict.status, want.status);
    });
  }

  it("reviews a token once while cached, again after the TTL", async () => {
    let now = 0;
    const { review, calls } = fakeReview({ op: OPERATOR });
    const auth = new BearerAuth({ review, allowedUsername: OPERATOR, ttlMs: 1000, now: () => now });
    await Promise.all([auth.check("Bearer op"), auth.check("Bearer op")]);
    await auth.check("Bearer op");
    assert.equal(calls.length, 1);
    now = 1001;
    await auth.check("Bearer op");
    assert.equal(calls.length, 2);
  });

  it("keeps refusals briefly and API failures not at all", async () => {
    let now = 0;
    const { review, calls } = fakeReview({});
    const auth = new BearerAuth({
      review,
      allowedUsername: OPERATOR,
      ttlMs: 60_000,
      now: () => now,
    });
    await auth.check("Bearer nobody");
    await auth.check("Bearer nobody");
    assert.equal(calls.length, 1);
    now = 5001;
    await auth.check("Bearer nobody");
    assert.equal(calls.length, 2);
    await auth.check("Bearer down");
    await auth.check("Bearer down");
    assert.equal(calls.filter((t) => t === "down").length, 2);
  });

  it("bounds the cache", async () => {
    const { review } = fakeReview({});
    const auth = new BearerAuth({ review, allowedUsername: OPERATOR, maxEntries: 3 });
    for (let i = 0; i < 10; i++) await auth.check(`Bearer t${i}`);
    assert.equal(auth.cached, 3);
  });
});
