import { useApp } from "../store";

/** Placeholder: the React Flow canvas of the current process group. */
export function Canvas() {
  const { flow } = useApp();
  return <main className="canvas">{flow ? flow.rootGroup.name : "Loading…"}</main>;
}
