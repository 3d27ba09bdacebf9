// Small building blocks shared by the panels: tabs, labelled fields, state badges,
// an inline confirmation and a polling hook. Styles are in panels.css.
import { useEffect, useRef, useState, type ReactNode } from "react";

export interface TabSpec { id: string; label: string; badge?: number | string | null }

/** A row of tabs; each button gets data-testid `tab-<id>`. */
export function Tabs({ tabs, active, onChange }: { tabs: TabSpec[]; active: string; onChange: (id: string) => void }) {
  return (
    <div className="pn-tabs" role="tablist">
      {tabs.map((tab) => (
        <button key={tab.id} type="button" role="tab" aria-selected={tab.id === active}
                className={tab.id === active ? "active" : ""} data-testid={`tab-${tab.id}`}
                onClick={() => onChange(tab.id)}>
          {tab.label}
          {tab.badge ? <span className="pn-tab-badge">{tab.badge}</span> : null}
        </button>
      ))}
    </div>
  );
}

/** A label above a control, with optional help text under it. */
export function Field({ label, help, htmlFor, children, error, errorTestId, required, title }: {
  label: ReactNode; help?: ReactNode; htmlFor?: string; children: ReactNode; error?: string[];
  errorTestId?: string; required?: boolean; title?: string;
}) {
  return (
    <div className={`pn-field${error && error.length ? " invalid" : ""}`}>
      <label htmlFor={htmlFor} title={title}>
        {label}
        {required ? <span className="pn-required" title="Required">*</span> : null}
      </label>
      {children}
      {error && error.length ? (
        <div className="pn-field-error" data-testid={errorTestId} role="alert">
          {error.map((e) => <div key={e}>{e}</div>)}
        </div>
      ) : null}
      {help ? <div className="pn-help">{help}</div> : null}
    </div>
  );
}

const STATE_CLASS: Record<string, string> = {
  RUNNING: "ok", ENABLED: "ok", ENABLING: "warn", DISABLING: "warn", STOPPED: "bad", STOPPING: "warn",
  DISABLED: "muted", INVALID: "warn", VALID: "ok",
};

/** A small coloured pill for a run or service state. */
export function StateBadge({ state, title }: { state: string; title?: string }) {
  return <span className={`pn-badge ${STATE_CLASS[state] ?? "muted"}`} title={title}>{state}</span>;
}

/** A button that asks "Sure?" in place before it acts (confirm button: `confirm-yes`). */
export function ConfirmButton({ children, question, onConfirm, testId, danger = true, disabled }: {
  children: ReactNode; question: ReactNode; onConfirm: () => void | Promise<void>; testId?: string;
  danger?: boolean; disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" data-testid={testId} className={danger ? "pn-danger" : ""} disabled={disabled}
              onClick={() => setAsking(true)}>
        {children}
      </button>
    );
  }
  return (
    <span className="pn-confirm" role="alertdialog">
      <span>{question}</span>
      <button type="button" className="pn-danger solid" data-testid="confirm-yes"
              onClick={async () => { setAsking(false); await onConfirm(); }}>Yes</button>
      <button type="button" data-testid="confirm-no" autoFocus onClick={() => setAsking(false)}>No</button>
    </span>
  );
}

/** Call `tick` now and then every `ms` while `enabled` (the latest `tick` is used). */
export function usePolling(tick: () => void | Promise<void>, ms: number, enabled = true, deps: unknown[] = []) {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    let timer = 0;
    const run = async () => {
      try {
        await latest.current();
      } finally {
        if (!stopped) timer = window.setTimeout(run, ms);
      }
    };
    run();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ms, enabled, ...deps]);
}

/** A notice inside a panel (errors, conflicts, hints). */
export function Notice({ level = "info", children, testId, onDismiss }: {
  level?: "info" | "error" | "warn"; children: ReactNode; testId?: string; onDismiss?: () => void;
}) {
  return (
    <div className={`pn-notice ${level}`} role={level === "error" ? "alert" : "status"} data-testid={testId}>
      <div className="pn-notice-body">{children}</div>
      {onDismiss ? <button type="button" className="pn-icon" aria-label="Dismiss" onClick={onDismiss}>×</button> : null}
    </div>
  );
}

/** Shown where a list has nothing in it. */
export function Empty({ children }: { children: ReactNode }) {
  return <div className="pn-empty">{children}</div>;
}
