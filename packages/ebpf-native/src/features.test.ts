import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { probeKernelFeatures } from "./features.js";

const INDEX = fileURLToPath(new URL("./index.js", import.meta.url));
const PERMISSION = "permission denied (the bpf() call needs CAP_BPF and CAP_PERFMON, or root)";

/** probeKernelFeatures() in a process running as nobody, without capabilities. */
function probeAsNobody(): Record<string, unknown> {
  const script = `import(${JSON.stringify(INDEX)}).then((m) => process.stdout.write(JSON.stringify(m.probeKernelFeatures())))`;
  const r = spawnSync(
    "setpriv",
    [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "--inh-caps=-all",
      process.execPath,
      "-e",
      script,
    ],
    { encoding: "utf8", timeout: 20_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe("probeKernelFeatures", () => {
  it("finds every feature HTTP capture needs on this kernel, as root", () => {
    const f = probeKernelFeatures();
    assert.deepEqual(
      [f.btf, f.syscallTracepoints, f.tracepointPrograms, f.ringBuffer, f.bpfLoop],
      [true, true, true, true, true],
    );
  });

  it("tells a missing capability apart from a missing kernel feature", () => {
    const f = probeAsNobody();
    assert.equal(f["tracepointPrograms"], PERMISSION);
    assert.equal(f["ringBuffer"], PERMISSION);
    assert.equal(f["bpfLoop"], PERMISSION);
    assert.match(
      String(f["tracefs"]),
      /^tracefs at \/sys\/kernel\/tracing is not readable: permission denied/,
    );
  });
});
