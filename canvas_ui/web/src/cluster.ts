// The cluster as the canvas knows it: GET /api/cluster polled while the workspace is
// open (every 3 s; a single node answers `clustered: false` and is asked again only
// every 30 s; a server without the route is not asked again), and the cluster
// document the status stream carries, whichever came last. Outside React state, like statusStore:
// the toolbar button, the banner, the cluster page and the node columns read it
// with useCluster() and re-render only when it changes.
import { useEffect, useSyncExternalStore } from "react";
import { api, ApiError, type ClusterNode, type ClusterOverview, type NodeAction, type NodeFigures, type NodeState } from "./api";
import { formatBytes, formatCount } from "./canvas/format";

const SINGLE: ClusterOverview = { clustered: false, nodes: [] };
const FAST_MS = 3000;
const SLOW_MS = 30000;

type Listener = () => void;

class ClusterStore {
  private overview: ClusterOverview = SINGLE;
  private listeners = new Set<Listener>();
  private error: string | null = null;

  get(): ClusterOverview {
    return this.overview;
  }

  /** Why the last poll failed (null when it did not). */
  lastError(): string | null {
    return this.error;
  }

  /** Take a new overview (from a poll, an action's answer or the status stream). Only the
   *  stream says which nodes its figures leave out: a poll keeps what it last said. */
  publish(next: ClusterOverview | null | undefined, error: string | null = null): void {
    let value = next && typeof next === "object" && Array.isArray(next.nodes) ? next : SINGLE;
    if (value.clustered && value.unavailable === undefined && this.overview.unavailable) {
      value = { ...value, unavailable: this.overview.unavailable };
    }
    if (JSON.stringify(value) === JSON.stringify(this.overview) && error === this.error) return;
    this.overview = value;
    this.error = error;
    for (const listener of this.listeners) listener();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Ask the server now; returns false when it has no cluster route at all. */
  async refresh(): Promise<boolean> {
    try {
      this.publish(await api.cluster());
      return true;
    } catch (exc) {
      if (exc instanceof ApiError && (exc.status === 404 || exc.status === 405)) {
        this.publish(SINGLE);
        return false;
      }
      // Keep what we knew, and say the page may be stale.
      this.publish(this.overview, exc instanceof Error ? exc.message : String(exc));
      return true;
    }
  }
}

export const clusterStore = new ClusterStore();

/** The cluster overview; re-renders when it changes. */
export function useCluster(): ClusterOverview {
  return useSyncExternalStore((cb) => clusterStore.subscribe(cb), () => clusterStore.get());
}

/** Poll GET /api/cluster while mounted (the workspace mounts it once). */
export function useClusterPolling(): void {
  useEffect(() => {
    let stopped = false;
    let timer = 0;
    const run = async () => {
      const supported = await clusterStore.refresh();
      if (stopped || !supported) return;
      timer = window.setTimeout(run, clusterStore.get().clustered ? FAST_MS : SLOW_MS);
    };
    run();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, []);
}

/** NiFi's rules for what may be done to a node in a state (as the API enforces them);
 *  null when allowed, else why not. */
export function actionBlocker(node: ClusterNode, action: NodeAction, cluster: ClusterOverview): string | null {
  const s = node.state;
  const othersConnected = cluster.nodes.some((n) => n.nodeId !== node.nodeId && n.state === "CONNECTED");
  switch (action) {
    case "disconnect":
      if (s !== "CONNECTED" && s !== "CONNECTING") return `A node that is ${s.toLowerCase()} cannot be disconnected.`;
      return othersConnected ? null : "It is the only connected node: the cluster would have none left.";
    case "connect":
      return s === "DISCONNECTED" || s === "OFFLOADED" ? null : "Only a disconnected or offloaded node can be connected.";
    case "offload":
      if (s !== "DISCONNECTED") return "Disconnect the node first: only a disconnected node can be offloaded.";
      return othersConnected ? null : "No other node is connected to take its data.";
    case "remove":
      return s === "DISCONNECTED" || s === "OFFLOADED" ? null
        : "Only a disconnected or offloaded node can be removed from the cluster.";
  }
}

/** Badge colour of a node state (panels.css's pn-badge classes). */
export function stateLevel(state: NodeState | string | undefined): "ok" | "warn" | "bad" | "muted" {
  switch (state) {
    case "CONNECTED":
      return "ok";
    case "CONNECTING":
    case "DISCONNECTING":
    case "OFFLOADING":
      return "warn";
    case "DISCONNECTED":
      return "bad";
    default:
      return "muted";
  }
}

/** "2 s", "3 min", "1 h 5 min": how long ago a heartbeat was. */
export function ageText(seconds: number | null | undefined): string {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds) || seconds < 0) return "never";
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return m ? `${h} h ${m} min` : `${h} h`;
}

/** The sentence of the banner shown while this node is not CONNECTED (null when it is, or on a single node). */
export function bannerText(c: ClusterOverview): string | null {
  if (!c.clustered || !c.state || c.state === "CONNECTED") return null;
  const who = c.nodeId ? `This node (${c.nodeId})` : "This node";
  const why = c.reason ? `: ${c.reason}` : "";
  switch (c.state) {
    case "CONNECTING":
      return `${who} is connecting to the cluster${why}. Changes made here are refused until it has caught up with the cluster's flow.`;
    case "DISCONNECTING":
    case "DISCONNECTED":
      return `${who} is disconnected from the cluster${why}. It keeps running its flow, but changes made here are refused until it reconnects.`;
    case "OFFLOADING":
      return `${who} is being offloaded${why}: its queued data is moving to the other nodes. Changes made here are refused.`;
    case "OFFLOADED":
      return `${who} has been offloaded${why}: it holds no data and takes part in nothing. Connect or remove it from the cluster page.`;
    default:
      return `${who} is ${String(c.state).toLowerCase()}${why}.`;
  }
}

const figure = (f: NodeFigures, field: string) => (typeof f[field] === "number" ? (f[field] as number) : 0);

/** A component's per-node figures as tooltip lines ("" without them): for a connection
 *  "n1: 12 queued (3 KB)", else "n1: 40 in, 38 out" (5-minute totals). */
export function nodeLines(nodes: NodeFigures[] | undefined, kind: string): string {
  if (!Array.isArray(nodes) || !nodes.length) return "";
  return [...nodes].sort((a, b) => a.nodeId.localeCompare(b.nodeId)).map((f) => (kind === "connection"
    ? `${f.nodeId}: ${figure(f, "queuedCount").toLocaleString("en-US")} queued (${formatBytes(figure(f, "queuedBytes"))})`
    : `${f.nodeId}: ${formatCount(figure(f, "flowFilesIn"))} in, ${formatCount(figure(f, "flowFilesOut"))} out`)).join("\n");
}
