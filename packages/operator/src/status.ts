/**
 * The status the operator writes on a BeylaInstrumentation: observedGeneration, the generation
 * the agents are given (the current one, or the last valid one while the current is invalid),
 * how many agents applied it out of how many there are, the processes it selects (summed from
 * the agents' answers), the Valid, Synced and Ready conditions, and the last valid spec, kept
 * so that a restarted operator goes on applying it.
 */
import { canonicalJson } from "@beyla-ts/shared";
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
  /** The generation this status describes (the current one, valid or not). */
  observedGeneration: number;
  /** The generation the agents are given; absent when none is. */
  appliedGeneration?: number;
  /**
   * The last generation found valid and its spec (Secret references only, never their values).
   * Kept in status, which only the operator writes, so that an operator that restarts while
   * the current generation is invalid still applies this one.
   */
  lastValid?: LastValid;
  selectorSetVersion?: number;
  nodesApplied: number;
  nodesTotal: number;
  nodes: string;
  processesSelected: number;
  conditions: Condition[];
}

export interface LastValid {
  generation: number;
  spec: unknown;
}

/** Why the current generation is not applied as it is; the reason of the conditions. */
export interface Problem {
  /** InvalidSpec, or a Secret problem (secrets.ts): SecretNotFound, SecretKeyNotFound, … */
  reason: string;
  /** The ConfigError message, or what is wrong with the Secret. */
  message: string;
}

export interface StatusInput {
  namespace: string;
  name: string;
  /** The current generation. */
  generation: number;
  /** Set when the current generation cannot be applied as it is. */
  problem?: Problem;
  /** The generation carried in the selector set (undefined: none). */
  appliedGeneration?: number;
  lastValid?: LastValid;
  /** Version of the set that first carried the applied content (undefined: not in a set yet). */
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
  const { problem, appliedGeneration: applying } = input;
  const sameGeneration = applying === generation;
  let valid: Pick<Condition, "status" | "reason" | "message">;
  let synced: Pick<Condition, "status" | "reason" | "message">;
  let ready: Pick<Condition, "status" | "reason" | "message">;
  if (problem !== undefined) {
    const spec = problem.reason === "InvalidSpec";
    const what = spec
      ? `generation ${generation} is invalid: ${problem.message}`
      : `generation ${generation}: ${problem.message}`;
    const kept =
      applying === undefined
        ? "nothing is applied"
        : sameGeneration
          ? `generation ${generation} stays applied with the headers read before`
          : `generation ${applying} stays applied`;
    valid = { status: "False", reason: problem.reason, message: `${what}; ${kept}` };
    if (applying === undefined) {
      const why = spec ? "the spec is invalid" : "its Secret cannot be used";
      synced = { status: "False", reason: problem.reason, message: `not sent to agents: ${why}` };
      ready = { status: "False", reason: problem.reason, message: why };
    } else {
      const running = sameGeneration
        ? `generation ${generation} is applied with the headers read before`
        : `generation ${generation} is not applied; generation ${applying} is`;
      synced = {
        status: "False",
        reason: problem.reason,
        message: `${running}, by ${applied} of ${total} agents`,
      };
      ready = {
        status: "False",
        reason: problem.reason,
        message: `${running}, selecting ${processes} processes on ${applied} nodes`,
      };
    }
  } else {
    valid = { status: "True", reason: "SpecValid", message: "the spec is valid" };
    if (total === 0) {
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
        problems.length > MAX_ERRORS_SHOWN
          ? ` (and ${problems.length - MAX_ERRORS_SHOWN} more)`
          : "";
      synced = {
        status: "False",
        reason: problems.length > 0 ? "PushFailed" : "Pending",
        message: `applied by ${applied} of ${total} agents${shown === "" ? "" : `; ${shown}${more}`}`,
      };
    }
    ready =
      synced.status !== "True"
        ? { status: "False", reason: synced.reason, message: synced.message }
        : {
            status: "True",
            reason: "Ready",
            message: `selecting ${processes} processes on ${applied} nodes`,
          };
  }
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
  if (applying !== undefined) status.appliedGeneration = applying;
  if (input.lastValid !== undefined) status.lastValid = input.lastValid;
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
    appliedGeneration: s.appliedGeneration,
    lastValid: s.lastValid === undefined ? undefined : canonicalJson(s.lastValid),
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
