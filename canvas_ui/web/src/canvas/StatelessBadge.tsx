// The mark of a stateless process group on the canvas: a "Stateless" badge in the
// group's head, and (through stateless.css, by the badge's presence) a double
// violet border, so a group that runs in invocations is told apart at a glance.
// At far zoom only the icon is left; its title says what it means.
import "./stateless.css";

const TITLE = "Stateless: each invocation runs the group's flowfiles through every processor in memory "
  + "and commits once (Execution Engine: Stateless)";

/** Nothing unless `engine` is STATELESS. */
export function StatelessBadge({ engine, far = false }: { engine?: string; far?: boolean }) {
  if (engine !== "STATELESS") return null;
  return (
    <span className={`fy-stateless${far ? " is-far" : ""}`} data-testid="node-stateless" title={TITLE}>
      <svg width={far ? 20 : 12} height={far ? 20 : 12} viewBox="0 0 16 16" fill="currentColor" aria-hidden="true">
        <path d="M9.2 1.5 3.5 9h3.7l-1 5.5L12.5 7H8.6z" />
      </svg>
      {far ? null : <span>Stateless</span>}
    </span>
  );
}
