export {
  ControlServer,
  type ControlLogger,
  type ControlServerOptions,
  type ControlTls,
} from "./control-server.js";
export { NoSelectorSetError, pullOnce, type PullOptions } from "./pull.js";
export {
  VersionConflictError,
  type ApplyFn,
  type ApplyResult,
  type ControlAnswer,
  type ParsedResource,
  type RejectedResource,
} from "./selector-state.js";
export { kubeTokenReview } from "./token-review.js";
