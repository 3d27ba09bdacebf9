// A process group's execution engine (NiFi 2's "Execution Engine"): Inherited,
// Standard or Stateless, and for a stateless group its Max Concurrent Tasks and
// Stateless Flow Timeout. Part of the group's configure panel (ConfigureOther):
// the fields live in that panel's draft and are saved with the name and comments.
//
// The server refuses switching engines while anything in the group runs or waits
// in a connection inside it, and refuses a stateless group holding what cannot
// run statelessly; the panel shows those refusals as it shows any other. The
// select is disabled while the group runs, but a draft made before the group was
// started is still sent: the server's answer says why it is refused.
import { useState } from "react";
import { api, type FlowDocument, type ProcessGroup } from "../api";
import { checkDuration, checkWholeNumber, collect, type FieldErrors } from "../fields";
import { num, useEntry } from "../canvas/statusStore";
import { groupPath } from "./flowTree";
import { Field, usePolling } from "./ui";

export type ExecutionEngine = "INHERITED" | "STANDARD" | "STATELESS";

const ENGINES: [ExecutionEngine, string][] = [["INHERITED", "Inherited"], ["STANDARD", "Standard"], ["STATELESS", "Stateless"]];
/** The flow format's bound on a stateless group's concurrent invocations. */
const MAX_TASKS = 100;

/** The panel's draft of the engine fields of component `c` (strings, as the inputs hold them). */
export function engineDraft(c: Record<string, unknown>): Record<string, unknown> {
  return {
    executionEngine: c.executionEngine ?? "INHERITED",
    maxConcurrentTasks: String(c.maxConcurrentTasks ?? 1),
    statelessFlowTimeout: c.statelessFlowTimeout ?? "1 min",
  };
}

/** A changed engine field as the API takes it (the task count as a number when it is one). */
export function engineValue(key: string, value: unknown): unknown {
  if (key !== "maxConcurrentTasks") return value;
  const text = String(value).trim();
  return /^[0-9]+$/.test(text) ? Number(text) : value;
}

/** The checks worth making before sending, on the changed engine fields only. */
export function checkEngine(changes: Record<string, unknown>, draft: Record<string, unknown>): FieldErrors {
  const text = (field: string) => String(draft[field] ?? "");
  return collect({
    maxConcurrentTasks: "maxConcurrentTasks" in changes
      ? checkWholeNumber(text("maxConcurrentTasks"), { min: 1, max: MAX_TASKS, hint: "Invocations at once, such as 1 or 4." })
      : null,
    statelessFlowTimeout: "statelessFlowTimeout" in changes ? checkDuration(text("statelessFlowTimeout")) : null,
  });
}

/** STANDARD or STATELESS: how the parent of group `id` runs (INHERITED resolved; the root's is STANDARD),
 *  and the name of the nearest ancestor that set it. */
export function parentEngine(flow: FlowDocument | null, id: string): { engine: "STANDARD" | "STATELESS"; from: string | null } {
  if (!flow) return { engine: "STANDARD", from: null };
  const ancestors = groupPath(flow.rootGroup, id).slice(0, -1).reverse();
  for (const g of ancestors) {
    const engine = g.executionEngine ?? "INHERITED";
    if (engine !== "INHERITED") return { engine, from: g.name };
  }
  return { engine: "STANDARD", from: null };
}

interface Props {
  id: string;
  flow: FlowDocument | null;
  /** The group as loaded (its runningCount and queuedCount until live figures arrive). */
  group: ProcessGroup;
  draft: Record<string, unknown>;
  set: (patch: Record<string, unknown>) => void;
  err: (field: string) => { error?: string[]; errorTestId: string };
}

/** The Execution Engine select, and the stateless settings when the group runs stateless. */
export function GroupEngine({ id, flow, group, draft, set, err }: Props) {
  // Live figures: the status stream's entry when the canvas shows the group's parent, else a poll.
  const entry = useEntry(id);
  const [polled, setPolled] = useState<{ running: number; queued: number } | null>(null);
  usePolling(async () => {
    try {
      const g = await api.get<ProcessGroup>("process-group", id);
      setPolled({ running: g.runningCount, queued: g.queuedCount });
    } catch { /* the next poll tries again */ }
  }, 3000, entry === undefined, [id]);
  const running = entry ? num(entry, "runningCount") : polled?.running ?? group.runningCount;
  const queued = entry ? num(entry, "queuedCount") : polled?.queued ?? group.queuedCount;

  const engine = String(draft.executionEngine) as ExecutionEngine;
  const parent = parentEngine(flow, id);
  // Inside a stateless group the outermost one is the unit that runs: its settings apply, not this group's.
  const nested = engine !== "STANDARD" && parent.engine === "STATELESS";
  // The stateless settings are shown only for STATELESS: leaving it puts back what the group has, so
  // that a hidden field is neither sent nor held against the save.
  const choose = (value: string) => set(value === "STATELESS" ? { executionEngine: value }
    : { ...engineDraft(group as unknown as Record<string, unknown>), executionEngine: value });
  const lockedWhy = running > 0
    ? `${running} component${running === 1 ? "" : "s"} in this group ${running === 1 ? "is" : "are"} running: `
      + "stop the group to change its execution engine."
    : undefined;
  const inheritedHelp = parent.from
    ? `Inherited: ${parent.engine === "STATELESS" ? "stateless" : "standard"}, as '${parent.from}' is set.`
    : "Inherited: standard (no group above sets an engine).";
  const help = engine === "STATELESS"
    ? "Each invocation takes flowfiles at an input port (or from a source processor inside), runs them through "
      + "every processor in memory and commits once; a failure anywhere rolls the whole invocation back."
    : engine === "STANDARD" ? "Every processor runs on its own and commits each step to the repository."
      : inheritedHelp;
  return (
    <div className="pn-form" data-testid="group-engine-settings">
      <Field label="Execution engine" htmlFor="group-engine" {...err("executionEngine")} title={lockedWhy}
             help={<>{help}{lockedWhy ? <div data-testid="group-engine-locked">{lockedWhy}</div> : null}
               {!lockedWhy && queued > 0
                 ? <div>{queued} flowfile{queued === 1 ? " waits" : "s wait"} in connections inside: the engine
                   changes only once they are gone.</div> : null}</>}>
        <select id="group-engine" data-testid="group-engine" className="pn-input" value={engine}
                disabled={running > 0} title={lockedWhy} onChange={(e) => choose(e.target.value)}>
          {ENGINES.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
        </select>
      </Field>
      {nested ? (
        <p className="pn-help" data-testid="group-engine-nested">
          Runs inside the stateless group '{parent.from}': that group's max concurrent tasks and stateless flow
          timeout apply.
        </p>
      ) : engine === "STATELESS" ? (
        <div className="pn-grid2">
          <Field label="Max concurrent tasks" htmlFor="group-max-tasks" {...err("maxConcurrentTasks")}
                 help="Invocations of the group that may run at once, each with its own flowfiles.">
            <input id="group-max-tasks" data-testid="group-max-tasks" className="pn-input" inputMode="numeric"
                   value={String(draft.maxConcurrentTasks)} onChange={(e) => set({ maxConcurrentTasks: e.target.value })} />
          </Field>
          <Field label="Stateless flow timeout" htmlFor="group-flow-timeout" {...err("statelessFlowTimeout")}
                 help="An invocation that takes longer is rolled back and its input retried, such as 1 min.">
            <input id="group-flow-timeout" data-testid="group-flow-timeout" className="pn-input mono"
                   value={String(draft.statelessFlowTimeout)} onChange={(e) => set({ statelessFlowTimeout: e.target.value })} />
          </Field>
        </div>
      ) : null}
    </div>
  );
}
