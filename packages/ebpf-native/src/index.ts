export { HttpCapture } from "./http-capture.js";
export type {
  ExecHandler,
  HttpCaptureOptions,
  HttpRecordHandler,
  ListenHandler,
  ProcessEventHandlers,
} from "./http-capture.js";
export { BpfLoadError, BpfNotSupportedError } from "./errors.js";
export { probeKernelFeatures, missingForHttpCapture } from "./features.js";
export type {
  AttachResult,
  CaptureHooks,
  KernelFeatures,
  KernelStats,
  PidFilterInfo,
} from "./native-binding.js";
export {
  detectPidNamespace,
  INITIAL_PID_NAMESPACE_INO,
  kernelDevFromStatDev,
} from "./pid-namespace.js";
export type { DetectedPidNamespace, PidNamespace } from "./pid-namespace.js";
export {
  BEYLA_END_BY_CHUNKED,
  BEYLA_END_BY_CLOSE,
  BEYLA_END_BY_LENGTH,
  BEYLA_END_BY_NEXT,
  BEYLA_ROLE_CLIENT,
  BEYLA_ROLE_SERVER,
  HTTP_EVENT_SIZE,
} from "./event-layout.generated.js";
export type { HttpEventRecord, ListenEventRecord } from "./event-layout.generated.js";
