// Provenance search (by component, flowfile uuid and event type), the matching events
// newest first, and one event's details (EventDetail) when a row is clicked. In a cluster
// the table has a Node column and the search a node filter (`node=`).
import { useCallback, useEffect, useMemo, useState } from "react";
import { api, type ProvenanceSummary } from "../api";
import { useApp } from "../store";
import { EventDetail } from "./EventDetail";
import { componentIndex, componentName } from "./flowTree";
import { errorText, formatBytes, formatTime, shortId } from "./format";
import { PanelFrame } from "./frame";
import { Empty, Notice } from "./ui";
import { NodeCell, NodeFilter, Unavailable, useShowNodes } from "./clusterViews";

export const EVENT_TYPES = [
  "CREATE", "RECEIVE", "FETCH", "SEND", "UPLOAD", "REMOTE_INVOCATION", "DOWNLOAD", "DROP", "EXPIRE", "FORK", "JOIN",
  "CLONE", "CONTENT_MODIFIED", "ATTRIBUTES_MODIFIED", "ROUTE", "ADDINFO", "REPLAY", "UNKNOWN",
];

/** Shorter labels for the long event types, so the type column stays narrow (the full one is in a title). */
const SHORT_TYPES: Record<string, string> = {
  CONTENT_MODIFIED: "CONTENT MOD", ATTRIBUTES_MODIFIED: "ATTRS MOD", REMOTE_INVOCATION: "REMOTE INV",
};
export function shortEventType(type: string): string {
  return SHORT_TYPES[type] ?? type;
}

/** "23:55:17.123": the time of day alone (the date is in the title). */
function clockTime(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

interface Query { component: string; uuid: string; type: string; limit: string; node: string }

export function ProvenancePanel({ componentId, flowfileUuid }: { componentId?: string; flowfileUuid?: string }) {
  const { flow } = useApp();
  const index = useMemo(() => componentIndex(flow), [flow]);
  const initial: Query = { component: componentId ?? "", uuid: flowfileUuid ?? "", type: "", limit: "100", node: "" };
  const [form, setForm] = useState<Query>(initial);
  const [events, setEvents] = useState<ProvenanceSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState<{ eventId: number; nodeId?: string } | null>(null);
  const [searchedAt, setSearchedAt] = useState<number | null>(null);
  const [unavailable, setUnavailable] = useState<string[]>([]);

  const search = useCallback(async (q: Query) => {
    const query: Record<string, string> = { limit: q.limit || "100" };
    if (q.component.trim()) query.component = q.component.trim();
    if (q.uuid.trim()) query.uuid = q.uuid.trim();
    if (q.type) query.type = q.type;
    if (q.node) query.node = q.node;
    setBusy(true);
    try {
      const found = await api.provenance(query);
      setEvents(found.items);
      setUnavailable(found.unavailable);
      setError(null);
      setSearchedAt(Date.now());
    } catch (exc) {
      setError(errorText(exc));
    } finally {
      setBusy(false);
    }
  }, []);

  // A new panel request (another component or flowfile) starts a new search.
  useEffect(() => {
    const q = { component: componentId ?? "", uuid: flowfileUuid ?? "", type: "", limit: "100", node: "" };
    setForm(q);
    setSelected(null);
    search(q);
  }, [componentId, flowfileUuid, search]);

  const components = useMemo(() => [...index.entries()]
    .filter(([, e]) => ["processor", "input-port", "output-port", "funnel"].includes(e.kind))
    .map(([id]) => ({ id, name: componentName(index, id) }))
    .sort((a, b) => a.name.localeCompare(b.name)), [index]);

  const showNodes = useShowNodes(events);
  const submit = (patch: Partial<Query> = {}) => {
    const q = { ...form, ...patch };
    setForm(q);
    setSelected(null);
    search(q);
  };
  const onKey = (e: React.KeyboardEvent) => { if (e.key === "Enter") { e.preventDefault(); submit(); } };
  const scope = [
    form.component && `component ${componentName(index, form.component)}`,
    form.uuid && `flowfile ${shortId(form.uuid)}`,
    form.type && form.type,
    form.node && `node ${form.node}`,
  ].filter(Boolean).join(", ");

  return (
    <PanelFrame
      testId="provenance-panel"
      title="Provenance"
      subtitle={events ? `${events.length === Number(form.limit) ? `${events.length}+` : events.length} event${events.length === 1 ? "" : "s"}${scope ? ` · ${scope}` : ""}${searchedAt ? ` · ${formatTime(searchedAt)}` : ""}` : "Searching…"}
      toolbar={
        <div className="pn-search">
          <div className="pn-search-row">
            <input className="pn-input" data-testid="prov-search-component" placeholder="Component id or name" list="pn-prov-components"
                   aria-label="Component" value={form.component} onKeyDown={onKey}
                   onChange={(e) => {
                     // Picking a name from the list puts its id in the field.
                     const match = components.find((c) => c.name === e.target.value);
                     setForm({ ...form, component: match ? match.id : e.target.value });
                   }} />
            <datalist id="pn-prov-components">
              {components.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
            </datalist>
            <select className="pn-input" data-testid="prov-search-type" aria-label="Event type" value={form.type}
                    onChange={(e) => setForm({ ...form, type: e.target.value })}>
              <option value="">Any type</option>
              {EVENT_TYPES.map((t) => <option key={t} value={t}>{t}</option>)}
            </select>
            <NodeFilter value={form.node} onChange={(node) => submit({ node })} testId="prov-search-node" />
          </div>
          <div className="pn-search-row">
            <input className="pn-input mono" data-testid="prov-search-uuid" placeholder="FlowFile uuid" aria-label="FlowFile uuid"
                   value={form.uuid} onKeyDown={onKey} onChange={(e) => setForm({ ...form, uuid: e.target.value })} />
            <select className="pn-input narrow" aria-label="Limit" value={form.limit} onChange={(e) => setForm({ ...form, limit: e.target.value })}>
              {["100", "500", "1000"].map((n) => <option key={n} value={n}>{n}</option>)}
            </select>
            <button type="button" className="primary" data-testid="prov-search-button" disabled={busy} onClick={() => submit()}>
              Search
            </button>
            {form.component || form.uuid || form.type || form.node ? (
              <button type="button" className="pn-link" onClick={() => submit({ component: "", uuid: "", type: "", node: "" })}>Clear</button>
            ) : null}
          </div>
        </div>
      }
    >
      {error ? <Notice level="error">{error}</Notice> : null}
      <Unavailable nodes={unavailable} what="events" />
      {selected !== null ? (
        <>
          <button type="button" className="pn-link pn-back-link" onClick={() => setSelected(null)}>← All events</button>
          <EventDetail eventId={selected.eventId} node={selected.nodeId} onUuid={(uuid) => submit({ uuid, component: "", type: "" })} />
        </>
      ) : null}
      <div hidden={selected !== null}>
        {events && events.length === 0 ? <Empty>No events match. Events show up once flowfiles move through the flow.</Empty> : null}
        {events && events.length > 0 ? (
          <div className="pn-table-wrap">
            <table className="pn-table pn-prov-table">
              <colgroup>
                <col className="c-time" /><col className="c-type" /><col />{showNodes ? <col className="c-node" /> : null}<col className="c-ff" />
              </colgroup>
              <thead>
                <tr><th>Time</th><th>Type</th><th>Component</th>{showNodes ? <th>Node</th> : null}<th>FlowFile</th></tr>
              </thead>
              <tbody>
                {events.map((e) => {
                  const name = componentName(index, e.componentId);
                  return (
                    <tr key={`${e.nodeId ?? ""}:${e.eventId}`} data-testid={`prov-row-${e.eventId}`} className="clickable"
                        onClick={() => setSelected({ eventId: e.eventId, nodeId: e.nodeId })}
                        title={`Event ${e.eventId} · ${e.eventType} · ${formatTime(e.timestamp, true)} · ${formatBytes(e.size)}`}>
                      <td className="pn-prov-time" title={formatTime(e.timestamp, true)}>{clockTime(e.timestamp)}</td>
                      <td title={e.eventType}>
                        <span className={`pn-event-type small t-${e.eventType.toLowerCase()}`}>{shortEventType(e.eventType)}</span>
                      </td>
                      <td className="pn-prov-comp" title={`${name}\n${e.componentId} (${e.componentType})`}>{name}</td>
                      {showNodes ? <NodeCell nodeId={e.nodeId} /> : null}
                      <td className="mono" title={`${e.flowfileUuid} · ${formatBytes(e.size)}`}>{e.flowfileUuid.slice(0, 8)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ) : null}
      </div>
    </PanelFrame>
  );
}
