import { useApp } from "../store";

/** Placeholder: the right-hand panel (configure, queue, provenance, ...). */
export function SidePanel() {
  const { panel } = useApp();
  return panel ? <aside className="side-panel" /> : null;
}
