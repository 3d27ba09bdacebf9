// The bulletin board: the latest bulletins, newest first, filterable by text and level,
// refreshed on demand and every five seconds while "Auto" is on. In a cluster each says
// which node posted it, and a node filter narrows them.
import { useMemo, useState } from "react";
import { api, type Bulletin } from "../api";
import { useApp } from "../store";
import { componentIndex } from "./flowTree";
import { errorText, formatTime } from "./format";
import { PanelFrame } from "./frame";
import { Empty, Notice, usePolling } from "./ui";
import { NodeFilter, Unavailable } from "./clusterViews";

const LEVELS = ["ERROR", "WARN", "INFO", "DEBUG"];

export function BulletinsPanel() {
  const { flow, openPanel } = useApp();
  const index = useMemo(() => componentIndex(flow), [flow]);
  const [bulletins, setBulletins] = useState<Bulletin[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState("");
  const [level, setLevel] = useState("");
  const [node, setNode] = useState("");
  const [unavailable, setUnavailable] = useState<string[]>([]);
  const [auto, setAuto] = useState(true);
  const [at, setAt] = useState<number | null>(null);

  const load = async () => {
    try {
      const list = await api.bulletins();
      setBulletins([...list.items].sort((a, b) => b.timestamp - a.timestamp));
      setUnavailable(list.unavailable);
      setAt(Date.now());
      setError(null);
    } catch (exc) {
      setError(errorText(exc));
    }
  };
  usePolling(load, 5000, auto);

  const needle = filter.trim().toLowerCase();
  const shown = (bulletins ?? []).filter((b) => (!level || b.level.toUpperCase() === level) && (!node || b.nodeId === node)
    && (!needle || `${b.componentName} ${b.componentId} ${b.message}`.toLowerCase().includes(needle)));

  return (
    <PanelFrame
      testId="bulletins-panel"
      title="Bulletins"
      subtitle={bulletins ? `${bulletins.length} bulletin${bulletins.length === 1 ? "" : "s"}${at ? ` · ${formatTime(at)}` : ""}` : "Loading…"}
      actions={<>
        <label className="pn-inline-check" title="Refresh every five seconds">
          <input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} /> Auto
        </label>
        <button type="button" data-testid="bulletins-refresh" onClick={load}>Refresh</button>
      </>}
      toolbar={
        <div className="pn-search-row">
          <input className="pn-input grow" placeholder="Filter by component or message" aria-label="Filter" value={filter}
                 onChange={(e) => setFilter(e.target.value)} />
          <select className="pn-input narrow" aria-label="Level" value={level} onChange={(e) => setLevel(e.target.value)}>
            <option value="">All levels</option>
            {LEVELS.map((l) => <option key={l} value={l}>{l}</option>)}
          </select>
          <NodeFilter value={node} onChange={setNode} testId="bulletins-node-filter" />
        </div>
      }
    >
      {error ? <Notice level="error">{error}</Notice> : null}
      <Unavailable nodes={unavailable} what="bulletins" />
      {bulletins && shown.length === 0 ? (
        <Empty>{bulletins.length ? "No bulletin matches the filter." : "No bulletins. Components post one when something goes wrong."}</Empty>
      ) : null}
      <ul className="pn-bulletins">
        {shown.map((b, i) => {
          const known = index.get(b.componentId);
          return (
            <li key={`${b.timestamp}-${b.componentId}-${i}`} data-testid="bulletin-row" className={`lvl-${b.level.toLowerCase()}`}>
              <div className="pn-bulletin-head">
                <span className={`pn-level lvl-${b.level.toLowerCase()}`}>{b.level}</span>
                {known && (known.kind === "processor" || known.kind === "controller-service") ? (
                  <button type="button" className="pn-link" title="Configure"
                          onClick={() => openPanel({ kind: "configure", componentKind: known.kind as "processor", id: b.componentId })}>
                    {b.componentName || b.componentId}
                  </button>
                ) : <span className="pn-bulletin-source">{b.componentName || b.componentId}</span>}
                {b.nodeId ? <span className="pn-tag" data-testid="bulletin-node" title="The node that posted it">{b.nodeId}</span> : null}
                <span className="pn-muted small">{formatTime(b.timestamp)}</span>
              </div>
              <div className="pn-bulletin-msg">{b.message}</div>
            </li>
          );
        })}
      </ul>
    </PanelFrame>
  );
}
