// The chrome every panel shares: a header (back, title, subtitle, actions, close), a
// scrolling body and an optional footer. SidePanel supplies close/back through context.
import { createContext, useContext, type ReactNode } from "react";

export interface PanelNav {
  close: () => void;
  /** Go back to the panel this one was opened from, when there is one. */
  back: (() => void) | null;
  backLabel: string | null;
}

export const PanelNavContext = createContext<PanelNav>({ close: () => undefined, back: null, backLabel: null });

export function PanelFrame({ testId, title, subtitle, actions, footer, children, toolbar }: {
  testId: string; title: ReactNode; subtitle?: ReactNode; actions?: ReactNode; footer?: ReactNode;
  toolbar?: ReactNode; children: ReactNode;
}) {
  const nav = useContext(PanelNavContext);
  return (
    <section className="pn-frame" data-testid={testId}>
      <header className="pn-header">
        {nav.back ? (
          <button type="button" className="pn-back" onClick={nav.back} data-testid="panel-back"
                  title={nav.backLabel ? `Back to ${nav.backLabel}` : "Back"} aria-label="Back">
            <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
              <path d="M10 3 5 8l5 5" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
            </svg>
          </button>
        ) : null}
        <div className="pn-titles">
          <h2 className="pn-title">{title}</h2>
          {subtitle ? <div className="pn-subtitle">{subtitle}</div> : null}
        </div>
        <div className="pn-header-actions">{actions}</div>
        <button type="button" className="pn-close" onClick={nav.close} data-testid="panel-close"
                aria-label="Close panel" title="Close (Esc)">
          <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
            <path d="M4 4l8 8M12 4l-8 8" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" />
          </svg>
        </button>
      </header>
      {toolbar ? <div className="pn-toolbar">{toolbar}</div> : null}
      <div className="pn-body">{children}</div>
      {footer ? <footer className="pn-footer">{footer}</footer> : null}
    </section>
  );
}
