import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AGENT_CLI } from "./helpers/agent.js";

function runAgent(env: Record<string, string>, yaml?: string, args: string[] = []) {
  const extra = [...args];
  if (yaml !== undefined) {
    const file = join(mkdtempSync(join(tmpdir(), "beyla-cfg-")), "beyla.yml");
    writeFileSync(file, yaml);
    extra.push("--config", file);
  }
  const r = spawnSync(process.execPath, [AGENT_CLI, ...extra], {
    env: { PATH: process.env["PATH"] ?? "", ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe("the agent CLI refuses bad configuration before it starts", () => {
  const cases: [string, Record<string, string>, string | undefined, RegExp][] = [
    [
      "a port range upside down",
      { BEYLA_OPEN_PORT: "9000-8000" },
      undefined,
      /environment variable "BEYLA_OPEN_PORT": .*"9000-8000".*allowed: /,
    ],
    ["a port out of range", { BEYLA_OPEN_PORT: "70000" }, undefined, /"BEYLA_OPEN_PORT".*70000/],
    [
      "an unknown YAML key",
      {},
      "open_port: 80\nroutez: {}\n",
      /field "routez": unknown key \(did you mean "routes"\?\); allowed: one of open_port, /,
    ],
    [
      "a regex RE2 cannot compile",
      {},
      'executable_name: "(unclosed"\n',
      /field "executable_name": .*"\(unclosed"/,
    ],
    [
      "an unknown enum value",
      {},
      "open_port: 80\nroutes:\n  unmatched: foo\n",
      /field "routes.unmatched": value "foo" is not allowed; allowed: one of heuristic, path, wildcard, unset/,
    ],
    ["no selection at all", {}, undefined, /no process selection criteria are set/],
  ];
  for (const [name, env, yaml, message] of cases) {
    it(`exits 2 on ${name}, naming the field and value`, () => {
      const r = runAgent(env, yaml);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    });
  }

  it("exits 2 on an unreadable config file", () => {
    const r = runAgent({}, undefined, ["--config", "/nonexistent/beyla.yml"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot read config file "\/nonexistent\/beyla.yml"/);
  });

  it("prints help and exits 0", () => {
    const r = runAgent({}, undefined, ["--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: beyla-agent \[--config FILE\]/);
  });
});
