import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  settledSamples,
  startAgent,
  waitForInstrumented,
  type AgentHandle,
} from "./helpers/agent.js";
import { freePort, run, stopAll, waitFor } from "./helpers/processes.js";
import { total } from "./helpers/prom-text.js";
import { startNginx, type Nginx } from "./helpers/servers.js";

const DURATION = "http_server_request_duration_seconds_count";

/** Requests nginx itself logged, by "path status". */
function accessLogCounts(file: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = line.match(/"[A-Z]+ (\S+) HTTP\/1\.[01]" (\d{3}) /);
    if (!m) continue;
    const key = `${m[1]} ${m[2]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

describe("nginx selected by executable path, loaded by wrk and ab", () => {
  let agent: AgentHandle;
  let nginx: Nginx;
  let port: number;

  before(async () => {
    port = await freePort();
    nginx = await startNginx(port);
    writeFileSync(join(nginx.root, "index.html"), "<html>" + "n".repeat(600) + "</html>\n");
    writeFileSync(join(nginx.root, "large.bin"), Buffer.alloc(1024 * 1024, 1));
    agent = await startAgent({
      configYaml: [
        "discovery:",
        "  services:",
        "    - exe_path: /nginx$",
        "      name: web",
        "routes:",
        "  patterns: [/index.html, /large.bin, /status500]",
        "  unmatched: wildcard",
        "",
      ].join("\n"),
    });
    await waitForInstrumented(agent, nginx.child.pid);
    await waitFor("nginx worker instrumented", () =>
      (
        agent.child
          .stderr()
          .match(/msg="instrumenting process" pid=\d+ exe="\/usr\/sbin\/nginx"/g) ?? []
      ).length >= 2
        ? true
        : undefined,
    );
  });

  after(async () => {
    await agent?.stop();
    await stopAll();
  });

  it("matches nginx's own access log exactly, request for request", async () => {
    const base = `http://127.0.0.1:${port}`;
    const wrk = await run("wrk", ["-t2", "-c8", "-d2s", `${base}/index.html`]);
    assert.match(wrk, /requests in/);
    await run("ab", ["-q", "-k", "-n", "300", "-c", "4", `${base}/large.bin`]);
    for (let i = 0; i < 3; i++) await run("curl", ["-s", "-o", "/dev/null", `${base}/status500`]);
    for (let i = 0; i < 2; i++)
      await run("curl", ["-s", "-o", "/dev/null", `${base}/missing/${i}`]);

    // nginx logs a request once its response is sent; wrk may leave some in flight at its end
    await new Promise((r) => setTimeout(r, 500));
    const log = accessLogCounts(nginx.accessLog);
    const logged = (key: string) => log.get(key) ?? 0;
    const indexCount = logged("/index.html 200");
    assert.ok(indexCount > 100, `wrk sent only ${indexCount} requests`);
    assert.equal(logged("/large.bin 200"), 300);

    const labels = { service_name: "web", server_port: String(port) };
    const expectedTotal = indexCount + 300 + 3 + 2;
    const s = await settledSamples(
      agent,
      (x) => total(x, DURATION, labels) >= expectedTotal,
      "nginx requests",
    ).catch(async (e: unknown) => {
      const x = await agent.samples();
      const seen = total(x, DURATION, labels);
      const internal = x
        .filter((i) => i.name.startsWith("beyla_"))
        .map((i) => `${i.name}${JSON.stringify(i.labels)}=${i.value}`);
      throw new Error(`saw ${seen} of ${expectedTotal} requests; ${internal.join(" ")}`, {
        cause: e,
      });
    });
    assert.equal(
      total(s, DURATION, {
        ...labels,
        http_route: "/index.html",
        http_response_status_code: "200",
      }),
      indexCount,
    );
    assert.equal(
      total(s, DURATION, { ...labels, http_route: "/large.bin", http_response_status_code: "200" }),
      300,
    );
    assert.equal(
      total(s, DURATION, { ...labels, http_route: "/status500", http_response_status_code: "500" }),
      3,
    );
    assert.equal(
      total(s, DURATION, { ...labels, http_route: "/**", http_response_status_code: "404" }),
      2,
    );
    assert.equal(total(s, DURATION, labels), expectedTotal);
    // large.bin goes out with sendfile: its bytes are counted all the same
    assert.equal(
      total(s, "http_server_response_body_size_bytes_sum", { ...labels, http_route: "/large.bin" }),
      300 * 1024 * 1024,
    );
  });
});
