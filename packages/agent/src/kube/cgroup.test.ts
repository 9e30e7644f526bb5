import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseCgroupPath, parseProcCgroup, readContainer } from "./cgroup.js";

const ID = "7c3ab9f1e2d4c5b6a7980f1e2d3c4b5a69788f7e6d5c4b3a29180f7e6d5c4b3a";
const UID = "8d1f0a4e-5b6c-4d7e-8f90-a1b2c3d4e5f6";
const UID_ = UID.replaceAll("-", "_");

describe("parseCgroupPath", () => {
  const cases: { name: string; path: string; want?: { containerId: string; podUid?: string } }[] = [
    {
      name: "containerd, systemd driver, cgroup v2",
      path: `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      want: { containerId: ID, podUid: UID },
    },
    {
      name: "containerd, cgroupfs driver",
      path: `/kubepods/besteffort/pod${UID}/${ID}`,
      want: { containerId: ID, podUid: UID },
    },
    {
      name: "guaranteed pod (no QoS level in the path)",
      path: `/kubepods.slice/kubepods-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      want: { containerId: ID, podUid: UID },
    },
    {
      name: "CRI-O",
      path: `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-${ID}.scope`,
      want: { containerId: ID, podUid: UID },
    },
    {
      name: "CRI-O's conmon is not the container",
      path: `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/crio-conmon-${ID}.scope`,
    },
    {
      name: "Docker, systemd driver",
      path: `/system.slice/docker-${ID}.scope`,
      want: { containerId: ID },
    },
    { name: "Docker, cgroupfs driver", path: `/docker/${ID}`, want: { containerId: ID } },
    {
      name: "Docker under a kubelet (dockershim / cri-dockerd)",
      path: `/kubepods/burstable/pod${UID}/docker-${ID}.scope`,
      want: { containerId: ID, podUid: UID },
    },
    {
      name: "containerd, systemd driver on cgroup v1 (kind)",
      path: `/system.slice/containerd.service/kubepods-burstable-pod${UID_}.slice:cri-containerd:${ID}`,
      want: { containerId: ID, podUid: UID },
    },
    {
      name: "seen from inside another cgroup namespace",
      path: `/../../kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
      want: { containerId: ID, podUid: UID },
    },
    {
      name: "a sub-cgroup the container made for itself",
      path: `/kubepods/burstable/pod${UID}/${ID}/init.scope`,
      want: { containerId: ID, podUid: UID },
    },
    { name: "host process", path: "/user.slice/user-0.slice/session-3.scope" },
    { name: "root", path: "/" },
    {
      name: "a 32-hex id is not a container",
      path: "/process_api/393ec7ef72fd199472fc72ede0ab0f34",
    },
    { name: "upper-case hex is not a runtime id", path: `/docker/${ID.toUpperCase()}` },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(parseCgroupPath(c.path), c.want);
    });
  }
});

describe("parseProcCgroup", () => {
  it("reads the cgroup v2 line", () => {
    const text = `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope\n`;
    assert.deepEqual(parseProcCgroup(text), { containerId: ID, podUid: UID });
  });
  it("reads cgroup v1 lines, whichever controller names the container", () => {
    const text = [
      "12:hugetlb:/",
      `11:memory:/kubepods/burstable/pod${UID}/${ID}`,
      `10:cpu,cpuacct:/kubepods/burstable/pod${UID}/${ID}`,
      "1:name=systemd:/",
      "0::/",
      "",
    ].join("\n");
    assert.deepEqual(parseProcCgroup(text), { containerId: ID, podUid: UID });
  });
  it("reads the v2 line of a hybrid layout when the v1 lines name no container", () => {
    const text = [
      "9:name=systemd:/",
      "8:pids:/",
      "4:memory:/process_api/393ec7ef72fd199472fc72ede0ab0f34",
      `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID_}.slice/cri-containerd-${ID}.scope`,
    ].join("\n");
    assert.deepEqual(parseProcCgroup(text), { containerId: ID, podUid: UID });
  });
  it("returns undefined for a host process", () => {
    assert.equal(parseProcCgroup("0::/init.scope\n"), undefined);
    assert.equal(parseProcCgroup(""), undefined);
    assert.equal(parseProcCgroup("garbage\n"), undefined);
  });
});

describe("readContainer", () => {
  it("reads /proc/<pid>/cgroup under a given root", async () => {
    const root = mkdtempSync(join(tmpdir(), "beyla-cgroup-"));
    mkdirSync(join(root, "42"));
    writeFileSync(join(root, "42", "cgroup"), `0::/docker/${ID}\n`);
    assert.deepEqual(await readContainer(42, root), { containerId: ID });
  });
  it("returns undefined for a process that is gone", async () => {
    const root = mkdtempSync(join(tmpdir(), "beyla-cgroup-"));
    assert.equal(await readContainer(42, root), undefined);
  });
});
