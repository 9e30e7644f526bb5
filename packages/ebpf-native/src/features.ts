import { type CaptureHooks, type KernelFeatures, nativeModule } from "./native-binding.js";

/** What the kernel offers, as seen by the addon's probe. */
export function probeKernelFeatures(): KernelFeatures {
  return nativeModule().probeFeatures();
}

type Need = [keyof KernelFeatures, string];

const COMMON_NEEDS: Need[] = [
  ["btf", "kernel BTF (CONFIG_DEBUG_INFO_BTF)"],
  ["tracepointPrograms", "BPF tracepoint programs"],
  ["ringBuffer", "BPF ring buffer (kernel 5.8+)"],
  ["bpfLoop", "bpf_loop helper (kernel 5.17+)"],
];

const HOOK_NEEDS: Record<CaptureHooks, Need[]> = {
  sockets: [
    ["socketTracepoints", "sock_send_length/sock_recv_length tracepoints (Linux 6.3+, tracefs)"],
    ["rawTracepointPrograms", "BPF raw tracepoint programs"],
  ],
  syscalls: [
    ["syscallTracepoints", "syscall and sock tracepoints (CONFIG_FTRACE_SYSCALLS, tracefs)"],
  ],
};

function missing(f: KernelFeatures, needs: Need[]): string[] {
  return needs
    .filter(([key]) => f[key] !== true)
    .map(([key, what]) => `${what}: ${String(f[key])}`);
}

/**
 * The features HTTP capture with `hooks` cannot do without, each with why it is missing. With
 * "auto", what neither set of hooks can do without.
 */
export function missingForHttpCapture(
  f: KernelFeatures,
  hooks: CaptureHooks | "auto" = "auto",
): string[] {
  const common = missing(f, COMMON_NEEDS);
  if (hooks !== "auto") {
    return [...common, ...missing(f, HOOK_NEEDS[hooks])];
  }
  const sockets = missing(f, HOOK_NEEDS.sockets);
  const syscalls = missing(f, HOOK_NEEDS.syscalls);
  const either = sockets.length === 0 || syscalls.length === 0 ? [] : [...sockets, ...syscalls];
  return [...common, ...either];
}

/**
 * The hooks to load: those asked for, or with "auto" the socket hooks where the kernel has
 * them (they cost unselected processes nothing on their other system calls), else the
 * syscall hooks.
 */
export function chooseCaptureHooks(f: KernelFeatures, wanted: CaptureHooks | "auto"): CaptureHooks {
  if (wanted !== "auto") {
    return wanted;
  }
  return missing(f, HOOK_NEEDS.sockets).length === 0 ? "sockets" : "syscalls";
}
