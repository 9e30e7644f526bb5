import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { captureCapabilityHint, missingCaptureCapabilities } from "./capabilities.js";

const status = (capEff: string) => `Name:\tnode\nCapPrm:\t${capEff}\nCapEff:\t${capEff}\n`;

describe("missingCaptureCapabilities", () => {
  const cases: [string, string, string[]][] = [
    ["root with every capability", "000001ffffffffff", []],
    // BPF, PERFMON, SYS_PTRACE, DAC_READ_SEARCH, CHECKPOINT_RESTORE, NET_RAW: the chart's set
    ["the chart's agent capabilities", "000001c000082004", []],
    ["the chart's set without PERFMON", "0000018000082004", ["CAP_PERFMON"]],
    ["no capabilities (an unprivileged user)", "0000000000000000", ["CAP_BPF", "CAP_PERFMON"]],
    ["CAP_SYS_ADMIN alone (kernels before 5.8)", "0000000000200000", []],
  ];
  for (const [name, capEff, missing] of cases) {
    it(`names what ${name} lacks`, () => {
      assert.deepEqual(missingCaptureCapabilities(status(capEff)), missing);
    });
  }

  it("says nothing when the status has no effective set", () => {
    assert.deepEqual(missingCaptureCapabilities("Name:\tnode\n"), []);
  });
});

describe("captureCapabilityHint", () => {
  it("tells what to grant, or nothing", () => {
    assert.equal(
      captureCapabilityHint(status("0000018000082004")),
      " (this process lacks CAP_PERFMON: grant it, or CAP_SYS_ADMIN before kernel 5.8)",
    );
    assert.equal(captureCapabilityHint(status("000001c000082004")), "");
  });
});
