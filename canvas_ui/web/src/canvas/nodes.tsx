// The node components of the canvas: processor, input/output port, funnel,
// process group and label. Each reads its own live status entry (statusStore),
// so a status tick re-renders only the nodes whose entry changed.
import { memo, type CSSProperties, type ReactNode } from "react";
import { Handle, NodeResizer, Position, useStore, type NodeProps, type ReactFlowState } from "@xyflow/react";
import type { Label, NodeFigures, Port, Processor, StatusEntry } from "../api";
import { nodeLines } from "../cluster";
import type { FlowNode, GroupSummary } from "./build";
import { useCanvasActions } from "./controller";
import { countAndSize, countAndSizeShort, formatBytes, formatCount, formatCountShort, formatNanos, formatRate } from "./format";
import { Icon } from "./icons";
import { Sparkline } from "./Sparkline";
import { StatelessBadge } from "./StatelessBadge";
import { num, sparkValue, useEntry, useEntryValue, useRing } from "./statusStore";

/** Below this zoom the nodes drop their detail text (NiFi does the same). */
export const FAR_ZOOM = 0.45;
export const farZoom = (s: ReactFlowState) => s.transform[2] < FAR_ZOOM;
/** Below this zoom a processor is a box in the colour of its state, no text (its name and
 *  state stay for screen readers): a whole large flow in view draws fast and pans smoothly. */
export const TINY_ZOOM = 0.2;
/** 0: near (everything), 1: far (state and name), 2: tiny (a box). */
const detail = (s: ReactFlowState) => (s.transform[2] < TINY_ZOOM ? 2 : s.transform[2] < FAR_ZOOM ? 1 : 0);

export type DisplayState = "RUNNING" | "STOPPED" | "DISABLED" | "INVALID";

export function displayState(entry: StatusEntry | undefined, runState: string | undefined, valid: boolean): DisplayState {
  const run = entry?.runState ?? runState;
  if (run === "RUNNING") return "RUNNING";
  if (run === "DISABLED") return "DISABLED";
  return (entry?.valid ?? valid) ? "STOPPED" : "INVALID";
}

const STATE_TITLE: Record<DisplayState, string> = {
  RUNNING: "Running", STOPPED: "Stopped", DISABLED: "Disabled", INVALID: "Invalid",
};

/** The run-state icon; when invalid it is also the `node-invalid` marker whose
 *  title lists the validation errors. */
export function StateIcon({ state, size = 13, errors }: { state: DisplayState; size?: number; errors?: string[] }) {
  const icon = state === "RUNNING" ? <Icon.play size={size} /> : state === "STOPPED" ? <Icon.stop size={size} />
    : state === "DISABLED" ? <Icon.disabled size={size} /> : <Icon.warn size={size} />;
  if (state === "INVALID" && errors) {
    return (
      <span className="fy-state-icon is-invalid fy-invalid" data-testid="node-invalid"
            title={errors.length ? errors.join("\n") : "Invalid"}>{icon}</span>
    );
  }
  return <span className={`fy-state-icon is-${state.toLowerCase()}`} title={STATE_TITLE[state]}>{icon}</span>;
}

function cx(...names: (string | false | null | undefined)[]): string {
  return names.filter(Boolean).join(" ");
}

function Handles() {
  return (
    <>
      <Handle type="target" position={Position.Left} className="fy-handle fy-handle-in" />
      <Handle type="source" position={Position.Right} className="fy-handle fy-handle-out" title="Drag to connect">
        <svg viewBox="0 0 16 16" width="10" height="10" aria-hidden="true"><path d="M4 8h8M9 5l3 3-3 3" /></svg>
      </Handle>
    </>
  );
}

function Markers({ bulletins, active }: { bulletins: number; active: number }) {
  const actions = useCanvasActions();
  return (
    <span className="fy-markers">
      {active > 0 && <span className="fy-marker fy-active" title={`${active} active task${active === 1 ? "" : "s"}`}>{active}</span>}
      {bulletins > 0 && (
        <button type="button" className="fy-marker fy-bulletins nodrag" data-testid="node-bulletins"
                title={`${bulletins} bulletin${bulletins === 1 ? "" : "s"}: open the bulletin board`}
                onClick={(e) => { e.stopPropagation(); actions.openPanel({ kind: "bulletins" }); }}>
          <Icon.bell size={12} />{bulletins}
        </button>
      )}
    </span>
  );
}

/** The stats' tooltip: the window, and in a cluster the figures of each node. */
function statsTitle(nodes: NodeFigures[] | undefined, kind: string): string {
  const lines = nodeLines(nodes, kind);
  return lines ? `Last 5 minutes, all nodes; by node:\n${lines}` : "Last 5 minutes";
}

function Stat({ label, value }: { label: string; value: ReactNode }) {
  return <><span className="fy-stat-label">{label}</span><span className="fy-stat-value">{value}</span></>;
}

/** A processor node. Zoomed out: its state and name (far), or a box in its state's colour
 *  (tiny), and a status tick re-renders it only when its state changes. Near: everything. */
export const ProcessorNode = memo(function ProcessorNode(props: NodeProps<FlowNode>) {
  const level = useStore(detail);
  return level === 2 ? <TinyProcessor {...props} /> : level === 1 ? <FarProcessor {...props} /> : <NearProcessor {...props} />;
});

function TinyProcessor({ id, data, selected }: NodeProps<FlowNode>) {
  const p = data.doc as Processor;
  const valid = p.validationErrors.length === 0;
  const state = useEntryValue(id, (entry) => displayState(entry, p.runState, valid));
  const name = p.name || p.type;
  return (
    <div className={cx("fy-node fy-proc", `is-${state.toLowerCase()}`, selected && "is-selected", "is-far is-tiny")} title={name}>
      <Handles />
      <span className="fy-sr" data-testid="node-name">{name}</span>
      <span className="fy-sr" data-testid="node-state">{state}</span>
    </div>
  );
}

function FarProcessor({ id, data, selected }: NodeProps<FlowNode>) {
  const p = data.doc as Processor;
  const valid = p.validationErrors.length === 0;
  const state = useEntryValue(id, (entry) => displayState(entry, p.runState, valid));
  const name = p.name || p.type;
  return (
    <div className={cx("fy-node fy-proc", `is-${state.toLowerCase()}`, selected && "is-selected", "is-far")}>
      <Handles />
      <div className="fy-head">
        <StateIcon state={state} size={22} errors={p.validationErrors} />
        <span className="fy-name" data-testid="node-name" title={name}>{name}</span>
        {p.executionNode === "PRIMARY" && (
          <span className="fy-marker fy-primary" data-testid="node-primary"
                title="Runs on the primary node only (Execution: Primary node)">P</span>
        )}
      </div>
      <span className="fy-sr" data-testid="node-state">{state}</span>
    </div>
  );
}

function NearProcessor({ id, data, selected }: NodeProps<FlowNode>) {
  const p = data.doc as Processor;
  const entry = useEntry(id);
  const ring = useRing(id);
  const state = displayState(entry, p.runState, p.validationErrors.length === 0);
  const name = p.name || p.type;
  return (
    <div className={cx("fy-node fy-proc", `is-${state.toLowerCase()}`, selected && "is-selected")}>
      <Handles />
      <div className="fy-head">
        <StateIcon state={state} size={13} errors={p.validationErrors} />
        <span className="fy-name" data-testid="node-name" title={name}>{name}</span>
        {p.executionNode === "PRIMARY" && (
          <span className="fy-marker fy-primary" data-testid="node-primary"
                title="Runs on the primary node only (Execution: Primary node)">P</span>
        )}
        <Markers bulletins={num(entry, "bulletins")} active={num(entry, "activeThreadCount")} />
      </div>
      <div className="fy-sub">
        <span className="fy-type" data-testid="node-type" title={p.type}>{p.type}</span>
        <span className={`fy-pill is-${state.toLowerCase()}`} data-testid="node-state">{state}</span>
      </div>
      <div className="fy-body">
        <div className="fy-stats" data-testid="node-stats" title={statsTitle(entry?.nodes, "processor")}>
          <Stat label="In" value={countAndSizeShort(num(entry, "flowFilesIn"), num(entry, "bytesIn"))} />
          <Stat label="Read" value={formatBytes(num(entry, "bytesRead"))} />
          <Stat label="Written" value={formatBytes(num(entry, "bytesWritten"))} />
          <Stat label="Out" value={countAndSizeShort(num(entry, "flowFilesOut"), num(entry, "bytesOut"))} />
          <Stat label="Tasks" value={`${formatCountShort(num(entry, "taskCount"))} / ${formatNanos(num(entry, "tasksDurationNanos"))}`} />
        </div>
        <div className="fy-rate" title="Flowfiles per second, last 60 s">
          <Sparkline values={ring} width={44} height={30} testId="node-sparkline" />
          <span className="fy-rate-value">{formatRate(entry ? sparkValue(entry) : 0)}/s</span>
        </div>
      </div>
    </div>
  );
}

export const PortNode = memo(function PortNode({ id, data, selected }: NodeProps<FlowNode>) {
  const port = data.doc as Port;
  const entry = useEntry(id);
  const far = useStore(farZoom);
  const input = data.kind === "input-port";
  const state = displayState(entry, port.runState, true);
  return (
    <div className={cx("fy-node fy-port", `is-${state.toLowerCase()}`, selected && "is-selected", far && "is-far")}>
      <Handles />
      <span className="fy-port-icon">{input ? <Icon.portIn size={16} /> : <Icon.portOut size={16} />}</span>
      <span className="fy-port-text">
        <span className="fy-name" data-testid="node-name" title={port.name}>{port.name}</span>
        {!far && <span className="fy-type" data-testid="node-type">{input ? "Input port" : "Output port"}</span>}
      </span>
      <StateIcon state={state} errors={["A port runs once it is connected on both sides"]} />
      <span className="fy-sr" data-testid="node-state">{state}</span>
      {num(entry, "bulletins") > 0 && <span className="fy-sr" data-testid="node-bulletins">{num(entry, "bulletins")}</span>}
    </div>
  );
});

export const FunnelNode = memo(function FunnelNode({ selected }: NodeProps<FlowNode>) {
  return (
    <div className={cx("fy-node fy-funnel", selected && "is-selected")} title="Funnel">
      <Handles />
      <Icon.funnel size={20} />
      <span className="fy-sr" data-testid="node-name">Funnel</span>
      <span className="fy-sr" data-testid="node-type">Funnel</span>
    </div>
  );
});

function Count({ state, value }: { state: DisplayState; value: number }) {
  return (
    <span className={cx("fy-count", value === 0 && "is-zero")} title={`${STATE_TITLE[state]}: ${value}`}>
      <StateIcon state={state} size={12} />{formatCount(value)}
    </span>
  );
}

export const GroupNode = memo(function GroupNode({ id, data, selected }: NodeProps<FlowNode>) {
  const g = data.doc as GroupSummary;
  const entry = useEntry(id);
  const far = useStore(farZoom);
  const figure = (field: keyof GroupSummary) => num(entry, field, Number(g[field]));
  return (
    <div className={cx("fy-node fy-group", selected && "is-selected", far && "is-far")} title="Double-click to open">
      <Handles />
      <div className="fy-head">
        <span className="fy-group-icon"><Icon.group size={far ? 22 : 15} /></span>
        <span className="fy-name" data-testid="node-name" title={g.name}>{g.name}</span>
        <StatelessBadge engine={g.executionEngine} far={far} />
        {!far && num(entry, "bulletins") > 0 && <Markers bulletins={num(entry, "bulletins")} active={0} />}
      </div>
      {!far && (
        <>
          <span className="fy-sr" data-testid="node-type">Process group</span>
          <div className="fy-counts">
            <Count state="RUNNING" value={figure("runningCount")} />
            <Count state="STOPPED" value={figure("stoppedCount")} />
            <Count state="INVALID" value={figure("invalidCount")} />
            <Count state="DISABLED" value={figure("disabledCount")} />
          </div>
          <div className="fy-stats fy-group-stats" data-testid="node-stats"
               title={entry?.nodes?.length ? `Queued on all nodes; by node:\n${nodeLines(entry.nodes, "connection")}` : undefined}>
            <span className="fy-stat-label">Queued</span>
            <span className="fy-stat-value">{countAndSize(figure("queuedCount"), figure("queuedBytes"))}</span>
            <span className="fy-stat-label">Ports</span>
            <span className="fy-stat-value">{g.inputPorts} in · {g.outputPorts} out</span>
          </div>
        </>
      )}
    </div>
  );
});

/** The red, green and blue of `background` (#rgb or #rrggbb), or null. */
function rgbOf(background: string): [number, number, number] | null {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(background.trim())?.[1];
  if (!hex) return null;
  const full = hex.length === 3 ? hex.split("").map((c) => c + c).join("") : hex;
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16));
  return [r, g, b];
}

/** Dark or light text, whichever reads on `background` (#rgb or #rrggbb). */
function textOn(background: string): string | undefined {
  const rgb = rgbOf(background);
  if (!rgb) return undefined;
  const [r, g, b] = rgb;
  return 0.299 * r + 0.587 * g + 0.114 * b > 150 ? "#1d2330" : "#f5f7fa";
}

/** For the dark theme: the same hue as `background`, dark enough for light text.
 *  Pale note colours (#e8f1ff, #fff4d6, ...) keep their hue instead of all turning grey. */
function darkTint(background: string): string | undefined {
  const rgb = rgbOf(background);
  if (!rgb) return undefined;
  const [r, g, b] = rgb.map((v) => v / 255);
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const l = (max + min) / 2;
  const d = max - min;
  if (d < 0.02) return `hsl(0 0% ${Math.round(18 + l * 8)}%)`; // greys stay grey
  const s = d / (1 - Math.abs(2 * l - 1));
  let h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  h = Math.round(h * 60 + 360) % 360;
  return `hsl(${h} ${Math.round(Math.min(Math.max(s, 0.35), 0.6) * 100)}% 24%)`;
}

export const LabelNode = memo(function LabelNode({ id, data, selected }: NodeProps<FlowNode>) {
  const label = data.doc as Label;
  const actions = useCanvasActions();
  const background = label.style?.["background-color"] ?? "#fff4c2";
  const fontSize = label.style?.["font-size"] ?? "13px";
  return (
    <div className={cx("fy-label", selected && "is-selected")}
         style={{
           "--label-bg": background, "--label-fg": textOn(background) ?? "inherit",
           "--label-bg-dark": darkTint(background) ?? "color-mix(in srgb, var(--label-bg) 35%, var(--surface))", fontSize,
         } as CSSProperties}>
      <NodeResizer isVisible={selected} minWidth={48} minHeight={32} lineClassName="fy-resize-line"
                   handleClassName="fy-resize-handle"
                   onResizeEnd={(_, p) => void actions.updateComponent(id, {
                     width: Math.round(p.width), height: Math.round(p.height), position: { x: Math.round(p.x), y: Math.round(p.y) },
                   })} />
      <div className="fy-label-text" data-testid="node-name">
        {label.label || <span className="fy-label-empty">Double-click to write a note</span>}
      </div>
    </div>
  );
});

export const nodeTypes = {
  processor: ProcessorNode,
  "input-port": PortNode,
  "output-port": PortNode,
  funnel: FunnelNode,
  "process-group": GroupNode,
  label: LabelNode,
};
