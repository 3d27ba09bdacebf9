// One provenance event: what happened where, the attributes before and after (changes
// highlighted), the content before and after, replay, and a way to its lineage.
import { useEffect, useMemo, useState } from "react";
import { api } from "../api";
import { useApp } from "../store";
import { ContentViewer } from "./ContentViewer";
import { componentIndex, componentName } from "./flowTree";
import { errorText, formatBytes, formatTime } from "./format";
import { Empty, Notice } from "./ui";

export interface ProvenanceEvent {
  eventId: number; eventType: string; timestamp: number; flowfileUuid: string; componentId: string;
  componentType: string; relationship: string | null; size: number; filename: string | null;
  /** In a cluster: the node that recorded it. */
  nodeId?: string;
  attributes: Record<string, string>; previousAttributes: Record<string, string>;
  updatedAttributes: Record<string, string>; parentUuids: string[]; childUuids: string[];
  transitUri: string | null; details: string | null; previousSize: number | null; sourceConnectionId: string | null;
  inputContentAvailable: boolean; inputSize: number | null; outputContentAvailable: boolean; outputSize: number | null;
  replayAvailable: boolean; replayExplanation: string | null;
}

type Change = "added" | "removed" | "changed" | "same";

/** The attributes before and after an event, one row per name, with what changed. */
export function attributeRows(event: ProvenanceEvent): { name: string; before: string | null; after: string | null; change: Change }[] {
  const before = event.previousAttributes ?? {};
  const after = event.attributes ?? {};
  const hasBefore = Object.keys(before).length > 0;
  const updated = event.updatedAttributes ?? {};
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort((a, b) => a.localeCompare(b));
  return names.map((name) => {
    const b = name in before ? before[name] : null;
    const a = name in after ? after[name] : null;
    let change: Change = "same";
    if (hasBefore) {
      if (b === null && a !== null) change = "added";
      else if (b !== null && a === null) change = "removed";
      else if (a !== b) change = "changed";
    } else if (name in updated) {
      change = "changed";
    }
    return { name, before: hasBefore ? b : a, after: a, change };
  });
}

export function EventDetail({ eventId, node, onUuid, lineageShown }: {
  eventId: number; onUuid?: (uuid: string) => void;
  /** In a cluster: the node that recorded the event (event ids are per node). */
  node?: string;
  /** The flowfile whose lineage is on screen already (its "Show lineage" button is left out). */
  lineageShown?: string;
}) {
  const { flow, openPanel, notify } = useApp();
  const [event, setEvent] = useState<ProvenanceEvent | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [viewing, setViewing] = useState<"input" | "output" | null>(null);
  const [onlyChanged, setOnlyChanged] = useState(false);
  const [replayed, setReplayed] = useState<string | null>(null);
  const [replayError, setReplayError] = useState<string | null>(null);
  const index = useMemo(() => componentIndex(flow), [flow]);

  useEffect(() => {
    setEvent(null);
    setError(null);
    setViewing(null);
    setReplayed(null);
    setReplayError(null);
    api.provenanceEvent(eventId, node).then((e) => setEvent(e as unknown as ProvenanceEvent)).catch((exc) => setError(errorText(exc)));
  }, [eventId, node]);

  if (error) return <div data-testid="prov-detail"><Notice level="error">Event {eventId}: {error}</Notice></div>;
  if (!event) return <div data-testid="prov-detail"><Empty>Loading event {eventId}…</Empty></div>;

  const rows = attributeRows(event);
  const changedCount = rows.filter((r) => r.change !== "same").length;
  const shownRows = onlyChanged ? rows.filter((r) => r.change !== "same") : rows;
  const hasBefore = Object.keys(event.previousAttributes ?? {}).length > 0;

  const replay = async () => {
    setReplayError(null);
    try {
      const result = await api.replay(event.eventId, node) as { flowfileUuid: string; connectionId: string; eventId: number };
      const where = componentName(index, result.connectionId);
      setReplayed(`Replayed as flowfile ${result.flowfileUuid} into ${where} (REPLAY event ${result.eventId}).`);
      notify("Replayed");
    } catch (exc) {
      setReplayError(errorText(exc));
    }
  };

  const contentLink = (direction: "input" | "output") => {
    const available = direction === "input" ? event.inputContentAvailable : event.outputContentAvailable;
    const size = direction === "input" ? event.inputSize : event.outputSize;
    const label = direction === "input" ? "Before" : "After";
    const testId = `prov-content-${direction}`;
    return (
      <div className="pn-content-link">
        <span className="pn-content-label">{label}</span>
        {available ? (
          <>
            <a data-testid={testId} href={api.provenanceContentUrl(event.eventId, direction, false, node)} target="_blank" rel="noreferrer"
               className={`pn-link${viewing === direction ? " active" : ""}`}
               onClick={(e) => {
                 if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return; // let new-tab clicks through
                 e.preventDefault();
                 setViewing(viewing === direction ? null : direction);
               }}>
              View
            </a>
            <a className="pn-link" href={api.provenanceContentUrl(event.eventId, direction, true, node)} download>Download</a>
            <span className="pn-muted">{size !== null ? formatBytes(size) : ""}</span>
          </>
        ) : (
          <a data-testid={testId} aria-disabled="true" className="pn-link disabled"
             title="No content: the event has none on this side, or it is no longer retained">Not available</a>
        )}
      </div>
    );
  };

  return (
    <div className="pn-event" data-testid="prov-detail">
      <div className="pn-event-head">
        <span className={`pn-event-type t-${event.eventType.toLowerCase()}`}>{event.eventType}</span>
        <span className="pn-muted">#{event.eventId} · {formatTime(event.timestamp, true)}</span>
      </div>
      <div className="pn-event-actions">
        <button type="button" data-testid="prov-replay" disabled={!event.replayAvailable}
                title={event.replayAvailable ? "Queue the flowfile again as it entered this component" : event.replayExplanation ?? "Cannot replay"}
                onClick={replay}>Replay</button>
        {lineageShown !== event.flowfileUuid ? (
          <button type="button" data-testid="prov-lineage" onClick={() => openPanel({ kind: "lineage", flowfileUuid: event.flowfileUuid })}>
            Show lineage
          </button>
        ) : null}
        {!event.replayAvailable && event.replayExplanation ? <span className="pn-muted small">{event.replayExplanation}</span> : null}
      </div>
      {replayed ? <Notice level="info" testId="prov-replay-result" onDismiss={() => setReplayed(null)}>{replayed}</Notice> : null}
      {replayError ? <Notice level="error" onDismiss={() => setReplayError(null)}>Replay refused: {replayError}</Notice> : null}

      <div className="pn-facts">
        <div><span>Component</span>
          <span>
            {index.has(event.componentId) ? (
              <button type="button" className="pn-link" onClick={() => {
                const kind = index.get(event.componentId)?.kind;
                if (kind === "processor") openPanel({ kind: "configure", componentKind: "processor", id: event.componentId });
              }}>{componentName(index, event.componentId)}</button>
            ) : event.componentId}
            <span className="pn-muted"> · {event.componentType}</span>
          </span>
        </div>
        <div><span>FlowFile</span>
          <span className="mono pn-selectable">
            {onUuid ? <button type="button" className="pn-link mono" title="Search this flowfile's events"
                              onClick={() => onUuid(event.flowfileUuid)}>{event.flowfileUuid}</button> : event.flowfileUuid}
          </span>
        </div>
        {event.nodeId ?? node ? (
          <div data-testid="prov-node"><span>Node</span><span className="mono">{event.nodeId ?? node}</span></div>
        ) : null}
        {event.filename ? <div><span>Filename</span><span className="mono">{event.filename}</span></div> : null}
        <div><span>Size</span><span>{formatBytes(event.size)}{event.previousSize !== null && event.previousSize !== event.size
          ? <span className="pn-muted"> (was {formatBytes(event.previousSize)})</span> : null}</span></div>
        {event.relationship ? <div><span>Relationship</span><span className="mono">{event.relationship}</span></div> : null}
        {event.sourceConnectionId ? <div><span>Taken from</span><span>{componentName(index, event.sourceConnectionId)}</span></div> : null}
        {event.transitUri ? <div><span>Transit URI</span><span className="mono pn-selectable">{event.transitUri}</span></div> : null}
        {event.details ? <div><span>Details</span><span>{event.details}</span></div> : null}
        {event.parentUuids.length ? <div><span>Parents</span><span className="mono">{uuidList(event.parentUuids, onUuid)}</span></div> : null}
        {event.childUuids.length ? <div><span>Children</span><span className="mono">{uuidList(event.childUuids, onUuid)}</span></div> : null}
      </div>

      <section className="pn-section">
        <h4>Content</h4>
        <div className="pn-content-links">
          {contentLink("input")}
          {contentLink("output")}
        </div>
        {viewing ? (
          <ContentViewer key={viewing} url={api.provenanceContentUrl(event.eventId, viewing, false, node)}
                         downloadUrl={api.provenanceContentUrl(event.eventId, viewing, true, node)}
                         recordsUrl={api.provenanceRecordsUrl(event.eventId, viewing, node)}
                         mimeHint={event.attributes["mime.type"]} title={viewing === "input" ? "Content before" : "Content after"}
                         onClose={() => setViewing(null)} />
        ) : null}
      </section>

      <section className="pn-section">
        <div className="pn-section-head">
          <h4>Attributes {changedCount ? <span className="pn-muted">· {changedCount} changed</span> : null}</h4>
          <label className="pn-inline-check">
            <input type="checkbox" checked={onlyChanged} onChange={(e) => setOnlyChanged(e.target.checked)} /> Only changed
          </label>
        </div>
        <table className="pn-table pn-attrs" data-testid="prov-attributes">
          <thead>
            <tr><th>Name</th>{hasBefore ? <th>Before</th> : null}<th>{hasBefore ? "After" : "Value"}</th></tr>
          </thead>
          <tbody>
            {shownRows.map((r) => (
              <tr key={r.name} className={`chg-${r.change}`} data-change={r.change}>
                <td className="mono">{r.name}</td>
                {hasBefore ? <td className="mono pn-selectable">{r.before ?? <span className="pn-muted">—</span>}</td> : null}
                <td className="mono pn-selectable">{r.after ?? <span className="pn-muted">(removed)</span>}</td>
              </tr>
            ))}
            {shownRows.length === 0 ? <tr><td colSpan={3} className="pn-muted">No attribute changed.</td></tr> : null}
          </tbody>
        </table>
      </section>
    </div>
  );
}

function uuidList(uuids: string[], onUuid?: (uuid: string) => void) {
  return uuids.map((u, i) => (
    <span key={u}>
      {i ? ", " : ""}
      {onUuid ? <button type="button" className="pn-link mono" onClick={() => onUuid(u)}>{u}</button> : u}
    </span>
  ));
}
