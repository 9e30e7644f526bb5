/** The kernel lacks something the programs need; `missing` says what, for the user. */
export class BpfNotSupportedError extends Error {
  constructor(
    readonly missing: string[],
    options?: ErrorOptions,
  ) {
    super(`eBPF capture is not supported here: ${missing.join("; ")}`, options);
    this.name = "BpfNotSupportedError";
  }
}

/** Loading or attaching failed; carries errno and the verifier log when there is one. */
export class BpfLoadError extends Error {
  constructor(
    message: string,
    readonly errno: number,
    readonly verifierLog: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "BpfLoadError";
  }
}

const EPERM = 1;
const EACCES = 13;

/** A sentence naming the capabilities to grant when the kernel said no. */
export function permissionHint(errno: number): string {
  if (errno === EPERM || errno === EACCES) {
    return (
      " (permission denied: run as root, or grant CAP_BPF and CAP_PERFMON" +
      " — CAP_SYS_ADMIN on kernels before 5.8 — and CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE" +
      " to read other processes' /proc entries)"
    );
  }
  return "";
}
