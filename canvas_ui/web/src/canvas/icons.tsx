// Small inline SVG icons (16 px grid, currentColor), so the canvas needs no icon font.
import type { SVGProps } from "react";

type IconProps = SVGProps<SVGSVGElement> & { size?: number };

function Svg({ size = 14, children, ...rest }: IconProps) {
  return (
    <svg width={size} height={size} viewBox="0 0 16 16" fill="none" stroke="currentColor" strokeWidth={1.6}
         strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" {...rest}>
      {children}
    </svg>
  );
}

export const Icon = {
  play: (p: IconProps) => <Svg {...p}><path d="M5 3.5v9l7-4.5z" fill="currentColor" /></Svg>,
  stop: (p: IconProps) => <Svg {...p}><rect x="4" y="4" width="8" height="8" rx="1" fill="currentColor" /></Svg>,
  warn: (p: IconProps) => <Svg {...p}><path d="M8 2.2 14.5 13.5h-13z" /><path d="M8 6.5v3M8 11.6v.1" /></Svg>,
  disabled: (p: IconProps) => <Svg {...p}><circle cx="8" cy="8" r="5.5" /><path d="m4.2 11.8 7.6-7.6" /></Svg>,
  bell: (p: IconProps) => <Svg {...p}><path d="M4 11V7.5a4 4 0 0 1 8 0V11l1.2 1.5H2.8z" /><path d="M6.8 14h2.4" /></Svg>,
  once: (p: IconProps) => <Svg {...p}><path d="M4 3.5v9l6-4.5z" fill="currentColor" /><path d="M12.5 3.5v9" /></Svg>,
  enable: (p: IconProps) => <Svg {...p}><circle cx="8" cy="8" r="5.5" /><path d="m5.5 8 1.8 1.8 3.2-3.6" /></Svg>,
  gear: (p: IconProps) => (
    <Svg {...p}><circle cx="8" cy="8" r="2.2" />
      <path d="M8 1.8v1.8M8 12.4v1.8M1.8 8h1.8M12.4 8h1.8M3.6 3.6l1.3 1.3M11.1 11.1l1.3 1.3M3.6 12.4l1.3-1.3M11.1 4.9l1.3-1.3" />
    </Svg>),
  portIn: (p: IconProps) => <Svg {...p}><path d="M2 8h8M7 5l3 3-3 3" /><path d="M12.5 3v10" /></Svg>,
  portOut: (p: IconProps) => <Svg {...p}><path d="M3.5 3v10" /><path d="M6 8h8M11 5l3 3-3 3" /></Svg>,
  funnel: (p: IconProps) => <Svg {...p}><path d="M2.5 3h11L9.5 8.5V13l-3-1.5v-3z" /></Svg>,
  group: (p: IconProps) => (
    <Svg {...p}><rect x="1.8" y="2.5" width="12.4" height="11" rx="1.5" /><path d="M1.8 5.5h12.4" /><rect x="4" y="7.5" width="3" height="3.5" /><rect x="9" y="7.5" width="3" height="3.5" /></Svg>),
  label: (p: IconProps) => <Svg {...p}><path d="M3 2.5h10v8l-3 3H3z" /><path d="M10 13.5v-3h3M5.5 6h5M5.5 8.5h3" /></Svg>,
  processor: (p: IconProps) => <Svg {...p}><rect x="2" y="3" width="12" height="10" rx="2" /><path d="M5 6.5h6M5 9.5h4" /></Svg>,
  undo: (p: IconProps) => <Svg {...p}><path d="M5.5 3 2.5 6l3 3" /><path d="M2.5 6h7a4 4 0 0 1 0 8H7" /></Svg>,
  redo: (p: IconProps) => <Svg {...p}><path d="m10.5 3 3 3-3 3" /><path d="M13.5 6h-7a4 4 0 0 0 0 8H9" /></Svg>,
  fit: (p: IconProps) => <Svg {...p}><path d="M2.5 6V2.5H6M10 2.5h3.5V6M13.5 10v3.5H10M6 13.5H2.5V10" /></Svg>,
  layout: (p: IconProps) => (
    <Svg {...p}><rect x="6" y="1.8" width="4" height="3" rx=".6" /><rect x="1.8" y="11.2" width="4" height="3" rx=".6" /><rect x="10.2" y="11.2" width="4" height="3" rx=".6" /><path d="M8 4.8v3M3.8 11.2V7.8h8.4v3.4" /></Svg>),
  plus: (p: IconProps) => <Svg {...p}><path d="M8 3v10M3 8h10" /></Svg>,
  search: (p: IconProps) => <Svg {...p}><circle cx="7" cy="7" r="4.2" /><path d="m10.2 10.2 3.5 3.5" /></Svg>,
  history: (p: IconProps) => <Svg {...p}><path d="M2 13.5h12" /><path d="M3 11 6 7l3 2.5L13.5 4" /></Svg>,
  provenance: (p: IconProps) => (
    <Svg {...p}><circle cx="3.5" cy="8" r="1.7" /><circle cx="12.5" cy="4" r="1.7" /><circle cx="12.5" cy="12" r="1.7" /><path d="m5 7.3 6-2.6M5 8.7l6 2.6" /></Svg>),
  services: (p: IconProps) => (
    <Svg {...p}><rect x="2" y="2.5" width="12" height="4" rx="1" /><rect x="2" y="9.5" width="12" height="4" rx="1" /><path d="M4.5 4.5h.1M4.5 11.5h.1" /></Svg>),
  params: (p: IconProps) => <Svg {...p}><path d="M5.5 2.5c-2 0-2 1.5-2 2.8S2 8 2 8s1.5.4 1.5 2.7.1 2.8 2 2.8M10.5 2.5c2 0 2 1.5 2 2.8S14 8 14 8s-1.5.4-1.5 2.7-.1 2.8-2 2.8" /></Svg>,
  queue: (p: IconProps) => <Svg {...p}><path d="M3 4h10M3 8h10M3 12h6" /></Svg>,
  eye: (p: IconProps) => <Svg {...p}><path d="M1.5 8S4 3.5 8 3.5 14.5 8 14.5 8 12 12.5 8 12.5 1.5 8 1.5 8z" /><circle cx="8" cy="8" r="2" /></Svg>,
  trash: (p: IconProps) => <Svg {...p}><path d="M2.5 4.5h11M6 4.5V2.8h4v1.7M4 4.5l.7 9h6.6l.7-9" /></Svg>,
  empty: (p: IconProps) => <Svg {...p}><path d="M3 4h10M3 8h6M3 12h3" /><path d="m10 10 4 4M14 10l-4 4" /></Svg>,
  copy: (p: IconProps) => <Svg {...p}><rect x="5.5" y="5.5" width="8" height="8" rx="1.2" /><path d="M10.5 5.5V3a.8.8 0 0 0-.8-.8H3a.8.8 0 0 0-.8.8v6.7c0 .5.3.8.8.8h2.5" /></Svg>,
  paste: (p: IconProps) => <Svg {...p}><rect x="3" y="3" width="10" height="11" rx="1.2" /><path d="M6 3V1.8h4V3M5.5 7.5h5M5.5 10.5h3" /></Svg>,
  enter: (p: IconProps) => <Svg {...p}><path d="M6 3H3v10h3" /><path d="M7 8h7M11 5l3 3-3 3" /></Svg>,
  up: (p: IconProps) => <Svg {...p}><path d="M8 13V3M4 7l4-4 4 4" /></Svg>,
  alignLeft: (p: IconProps) => <Svg {...p}><path d="M2.5 2v12" /><rect x="4.5" y="3.5" width="8" height="3" rx=".6" /><rect x="4.5" y="9.5" width="5" height="3" rx=".6" /></Svg>,
  alignTop: (p: IconProps) => <Svg {...p}><path d="M2 2.5h12" /><rect x="3.5" y="4.5" width="3" height="8" rx=".6" /><rect x="9.5" y="4.5" width="3" height="5" rx=".6" /></Svg>,
  grid: (p: IconProps) => <Svg {...p}><path d="M2 5.5h12M2 10.5h12M5.5 2v12M10.5 2v12" /></Svg>,
  command: (p: IconProps) => <Svg {...p}><rect x="1.8" y="3" width="12.4" height="10" rx="2" /><path d="m4.5 6 2 2-2 2M8 10.5h3.5" /></Svg>,
  logout: (p: IconProps) => <Svg {...p}><path d="M6 2.5H3v11h3" /><path d="M7 8h7M11 5l3 3-3 3" /></Svg>,
  selectAll: (p: IconProps) => <Svg {...p}><rect x="2" y="2" width="12" height="12" rx="1.5" strokeDasharray="2 2" /><path d="m5 8 2 2 4-4" /></Svg>,
  zoomIn: (p: IconProps) => <Svg {...p}><circle cx="7" cy="7" r="4.2" /><path d="m10.2 10.2 3.5 3.5M5 7h4M7 5v4" /></Svg>,
  zoomOut: (p: IconProps) => <Svg {...p}><circle cx="7" cy="7" r="4.2" /><path d="m10.2 10.2 3.5 3.5M5 7h4" /></Svg>,
  cluster: (p: IconProps) => (
    <Svg {...p}><rect x="5.5" y="1.8" width="5" height="3.6" rx=".8" /><rect x="1.5" y="10.6" width="5" height="3.6" rx=".8" /><rect x="9.5" y="10.6" width="5" height="3.6" rx=".8" /><path d="M8 5.4v2.6M4 10.6V8h8v2.6" /></Svg>),
  theme: (p: IconProps) => <Svg {...p}><circle cx="8" cy="8" r="5.5" /><path d="M8 2.5v11a5.5 5.5 0 0 0 0-11z" fill="currentColor" /></Svg>,
};

export type IconName = keyof typeof Icon;
