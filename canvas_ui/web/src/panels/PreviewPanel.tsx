// Data preview: the newest flowfiles waiting at an edge, refreshed every second while the
// panel is open (pause to look at one). Click a row for its attributes and content.
import { useMemo, useRef, useState } from "react";
import { api, type Connection, type QueuedFlowFile } from "../api";
import { useApp } from "../store";
import { ContentViewer } from "./ContentViewer";
import { componentIndex, componentName } from "./flowTree";
import { errorText, formatBytes, formatTime, shortId } from "./format";
import { PanelFrame } from "./frame";
import { FlowFileDetails } from "./QueuePanel";
import { Empty, Notice, usePolling } from "./ui";

const SHOWN = 25;

export function PreviewPanel({ connectionId }: { connectionId: string }) {
  const { flow } = useApp();
  const [items, setItems] = useState<QueuedFlowFile[] | null>(null);
  const [conn, setConn] = useState<Connection | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [paused, setPaused] = useState(false);
  const [selected, setSelected] = useState<QueuedFlowFile | null>(null);
  const [tickAt, setTickAt] = useState(Date.now());
  const seen = useRef<Set<string>>(new Set());
  const fresh = useRef<Set<string>>(new Set());
  const index = useMemo(() => componentIndex(flow), [flow]);

  usePolling(async () => {
    try {
      const [queue, connection] = await Promise.all([
        api.queue(connectionId), api.get<Connection>("connection", connectionId).catch(() => null),
      ]);
      const newest = [...queue.items].sort((a, b) => b.entryDate - a.entryDate).slice(0, SHOWN);
      const first = seen.current.size === 0;
      fresh.current = new Set(first ? [] : newest.filter((ff) => !seen.current.has(ff.uuid)).map((ff) => ff.uuid));
      newest.forEach((ff) => seen.current.add(ff.uuid));
      if (seen.current.size > 5000) seen.current = new Set(newest.map((ff) => ff.uuid));
      setItems(newest);
      setConn(connection);
      setTickAt(Date.now());
      setError(null);
    } catch (exc) {
      setError(errorText(exc));
    }
  }, 1000, !paused, [connectionId]);

  const name = conn ? componentName(index, conn.identifier) : connectionId;
  return (
    <PanelFrame
      testId="preview-panel"
      title={<>Data preview <span className="pn-title-sub">{name}</span></>}
      subtitle={<>
        <span className={`pn-live${paused ? " paused" : ""}`} aria-hidden="true" />
        {paused ? "Paused" : "Live, every second"} · {conn ? `${conn.queuedCount.toLocaleString()} queued` : "…"} · {formatTime(tickAt)}
      </>}
      actions={<button type="button" data-testid="preview-pause" onClick={() => setPaused(!paused)}>{paused ? "Resume" : "Pause"}</button>}
    >
      {error ? <Notice level="error">{error}</Notice> : null}
      {conn && conn.queuedCount > 100 ? (
        <p className="pn-help pn-preview-note">
          The queue holds {conn.queuedCount.toLocaleString()} flowfiles and the API lists the first 100 waiting,
          so these are the newest of those; newer ones show up as the queue drains.
        </p>
      ) : null}
      {items === null && !error ? <Empty>Loading…</Empty> : null}
      {items && items.length === 0 ? <Empty>Nothing is waiting here right now. New flowfiles show up as they arrive.</Empty> : null}
      {items && items.length > 0 ? (
        <ul className="pn-preview-list">
          {items.map((ff) => {
            const attrs = Object.entries(ff.attributes).filter(([k]) => !["uuid", "filename", "path"].includes(k));
            return (
              <li key={ff.uuid} data-testid={`preview-row-${ff.uuid}`}
                  className={`${fresh.current.has(ff.uuid) ? "fresh" : ""}${selected?.uuid === ff.uuid ? " selected" : ""}`}
                  onClick={() => { setSelected(ff); setPaused(true); }} title="Show this flowfile (pauses the preview)">
                <div className="pn-preview-head">
                  <span className="mono">{ff.filename ?? shortId(ff.uuid)}</span>
                  <span className="pn-muted">{formatBytes(ff.size)} · {formatTime(ff.entryDate)}</span>
                </div>
                {attrs.length ? (
                  <div className="pn-attr-chips">
                    {attrs.slice(0, 6).map(([k, v]) => (
                      <span key={k} className="pn-attr-chip"><span>{k}</span>{v}</span>
                    ))}
                    {attrs.length > 6 ? <span className="pn-muted">+{attrs.length - 6}</span> : null}
                  </div>
                ) : null}
              </li>
            );
          })}
        </ul>
      ) : null}
      {selected ? (
        <section className="pn-section">
          <div className="pn-section-head">
            <h4>Flowfile <span className="mono">{shortId(selected.uuid)}</span></h4>
            <button type="button" className="pn-icon" aria-label="Close" onClick={() => setSelected(null)}>×</button>
          </div>
          <FlowFileDetails ff={selected} now={tickAt} />
          <ContentViewer key={selected.uuid} url={api.contentUrl(connectionId, selected.uuid)}
                         downloadUrl={api.contentUrl(connectionId, selected.uuid, true)}
                         recordsUrl={api.recordsUrl(connectionId, selected.uuid)}
                         mimeHint={selected.attributes["mime.type"]}
                         goneText="This flowfile has moved on since the preview showed it." />
        </section>
      ) : null}
    </PanelFrame>
  );
}
