import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { chooseCaptureHooks, missingForHttpCapture, probeKernelFeatures } from "./features.js";
import type { KernelFeatures } from "./native-binding.js";

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
    assert.deepEqual([f.socketTracepoints, f.rawTracepointPrograms], [true, true]);
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

/** A kernel with everything, changed by `overrides`. */
function kernel(overrides: Partial<KernelFeatures> = {}): KernelFeatures {
  return {
    btf: true,
    tracefs: "/sys/kernel/tracing/events",
    syscallTracepoints: true,
    socketTracepoints: true,
    tracepointPrograms: true,
    rawTracepointPrograms: true,
    ringBuffer: true,
    bpfLoop: true,
    uprobes: true,
    ...overrides,
  };
}

const NO_SOCKET_TPS = "sock_send_length/sock_recv_length tracepoints not found (Linux 6.3+)";

describe("choosing the capture hooks", () => {
  it("takes the socket hooks where the kernel has them, else the syscall hooks", () => {
    assert.equal(chooseCaptureHooks(kernel(), "auto"), "sockets");
    assert.equal(
      chooseCaptureHooks(kernel({ socketTracepoints: NO_SOCKET_TPS }), "auto"),
      "syscalls",
    );
    assert.equal(chooseCaptureHooks(kernel({ rawTracepointPrograms: "x" }), "auto"), "syscalls");
    assert.equal(chooseCaptureHooks(kernel(), "syscalls"), "syscalls");
  });

  it("needs one set of hooks with auto, and names what each set misses when neither works", () => {
    assert.deepEqual(missingForHttpCapture(kernel({ socketTracepoints: NO_SOCKET_TPS })), []);
    assert.deepEqual(
      missingForHttpCapture(
        kernel({ socketTracepoints: NO_SOCKET_TPS, syscallTracepoints: "not found" }),
      ),
      [
        `sock_send_length/sock_recv_length tracepoints (Linux 6.3+, tracefs): ${NO_SOCKET_TPS}`,
        "syscall and sock tracepoints (CONFIG_FTRACE_SYSCALLS, tracefs): not found",
      ],
    );
  });

  it("names what the hooks asked for miss, and what every set needs", () => {
    assert.deepEqual(
      missingForHttpCapture(kernel({ socketTracepoints: NO_SOCKET_TPS }), "sockets"),
      [`sock_send_length/sock_recv_length tracepoints (Linux 6.3+, tracefs): ${NO_SOCKET_TPS}`],
    );
    assert.deepEqual(missingForHttpCapture(kernel({ bpfLoop: "no" }), "syscalls"), [
      "bpf_loop helper (kernel 5.17+): no",
    ]);
  });
});
