// The Flow Configuration History (NiFi's name): every edit applied to the flow, newest
// first — date, user, operation, components — filtered by user and by the selected
// component, paged with "Load more". A row's components are links: clicking one selects
// it on the canvas (entering its group). Undone edits are struck through. "Undo" undoes
// the caller's newest edit that can be undone (POST /api/undo, as Ctrl Z).
//
// Not to be confused with HistoryPanel.tsx: the status history of one component.
import { useEffect, useMemo, useRef, useState } from "react";
import { api, type HistoryEntry, type HistoryQuery } from "../api";
import { useCanvasActions } from "../canvas/controller";
import { useApp } from "../store";
import { componentIndex, componentName } from "./flowTree";
import { errorText, formatTime, shortId } from "./format";
import { PanelFrame } from "./frame";
import { Empty, Notice } from "./ui";

/** Entries per page. */
export const PAGE = 50;
/** Components named in a row before "+N more". */
const NAMED = 3;

/** `fresh` (the newest page) in front of what `shown` holds older than it; all of `fresh`
 *  when the two may not meet (a full page that is all newer than `shown`). */
export function mergeNewest(shown: HistoryEntry[], fresh: HistoryEntry[], limit: number): HistoryEntry[] {
  if (!fresh.length) return fresh;
  const oldest = fresh[fresh.length - 1].seq;
  if (fresh.length >= limit && shown.length && shown[0].seq < oldest) return fresh;
  return [...fresh, ...shown.filter((e) => e.seq < oldest)];
}

export function FlowHistoryPanel() {
  const { flow, selection, openPanel } = useApp();
  const a = useCanvasActions();
  const index = useMemo(() => componentIndex(flow), [flow]);
  const [entries, setEntries] = useState<HistoryEntry[] | null>(null);
  const [undo, setUndo] = useState<string[]>([]);
  const [redo, setRedo] = useState<string[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [user, setUser] = useState("");
  const [component, setComponent] = useState<string | null>(null);
  const [me, setMe] = useState<string | null>(null);
  const users = useRef(new Set<string>());
  // What the rows shown were asked with (a newer answer for other filters replaces them).
  const shownFor = useRef<string | null>(null);
  const asked = useRef(0);

  useEffect(() => {
    api.session().then((s) => setMe(s.username)).catch(() => undefined);
  }, []);

  const filters = useMemo<HistoryQuery>(() => ({ user: user.trim() || undefined, component: component ?? undefined }),
    [user, component]);
  const filterKey = JSON.stringify(filters);
  const seen = (list: HistoryEntry[]) => list.forEach((e) => users.current.add(e.user));

  // The newest page, again whenever the flow changes (an edit here, an undo, another user's
  // edit reported by the status stream) or the filters do; older pages already loaded stay.
  useEffect(() => {
    const ticket = ++asked.current;
    const timer = window.setTimeout(async () => {
      try {
        const page = await api.history({ ...filters, limit: PAGE });
        if (ticket !== asked.current) return;
        seen(page.entries);
        const same = shownFor.current === filterKey;
        setEntries((prev) => (same && prev ? mergeNewest(prev, page.entries, PAGE) : page.entries));
        if (!same) setMore(page.entries.length >= PAGE);
        shownFor.current = filterKey;
        setUndo(page.undo);
        setRedo(page.redo);
        setError(null);
      } catch (exc) {
        if (ticket === asked.current) setError(errorText(exc));
      }
    }, shownFor.current === filterKey || shownFor.current === null ? 0 : 250); // typing a user name: wait a moment
    return () => window.clearTimeout(timer);
  }, [flow, filters, filterKey]);

  const loadMore = async () => {
    if (!entries?.length) return;
    setLoadingMore(true);
    try {
      const page = await api.history({ ...filters, limit: PAGE, before: entries[entries.length - 1].seq });
      seen(page.entries);
      setEntries((prev) => [...(prev ?? []), ...page.entries.filter((e) => !prev?.some((p) => p.seq === e.seq))]);
      setMore(page.entries.length >= PAGE);
      setError(null);
    } catch (exc) {
      setError(errorText(exc));
    } finally {
      setLoadingMore(false);
    }
  };

  const go = (id: string) => {
    const known = index.get(id);
    if (!known) return;
    if (known.kind === "controller-service") openPanel({ kind: "configure", componentKind: "controller-service", id });
    else if (flow && id === flow.rootGroup.identifier) a.enterGroup(id);
    else a.focusComponent(id);
  };
  // The caller's edit that Undo takes back: their newest undoable one not undone yet.
  const nextUndo = undo.length && me
    ? entries?.find((e) => e.user === me && e.undoable && !e.undone)?.seq ?? null : null;
  const picked = selection[0] ?? null;
  const filterName = component ? componentName(index, component) : picked ? componentName(index, picked) : null;

  return (
    <PanelFrame
      testId="flow-history-panel"
      title="Flow Configuration History"
      subtitle={entries ? `${entries.length}${more ? "+" : ""} edit${entries.length === 1 ? "" : "s"}`
        + `${filters.user ? ` by ${filters.user}` : ""}${component ? ` touching ${filterName}` : ""}` : "Loading…"}
      actions={<>
        <button type="button" data-testid="flow-history-undo" disabled={!undo.length}
                title={undo.length ? `Undo your last edit: ${undo[0]}` : "You have nothing to undo"}
                onClick={() => void a.undo()}>Undo</button>
        <button type="button" data-testid="flow-history-redo" disabled={!redo.length}
                title={redo.length ? `Redo what you undid last: ${redo[0]}` : "You have nothing to redo"}
                onClick={() => void a.redo()}>Redo</button>
      </>}
      toolbar={
        <div className="pn-search-row">
          <input className="pn-input grow" placeholder="Filter by user" aria-label="User" value={user}
                 data-testid="flow-history-user" list="flow-history-users" onChange={(e) => setUser(e.target.value)} />
          <datalist id="flow-history-users">
            {[...users.current].sort().map((u) => <option key={u} value={u} />)}
          </datalist>
          <label className="pn-inline-check" title={picked || component ? "Only the edits that touched this component"
            : "Select a component on the canvas first"}>
            <input type="checkbox" data-testid="flow-history-only-selection" checked={!!component}
                   disabled={!component && !picked} onChange={(e) => setComponent(e.target.checked ? picked : null)} />
            {filterName ? <>Only <span className="pn-history-filter">{filterName}</span></> : "Only the selection"}
          </label>
        </div>
      }
      footer={more ? (
        <button type="button" data-testid="flow-history-more" disabled={loadingMore} onClick={() => void loadMore()}>
          {loadingMore ? "Loading…" : "Load more"}
        </button>
      ) : undefined}
    >
      {error ? <Notice level="error">{error}</Notice> : null}
      {entries && !entries.length ? (
        <Empty>{filters.user || component ? "No edit matches the filters." : "No edits yet. Every change to the flow is listed here."}</Empty>
      ) : null}
      {entries && entries.length ? (
        <div className="pn-table-wrap">
          <table className="pn-table pn-history">
            <thead><tr><th>Date</th><th>User</th><th>Operation</th><th>Components</th></tr></thead>
            <tbody>
              {entries.map((e) => {
                const present = e.components.filter((id) => index.has(id));
                const gone = e.components.filter((id) => !index.has(id));
                return (
                  <tr key={e.seq} data-testid="flow-history-row" data-seq={e.seq} data-undone={e.undone ? "true" : "false"}
                      className={[e.undone && "is-undone", present.length && "clickable", e.seq === nextUndo && "selected"]
                        .filter(Boolean).join(" ")}
                      title={present.length ? "Show on the canvas" : undefined}
                      onClick={() => present.length && go(present[0])}>
                    <td className="num">{formatTime(e.time, true)}</td>
                    <td data-testid="flow-history-user-cell">{e.user}</td>
                    <td>
                      <span className="pn-history-desc" data-testid="flow-history-description">{e.description}</span>
                      {e.undone ? <span className="pn-badge muted" title="Undone: Redo brings it back">undone</span> : null}
                      {e.seq === nextUndo ? <span className="pn-badge ok" title="Undo takes this edit back">next undo</span> : null}
                    </td>
                    <td><div className="pn-history-components">
                      {present.slice(0, NAMED).map((id) => (
                        <button key={id} type="button" className="pn-link" data-testid="flow-history-component"
                                title={`${index.get(id)?.kind.replace("-", " ")} ${id}`}
                                onClick={(ev) => { ev.stopPropagation(); go(id); }}>{componentName(index, id)}</button>
                      ))}
                      {present.length > NAMED ? <span className="pn-muted">+{present.length - NAMED} more</span> : null}
                      {gone.length ? (
                        <span className="pn-muted" title={`No longer in the flow:\n${gone.join("\n")}`}>
                          {gone.length === 1 && !present.length ? `${shortId(gone[0])} (removed)`
                            : `${present.length ? "+" : ""}${gone.length} removed`}
                        </span>
                      ) : null}
                    </div></td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </PanelFrame>
  );
}
