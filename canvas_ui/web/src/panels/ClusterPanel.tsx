// The cluster page (NiFi's "Cluster" summary): every node with its address, state,
// roles, heartbeat age and queued data, and what may be done to it — disconnect,
// connect, offload, remove — offered as NiFi allows for its state (actionBlocker),
// offload and remove asked first. Reads the cluster store (../cluster.ts), which polls
// GET /api/cluster; an action refreshes it at once.
import { Fragment, useState } from "react";
import { api, type ClusterNode, type ClusterOverview, type NodeAction } from "../api";
import { actionBlocker, ageText, clusterStore, stateLevel, useCluster } from "../cluster";
import { useApp } from "../store";
import { errorText, formatBytes } from "./format";
import { PanelFrame } from "./frame";
import { Empty, Notice } from "./ui";

const LABELS: Record<NodeAction, string> = {
  disconnect: "Disconnect", connect: "Connect", offload: "Offload", remove: "Remove",
};
const ACTIONS: NodeAction[] = ["disconnect", "connect", "offload", "remove"];
/** What is asked before the actions that move or forget data. */
const QUESTIONS: Partial<Record<NodeAction, (n: ClusterNode) => string>> = {
  offload: (n) => `Offload node ${n.nodeId}? Its ${n.queuedCount.toLocaleString("en-US")} queued flowfile`
    + `${n.queuedCount === 1 ? "" : "s"} (${formatBytes(n.queuedBytes)}) move to the other connected nodes, and it stops `
    + "taking part in the flow; afterwards it can be connected again or removed.",
  remove: (n) => `Remove node ${n.nodeId} (${n.address}) from the cluster? It is forgotten; `
    + `${n.queuedCount ? `the ${n.queuedCount.toLocaleString("en-US")} flowfiles still queued on it stay there, out of the cluster's reach. ` : ""}`
    + "Started again, it joins as a new node.",
};
const PAST: Record<NodeAction, string> = {
  disconnect: "is disconnecting", connect: "is connecting", offload: "is being offloaded", remove: "was removed",
};

export function ClusterPanel() {
  const cluster = useCluster();
  const { notify } = useApp();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [asking, setAsking] = useState<{ node: ClusterNode; action: NodeAction } | null>(null);

  const act = async (node: ClusterNode, action: NodeAction) => {
    setAsking(null);
    setBusy(`${action}:${node.nodeId}`);
    setError(null);
    try {
      const answer = await api.nodeAction(node.nodeId, action);
      notify(`Node ${node.nodeId} ${PAST[action]}`);
      if (action !== "remove") clusterStore.publish(answer as ClusterOverview);
      else await clusterStore.refresh();
    } catch (exc) {
      setError(`Could not ${action} node ${node.nodeId}: ${errorText(exc)}`);
      await clusterStore.refresh();
    } finally {
      setBusy(null);
    }
  };
  const ask = (node: ClusterNode, action: NodeAction) => {
    if (QUESTIONS[action]) setAsking({ node, action });
    else void act(node, action);
  };

  const nodes = [...cluster.nodes].sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  const connected = nodes.filter((n) => n.state === "CONNECTED").length;
  const queued = nodes.reduce((sum, n) => sum + (n.queuedCount ?? 0), 0);
  const queuedBytes = nodes.reduce((sum, n) => sum + (n.queuedBytes ?? 0), 0);
  const stale = clusterStore.lastError();
  return (
    <PanelFrame
      testId="cluster-panel"
      title="Cluster"
      subtitle={cluster.clustered ? (
        <span data-testid="cluster-summary">
          {connected} of {nodes.length} node{nodes.length === 1 ? "" : "s"} connected · {queued.toLocaleString("en-US")} queued
          ({formatBytes(queuedBytes)}) · coordinator {cluster.coordinator ?? "none"} · primary {cluster.primary ?? "none"}
        </span>
      ) : "Not clustered"}
      actions={<button type="button" data-testid="cluster-refresh" onClick={() => void clusterStore.refresh()}>Refresh</button>}
      toolbar={asking ? (
        <div className="pn-confirm-bar" role="alertdialog" aria-label={`${LABELS[asking.action]} node ${asking.node.nodeId}`}>
          <span data-testid="confirm-text">{QUESTIONS[asking.action]?.(asking.node)}</span>
          <button type="button" className="pn-danger solid" data-testid="confirm-yes"
                  onClick={() => void act(asking.node, asking.action)}>{LABELS[asking.action]}</button>
          <button type="button" data-testid="confirm-no" autoFocus onClick={() => setAsking(null)}>Cancel</button>
        </div>
      ) : undefined}
    >
      {error ? <Notice level="error" testId="cluster-error" onDismiss={() => setError(null)}>{error}</Notice> : null}
      {cluster.unavailable?.length ? (
        <Notice level="warn" testId="cluster-unavailable">
          The live figures leave out {cluster.unavailable.map((u) => `${u.nodeId} (${u.error})`).join(", ")}: it did not answer.
        </Notice>
      ) : null}
      {stale ? <Notice level="warn">The cluster could not be read just now ({stale}); what is shown may be out of date.</Notice> : null}
      {!cluster.clustered ? (
        <Empty>This flowyard runs on its own, not in a cluster. `flowyard serve --cluster …` joins one (see docs/cluster.md).</Empty>
      ) : (
        <div className="pn-table-wrap">
          <table className="pn-table pn-cluster-table">
            <thead>
              <tr>
                <th>Node</th><th>State</th><th className="num">Heartbeat</th><th className="num">Queued</th>
              </tr>
            </thead>
            <tbody>
              {nodes.map((n) => (
                <Fragment key={n.nodeId}>
                <tr data-testid={`cluster-row-${n.nodeId}`} className={`pn-node-row${n.nodeId === cluster.nodeId ? " selected" : ""}`}>
                  <td>
                    <div className="pn-node-id">
                      <b className="mono">{n.nodeId}</b>
                      {n.nodeId === cluster.nodeId ? <span className="pn-tag" title="The node serving this canvas">this node</span> : null}
                      {n.roles.includes("coordinator") ? (
                        <span className="pn-tag role" data-testid={`cluster-role-coordinator-${n.nodeId}`}
                              title="Cluster coordinator: orders the edits and decides who is connected">coordinator</span>
                      ) : null}
                      {n.roles.includes("primary") ? (
                        <span className="pn-tag role" data-testid={`cluster-role-primary-${n.nodeId}`}
                              title="Primary node: runs the processors set to run on the primary node only">primary</span>
                      ) : null}
                    </div>
                    <div className="pn-muted small mono" title={n.apiUrl ? `Canvas and API: ${n.apiUrl}` : undefined}>{n.address}</div>
                  </td>
                  <td>
                    <span className={`pn-badge ${stateLevel(n.state)}`} data-testid={`cluster-state-${n.nodeId}`}
                          title={n.reason || undefined}>{n.state}</span>
                    {n.reason ? <div className="pn-muted small pn-node-reason" title={n.reason}>{n.reason}</div> : null}
                  </td>
                  <td className="num" data-testid={`cluster-heartbeat-${n.nodeId}`}
                      title={n.heartbeat ? `Last heartbeat ${new Date(n.heartbeat * 1000).toLocaleString()}` : "Never heard from"}>
                    {n.alive === false ? <span className="pn-tag warn" title="Its lease has expired: it is not heard from">silent</span> : null}
                    {ageText(n.heartbeatAgeSeconds)}
                  </td>
                  <td className="num" data-testid={`cluster-queued-${n.nodeId}`}>
                    {n.queuedCount.toLocaleString("en-US")}<div className="pn-muted small">{formatBytes(n.queuedBytes)}</div>
                  </td>
                </tr>
                <tr className={`pn-node-actions${n.nodeId === cluster.nodeId ? " selected" : ""}`} data-testid={`cluster-actions-${n.nodeId}`}>
                  <td colSpan={4}>
                    {ACTIONS.map((action) => {
                      const blocker = actionBlocker(n, action, cluster);
                      return (
                        <button key={action} type="button" className={`pn-small${action === "remove" || action === "offload" ? " pn-danger" : ""}`}
                                data-testid={`node-${action}-${n.nodeId}`} disabled={!!blocker || busy !== null}
                                title={blocker ?? `${LABELS[action]} node ${n.nodeId}`} onClick={() => ask(n, action)}>
                          {busy === `${action}:${n.nodeId}` ? "…" : LABELS[action]}
                        </button>
                      );
                    })}
                  </td>
                </tr>
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {cluster.clustered ? (
        <p className="pn-help">
          A disconnected node keeps running its flow on its own data but takes no edits; connecting it makes it take the
          cluster's flow again. Offloading a disconnected node moves its queued flowfiles to the connected nodes; an
          offloaded or disconnected node can then be removed.
        </p>
      ) : null}
    </PanelFrame>
  );
}
