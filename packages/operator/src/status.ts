/**
 * The status the operator writes on a BeylaInstrumentation: observedGeneration, how many
 * agents applied its current generation out of how many there are, the processes it selects
 * (summed from the agents' answers) and the Valid, Synced and Ready conditions.
 */
import type { AgentState } from "./pusher.js";

export interface Condition {
  type: "Valid" | "Synced" | "Ready";
  status: "True" | "False" | "Unknown";
  observedGeneration: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface InstrumentationStatus {
  observedGeneration: number;
  selectorSetVersion?: number;
  nodesApplied: number;
  nodesTotal: number;
  nodes: string;
  processesSelected: number;
  conditions: Condition[];
}

export interface StatusInput {
  namespace: string;
  name: string;
  generation: number;
  /** The ConfigError message when the spec is invalid. */
  invalid?: string;
  /** Version of the set that first carried this generation (undefined: not in a set yet). */
  since?: number;
  agents: readonly AgentState[];
  /** Says which Pods count as agents, for the NoAgents message. */
  agentSelector: string;
  /** For lastTransitionTime of conditions whose status did not change. */
  previous?: Partial<InstrumentationStatus>;
  now: Date;
}

/** Errors shown in a condition message, at most. */
const MAX_ERRORS_SHOWN = 3;

export function computeStatus(input: StatusInput): InstrumentationStatus {
  const { since, generation } = input;
  let applied = 0;
  let processes = 0;
  const problems: string[] = [];
  for (const a of input.agents) {
    const rejected = a.answer?.rejected?.find(
      (r) => r.namespace === input.namespace && r.name === input.name,
    );
    const holds =
      since !== undefined &&
      a.answer !== undefined &&
      a.answer.appliedVersion >= since &&
      rejected === undefined;
    if (holds) {
      applied++;
      const sel = a.answer?.selected.find(
        (s) => s.namespace === input.namespace && s.name === input.name,
      );
      processes += sel?.processes ?? 0;
    } else if (rejected !== undefined) {
      problems.push(`${a.agent.node}: ${rejected.message}`);
    } else if (a.error !== undefined) {
      problems.push(a.error);
    } else if (!a.agent.ready) {
      problems.push(`${a.agent.node}: agent not ready`);
    }
  }
  const total = input.agents.length;
  const valid: Pick<Condition, "status" | "reason" | "message"> =
    input.invalid === undefined
      ? { status: "True", reason: "SpecValid", message: "the spec is valid" }
      : { status: "False", reason: "InvalidSpec", message: input.invalid };
  let synced: Pick<Condition, "status" | "reason" | "message">;
  if (input.invalid !== undefined) {
    synced = {
      status: "False",
      reason: "InvalidSpec",
      message: "not sent to agents: the spec is invalid",
    };
  } else if (total === 0) {
    synced = {
      status: "False",
      reason: "NoAgents",
      message: `no agent Pods match ${input.agentSelector}`,
    };
  } else if (applied === total) {
    synced = {
      status: "True",
      reason: "Applied",
      message: `applied by ${applied} of ${total} agents (selector set version ${since ?? 0})`,
    };
  } else {
    const shown = problems.slice(0, MAX_ERRORS_SHOWN).join("; ");
    const more =
      problems.length > MAX_ERRORS_SHOWN ? ` (and ${problems.length - MAX_ERRORS_SHOWN} more)` : "";
    synced = {
      status: "False",
      reason: problems.length > 0 ? "PushFailed" : "Pending",
      message: `applied by ${applied} of ${total} agents${shown === "" ? "" : `; ${shown}${more}`}`,
    };
  }
  const ready: Pick<Condition, "status" | "reason" | "message"> =
    valid.status !== "True"
      ? { status: "False", reason: "InvalidSpec", message: "the spec is invalid" }
      : synced.status !== "True"
        ? { status: "False", reason: synced.reason, message: synced.message }
        : {
            status: "True",
            reason: "Ready",
            message: `selecting ${processes} processes on ${applied} nodes`,
          };
  const status: InstrumentationStatus = {
    observedGeneration: generation,
    nodesApplied: applied,
    nodesTotal: total,
    nodes: `${applied}/${total}`,
    processesSelected: processes,
    conditions: [
      condition("Valid", valid, input),
      condition("Synced", synced, input),
      condition("Ready", ready, input),
    ],
  };
  if (since !== undefined) status.selectorSetVersion = since;
  return status;
}

function condition(
  type: Condition["type"],
  c: Pick<Condition, "status" | "reason" | "message">,
  input: StatusInput,
): Condition {
  const before = input.previous?.conditions?.find((p) => p.type === type);
  const lastTransitionTime =
    before !== undefined && before.status === c.status
      ? before.lastTransitionTime
      : input.now.toISOString().replace(/\.\d{3}Z$/, "Z");
  return { type, ...c, observedGeneration: input.generation, lastTransitionTime };
}

/** True when writing `next` over `current` would change nothing. */
export function sameStatus(
  current: Partial<InstrumentationStatus> | undefined,
  next: InstrumentationStatus,
): boolean {
  return JSON.stringify(normalise(current ?? {})) === JSON.stringify(normalise(next));
}

function normalise(s: Partial<InstrumentationStatus>): unknown {
  return {
    observedGeneration: s.observedGeneration,
    selectorSetVersion: s.selectorSetVersion,
    nodesApplied: s.nodesApplied,
    nodesTotal: s.nodesTotal,
    nodes: s.nodes,
    processesSelected: s.processesSelected,
    conditions: (s.conditions ?? [])
      .map((c) => [
        c.type,
        c.status,
        c.observedGeneration,
        c.lastTransitionTime,
        c.reason,
        c.message,
      ])
      .sort(),
  };
}
