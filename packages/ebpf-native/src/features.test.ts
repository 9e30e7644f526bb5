import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { probeKernelFeatures } from "./features.js";

const ADDON = fileURLToPath(new URL("../build/beyla_native.node", import.meta.url));
const PERMISSION = "permission denied (the bpf() call needs CAP_BPF and CAP_PERFMON, or root)";

/** The addon's probeFeatures() in a child run by setpriv with `setprivArgs`. */
function probeAs(setprivArgs: string[], addon: string): Record<string, unknown> {
  const script = `process.stdout.write(JSON.stringify(require(${JSON.stringify(addon)}).probeFeatures()))`;
  const r = spawnSync("setpriv", [...setprivArgs, process.execPath, "-e", script], {
    encoding: "utf8",
    timeout: 20_000,
  });
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

  it("says permission denied, not 'not supported', to root without capabilities", () => {
    const f = probeAs(["--inh-caps=-all", "--bounding-set=-all"], ADDON);
    assert.deepEqual(
      [f["tracepointPrograms"], f["ringBuffer"], f["bpfLoop"]],
      [PERMISSION, PERMISSION, PERMISSION],
    );
  });

  it("says tracefs is not readable, not 'not mounted', to an unprivileged user", () => {
    // A copy of the addon the user can read, wherever the checkout lives.
    const dir = mkdtempSync(join(tmpdir(), "beyla-probe-"));
    try {
      chmodSync(dir, 0o755);
      const addon = join(dir, "beyla_native.node");
      copyFileSync(ADDON, addon);
      chmodSync(addon, 0o755);
      const f = probeAs(
        ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all"],
        addon,
      );
      assert.equal(
        f["tracefs"],
        "tracefs at /sys/kernel/tracing is not readable: permission denied (needs root or CAP_DAC_READ_SEARCH)",
      );
      assert.equal(f["tracepointPrograms"], PERMISSION);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
