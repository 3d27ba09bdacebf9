// The per-node pieces the panels show in a cluster: a node filter (a <select> of the
// cluster's nodes, "All nodes" first), the Node cell of a table, and a table of a
// component's figures per node (a status entry's or statistics answer's `nodes`).
// Nothing shows on a single node.
import type { NodeFigures } from "../api";
import { stateLevel, useCluster } from "../cluster";
import { formatBytes, formatCount } from "./format";

/** A filter by node, shown only in a cluster ("" = all nodes). */
export function NodeFilter({ value, onChange, testId }: { value: string; onChange: (node: string) => void; testId: string }) {
  const cluster = useCluster();
  if (!cluster.clustered) return null;
  const ids = cluster.nodes.map((n) => n.nodeId).sort();
  if (value && !ids.includes(value)) ids.push(value);
  return (
    <select className="pn-input narrow" data-testid={testId} aria-label="Node" value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="">All nodes</option>
      {ids.map((id) => <option key={id} value={id}>{id}</option>)}
    </select>
  );
}

/** Whether tables should have a Node column: in a cluster, or when the rows name nodes. */
export function useShowNodes(rows: { nodeId?: string }[] | null | undefined): boolean {
  const cluster = useCluster();
  return cluster.clustered || !!rows?.some((r) => r.nodeId);
}

/** A row's Node cell: the node id, tagged with its state when that is not CONNECTED. */
export function NodeCell({ nodeId }: { nodeId?: string }) {
  const cluster = useCluster();
  const node = cluster.nodes.find((n) => n.nodeId === nodeId);
  return (
    <td className="pn-node-cell" data-testid="node-cell">
      <span className="mono">{nodeId ?? "—"}</span>
      {node && node.state !== "CONNECTED" ? <span className={`pn-badge ${stateLevel(node.state)}`}>{node.state}</span> : null}
    </td>
  );
}

const asRecord = (v: unknown) => (v && typeof v === "object" ? v as Record<string, unknown> : {});
const n = (f: NodeFigures, field: string) => (typeof f[field] === "number" ? (f[field] as number) : 0);

/** A component's figures per node, as a small table (testid `node-breakdown`, rows `node-breakdown-<nodeId>`). */
export function NodeBreakdown({ nodes, kind }: { nodes: NodeFigures[] | undefined; kind: string }) {
  if (!nodes || !nodes.length) return null;
  const connection = kind === "connection";
  // A statistics answer nests its figures (totals, current); a status entry has them flat.
  const rows = nodes.map((f) => ({ ...f, ...asRecord(f.totals), ...asRecord(f.current) } as NodeFigures))
    .sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  return (
    <section className="pn-section">
      <h4>By node</h4>
      <table className="pn-table" data-testid="node-breakdown">
        <thead>
          <tr>
            <th>Node</th>
            {connection ? <th className="num">Queued</th> : null}
            <th className="num">In (5 min)</th><th className="num">Out (5 min)</th>
            {!connection ? <th className="num">Read / written</th> : null}
          </tr>
        </thead>
        <tbody>
          {rows.map((f) => (
            <tr key={f.nodeId} data-testid={`node-breakdown-${f.nodeId}`}>
              <td className="mono">{f.nodeId}</td>
              {typeof f.error === "string" ? <td colSpan={3} className="muted">did not answer: {f.error}</td> : <>
                {connection ? <td className="num">{formatCount(n(f, "queuedCount"))} ({formatBytes(n(f, "queuedBytes"))})</td> : null}
                <td className="num">{formatCount(n(f, "flowFilesIn"))} ({formatBytes(n(f, "bytesIn"))})</td>
                <td className="num">{formatCount(n(f, "flowFilesOut"))} ({formatBytes(n(f, "bytesOut"))})</td>
                {!connection ? <td className="num">{formatBytes(n(f, "bytesRead"))} / {formatBytes(n(f, "bytesWritten"))}</td> : null}
              </>}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Says which nodes a merged listing leaves out (they did not answer in time); nothing when none. */
export function Unavailable({ nodes, what }: { nodes: string[]; what: string }) {
  if (!nodes.length) return null;
  const list = nodes.join(", ");
  return (
    <div className="pn-notice warn" role="status" data-testid="unavailable-nodes">
      <div className="pn-notice-body">
        {nodes.length === 1 ? `Node ${list} did not answer` : `Nodes ${list} did not answer`}: {nodes.length === 1 ? "its" : "their"} {what} are not listed.
      </div>
    </div>
  );
}
