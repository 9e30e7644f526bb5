export { agentFromPod, agentUrl, CONTROL_PORT_NAME, type AgentPod, type Pod } from "./agents.js";
export { Informer, objectKey, type InformerOptions, type KubeObject } from "./kube/informer.js";
export { LeaderElector, type Lease, type LeaderElectionOptions } from "./kube/leader-election.js";
export { KubeApiError, KubeRest, type KubeClient, type WatchEventType } from "./kube/rest.js";
export { tokenReview } from "./kube/token-review.js";
export { Logger, type Log } from "./logger.js";
export {
  GROUP,
  Operator,
  PLURAL,
  VERSION,
  type BeylaInstrumentation,
  type OperatorConfig,
  type OperatorDeps,
} from "./operator.js";
export { DEFAULTS, parseOperatorOptions, usage, type OperatorOptions } from "./options.js";
export { Pusher, type AgentState, type PusherOptions } from "./pusher.js";
export { HASH_ANNOTATION, SelectorSets, VERSION_ANNOTATION } from "./selector-sets.js";
export { computeStatus, type Condition, type InstrumentationStatus } from "./status.js";
