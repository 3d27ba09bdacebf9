/** Placeholder: the top bar (breadcrumbs, run control, undo/redo, search, theme, logout). */
export function Toolbar({ onLogout }: { onLogout: () => void }) {
  return <header className="toolbar"><button onClick={onLogout}>Log out</button></header>;
}
