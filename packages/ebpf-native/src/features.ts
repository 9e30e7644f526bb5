import { type KernelFeatures, nativeModule } from "./native-binding.js";

/** What the kernel offers, as seen by the addon's probe. */
export function probeKernelFeatures(): KernelFeatures {
  return nativeModule().probeFeatures();
}

/** The features HTTP capture cannot do without, each with why it is missing. */
export function missingForHttpCapture(f: KernelFeatures): string[] {
  const missing: string[] = [];
  const need: [keyof KernelFeatures, string][] = [
    ["btf", "kernel BTF (CONFIG_DEBUG_INFO_BTF)"],
    ["syscallTracepoints", "syscall and sock tracepoints (CONFIG_FTRACE_SYSCALLS, tracefs)"],
    ["tracepointPrograms", "BPF tracepoint programs"],
    ["ringBuffer", "BPF ring buffer (kernel 5.8+)"],
    ["bpfLoop", "bpf_loop helper (kernel 5.17+)"],
  ];
  for (const [key, what] of need) {
    const value = f[key];
    if (value !== true) {
      missing.push(`${what}: ${String(value)}`);
    }
  }
  return missing;
}
