// List a connection's queue (the first 100 waiting flowfiles: attributes, size, age),
// view or download one's content, and empty the queue after a confirmation. In a cluster
// the list has a Node column and a node filter (GET …/flowfiles?node=).
import { Fragment, useCallback, useEffect, useMemo, useState } from "react";
import { api, type Connection, type QueuedFlowFile } from "../api";
import { useApp } from "../store";
import { ContentViewer } from "./ContentViewer";
import { connectionLabel } from "../canvas/model";
import { componentIndex, componentName } from "./flowTree";
import { errorText, formatBytes, formatDuration, formatTime, shortId } from "./format";
import { PanelFrame } from "./frame";
import { Empty, Notice } from "./ui";
import { NodeBreakdown, NodeCell, NodeFilter, Unavailable, useShowNodes } from "./clusterViews";
import { useEntry } from "../canvas/statusStore";

export function QueuePanel({ connectionId }: { connectionId: string }) {
  const { flow, notify, reload, openPanel } = useApp();
  const [items, setItems] = useState<QueuedFlowFile[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [expanded, setExpanded] = useState<string | null>(null);
  const [viewing, setViewing] = useState<QueuedFlowFile | null>(null);
  const [loadedAt, setLoadedAt] = useState(Date.now());
  const [conn, setConn] = useState<Connection | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [node, setNode] = useState("");
  const [unavailable, setUnavailable] = useState<string[]>([]);
  const index = useMemo(() => componentIndex(flow), [flow]);

  const load = useCallback(async () => {
    try {
      const [queue, connection] = await Promise.all([
        api.queue(connectionId, node || undefined), api.get<Connection>("connection", connectionId).catch(() => null),
      ]);
      setItems(queue.items);
      setUnavailable(queue.unavailable);
      setConn(connection);
      setLoadedAt(Date.now());
      setError(null);
    } catch (exc) {
      setError(errorText(exc));
    }
  }, [connectionId, node]);
  const showNodes = useShowNodes(items);
  const entry = useEntry(connectionId);
  useEffect(() => {
    setItems(null);
    setViewing(null);
    load();
  }, [load]);

  const empty = async () => {
    try {
      const result = await api.emptyQueue(connectionId);
      notify(`Dropped ${result.dropped} flowfile${result.dropped === 1 ? "" : "s"}`);
      setViewing(null);
      await load();
      reload().catch(() => undefined);
    } catch (exc) {
      notify(`Could not empty the queue: ${errorText(exc)}`, "error");
    }
  };

  const title = conn ? componentName(index, conn.identifier) : connectionId;
  const queueName = conn && flow ? connectionLabel(flow, conn) : title;
  const total = conn ? `${conn.queuedCount.toLocaleString()} queued (${formatBytes(conn.queuedBytes)})` : null;
  return (
    <PanelFrame
      testId="queue-panel"
      title={<span title={`Queue ${title}`}>Queue <span className="pn-title-sub">{title}</span></span>}
      subtitle={<>
        {total}
        {items && conn && conn.queuedCount > items.length ? ` · showing the first ${items.length}` : ""}
        {items ? ` · listed ${formatTime(loadedAt)}` : ""}
      </>}
      actions={<>
        <NodeFilter value={node} onChange={setNode} testId="queue-node-filter" />
        <button type="button" onClick={load} data-testid="queue-refresh">Refresh</button>
        <button type="button" className="pn-danger" data-testid="queue-empty" onClick={() => setConfirming(true)}>Empty queue</button>
      </>}
      toolbar={confirming ? (
        <div className="pn-confirm-bar" role="alertdialog" aria-label="Empty the queue">
          <span data-testid="confirm-text">
            Drop {conn ? `all ${conn.queuedCount.toLocaleString("en-US")} flowfile${conn.queuedCount === 1 ? "" : "s"} (${formatBytes(conn.queuedBytes)})`
              : "every flowfile"} waiting in {conn ? `connection ${queueName}` : "this queue"}? Each gets a DROP provenance
            event; this cannot be undone.
          </span>
          <button type="button" className="pn-danger solid" data-testid="confirm-yes"
                  onClick={() => { setConfirming(false); empty(); }}>Empty it</button>
          <button type="button" data-testid="confirm-no" autoFocus onClick={() => setConfirming(false)}>Cancel</button>
        </div>
      ) : undefined}
    >
      {error ? <Notice level="error">{error}</Notice> : null}
      <Unavailable nodes={unavailable} what="flowfiles" />
      {items === null && !error ? <Empty>Loading…</Empty> : null}
      {items && items.length === 0 ? <Empty>{node ? `Nothing of this queue waits on node ${node}.` : "The queue is empty."}</Empty> : null}
      {items && items.length > 0 ? (
        <div className={`pn-table-wrap${viewing ? " capped" : ""}`}>
          <table className="pn-table">
            <thead>
              <tr>
                <th className="num">#</th><th>Filename</th>{showNodes ? <th>Node</th> : null}<th className="num">Size</th><th className="num">Queued for</th>
                <th className="actions" aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {items.map((ff, i) => (
                <Fragment key={ff.uuid}>
                  <tr data-testid={`queue-row-${ff.uuid}`} className={`clickable${expanded === ff.uuid ? " open" : ""}${viewing?.uuid === ff.uuid ? " selected" : ""}`}
                      onClick={() => setExpanded(expanded === ff.uuid ? null : ff.uuid)} title={ff.uuid}>
                    <td className="num muted">{i + 1}</td>
                    <td className="ellipsis">
                      <span className="mono">{ff.filename ?? shortId(ff.uuid)}</span>
                      {ff.penalized ? <span className="pn-tag warn" title="Penalized: waits before it can be taken">penalized</span> : null}
                    </td>
                    {showNodes ? <NodeCell nodeId={ff.nodeId} /> : null}
                    <td className="num">{formatBytes(ff.size)}</td>
                    <td className="num" title={`Queued at ${formatTime(ff.entryDate, true)}`}>{formatDuration(loadedAt - ff.entryDate)}</td>
                    <td className="actions" onClick={(e) => e.stopPropagation()}>
                      <button type="button" className="pn-small" data-testid={`queue-view-${ff.uuid}`}
                              onClick={() => setViewing(ff)}>View</button>
                      <a className="pn-small-link" data-testid={`queue-download-${ff.uuid}`} title="Download the content"
                         href={api.contentUrl(connectionId, ff.uuid, true, ff.nodeId)} download={ff.filename ?? ff.uuid}>
                        <svg viewBox="0 0 16 16" width="13" height="13" aria-hidden="true">
                          <path d="M8 2v8m0 0-3-3m3 3 3-3M3 13h10" fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round" />
                        </svg>
                        <span className="sr-only">Download</span>
                      </a>
                    </td>
                  </tr>
                  {expanded === ff.uuid ? (
                    <tr className="pn-detail-row">
                      <td colSpan={showNodes ? 6 : 5}>
                        <FlowFileDetails ff={ff} now={loadedAt} onProvenance={() => openPanel({ kind: "provenance", flowfileUuid: ff.uuid })} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {!viewing ? <NodeBreakdown nodes={entry?.nodes} kind="connection" /> : null}
      {viewing ? (
        <ContentViewer key={viewing.uuid} url={api.contentUrl(connectionId, viewing.uuid, false, viewing.nodeId)}
                       downloadUrl={api.contentUrl(connectionId, viewing.uuid, true, viewing.nodeId)}
                       recordsUrl={api.recordsUrl(connectionId, viewing.uuid, viewing.nodeId)}
                       mimeHint={viewing.attributes["mime.type"]} title={viewing.filename ?? viewing.uuid}
                       onClose={() => setViewing(null)}
                       goneText="This flowfile is no longer in the queue: it was taken, expired or dropped. Refresh the list." />
      ) : null}
    </PanelFrame>
  );
}

/** The facts and attributes of one queued flowfile. */
export function FlowFileDetails({ ff, now, onProvenance }: { ff: QueuedFlowFile; now: number; onProvenance?: () => void }) {
  const attrs = Object.entries(ff.attributes).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div className="pn-ff">
      <div className="pn-facts">
        <div><span>UUID</span><span className="mono pn-selectable">{ff.uuid}</span></div>
        <div><span>Queued</span><span>{formatTime(ff.entryDate, true)} ({formatDuration(now - ff.entryDate)} ago)</span></div>
        <div><span>Lineage age</span><span>{formatDuration(now - ff.lineageStartDate)}</span></div>
        <div><span>Size</span><span>{ff.size.toLocaleString()} bytes</span></div>
      </div>
      <table className="pn-kv">
        <tbody>
          {attrs.map(([k, v]) => (
            <tr key={k}><th className="mono">{k}</th><td className="mono pn-selectable">{v}</td></tr>
          ))}
        </tbody>
      </table>
      {onProvenance ? <button type="button" className="pn-link" onClick={onProvenance}>Provenance of this flowfile →</button> : null}
    </div>
  );
}
