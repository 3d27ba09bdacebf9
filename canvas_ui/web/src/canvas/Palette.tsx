/** Placeholder: the palette of component types to drag onto the canvas. */
export function Palette() {
  return <aside className="palette" />;
}
