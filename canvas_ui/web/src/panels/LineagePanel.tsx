// The lineage of a flowfile as a layered graph (plain SVG): flowfiles and their events in
// time order, with FORK/JOIN/CLONE/REPLAY children. Click an event for its details.
import { useEffect, useMemo, useState } from "react";
import { api } from "../api";
import { useApp } from "../store";
import { EventDetail } from "./EventDetail";
import { componentIndex, componentName } from "./flowTree";
import { errorText, formatTime, shortId } from "./format";
import { PanelFrame } from "./frame";
import { layoutLineage, type LineageEdge, type LineageNode } from "./lineage";
import { Empty, Notice } from "./ui";

const NODE_W = 172;
const NODE_H = 38;
const GAP_X = 22;
const GAP_Y = 24;
const PAD = 12;

export function LineagePanel({ flowfileUuid }: { flowfileUuid: string }) {
  const { flow, openPanel } = useApp();
  const index = useMemo(() => componentIndex(flow), [flow]);
  const [graph, setGraph] = useState<{ nodes: LineageNode[]; edges: LineageEdge[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [fit, setFit] = useState(true);

  const load = () => {
    setError(null);
    api.lineage(flowfileUuid).then((g) => setGraph(g as { nodes: LineageNode[]; edges: LineageEdge[] }))
      .catch((exc) => setError(errorText(exc)));
  };
  useEffect(() => {
    setGraph(null);
    setSelected(null);
    load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [flowfileUuid]);

  const layout = useMemo(() => (graph ? layoutLineage(graph.nodes, graph.edges,
    { nodeWidth: NODE_W, nodeHeight: NODE_H, gapX: GAP_X, gapY: GAP_Y }) : null), [graph]);
  const flowfiles = graph?.nodes.filter((n) => n.kind === "flowfile").length ?? 0;
  const events = graph ? graph.nodes.length - flowfiles : 0;
  const selectedNode = graph?.nodes.find((n) => n.id === selected) ?? null;

  return (
    <PanelFrame
      testId="lineage-panel"
      title={<>Lineage <span className="pn-title-sub mono">{shortId(flowfileUuid)}</span></>}
      subtitle={graph ? `${flowfiles} flowfile${flowfiles === 1 ? "" : "s"}, ${events} event${events === 1 ? "" : "s"} · click an event for its details` : "Loading…"}
      actions={<>
        <button type="button" onClick={() => setFit(!fit)} title={fit ? "Show at full size" : "Fit to the panel width"}>{fit ? "Full size" : "Fit"}</button>
        <button type="button" onClick={load}>Refresh</button>
      </>}
    >
      {error ? <Notice level="error">{error}</Notice> : null}
      {graph && graph.nodes.length === 0 ? <Empty>No lineage for this flowfile (its events may have aged off).</Empty> : null}
      {layout && graph && graph.nodes.length > 0 ? (
        <div className="pn-lineage-wrap">
          <svg className="pn-lineage" data-testid="lineage-graph" role="img" aria-label="Lineage graph"
               viewBox={`${-PAD} ${-PAD} ${layout.width + 2 * PAD} ${layout.height + 2 * PAD}`}
               width={layout.width + 2 * PAD} height={layout.height + 2 * PAD}
               style={fit ? { maxWidth: "100%", height: "auto" } : undefined}>
            <defs>
              <marker id="pn-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                <path d="M0 0 10 5 0 10z" className="pn-lineage-arrow" />
              </marker>
            </defs>
            {layout.edges.map(({ source, target }) => {
              const x1 = source.x;
              const y1 = source.y + NODE_H / 2;
              const x2 = target.x;
              const y2 = target.y - NODE_H / 2 - 1;
              const mid = (y1 + y2) / 2;
              return (
                <path key={`${source.node.id}>${target.node.id}`} className="pn-lineage-edge" markerEnd="url(#pn-arrow)"
                      d={`M${x1} ${y1} C${x1} ${mid} ${x2} ${mid} ${x2} ${y2}`} />
              );
            })}
            {layout.nodes.map(({ node, x, y }) => {
              const isFlowfile = node.kind === "flowfile";
              const isRoot = node.id === flowfileUuid;
              const cls = isFlowfile ? `ff${isRoot ? " root" : ""}` : `ev t-${String(node.eventType ?? "unknown").toLowerCase()}`;
              const title = isFlowfile ? `FlowFile ${node.id}`
                : `${node.eventType} at ${componentName(index, String(node.componentId ?? ""))}${node.timestamp ? `, ${formatTime(node.timestamp, true)}` : ""}`;
              return (
                <g key={node.id} data-testid={`lineage-node-${node.id}`} className={`pn-lnode ${cls}${selected === node.id ? " selected" : ""}`}
                   transform={`translate(${x - NODE_W / 2} ${y - NODE_H / 2})`} tabIndex={0} role="button" aria-label={title}
                   onClick={() => setSelected(node.id)}
                   onKeyDown={(e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); setSelected(node.id); } }}>
                  <title>{title}</title>
                  <rect width={NODE_W} height={NODE_H} rx={isFlowfile ? NODE_H / 2 : 7} className="pn-lnode-box" />
                  {isFlowfile ? (
                    <>
                      <path d="M16 11h7l4 4v14H16z" className="pn-lnode-icon" transform="translate(0 -1)" />
                      <text x={36} y={16} className="pn-lnode-kind">FlowFile</text>
                      <text x={36} y={30} className="pn-lnode-label mono">{shortId(node.id)}</text>
                    </>
                  ) : (
                    <>
                      <rect x={0} y={0} width={5} height={NODE_H} rx={2} className="pn-lnode-bar" />
                      <text x={14} y={16} className="pn-lnode-kind">{clip(String(node.eventType ?? "EVENT"), 22)}</text>
                      <text x={14} y={30} className="pn-lnode-label">{clip(componentName(index, String(node.componentId ?? "")), 24)}</text>
                    </>
                  )}
                </g>
              );
            })}
          </svg>
        </div>
      ) : null}
      {selectedNode && selectedNode.kind === "event" ? (
        <section className="pn-section">
          <EventDetail key={selectedNode.id} lineageShown={flowfileUuid}
                       // In a cluster an event's id is "event:NODE:EVENTID" and the node carries both parts.
                       eventId={typeof selectedNode.eventId === "number" ? selectedNode.eventId
                         : Number(selectedNode.id.replace(/^event:(?:.*:)?/, ""))}
                       node={typeof selectedNode.nodeId === "string" ? selectedNode.nodeId : undefined}
                       onUuid={(uuid) => openPanel({ kind: "lineage", flowfileUuid: uuid })} />
        </section>
      ) : null}
      {selectedNode && selectedNode.kind === "flowfile" ? (
        <section className="pn-section">
          <div className="pn-facts"><div><span>FlowFile</span><span className="mono pn-selectable">{selectedNode.id}</span></div></div>
          <div className="pn-row">
            <button type="button" onClick={() => openPanel({ kind: "provenance", flowfileUuid: selectedNode.id })}>Its events</button>
            {selectedNode.id !== flowfileUuid ? (
              <button type="button" onClick={() => openPanel({ kind: "lineage", flowfileUuid: selectedNode.id })}>Lineage from here</button>
            ) : null}
          </div>
        </section>
      ) : null}
    </PanelFrame>
  );
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
