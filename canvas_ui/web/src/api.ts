// The flowyard HTTP API, typed. Every call goes through `request`, which sends the
// session cookie and the CSRF token (kept in sessionStorage so a reload keeps the
// session) and turns error answers into ApiError with the server's message.

export type Kind =
  | "processor" | "connection" | "funnel" | "input-port" | "output-port" | "label"
  | "controller-service" | "process-group" | "parameter-context";

export const PLURAL: Record<Kind, string> = {
  processor: "processors", connection: "connections", funnel: "funnels", "input-port": "input-ports",
  "output-port": "output-ports", label: "labels", "controller-service": "controller-services",
  "process-group": "process-groups", "parameter-context": "parameter-contexts",
};

export interface Position { x: number; y: number }

export interface Processor {
  identifier: string; name: string; type: string; position: Position;
  properties: Record<string, string | null>;
  schedulingStrategy: "TIMER_DRIVEN" | "CRON_DRIVEN" | "EVENT_DRIVEN"; schedulingPeriod: string;
  concurrentlySchedulableTaskCount: number; runDuration: string; penaltyDuration: string; yieldDuration: string;
  autoTerminatedRelationships: string[]; scheduledState: "RUNNING" | "STOPPED" | "DISABLED"; comments: string;
  bulletinLevel?: "DEBUG" | "INFO" | "WARN" | "ERROR" | "NONE";
  /** Where it runs in a cluster: on every node, or on the primary node only (absent: ALL). */
  executionNode?: ExecutionNode; revision: number; runState: string; validationErrors: string[]; parentGroupId?: string | null;
}

export interface Connection {
  identifier: string; name: string; source: { id: string }; destination: { id: string };
  selectedRelationships: string[]; backPressureObjectThreshold: number; backPressureDataSizeThreshold: string;
  flowFileExpiration: string; prioritizers: string[]; bends: Position[];
  /** How a cluster spreads its flowfiles over the nodes (absent: DO_NOT_LOAD_BALANCE). */
  loadBalanceStrategy?: LoadBalanceStrategy;
  /** The attribute whose value picks the node, for PARTITION_BY_ATTRIBUTE. */
  partitioningAttribute?: string;
  loadBalanceCompression?: LoadBalanceCompression;
  revision: number; queuedCount: number; queuedBytes: number; parentGroupId?: string | null;
}

export type ExecutionNode = "ALL" | "PRIMARY";
export type LoadBalanceStrategy = "DO_NOT_LOAD_BALANCE" | "ROUND_ROBIN" | "PARTITION_BY_ATTRIBUTE" | "SINGLE_NODE";
export type LoadBalanceCompression = "DO_NOT_COMPRESS" | "COMPRESS_ATTRIBUTES_ONLY" | "COMPRESS_ATTRIBUTES_AND_CONTENT";

export interface Port {
  identifier: string; name: string; position: Position; scheduledState: string; comments: string;
  revision: number; runState: string;
}

export interface Funnel { identifier: string; position: Position; revision: number; runState: string }

export interface Label {
  identifier: string; label: string; position: Position; width: number; height: number;
  style: Record<string, string>; revision: number;
}

export interface ControllerService {
  identifier: string; name: string; type: string; properties: Record<string, string | null>;
  scheduledState: "ENABLED" | "DISABLED"; comments: string; revision: number; state: string;
  validationErrors: string[]; referencingComponents: string[]; provides: string[]; parentGroupId?: string | null;
}

export interface Parameter { name: string; value: string | null; sensitive: boolean; description: string }

export interface ParameterContext {
  identifier: string; name: string; description: string; parameters: Parameter[];
  revision: number; boundGroups: string[];
}

export interface ProcessGroup {
  identifier: string; name: string; position: Position; comments: string;
  parameterContext: { id: string } | null;
  /** NiFi 2's Execution Engine (absent: INHERITED) and a stateless group's settings. */
  executionEngine?: "INHERITED" | "STANDARD" | "STATELESS"; maxConcurrentTasks?: number; statelessFlowTimeout?: string;
  processors: Processor[]; connections: Connection[]; funnels: Funnel[]; inputPorts: Port[]; outputPorts: Port[];
  labels: Label[]; controllerServices: ControllerService[]; processGroups: ProcessGroup[];
  revision: number; runningCount: number; stoppedCount: number; invalidCount: number; disabledCount: number;
  queuedCount: number; queuedBytes: number; parentGroupId?: string | null;
}

export interface FlowDocument { flowyardFlowVersion: number; parameterContexts: ParameterContext[]; rootGroup: ProcessGroup }

export interface PropertySpecDoc {
  key: string; display_name: string; description: string; required: boolean; sensitive: boolean;
  default: string | null; allowed_values: { value: string; display_name: string; description: string }[];
  expression_scope: "NONE" | "ENVIRONMENT" | "FLOWFILE_ATTRIBUTES"; identifies_controller_service?: string;
  validator?: { name: string; description: string }; aliases: string[];
  [extra: string]: unknown;
}

export interface ProcessorType {
  type: string; description: string; tags: string[]; properties: PropertySpecDoc[];
  relationships?: { name: string; description: string }[]; dynamic_properties?: unknown; provides?: string[];
  [extra: string]: unknown;
}

export interface StatusEntry {
  kind: "processor" | "connection" | "process-group";
  runState?: string; valid?: boolean; bulletins?: number; queuedCount?: number; queuedBytes?: number;
  /** In a cluster: the same figures per node (the entry's own figures are the cluster's totals). */
  nodes?: NodeFigures[];
  [field: string]: unknown;
}

/** One node's share of a component's figures (the numeric fields of a status entry). */
export interface NodeFigures { nodeId: string; [field: string]: unknown }

/** NiFi's node states. */
export type NodeState = "CONNECTING" | "CONNECTED" | "DISCONNECTING" | "DISCONNECTED" | "OFFLOADING" | "OFFLOADED";

/** One node of the cluster (GET /api/cluster). */
export interface ClusterNode {
  nodeId: string; address: string; apiUrl: string; state: NodeState; reason: string;
  /** Unix seconds of its last heartbeat (null: never seen) and its age when answered. */
  heartbeat: number | null; heartbeatAgeSeconds: number | null;
  roles: ("coordinator" | "primary")[]; queuedCount: number; queuedBytes: number; alive: boolean;
}

/** The cluster as the node answering sees it; a single node answers `{clustered: false, nodes: []}`. */
export interface ClusterOverview {
  clustered: boolean;
  /** This node (the one serving the canvas), its state and why. */
  nodeId?: string; state?: NodeState; reason?: string;
  coordinator?: string | null; primary?: string | null;
  nodes: ClusterNode[];
  /** From the status stream only: the nodes left out of its figures (they did not answer), and why. */
  unavailable?: { nodeId: string; error: string }[];
}

/** What a user can do to a node from the cluster page. */
export type NodeAction = "disconnect" | "connect" | "offload" | "remove";

export interface QueuedFlowFile {
  uuid: string; filename: string | null; size: number; entryDate: number; lineageStartDate: number;
  penalized: boolean; attributes: Record<string, string>;
  /** In a cluster: the node holding it. */
  nodeId?: string;
}

export interface ProvenanceSummary {
  eventId: number; eventType: string; timestamp: number; flowfileUuid: string; componentId: string;
  componentType: string; relationship: string | null; size: number; filename: string | null;
  /** In a cluster: the node that recorded it. */
  nodeId?: string;
}

export interface Bulletin {
  timestamp: number; componentId: string; componentName: string; level: string; message: string;
  /** In a cluster: the node that posted it. */
  nodeId?: string;
}

/** One entry of the Flow Configuration History (GET /api/history), newest first. */
export interface HistoryEntry {
  seq: number;
  /** Epoch milliseconds. */
  time: number;
  user: string;
  description: string;
  /** The ids of the components the edit touched (deleted ones included). */
  components: string[];
  /** False for an undo, a redo or a change of run state: they are not undone on their own. */
  undoable: boolean;
  undone: boolean;
}

/** A page of the history, and what the caller can undo and redo (descriptions, newest first). */
export interface HistoryPage { entries: HistoryEntry[]; undo: string[]; redo: string[] }

/** Filters and paging of GET /api/history (`before`: the last `seq` shown, for the next page). */
export interface HistoryQuery { limit?: number; before?: number; component?: string; user?: string }

/** One item of POST /api/edits: the body a create, update or delete route takes, named by kind. */
export type EditItem =
  | { action: "create"; kind: Kind; data: Record<string, unknown> }
  | { action: "update"; kind: Kind; id: string; revision: number; changes: Record<string, unknown> }
  | { action: "delete"; kind: Kind; id: string; revision: number; drop?: boolean };

/** What one item of POST /api/edits answered: the component (created, updated), or the deletion. */
export type EditResult =
  | ({ identifier: string; revision: number } & Record<string, unknown>)
  | { deleted: string; dropped: number };

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly body: unknown = null) {
    super(message);
  }
}

const CSRF_KEY = "flowyard.csrf";

export function csrfToken(): string | null {
  return sessionStorage.getItem(CSRF_KEY);
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await requestWithHeaders<T>(method, path, body)).data;
}

/** The response header naming the cluster nodes a merged listing left out (they did not answer). */
export const UNAVAILABLE_HEADER = "x-flowyard-unavailable-nodes";

/** A listing and, in a cluster, the nodes it leaves out because they did not answer. */
export interface Listing<T> { items: T; unavailable: string[] }

/** As `request`, with the response's headers. */
export async function requestWithHeaders<T>(method: string, path: string, body?: unknown): Promise<{ data: T; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  const csrf = csrfToken();
  if (csrf && method !== "GET") headers["x-csrf-token"] = csrf;
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (!response.ok) {
    const message = (parsed && typeof parsed === "object" && "error" in parsed)
      ? String((parsed as { error: unknown }).error) : `${response.status} ${response.statusText}`;
    if (response.status === 401) window.dispatchEvent(new CustomEvent("flowyard:unauthorized"));
    throw new ApiError(response.status, message, parsed);
  }
  return { data: parsed as T, headers: response.headers };
}

async function listing<T>(path: string): Promise<Listing<T>> {
  const { data, headers } = await requestWithHeaders<T>("GET", path);
  const gone = headers.get(UNAVAILABLE_HEADER);
  return { items: data, unavailable: gone ? gone.split(",").map((s) => s.trim()).filter(Boolean) : [] };
}

/** "?a=1&b=2" of the parameters that have a value ("" when none has). */
function withQuery(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : "";
}

export const api = {
  async login(username: string, password: string): Promise<void> {
    const result = await request<{ csrfToken: string }>("POST", "/api/login", { username, password });
    sessionStorage.setItem(CSRF_KEY, result.csrfToken);
  },
  async session(): Promise<{ username: string; csrfToken: string | null }> {
    const s = await request<{ username: string; csrfToken: string | null }>("GET", "/api/session");
    if (s.csrfToken) sessionStorage.setItem(CSRF_KEY, s.csrfToken);
    return s;
  },
  async logout(): Promise<void> {
    try {
      await request("POST", "/api/logout");
    } finally {
      sessionStorage.removeItem(CSRF_KEY);
    }
  },
  flow: () => request<FlowDocument>("GET", "/api/flow"),
  processorTypes: () => request<ProcessorType[]>("GET", "/api/processor-types"),
  serviceTypes: () => request<ProcessorType[]>("GET", "/api/controller-service-types"),
  functions: () => request<{ name: string; description: string; [k: string]: unknown }[]>("GET", "/api/expression-functions"),
  bulletins: () => listing<Bulletin[]>("/api/bulletins"),
  get: <T>(kind: Kind, id: string) => request<T>("GET", `/api/${PLURAL[kind]}/${encodeURIComponent(id)}`),
  create: <T>(kind: Kind, body: Record<string, unknown>) => request<T>("POST", `/api/${PLURAL[kind]}`, body),
  update: <T>(kind: Kind, id: string, revision: number, changes: Record<string, unknown>) =>
    request<T>("PUT", `/api/${PLURAL[kind]}/${encodeURIComponent(id)}`, { ...changes, revision }),
  remove: (kind: Kind, id: string, revision: number, drop = false) =>
    request<{ deleted: string; dropped: number }>(
      "DELETE", `/api/${PLURAL[kind]}/${encodeURIComponent(id)}?revision=${revision}${drop ? "&drop=true" : ""}`),
  runState: (kind: Kind, id: string, state: string) =>
    request<{ changed: string[]; failed: Record<string, string> }>(
      "PUT", `/api/${PLURAL[kind]}/${encodeURIComponent(id)}/run-state`, { state }),
  runStates: (ids: string[], state: string) =>
    request<{ changed: string[]; failed: Record<string, string> }>("PUT", "/api/run-state", { ids, state }),
  serviceState: (id: string, state: "ENABLED" | "DISABLED", stopReferencing = false) =>
    request<ControllerService>("PUT", `/api/controller-services/${encodeURIComponent(id)}/state`,
      { state, stopReferencing }),
  /** The first flowfiles waiting in a connection (in a cluster: on every node, or on `node` only). */
  queue: (connectionId: string, node?: string) =>
    listing<QueuedFlowFile[]>(`/api/connections/${encodeURIComponent(connectionId)}/flowfiles${withQuery({ node })}`),
  emptyQueue: (connectionId: string) =>
    request<{ dropped: number }>("DELETE", `/api/connections/${encodeURIComponent(connectionId)}/flowfiles`),
  /** A queued flowfile's content (`node`: the cluster node holding it). */
  contentUrl: (connectionId: string, uuid: string, download = false, node?: string) =>
    `/api/connections/${encodeURIComponent(connectionId)}/flowfiles/${encodeURIComponent(uuid)}/content`
    + withQuery({ download: download ? "true" : "", node }),
  recordsUrl: (connectionId: string, uuid: string, node?: string) =>
    `/api/connections/${encodeURIComponent(connectionId)}/flowfiles/${encodeURIComponent(uuid)}/records`
    + withQuery({ node }),
  provenanceRecordsUrl: (id: number, direction: "input" | "output", node?: string) =>
    `/api/provenance/events/${id}/records/${direction}${withQuery({ node })}`,
  /** Provenance events matching `query` (in a cluster: merged over the nodes, or `node`'s alone). */
  provenance: (query: Record<string, string>) => listing<ProvenanceSummary[]>(`/api/provenance?${new URLSearchParams(query)}`),
  /** One provenance event (`node`: in a cluster, the node that recorded it; event ids are per node). */
  provenanceEvent: (id: number, node?: string) =>
    request<Record<string, unknown>>("GET", `/api/provenance/events/${id}${withQuery({ node })}`),
  provenanceContentUrl: (id: number, direction: "input" | "output", download = false, node?: string) =>
    `/api/provenance/events/${id}/content/${direction}${withQuery({ download: download ? "true" : "", node })}`,
  replay: (id: number, node?: string) =>
    request<Record<string, unknown>>("POST", `/api/provenance/events/${id}/replay${withQuery({ node })}`),
  lineage: (uuid: string) =>
    request<{ nodes: { id: string; kind: string; [k: string]: unknown }[]; edges: { source: string; target: string }[] }>(
      "GET", `/api/provenance/lineage/${encodeURIComponent(uuid)}`),
  /** A component's statistics (in a cluster: summed over the nodes with `nodes`, or `node`'s alone). */
  statistics: (id: string, node?: string) =>
    request<Record<string, unknown>>("GET", `/api/components/${encodeURIComponent(id)}/statistics${withQuery({ node })}`),
  statusHistory: (id: string, resolution: "1s" | "1m" = "1s", node?: string) =>
    request<{ timestamps: number[]; series: Record<string, number[]>; fieldDescriptors: { field: string; label: string; unit: string }[] }>(
      "GET", `/api/components/${encodeURIComponent(id)}/status-history${withQuery({ resolution, node })}`),
  /** The cluster as this node sees it (`{clustered: false}` on a single node). */
  cluster: () => request<ClusterOverview>("GET", "/api/cluster"),
  /** Disconnect, connect, offload or remove (DELETE) a node of the cluster. */
  /** The POSTs answer the cluster document after the change; DELETE answers `{removed: id}`. */
  nodeAction: (nodeId: string, action: NodeAction) => action === "remove"
    ? request<{ removed: string }>("DELETE", `/api/cluster/nodes/${encodeURIComponent(nodeId)}`)
    : request<ClusterOverview>("POST", `/api/cluster/nodes/${encodeURIComponent(nodeId)}/${action}`),
  undo: () => request<{ undone: string }>("POST", "/api/undo"),
  redo: () => request<{ redone: string }>("POST", "/api/redo"),
  /** A page of the Flow Configuration History (see HistoryQuery), newest first. */
  history: (query: HistoryQuery = {}) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") q.set(k, String(v));
    const text = q.toString();
    return request<HistoryPage>("GET", `/api/history${text ? `?${text}` : ""}`);
  },
  /** Apply `items` as ONE edit: all or nothing, one undo step, one history entry named `description`. */
  edits: (description: string, items: EditItem[]) =>
    request<{ results: EditResult[]; description: string }>("POST", "/api/edits", { description, edits: items }),
  /** Move components of one group into `groupId` (a child group of theirs, or its parent): one undo step.
   *  `positions` places them in the target (absent: they keep their coordinates). */
  move: (groupId: string, ids: string[], revisions: Record<string, number>, positions?: Record<string, Position>) =>
    request<{ moved: string[] }>("POST", `/api/process-groups/${encodeURIComponent(groupId)}/move`,
      positions ? { ids, revisions, positions } : { ids, revisions }),
  exportGroup: (id: string) => request<Record<string, unknown>>("GET", `/api/process-groups/${encodeURIComponent(id)}/export`),
  importGroup: (parentId: string, flow: unknown, position: Position) =>
    request<ProcessGroup>("POST", `/api/process-groups/${encodeURIComponent(parentId)}/import`, { flow, position }),
};

/** The live status stream of one process group: a snapshot, then deltas (SSE); in a
 *  cluster an event may carry the cluster document too (`onCluster`).
 *  `onStatus` gets the full map after every event; a gap in the event ids or a
 *  dropped connection reconnects, which starts again with a snapshot. */
export function subscribeStatus(groupId: string, onStatus: (entries: Map<string, StatusEntry>) => void,
                                onChange?: (changedIds: string[]) => void,
                                onCluster?: (cluster: ClusterOverview) => void): () => void {
  let source: EventSource | null = null;
  let closed = false;
  let lastId = 0;
  const entries = new Map<string, StatusEntry>();
  const open = () => {
    if (closed) return;
    source = new EventSource(`/api/status/stream?group=${encodeURIComponent(groupId)}`);
    source.addEventListener("snapshot", (event) => {
      const data = JSON.parse((event as MessageEvent).data) as { components: Record<string, StatusEntry>; cluster?: ClusterOverview };
      if (data.cluster) onCluster?.(data.cluster);
      lastId = Number((event as MessageEvent).lastEventId);
      entries.clear();
      for (const [id, entry] of Object.entries(data.components)) entries.set(id, entry);
      onStatus(entries);
      onChange?.([...entries.keys()]);
    });
    source.addEventListener("delta", (event) => {
      const id = Number((event as MessageEvent).lastEventId);
      if (id !== lastId + 1) { // a gap: start again with a fresh snapshot
        source?.close();
        open();
        return;
      }
      lastId = id;
      const data = JSON.parse((event as MessageEvent).data) as {
        components: Record<string, Partial<StatusEntry>>; removed: string[]; cluster?: ClusterOverview;
      };
      if (data.cluster) onCluster?.(data.cluster);
      for (const [cid, fields] of Object.entries(data.components)) {
        entries.set(cid, { ...(entries.get(cid) ?? { kind: "processor" }), ...fields } as StatusEntry);
      }
      for (const cid of data.removed) entries.delete(cid);
      onStatus(entries);
      onChange?.([...Object.keys(data.components), ...data.removed]);
    });
    source.onerror = () => {
      source?.close();
      if (!closed) setTimeout(open, 1000);
    };
  };
  open();
  return () => {
    closed = true;
    source?.close();
  };
}
