// Per-component live status for the canvas, outside React state: each node and
// edge subscribes to its own id, so a status tick re-renders only the components
// whose entry changed (the app-wide status Map would re-render all of them).
// Also keeps a ring of the last 60 flowfiles/s values per component for sparklines.
import { useCallback, useSyncExternalStore } from "react";
import type { StatusEntry } from "../api";

export const RING_SIZE = 60;
/** Fields that are state, not counters (as the server's stream module says). */
const STATE_FIELDS = new Set(["runState", "valid", "bulletins", "kind"]);
const EMPTY: number[] = [];

type Listener = () => void;
/** Told which ids changed; `structural` when one appeared, disappeared or changed
 *  validity (the flow document is stale), `states` when a run state or validity changed. */
type ChangeListener = (changed: string[], structural: boolean, states: boolean) => void;

/** The rate a sparkline shows: flowfiles/s leaving a connection; for a processor,
 *  flowfiles/s through it (out, or in for a sink that sends nothing on). */
export function sparkValue(entry: StatusEntry): number {
  const out = Number(entry.flowFilesOutRate1s ?? 0);
  if (entry.kind === "processor") return Math.max(out, Number(entry.flowFilesInRate1s ?? 0));
  return out;
}

class StatusStore {
  private entries = new Map<string, StatusEntry>();
  private rings = new Map<string, number[]>();
  private listeners = new Map<string, Set<Listener>>();
  private changeListeners = new Set<ChangeListener>();
  private primed = false;

  /** Take the stream's current map and the ids its last event touched. */
  publish(source: Map<string, StatusEntry>, changed: string[]): void {
    const first = !this.primed;
    this.primed = true;
    let structural = false;
    let states = false;
    for (const id of changed) {
      const before = this.entries.get(id);
      const after = source.get(id);
      if (!after) {
        if (before) { this.entries.delete(id); structural = true; states = true; }
        this.notify(id);
        continue;
      }
      if (before === after) continue;
      if (!before && !first) structural = true;
      if (before && before.valid !== after.valid) structural = true;
      if (!before || before.valid !== after.valid || before.runState !== after.runState) states = true;
      this.entries.set(id, after);
      if (!before || Object.keys(after).some((k) => !STATE_FIELDS.has(k) && after[k] !== before[k])) {
        const ring = this.rings.get(id) ?? EMPTY;
        const next = ring.length >= RING_SIZE ? ring.slice(ring.length - RING_SIZE + 1) : ring.slice();
        next.push(sparkValue(after));
        this.rings.set(id, next);
      }
      this.notify(id);
    }
    if (source.size !== this.entries.size) {
      // After a snapshot (a reconnect): whatever is not in it is gone.
      for (const id of [...this.entries.keys()]) {
        if (!source.has(id)) { this.entries.delete(id); this.notify(id); structural = true; }
      }
    }
    for (const listener of this.changeListeners) listener(changed, structural, states);
  }

  /** Forget everything (the stream of another group starts). */
  reset(): void {
    this.primed = false;
    const ids = [...this.entries.keys()];
    this.entries.clear();
    for (const id of ids) this.notify(id);
  }

  get(id: string): StatusEntry | undefined {
    return this.entries.get(id);
  }

  ring(id: string): number[] {
    return this.rings.get(id) ?? EMPTY;
  }

  subscribe(id: string, listener: Listener): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  onChange(listener: ChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private notify(id: string): void {
    for (const listener of this.listeners.get(id) ?? []) listener();
  }
}

export const statusStore = new StatusStore();

/** The live status entry of one component; re-renders only when it changes. */
export function useEntry(id: string): StatusEntry | undefined {
  const subscribe = useCallback((cb: Listener) => statusStore.subscribe(id, cb), [id]);
  return useSyncExternalStore(subscribe, () => statusStore.get(id));
}

/** One value (a string, a number, a boolean) picked from a component's live status entry:
 *  re-renders only when that value changes, not on every counter tick (a zoomed-out
 *  canvas shows only a node's run state and whether a queue is full). */
export function useEntryValue<T extends string | number | boolean>(id: string, pick: (entry: StatusEntry | undefined) => T): T {
  const subscribe = useCallback((cb: Listener) => statusStore.subscribe(id, cb), [id]);
  return useSyncExternalStore(subscribe, () => pick(statusStore.get(id)));
}

/** The last 60 flowfiles/s values of one component. */
export function useRing(id: string): number[] {
  const subscribe = useCallback((cb: Listener) => statusStore.subscribe(id, cb), [id]);
  return useSyncExternalStore(subscribe, () => statusStore.ring(id));
}

export function num(entry: StatusEntry | undefined, field: string, fallback = 0): number {
  const value = entry?.[field];
  return typeof value === "number" ? value : fallback;
}
