/**
 * The capabilities eBPF capture needs that the agent lacks. The kernel refuses a missing one
 * with EPERM; the feature probes say "permission denied" then (features.cc), and this check
 * names which capability is missing (a container's securityContext short of CAP_PERFMON).
 */

/** Bit numbers in the capability sets (linux/capability.h). */
const CAP_SYS_ADMIN = 21n;
const CAPTURE_CAPABILITIES: readonly (readonly [string, bigint])[] = [
  ["CAP_BPF", 39n],
  ["CAP_PERFMON", 38n],
];

/** Capture capabilities missing from the effective set of /proc/<pid>/status; [] if unknown. */
export function missingCaptureCapabilities(procStatus: string): string[] {
  const m = /^CapEff:\s*([0-9a-fA-F]+)$/m.exec(procStatus);
  if (m === null) return [];
  const effective = BigInt(`0x${m[1]}`);
  const has = (bit: bigint) => ((effective >> bit) & 1n) === 1n;
  // CAP_SYS_ADMIN allows both, and is what kernels before 5.8 (no CAP_BPF) ask for.
  if (has(CAP_SYS_ADMIN)) return [];
  return CAPTURE_CAPABILITIES.filter(([, bit]) => !has(bit)).map(([name]) => name);
}

/** A sentence to add to a capture start error: what to grant, or "" when nothing is missing. */
export function captureCapabilityHint(procStatus: string): string {
  const missing = missingCaptureCapabilities(procStatus);
  if (missing.length === 0) return "";
  return ` (this process lacks ${missing.join(" and ")}: grant it, or CAP_SYS_ADMIN before kernel 5.8)`;
}
