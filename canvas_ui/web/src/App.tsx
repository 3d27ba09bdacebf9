import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ReactFlowProvider } from "@xyflow/react";
import { api, subscribeStatus, type FlowDocument, type ProcessorType, type StatusEntry } from "./api";
import { Login } from "./Login";
import { AppContext, type AppState, type Panel, type Theme } from "./store";
import { Canvas } from "./canvas/Canvas";
import { findGroup } from "./canvas/model";
import { CanvasProvider } from "./canvas/controller";
import { statusStore, useEntry } from "./canvas/statusStore";
import { formatBytes } from "./canvas/format";
import { Palette } from "./canvas/Palette";
import { Toolbar } from "./canvas/Toolbar";
import { SidePanel } from "./panels/SidePanel";
import { panelKey, placeFromLocation, urlForPlace } from "./routing";
import { bannerText, clusterStore, useCluster, useClusterPolling } from "./cluster";

const THEME_KEY = "flowyard.theme";

function applyTheme(theme: Theme): void {
  const dark = theme === "dark" || (theme === "system" && window.matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}

/** Session check, then the login page or the canvas with its panels. */
export function App() {
  const [user, setUser] = useState<string | null | undefined>(undefined); // undefined: checking
  useEffect(() => {
    api.session().then((s) => setUser(s.username)).catch(() => setUser(null));
    const onUnauthorized = () => setUser(null);
    window.addEventListener("flowyard:unauthorized", onUnauthorized);
    return () => window.removeEventListener("flowyard:unauthorized", onUnauthorized);
  }, []);
  const [theme, setThemeState] = useState<Theme>(() => (localStorage.getItem(THEME_KEY) as Theme) || "system");
  useEffect(() => {
    applyTheme(theme);
    const media = window.matchMedia("(prefers-color-scheme: dark)");
    const follow = () => applyTheme(theme);
    media.addEventListener("change", follow);
    return () => media.removeEventListener("change", follow);
  }, [theme]);
  const setTheme = useCallback((t: Theme) => {
    localStorage.setItem(THEME_KEY, t);
    setThemeState(t);
  }, []);
  const loggedOut = useCallback(() => setUser(null), []);
  if (user === undefined) return null;
  if (user === null) return <Login onLoggedIn={() => api.session().then((s) => setUser(s.username))} />;
  return <Workspace theme={theme} setTheme={setTheme} onLogout={loggedOut} />;
}

function Workspace({ theme, setTheme, onLogout }: { theme: Theme; setTheme: (t: Theme) => void; onLogout: () => void }) {
  const [flow, setFlow] = useState<FlowDocument | null>(null);
  // The place starts as the address says (a reload, a deep link, a link followed after logging in).
  const [start] = useState(() => placeFromLocation(window.location));
  const [groupId, setGroupId] = useState<string>(start.groupId ?? "");
  const [selection, setSelection] = useState<string[]>([]);
  const [panel, setPanel] = useState<Panel>(start.panel);
  const openPanel = useCallback((next: Panel) => {
    setPanel((current) => (panelKey(current) === panelKey(next) ? current : next));
  }, []);
  const [status, setStatus] = useState<Map<string, StatusEntry>>(new Map());
  const [processorTypes, setProcessorTypes] = useState<ProcessorType[]>([]);
  const [serviceTypes, setServiceTypes] = useState<ProcessorType[]>([]);
  const [toast, setToast] = useState<{ message: string; level: "info" | "error" } | null>(null);

  const notify = useCallback((message: string, level: "info" | "error" = "info") => {
    setToast({ message, level });
    window.setTimeout(() => setToast((t) => (t && t.message === message ? null : t)), level === "error" ? 6000 : 3000);
  }, []);
  const reload = useCallback(async () => {
    const doc = await api.flow();
    setFlow(doc);
    setGroupId((current) => current || doc.rootGroup.identifier);
  }, []);
  useEffect(() => {
    reload().catch((e) => notify(String(e), "error"));
    api.processorTypes().then(setProcessorTypes).catch(() => undefined);
    api.serviceTypes().then(setServiceTypes).catch(() => undefined);
  }, [reload, notify]);
  const rootId = flow?.rootGroup.identifier ?? "";
  const rootRef = useRef(rootId);
  rootRef.current = rootId;
  // A group the address names but the flow does not have (deleted, or a mistyped link): the root.
  const unknownGroup = !!flow && !!groupId && !findGroup(flow.rootGroup, groupId);
  useEffect(() => {
    if (!unknownGroup || !flow) return;
    notify(`There is no process group '${groupId}': showing the root group`, "error");
    window.history.replaceState(null, "", urlForPlace(flow.rootGroup.identifier, flow.rootGroup.identifier, panel));
    setGroupId(flow.rootGroup.identifier);
  }, [unknownGroup, flow, groupId, notify, panel]);
  // The address follows the place: a new history entry for each move (so Back and Forward
  // walk them), replaced instead when the address already names this place in other words.
  useEffect(() => {
    if (!rootId || !groupId || unknownGroup) return;
    const url = urlForPlace(groupId, rootId, panel);
    const here = window.location.pathname + window.location.search + window.location.hash;
    if (url === here) return;
    const there = placeFromLocation(window.location);
    const same = (there.groupId ?? rootId) === groupId && panelKey(there.panel) === panelKey(panel);
    if (same) window.history.replaceState(null, "", url);
    else window.history.pushState(null, "", url);
  }, [groupId, panel, rootId, unknownGroup]);
  // Back and Forward: go where the address now says.
  useEffect(() => {
    const onPop = () => {
      const place = placeFromLocation(window.location);
      setGroupId(place.groupId ?? rootRef.current);
      setSelection([]);
      setPanel(place.panel);
    };
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  useEffect(() => {
    if (!groupId || unknownGroup) return;
    // A new Map object per event, so React sees the change. The canvas's nodes and
    // edges read their own entries from statusStore instead, so a tick re-renders
    // only the components it changed.
    statusStore.reset();
    let latest = new Map<string, StatusEntry>();
    return subscribeStatus(groupId, (entries) => {
      latest = entries;
      setStatus(new Map(entries));
    }, (changed) => statusStore.publish(latest, changed), (cluster) => clusterStore.publish(cluster));
  }, [groupId, unknownGroup]);
  useClusterPolling();

  const state: AppState = useMemo(() => ({
    flow, reload, groupId, setGroupId, selection, setSelection, panel, openPanel, theme, setTheme, status,
    processorTypes, serviceTypes, notify,
  }), [flow, reload, groupId, selection, panel, theme, setTheme, status, processorTypes, serviceTypes, notify]);

  const logout = useCallback(async () => {
    await api.logout().catch(() => undefined);
    onLogout();
  }, [onLogout]);

  return (
    <AppContext.Provider value={state}>
      <ReactFlowProvider>
        <CanvasProvider onLogout={logout}>
          <div className="app">
            <Toolbar onLogout={logout} />
            <div className="app-banners">
              <ClusterBanner onOpen={() => openPanel({ kind: "cluster" })} />
              <DiskBanner />
            </div>
            <div className="app-body">
              <Palette />
              <Canvas />
              <SidePanel />
            </div>
          </div>
        </CanvasProvider>
      </ReactFlowProvider>
      {toast && <div className={`toast ${toast.level}`} role="status">{toast.message}</div>}
    </AppContext.Provider>
  );
}

/** While processing is paused for want of disk space (the stream's repository
 *  entry), a banner says so: how much is free and when it resumes. */
function DiskBanner() {
  const disk = useEntry("_repository");
  if (!disk || disk.paused !== true) return null;
  const reason = String(disk.reason ?? "processing is paused for want of disk space");
  const free = typeof disk.freeBytes === "number" ? ` (${formatBytes(disk.freeBytes)} free now)` : "";
  return (
    <div className="disk-banner" role="alert" data-testid="disk-banner">
      {reason.charAt(0).toUpperCase() + reason.slice(1)}{free}.
    </div>
  );
}

/** While the node serving this canvas is not CONNECTED to its cluster, a banner says so
 *  and why (edits made here are refused meanwhile), with a link to the cluster page. */
function ClusterBanner({ onOpen }: { onOpen: () => void }) {
  const cluster = useCluster();
  const text = bannerText(cluster);
  if (!text) return null;
  return (
    <div className={`cluster-banner state-${String(cluster.state).toLowerCase()}`} role="alert" data-testid="cluster-banner">
      <span data-testid="cluster-banner-text">{text}</span>
      <button type="button" className="cluster-banner-link" onClick={onOpen}>Cluster page</button>
    </div>
  );
}
