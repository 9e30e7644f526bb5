import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  detectPidNamespace,
  INITIAL_PID_NAMESPACE_INO,
  kernelDevFromStatDev,
  parseNsPids,
  type PidNamespace,
  type ProcReader,
} from "./pid-namespace.js";

/** glibc's makedev(): what stat() reports as st_dev. */
function makedev(major: bigint, minor: bigint): bigint {
  return (
    (minor & 0xffn) |
    ((major & 0xfffn) << 8n) |
    ((major & ~0xfffn) << 32n) |
    ((minor & ~0xffn) << 12n)
  );
}

function status(nsPids: number[], ppid: number): string {
  return `Name:\tnode\nTgid:\t${nsPids[0]}\nPPid:\t${ppid}\nNSpid:\t${nsPids.join("\t")}\n`;
}

/** A /proc made of status files and nsfs stat results. */
function fakeProc(files: Record<string, string>, ns: Record<string, PidNamespace>): ProcReader {
  return {
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: ${path}`);
      return text;
    },
    stat: (path) => {
      const found = ns[path];
      if (!found) throw new Error(`EACCES: ${path}`);
      return found;
    },
  };
}

describe("kernelDevFromStatDev", () => {
  it("converts the user-space encoding to the kernel's MKDEV", () => {
    // anonymous devices (nsfs) have major 0 and a small minor: both encodings agree
    assert.equal(kernelDevFromStatDev(4n), 4n);
    assert.equal(kernelDevFromStatDev(makedev(0n, 255n)), 255n);
    // from minor 256 on they differ
    assert.equal(makedev(0n, 256n), 0x100000n);
    assert.equal(kernelDevFromStatDev(makedev(0n, 256n)), 256n);
    assert.equal(kernelDevFromStatDev(makedev(0n, 70000n)), 70000n);
    assert.equal(kernelDevFromStatDev(makedev(8n, 1n)), (8n << 20n) | 1n);
    assert.equal(kernelDevFromStatDev(makedev(259n, 0xfffffn)), (259n << 20n) | 0xfffffn);
    assert.equal(kernelDevFromStatDev(makedev(0xfffn, 0n)), 0xfffn << 20n);
  });

  it("refuses devices the kernel's 32-bit dev_t cannot hold", () => {
    assert.throws(() => kernelDevFromStatDev(makedev(0x1000n, 0n)), /major 12, minor 20 bits/);
    assert.throws(() => kernelDevFromStatDev(makedev(0n, 0x100000n)), /major 12, minor 20 bits/);
  });

  it("agrees with this machine's nsfs device", () => {
    const dev = statSync("/proc/self/ns/pid", { bigint: true }).dev;
    const major = BigInt(execFileSync("stat", ["-L", "-c", "%Hd", "/proc/self/ns/pid"]).toString());
    const minor = BigInt(execFileSync("stat", ["-L", "-c", "%Ld", "/proc/self/ns/pid"]).toString());
    assert.equal(kernelDevFromStatDev(dev), (major << 20n) | minor);
  });
});

describe("parseNsPids", () => {
  it("reads the pids from the outermost namespace inwards", () => {
    assert.deepEqual(parseNsPids(status([4242, 7, 1], 1)), [4242, 7, 1]);
    assert.deepEqual(parseNsPids("Name:\tx\nNSpid:\t12\n"), [12]);
  });

  it("says when the kernel has no NSpid line", () => {
    assert.throws(() => parseNsPids("Name:\tx\nPid:\t3\n"), /no NSpid line/);
  });
});

describe("detectPidNamespace with a fake /proc", () => {
  const initial = { dev: 4n, ino: INITIAL_PID_NAMESPACE_INO };
  const child = { dev: 4n, ino: 4026532178n };

  it("takes this process's namespace when /proc belongs to it (initial)", () => {
    const proc = fakeProc(
      { "/proc/self/status": status([900], 1) },
      { "/proc/self/ns/pid": initial },
    );
    assert.deepEqual(detectPidNamespace("/proc", proc), {
      ...initial,
      initial: true,
      selfPid: 900,
      source: "/proc/self/ns/pid",
    });
  });

  it("takes this process's namespace when /proc belongs to it (a container)", () => {
    const proc = fakeProc({ "/p/self/status": status([1], 0) }, { "/p/self/ns/pid": child });
    assert.deepEqual(detectPidNamespace("/p", proc), {
      ...child,
      initial: false,
      selfPid: 1,
      source: "/p/self/ns/pid",
    });
  });

  it("takes the closest ancestor in /proc's namespace when /proc was mounted above", () => {
    // this process: 310 in /proc's namespace, 2 in its own; its parent 300 is 1 there too;
    // 300's parent 299 lives in /proc's namespace
    const proc = fakeProc(
      {
        "/proc/self/status": status([310, 2], 300),
        "/proc/300/status": status([300, 1], 299),
        "/proc/299/status": status([299], 12),
      },
      { "/proc/299/ns/pid": child, "/proc/self/ns/pid": initial },
    );
    assert.deepEqual(detectPidNamespace("/proc", proc), {
      ...child,
      initial: false,
      selfPid: 310,
      source: "/proc/299/ns/pid",
    });
  });

  it("fails with the reason when the namespace cannot be examined", () => {
    const noAncestor = fakeProc({ "/proc/self/status": status([310, 2], 0) }, {});
    assert.throws(
      () => detectPidNamespace("/proc", noAncestor),
      /no process of the PID namespace of \/proc among the ancestors of pid 310/,
    );
    const denied = fakeProc({ "/proc/self/status": status([5], 1) }, {});
    assert.throws(
      () => detectPidNamespace("/proc", denied),
      /cannot find the PID namespace of \/proc: EACCES: \/proc\/self\/ns\/pid/,
    );
  });
});

describe("detectPidNamespace on this machine", () => {
  const script = `
    const { detectPidNamespace } = await import(${JSON.stringify(
      fileURLToPath(new URL("./pid-namespace.js", import.meta.url)),
    )});
    const { statSync } = await import("node:fs");
    const d = detectPidNamespace();
    const st = statSync("/proc/self/ns/pid", { bigint: true });
    console.log(JSON.stringify({ ...d, dev: String(d.dev), ino: String(d.ino),
      ownDev: String(st.dev), ownIno: String(st.ino), pid: process.pid }));`;
  /** Runs the detection under `unshare args`; also returns the pid of unshare itself. */
  const detectUnder = (args: string[]) => {
    const out = execFileSync("sh", [
      "-c",
      'echo $$; exec "$@"',
      "sh",
      "unshare",
      ...args,
      process.execPath,
      "--input-type=module",
      "-e",
      script,
    ])
      .toString()
      .trim()
      .split("\n");
    return { unsharePid: Number(out[0]), d: JSON.parse(out[1]!) as Record<string, unknown> };
  };

  it("finds a new namespace under unshare --pid --fork --mount-proc", () => {
    const { d } = detectUnder(["--pid", "--fork", "--mount-proc"]);
    assert.equal(d["initial"], false);
    assert.equal(d["selfPid"], 1);
    assert.equal(d["pid"], 1);
    assert.equal(d["source"], "/proc/self/ns/pid");
    assert.equal(d["ino"], d["ownIno"]);
    assert.equal(d["dev"], d["ownDev"]);
    assert.notEqual(d["ino"], String(INITIAL_PID_NAMESPACE_INO));
  });

  it("finds the namespace of /proc, not its own, under unshare --pid --fork (same /proc)", () => {
    const outer = detectPidNamespace();
    const { unsharePid, d } = detectUnder(["--pid", "--fork"]);
    assert.equal(d["pid"], 1, "pid 1 of its own namespace");
    assert.notEqual(d["ownIno"], String(outer.ino), "its own namespace is a new one");
    // /proc shows the outer namespace, where unshare (its parent) lives
    assert.equal(d["source"], `/proc/${unsharePid}/ns/pid`);
    assert.equal(d["ino"], String(outer.ino));
    assert.equal(d["dev"], String(outer.dev));
    assert.equal(d["initial"], outer.initial);
    assert.notEqual(d["selfPid"], 1);
  });
});
